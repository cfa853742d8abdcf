//! Reading a node's value from the bytes and rendering it: decimal integers (hex alongside),
//! zigzag, floats, bools, enum names, escaped strings and bytes.

use std::fmt::Write as _;

use prost_reflect::Kind;

pub use crate::decode::wire::PackedValue;

use crate::decode::schema::{FieldClass, FieldInfo};
use crate::decode::wire::{self, PackedRun, WireType};
use crate::model::document::Document;
use crate::model::node::{Node, NodeId, NodeKind};

/// A decoded scalar value.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// A signed integer (int32/64, sint32/64, sfixed32/64).
    Signed(i64),
    /// An unsigned integer (uint32/64, fixed32/64, and raw varints of unknown fields).
    Unsigned(u64),
    /// A float or double.
    Float(f64),
    /// A bool.
    Bool(bool),
    /// An enum number, with its name when the enum declares it.
    Enum(i32, Option<String>),
}

/// The raw varint or little-endian fixed value of a scalar node or packed element.
pub fn raw_scalar(doc: &Document, id: NodeId) -> Option<u64> {
    let node = doc.node(id);
    raw_of(doc, &node, doc.field_info_of(&node))
}

/// [`raw_scalar`] of a node already read, given its field (as
/// [`Document::field_info_of`] finds it): packed elements take their width from it.
pub fn raw_of(doc: &Document, node: &Node, field: Option<&FieldInfo>) -> Option<u64> {
    let bytes = doc.value_bytes_of(node);
    let wire = match (node.kind, field.map(|f| &f.class)) {
        (NodeKind::Scalar, _) => node.wire?,
        (NodeKind::Element, Some(FieldClass::Scalar(w))) => *w,
        (NodeKind::Element, _) => WireType::Varint,
        _ => return None,
    };
    match wire {
        WireType::Varint => wire::read_varint(bytes, 0, bytes.len()).ok().map(|v| v.0),
        WireType::Fixed32 | WireType::Fixed64 if bytes.len() <= 8 => {
            let mut raw = [0u8; 8];
            raw[..bytes.len()].copy_from_slice(bytes);
            Some(u64::from_le_bytes(raw))
        }
        _ => None,
    }
}

/// The values of a packed run node, read from its bytes (the run was checked when it was
/// decoded, so every value is whole). Works whether or not the values have nodes.
pub fn packed_values<'d>(doc: &'d Document, run: NodeId) -> impl Iterator<Item = PackedValue> + 'd {
    packed_values_from(doc, run, 0)
}

/// [`packed_values`] from byte `from` on, which is where one of them starts (as a read of
/// them gave it), or before the run.
pub fn packed_values_from<'d>(doc: &'d Document, run: NodeId, from: usize) -> impl Iterator<Item = PackedValue> + 'd {
    let (span, wire) = packed_span(doc, run);
    PackedRun::new(span.start.max(from)..span.end, wire).values(doc.bytes()).map_while(Result::ok)
}

/// The bytes of the values of packed run `run` (none for another node), and their wire type.
pub fn packed_span(doc: &Document, run: NodeId) -> (std::ops::Range<usize>, WireType) {
    let node = doc.node(run);
    let wire = match doc.field_info(run).map(|f| &f.class) {
        Some(FieldClass::Scalar(wire)) => *wire,
        _ => WireType::Varint,
    };
    let span = match node.kind {
        NodeKind::Packed => node.value_start() as usize..node.value_end as usize,
        _ => 0..0,
    };
    (span, wire)
}

/// Interprets a raw wire value as a declared kind. Inlined: where the kind is known, only
/// its arm is left.
#[inline(always)]
pub fn interpret(kind: &Kind, raw: u64) -> Scalar {
    match kind {
        Kind::Int32 | Kind::Sfixed32 => Scalar::Signed(i64::from(raw as u32 as i32)),
        Kind::Int64 | Kind::Sfixed64 => Scalar::Signed(raw as i64),
        Kind::Uint32 | Kind::Fixed32 => Scalar::Unsigned(u64::from(raw as u32)),
        Kind::Sint32 => {
            let v = raw as u32;
            Scalar::Signed(i64::from(((v >> 1) as i32) ^ -((v & 1) as i32)))
        }
        Kind::Sint64 => Scalar::Signed(((raw >> 1) as i64) ^ -((raw & 1) as i64)),
        Kind::Bool => Scalar::Bool(raw != 0),
        Kind::Float => Scalar::Float(f64::from(f32::from_bits(raw as u32))),
        Kind::Double => Scalar::Float(f64::from_bits(raw)),
        Kind::Enum(e) => {
            let n = raw as u32 as i32;
            Scalar::Enum(n, e.get_value(n).map(|v| v.name().to_owned()))
        }
        Kind::Uint64 | Kind::Fixed64 | Kind::String | Kind::Bytes | Kind::Message(_) => Scalar::Unsigned(raw),
    }
}

/// The scalar value of a node, interpreted by its field's kind when the schema knows it.
pub fn scalar(doc: &Document, id: NodeId) -> Option<Scalar> {
    scalar_with(doc, id, doc.field_info(id))
}

/// [`scalar`], given the node's field (as [`Document::field_info`] finds it).
pub fn scalar_with(doc: &Document, id: NodeId, field: Option<&FieldInfo>) -> Option<Scalar> {
    scalar_of(doc, &doc.node(id), field)
}

/// [`scalar_with`] of a node already read.
pub fn scalar_of(doc: &Document, node: &Node, field: Option<&FieldInfo>) -> Option<Scalar> {
    raw_of(doc, node, field).map(|raw| scalar_from_raw(raw, node, field))
}

/// What a node's value `raw` (as [`raw_of`] reads it) is as a scalar: interpreted by its
/// field's kind where the schema declares it a scalar and it read clean, else unsigned.
pub fn scalar_from_raw(raw: u64, node: &Node, field: Option<&FieldInfo>) -> Scalar {
    let declared = field.filter(|f| matches!(f.class, FieldClass::Scalar(_)) && !node.has_problem());
    match declared {
        Some(field) => interpret(&field.kind, raw),
        None => Scalar::Unsigned(raw),
    }
}

impl std::fmt::Display for Scalar {
    /// The value as protobuf text format (and `set`) writes it: `-3`, `true`, `NAME`, `1.5`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scalar::Signed(v) => write!(f, "{v}"),
            Scalar::Unsigned(v) => write!(f, "{v}"),
            Scalar::Bool(b) => write!(f, "{b}"),
            Scalar::Float(x) => f.write_str(&float_text(*x)),
            Scalar::Enum(_, Some(name)) => f.write_str(name),
            Scalar::Enum(n, None) => write!(f, "{n}"),
        }
    }
}

fn float_text(f: f64) -> String {
    if f.is_nan() {
        "nan".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 { "inf".to_owned() } else { "-inf".to_owned() }
    } else {
        format!("{f}")
    }
}

/// Escapes bytes the way protoc's text format does (C escapes, octal for the rest).
pub fn c_escape(bytes: &[u8], out: &mut String) {
    for &b in bytes {
        match b {
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b'"' => out.push_str("\\\""),
            b'\'' => out.push_str("\\'"),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                out.push('\\');
                for shift in [6, 3, 0] {
                    out.push(char::from(b'0' + ((b >> shift) & 7)));
                }
            }
        }
    }
}

/// Whether a character could act on a terminal instead of being shown: C0 and C1 control
/// characters (escape sequences start with ESC or CSI), DEL, the bidirectional controls
/// that reorder what is displayed, and the line and paragraph separators.
pub fn acts_on_terminal(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        || matches!(c, '\u{2028}' | '\u{2029}')
}

/// Whether all eight bytes of `word` are printable ASCII (0x20 to 0x7e), tested at once.
fn word_is_printable_ascii(word: u64) -> bool {
    not_printable_marks(word) == 0
}

/// The high bit of some byte of `word` that is not printable ASCII set, if there is one:
/// zero when all eight are printable.
#[inline(always)]
fn not_printable_marks(word: u64) -> u64 {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    // A byte's high bit is set in `below` when it is under 0x20, in `above` when it is over
    // 0x7e (each exact for "is any byte so": Bit Twiddling Hacks' hasless and hasmore).
    let below = word.wrapping_sub(ONES * 0x20) & !word;
    let above = word.wrapping_add(ONES) | word;
    (below | above) & HIGHS
}

/// The eight bytes from `at` as one word; 0 (not printable) where there are not eight.
fn word_at(bytes: &[u8], at: usize) -> u64 {
    bytes.get(at..at + 8).and_then(|w| w.try_into().ok()).map_or(0, u64::from_ne_bytes)
}

/// Whether every byte is printable ASCII, a word at a time without stopping early (which
/// the compiler makes tighter than stopping at the first other byte): most lines are so.
pub(crate) fn is_printable_ascii(bytes: &[u8]) -> bool {
    let word_at = |at: usize| word_at(bytes, at);
    match bytes.len() {
        0..8 => bytes.iter().all(|b| (0x20..=0x7e).contains(b)),
        // The words' marks are gathered by `or` and tested once, which the compiler does
        // several words at a time (a test of each took a fourteenth of `show`'s time on a
        // million problem lines); the last word overlaps the one before it rather than
        // being copied out and padded.
        len => {
            let marks = bytes.chunks_exact(8).fold(0, |marks, word| {
                marks | not_printable_marks(u64::from_ne_bytes(word.try_into().expect("eight bytes")))
            });
            (marks | not_printable_marks(word_at(len - 8))) == 0
        }
    }
}

/// Whether `text` holds a character that [acts on a terminal](acts_on_terminal). This runs
/// over every line `show` writes that is not all printable ASCII (every line of an Any has
/// an arrow), so it passes over printable ASCII eight bytes at a time and decodes only the
/// characters whose first byte could begin an acting one: below 0x20, 0x7f, 0xc2 (the C1
/// controls), 0xd8 (U+061C) or 0xe2 (the other bidirectional controls and the separators),
/// none of which is ever inside another character's encoding.
fn holds_acting_char(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        if word_is_printable_ascii(word_at(bytes, at)) {
            at += 8;
            continue;
        }
        let acts = match bytes[at] {
            0x20..=0x7e | 0x80..=0xc1 | 0xc3..=0xd7 | 0xd9..=0xe1 | 0xe3..=0xff => false,
            _ => text.get(at..).and_then(|rest| rest.chars().next()).is_some_and(acts_on_terminal),
        };
        if acts {
            return true;
        }
        at += 1;
    }
    false
}

/// `text` with every character that could act on a terminal written as an escape (`\x1b`,
/// `\n`, `\u{202e}`), so that text from a blob or a schema shows as text, on one line.
/// Borrows when there is nothing to escape, which is almost always.
pub fn terminal_safe(text: &str) -> std::borrow::Cow<'_, str> {
    if is_printable_ascii(text.as_bytes()) || !holds_acting_char(text) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 && acts_on_terminal(c) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if acts_on_terminal(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// What a field takes, in words, for a prompt: `uint32, 0 to 4294967295`.
pub fn accepted(doc: &Document, id: NodeId) -> String {
    let Some(field) = doc.field_info(id) else { return "raw bytes in hex".to_owned() };
    let range = match &field.kind {
        Kind::Uint32 | Kind::Fixed32 => format!("0 to {}", u32::MAX),
        Kind::Uint64 | Kind::Fixed64 => format!("0 to {}", u64::MAX),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => format!("{} to {}", i32::MIN, i32::MAX),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => format!("{} to {}", i64::MIN, i64::MAX),
        Kind::Bool => "true or false".to_owned(),
        Kind::Float | Kind::Double => "a number, inf or nan".to_owned(),
        Kind::Enum(e) => e.values().map(|v| v.name().to_owned()).collect::<Vec<_>>().join(", "),
        Kind::String => "text".to_owned(),
        Kind::Bytes => "hex bytes, or @N=HEX".to_owned(),
        Kind::Message(_) => "a message".to_owned(),
    };
    format!("{}, {range}", field.type_name)
}

/// A value as `set` takes it back: a number without its hex aside, a string as it is (if
/// it is UTF-8), bytes in hex; `None` for a node that holds no value (a message).
pub fn settable(doc: &Document, id: NodeId) -> Option<String> {
    let node = doc.node(id);
    match node.kind {
        NodeKind::Scalar | NodeKind::Element => Some(scalar(doc, id).map(|v| v.to_string()).unwrap_or_default()),
        NodeKind::String if !node.has_problem() => Some(String::from_utf8_lossy(doc.value_bytes(id)).into_owned()),
        NodeKind::String | NodeKind::Bytes | NodeKind::Error => Some(hex_preview(doc.value_bytes(id), usize::MAX)),
        _ => None,
    }
}

/// Renders bytes as lowercase hex, all of them (as edit scripts write raw bytes).
pub fn hex(bytes: &[u8]) -> String {
    hex_preview(bytes, usize::MAX)
}

/// Renders bytes as lowercase hex, at most `limit` bytes, with a count of the rest.
pub fn hex_preview(bytes: &[u8], limit: usize) -> String {
    let mut out = String::with_capacity(bytes.len().min(limit) * 2 + 16);
    push_hex(bytes, limit, &mut out);
    out
}

/// A short, one-line rendering of a node's value for the tree views.
pub fn preview(doc: &Document, id: NodeId, limit: usize) -> String {
    let mut out = String::new();
    push_preview(doc, id, limit, &mut out);
    out
}

/// Appends [`preview`] to `out` (empty for containers).
pub fn push_preview(doc: &Document, id: NodeId, limit: usize, out: &mut String) {
    let node = doc.node(id);
    push_preview_with(doc, id, &node, doc.field_info_of(&node), limit, out)
}

/// [`push_preview`], given the node `id` as read and its field.
pub fn push_preview_with(
    doc: &Document,
    id: NodeId,
    node: &Node,
    field: Option<&FieldInfo>,
    limit: usize,
    out: &mut String,
) {
    match node.kind {
        NodeKind::Scalar | NodeKind::Element => {
            if let Some(v) = scalar_of(doc, node, field) {
                push_scalar_display(&v, out);
            }
        }
        NodeKind::String => push_quoted(doc.value_bytes_of(node), limit, out),
        NodeKind::Bytes => {
            let bytes = doc.value_bytes_of(node);
            let _ = write!(out, "[{} bytes] ", bytes.len());
            if !bytes.is_empty() && bytes.iter().all(|&b| (0x20..0x7f).contains(&b) || b"\n\r\t".contains(&b)) {
                push_quoted(bytes, limit, out);
            } else {
                push_hex(bytes, limit / 2, out);
            }
        }
        NodeKind::Error => {
            let _ = write!(out, "[{} bytes unreadable]", node.value_end - node.value_start());
        }
        NodeKind::Packed => {
            let _ = write!(out, "[{} elements]", packed_values(doc, id).count());
        }
        _ => {}
    }
}

/// A one-line digest of a container's first few fields (`name="vmtime" state=vmtime.SavedState`),
/// for collapsed rows; at most `limit` characters.
pub fn summary(doc: &Document, id: NodeId, limit: usize) -> String {
    let mut out = String::new();
    let children = crate::model::path::visible_children(doc, id);
    let is_url = |c: &NodeId| doc.is_any(id) && doc.node(*c).field_number == 1 && doc.node(*c).parent == Some(id);
    for child in children.filter(|c| !is_url(c)).take(4) {
        let node = doc.node(child);
        if !out.is_empty() {
            out.push(' ');
        }
        if node.kind != NodeKind::Element {
            out.push_str(&crate::model::path::segment_name(doc, child).unwrap_or_default());
            out.push('=');
        }
        match node.kind {
            NodeKind::Any => {
                let ty = doc.any_payload(child).and_then(|p| doc.message_type(p)).map(|m| m.full_name().to_owned());
                out.push_str(ty.as_deref().unwrap_or("?"));
            }
            NodeKind::Message | NodeKind::Group | NodeKind::Packed => out.push('…'),
            _ => push_preview(doc, child, 24, &mut out),
        }
        if out.chars().count() >= limit {
            break;
        }
    }
    if out.chars().count() > limit {
        out = out.chars().take(limit.saturating_sub(1)).collect::<String>() + "…";
    }
    out
}

/// A string or text-like bytes in quotes for people: valid UTF-8 as it is (`"gäst-α"`),
/// with only quotes, backslashes and what could act on a terminal escaped (`\x1b`,
/// `\u{202e}`); anything else in protoc's C escapes.
fn push_quoted(bytes: &[u8], limit: usize, out: &mut String) {
    out.push('"');
    let shown = &bytes[..bytes.len().min(limit)];
    // A cut may split a character: the valid start is shown as text.
    let text = match std::str::from_utf8(shown) {
        Ok(text) => Some(text),
        Err(e) if e.error_len().is_none() && bytes.len() > limit => std::str::from_utf8(&shown[..e.valid_up_to()]).ok(),
        Err(_) => None,
    };
    match text {
        // Most strings (names, type URLs) need nothing escaped: added whole.
        Some(text)
            if is_printable_ascii(text.as_bytes()) && memchr::memchr2(b'"', b'\\', text.as_bytes()).is_none() =>
        {
            out.push_str(text)
        }
        Some(text) => {
            for c in text.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    c if acts_on_terminal(c) => out.push_str(&terminal_safe(c.encode_utf8(&mut [0; 4]))),
                    c => out.push(c),
                }
            }
        }
        None => c_escape(shown, out),
    }
    out.push('"');
    if bytes.len() > limit {
        let _ = write!(out, "… (+{} bytes)", bytes.len() - limit);
    }
}

/// Every byte's two lowercase hexadecimal digits, `00` to `ff`, one pair after another.
const HEX_PAIR_BYTES: [u8; 512] = {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let (mut pairs, mut byte) = ([0u8; 512], 0);
    while byte < 256 {
        (pairs[2 * byte], pairs[2 * byte + 1]) = (DIGITS[byte >> 4], DIGITS[byte & 15]);
        byte += 1;
    }
    pairs
};

/// [`HEX_PAIR_BYTES`] as text: a byte's pair is pushed as one piece, not a digit at a
/// time (which made writing a 52-bit number in decimal and hex a sixth slower).
const HEX_PAIRS: &str = match std::str::from_utf8(&HEX_PAIR_BYTES) {
    Ok(pairs) => pairs,
    Err(_) => panic!("hexadecimal digits are ASCII"),
};

/// The two hexadecimal digits of `byte`.
#[inline(always)]
fn hex_pair(byte: u8) -> &'static str {
    let at = 2 * usize::from(byte);
    &HEX_PAIRS[at..at + 2]
}

fn push_hex(bytes: &[u8], limit: usize, out: &mut String) {
    for &b in bytes.iter().take(limit) {
        out.push_str(hex_pair(b));
    }
    if bytes.len() > limit {
        let _ = write!(out, "… (+{} bytes)", bytes.len() - limit);
    }
}

/// Appends a scalar for people: decimal, with hex alongside for integers of 10 and up.
pub fn push_scalar_display(value: &Scalar, out: &mut String) {
    // Integers, most of what a tree shows, are written without the formatting machinery.
    let unsigned_at_least_ten = match *value {
        Scalar::Unsigned(v) => Some(v).filter(|&v| v >= 10),
        Scalar::Signed(v) if v >= 10 => Some(v as u64),
        _ => None,
    };
    if let Some(v) = unsigned_at_least_ten {
        push_decimal_and_hex(v, out);
        return;
    }
    let _ = match value {
        Scalar::Unsigned(v) => {
            push_decimal(*v, out);
            Ok(())
        }
        Scalar::Signed(v) => {
            out.push_str(itoa::Buffer::new().format(*v));
            Ok(())
        }
        Scalar::Enum(n, None) => write!(out, "{n} (not a declared value)"),
        Scalar::Enum(n, Some(name)) => write!(out, "{name} ({n})"),
        other => write!(out, "{other}"),
    };
}

/// Appends `v` in decimal.
pub fn push_decimal(v: u64, out: &mut String) {
    out.push_str(itoa::Buffer::new().format(v));
}

/// Appends `v` in decimal and then in hexadecimal, `3221225600 (0xc0000080)`, with room
/// made once: most of a tree's bytes are such numbers.
fn push_decimal_and_hex(v: u64, out: &mut String) {
    // At most 20 decimal digits, " (0x", 16 hexadecimal digits and ")".
    out.reserve(41);
    push_decimal(v, out);
    out.push_str(" (0x");
    // One digit for each four bits, the highest set bit's included; at least one: an odd
    // one first, alone, then a pair for each byte below it.
    let hex_len = (67 - v.leading_zeros()).max(4) / 4;
    let mut pairs = hex_len / 2;
    if hex_len % 2 == 1 {
        out.push_str(&hex_pair((v >> (8 * pairs)) as u8 & 0xf)[1..]);
    }
    while pairs > 0 {
        pairs -= 1;
        out.push_str(hex_pair((v >> (8 * pairs)) as u8));
    }
    out.push(')');
}

#[cfg(test)]
mod tests {
    #[test]
    fn integers_show_in_decimal_and_hex_as_the_formatting_machinery_writes_them() {
        use super::{Scalar, push_scalar_display};
        // Every width of hex digits, at both ends.
        let widths = (0..64).flat_map(|bit| [1u64 << bit, (1u64 << bit) - 1, (1u64 << bit) | 0xa]);
        for v in [0u64, 9, 10, 15, 16, 255, 0xc000_0080, u64::MAX].into_iter().chain(widths) {
            let mut out = String::new();
            push_scalar_display(&Scalar::Unsigned(v), &mut out);
            let expected = if v >= 10 { format!("{v} (0x{v:x})") } else { v.to_string() };
            assert_eq!(out, expected);
        }
        for v in [i64::MIN, -1, 0, 9, 10, i64::MAX] {
            let mut out = String::new();
            push_scalar_display(&Scalar::Signed(v), &mut out);
            let expected = if v >= 10 { format!("{v} (0x{v:x})") } else { v.to_string() };
            assert_eq!(out, expected);
        }
    }

    #[test]
    fn terminal_safe_text_escapes_what_would_act_and_keeps_the_rest() {
        use super::terminal_safe;
        let hostile = "gäst-α \u{1b}[2J \u{1b}]52;c;aGk=\u{7} \u{202e}evil\u{9b}x\nnext\u{7f}";
        assert_eq!(terminal_safe(hostile), "gäst-α \\x1b[2J \\x1b]52;c;aGk=\\x07 \\u{202e}evil\\u{9b}x\\nnext\\x7f");
        assert!(matches!(terminal_safe("plain units[3].name ✓"), std::borrow::Cow::Borrowed(_)));
    }

    use super::*;

    #[test]
    fn the_byte_scan_for_acting_characters_finds_exactly_those_characters() {
        for c in (0..=0x10_ffff).filter_map(char::from_u32) {
            for text in [c.to_string(), format!("a→{c}b"), format!("{c}\u{202f}")] {
                assert_eq!(holds_acting_char(&text), text.chars().any(acts_on_terminal), "{:?}", c);
            }
        }
        // At every place against the words of eight bytes that printable ASCII is passed in.
        for c in (0..0x3000).filter_map(char::from_u32) {
            for before in 0..17 {
                let text = format!("{}{c}{}", "a".repeat(before), "b".repeat(16 - before));
                assert_eq!(holds_acting_char(&text), acts_on_terminal(c), "{c:?} after {before}");
            }
        }
    }

    #[test]
    fn the_word_test_for_printable_ascii_agrees_with_each_byte_s() {
        for byte in 0..=u8::MAX {
            for at in 0..8 {
                let mut word = *b"abcdefgh";
                word[at] = byte;
                let expected = (0x20..=0x7e).contains(&byte);
                assert_eq!(word_is_printable_ascii(u64::from_ne_bytes(word)), expected, "{byte:#x} at {at}");
            }
            for at in 0..17 {
                let mut bytes = vec![b'a'; 17];
                bytes[at] = byte;
                let expected = (0x20..=0x7e).contains(&byte);
                assert_eq!(is_printable_ascii(&bytes[..=at]), expected, "{byte:#x} at {at}");
                assert_eq!(is_printable_ascii(&bytes), expected, "{byte:#x} at {at} of 17");
            }
        }
        assert!(is_printable_ascii(b""));
    }

    #[test]
    fn strings_are_quoted_with_only_what_must_be_escaped() {
        let quoted = |text: &str, limit: usize| {
            let mut out = String::new();
            super::push_quoted(text.as_bytes(), limit, &mut out);
            out
        };
        // Plain ASCII is taken whole; a quote, a backslash or a control is not.
        assert_eq!(quoted("type.googleapis.com/vmtime.SavedState", 96), "\"type.googleapis.com/vmtime.SavedState\"");
        assert_eq!(quoted("say \"hi\"", 96), r#""say \"hi\"""#);
        assert_eq!(quoted(r"C:\vm", 96), r#""C:\\vm""#);
        assert_eq!(quoted("bell\u{7}\u{7f}", 96), r#""bell\x07\x7f""#);
        assert_eq!(quoted("gäst-α", 96), "\"gäst-α\"");
        assert_eq!(quoted("abcdefghij", 4), "\"abcd\"… (+6 bytes)");
    }

    #[test]
    fn zigzag_and_sign() {
        assert_eq!(interpret(&Kind::Sint32, 1), Scalar::Signed(-1));
        assert_eq!(interpret(&Kind::Sint32, 4), Scalar::Signed(2));
        assert_eq!(interpret(&Kind::Sint64, 3), Scalar::Signed(-2));
        assert_eq!(interpret(&Kind::Int32, u64::MAX), Scalar::Signed(-1));
        assert_eq!(interpret(&Kind::Sfixed32, 0xffff_fffe), Scalar::Signed(-2));
        assert_eq!(interpret(&Kind::Float, 0x3fc0_0000), Scalar::Float(1.5));
        assert_eq!(interpret(&Kind::Bool, 2), Scalar::Bool(true));
    }

    #[test]
    fn escapes_like_protoc() {
        let mut s = String::new();
        c_escape(b"a\"\n\x00\xff", &mut s);
        assert_eq!(s, "a\\\"\\n\\000\\377");
    }
}
