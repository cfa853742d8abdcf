//! Why bytes stop parsing: where a top-level field (a unit) does not decode, the single
//! faults that real corruption makes are tried on a copy of its bytes: a tag whose wire
//! type changed, a flipped bit (in a tag, a varint or a length), a length prefix that
//! lies. (A dropped or inserted byte is not tried yet: undoing one also moves every
//! enclosing length.) A fault is a
//! likely cause only when undoing it makes the whole field decode cleanly (and, for its
//! own length, the rest of the file too); otherwise nothing is claimed.
//!
//! The search is bounded: a window of bytes before the first anomaly, a fixed set of
//! trials, fields no larger than [`SEARCHED`], and a budget of trial bytes for the whole
//! input (see [`budget_for`]), so a damaged blob, or one damaged everywhere, checks in a
//! small multiple of the time of an undamaged one.

use prost_reflect::MessageDescriptor;

use crate::decode::wire::{self, WireType};
use crate::model::decoder::Decoder;
use crate::model::document::Document;
use crate::model::node::NodeId;
use crate::model::path::path_of;
use crate::model::source::Source;

/// Bytes before the first anomaly in which a fault is looked for.
const WINDOW: usize = 24;
/// What one trial costs at the least, in budget bytes: a decode's own setting up.
const TRIAL_COST: usize = 4096;

/// Largest top-level field searched (each trial decodes it once).
pub const SEARCHED: usize = 64 << 10;

/// The trial bytes allowed for an input of `len` bytes: its size, and at least
/// enough for a few damaged units of a small blob.
pub(crate) fn budget_for(len: usize) -> usize {
    len.max(8 << 20)
}

/// A single fault that explains a damaged field, and the edit (in edit-script syntax, and
/// applicable to the damaged blob as it is) that repairs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// The byte the fault is at.
    pub offset: usize,
    /// What is wrong there, in words.
    pub what: String,
    /// The repair, as an edit script line.
    pub fix: String,
}

/// A damaged top-level field: where it is, what type it is read as, and where it first
/// stops parsing.
pub(crate) struct Damage<'a> {
    /// The whole input.
    pub bytes: &'a [u8],
    /// The field's whole span (tag, length, value).
    pub field: std::ops::Range<usize>,
    /// Its value's first byte.
    pub value_start: usize,
    /// The type its value is read as.
    pub ty: MessageDescriptor,
    /// The first byte where something is wrong.
    pub anomaly: usize,
    /// Where the message that stops parsing there starts: its tags are suspects too, as a
    /// tag read with the wrong wire type can throw the bytes out of step far from itself.
    pub message_start: usize,
    /// The field's path (`units[4]`).
    pub path: String,
}

/// The likely cause of `damage`, if one single fault explains it; each trial spends the
/// field's size from `budget`, and the search stops when it runs out.
pub(crate) fn find(decoder: &Decoder, damage: &Damage<'_>, budget: &mut usize) -> Option<Cause> {
    let root = decoder.root_type().cloned();
    let value = damage.value_start..damage.field.end;
    if value.len() > SEARCHED || damage.anomaly < value.start || *budget < value.len() {
        return None;
    }
    let decoder =
        Decoder::new(decoder.schema().clone(), Some(damage.ty.clone())).with_limits(decoder.limits()).without_causes();
    let left = std::cell::Cell::new(*budget);
    let clean_with = |decoder: &Decoder, bytes: Vec<u8>| {
        // A trial costs its bytes, and at least what setting up a decode costs.
        left.set(left.get().checked_sub(bytes.len().max(TRIAL_COST))?);
        let doc = decoder.decode(Source::new(bytes));
        doc.problems().is_empty().then_some(doc)
    };
    let clean = |bytes: Vec<u8>| clean_with(&decoder, bytes);
    // What follows a field at the top level, decoded as the root type, for the length trial.
    let root = Decoder::new(decoder.schema().clone(), root).with_limits(decoder.limits()).without_causes();
    let follows_cleanly = |from: usize| {
        let upto = next_fields(damage.bytes, from);
        upto == from || clean_with(&root, damage.bytes[from..upto].to_vec()).is_some()
    };
    let cause = single_byte(damage, &clean).or_else(|| own_length(damage, &clean, &follows_cleanly));
    *budget = left.get();
    cause
}

/// A fault in one byte of the window before the first anomaly, or in a tag of the message
/// that failed: a changed wire type, or a flipped bit.
fn single_byte(damage: &Damage<'_>, clean: &impl Fn(Vec<u8>) -> Option<Document>) -> Option<Cause> {
    let value = damage.value_start..damage.field.end;
    let original = &damage.bytes[value.clone()];
    let at = damage.anomaly.min(value.end) - value.start;
    // Nearest first: the fault is usually just before where parsing failed; then the tags
    // of the message that failed, last first.
    let window = (at.saturating_sub(WINDOW)..(at + 1).min(original.len())).rev();
    let mut tags = Vec::new();
    let mut pos = damage.message_start.max(value.start) - value.start;
    while let Ok(field) = wire::read_field(original, pos, at.min(original.len())) {
        tags.push(pos);
        pos = field.end;
    }
    tags.retain(|&t| t < at.saturating_sub(WINDOW));
    for p in window.chain(tags.into_iter().rev()) {
        if let Some(cause) = wire_type(original, p, clean, damage) {
            return Some(cause);
        }
        for bit in 0..8 {
            let mut fixed = original.to_vec();
            fixed[p] ^= 1 << bit;
            if clean(fixed).is_some() {
                let o = value.start + p;
                return Some(Cause {
                    offset: o,
                    what: format!("bit {bit} of byte {o} is flipped"),
                    fix: format!("flip {o} {bit}"),
                });
            }
        }
    }
    None
}

/// A tag at `p` whose wire type, changed back, makes the field decode.
fn wire_type(
    original: &[u8],
    p: usize,
    clean: &impl Fn(Vec<u8>) -> Option<Document>,
    damage: &Damage<'_>,
) -> Option<Cause> {
    let (tag, tag_len) = wire::read_tag(original, p, original.len()).ok()?;
    for w in [WireType::Varint, WireType::Len, WireType::Fixed32, WireType::Fixed64] {
        if w == tag.wire_type {
            continue;
        }
        let mut fixed = original.to_vec();
        let mut encoded = Vec::new();
        wire::write_varint(&mut encoded, (u64::from(tag.field_number) << 3) | w as u64);
        if encoded.len() != tag_len {
            continue;
        }
        fixed[p..p + tag_len].copy_from_slice(&encoded);
        let Some(doc) = clean(fixed) else { continue };
        // Name the field in the repaired decode, under the damaged field's own path.
        let node = NodeId::ROOT.up_to(doc.end()).find(|&id| doc.node(id).start as usize == p)?;
        let inner = path_of(&doc, node);
        let path = if inner.is_root() { damage.path.clone() } else { format!("{}.{inner}", damage.path) };
        let o = damage.value_start + p;
        let what =
            format!("the tag of {path} says wire type {}, its type is written with {}", tag.wire_type as u8, w as u8);
        // As raw bytes: in the damaged blob the field has no path yet.
        let fix = format!("replace-raw @{o}+{tag_len} {}", crate::model::value::hex(&encoded));
        return Some(Cause { offset: o, what, fix });
    }
    None
}

/// Where the few top-level fields after `from` end (a bounded look ahead: enough to tell a
/// right length from a wrong one, cheap on a huge blob); `from` itself when none reads.
fn next_fields(bytes: &[u8], from: usize) -> usize {
    let mut end = from;
    for _ in 0..4 {
        match wire::read_field(bytes, end, bytes.len()) {
            Ok(field) if field.end - from <= SEARCHED => end = field.end,
            _ => break,
        }
    }
    end
}

/// The field's own length prefix claiming more than its value: a shorter length with which
/// the value decodes cleanly and what then follows at the top level does too.
fn own_length(
    damage: &Damage<'_>,
    clean: &impl Fn(Vec<u8>) -> Option<Document>,
    follows_cleanly: &impl Fn(usize) -> bool,
) -> Option<Cause> {
    let bytes = damage.bytes;
    let mut end = damage.value_start;
    while end < damage.field.end {
        end = wire::read_field(bytes, end, damage.field.end).ok()?.end;
        if end < damage.field.end && follows_cleanly(end) && clean(bytes[damage.value_start..end].to_vec()).is_some() {
            let len = end - damage.value_start;
            // The fault is in the length prefix, just after the tag.
            let (_, tag_len) = wire::read_tag(bytes, damage.field.start, damage.field.end).ok()?;
            let offset = damage.field.start + tag_len;
            let claimed = damage.field.end - damage.value_start;
            let what = format!("the length prefix of {} says {claimed}, its content is {len}", damage.path);
            return Some(Cause { offset, what, fix: format!("set-length {} {len}", damage.path) });
        }
    }
    None
}
