//! Why bytes stop parsing: where a top-level field (a unit) does not decode, the single
//! faults that real corruption makes are tried on a copy of its bytes: a tag whose wire
//! type changed, a flipped bit (in a tag, a varint or a length), a length prefix that
//! lies, a byte inserted or dropped (the lengths around it were written before, so the top
//! level reads one byte out of step after the field). A fault is a likely cause only when
//! undoing it makes the whole field decode cleanly (and, for its own length or a shift,
//! what follows it too); otherwise nothing is claimed.
//!
//! The search is bounded: a window of bytes before the first anomaly, a fixed set of
//! trials, fields no larger than [`SEARCHED`], and a budget of trial bytes for the whole
//! input (see [`budget_for`]), so a damaged blob, or one damaged everywhere, checks in a
//! small multiple of the time of an undamaged one.

use prost_reflect::MessageDescriptor;

use crate::decode::schema::{Schema, TYPE_URL_PREFIX};
use crate::decode::wire::{self, WireType};
use crate::model::decoder::Decoder;
use crate::model::document::Document;
use crate::model::node::{NodeId, NodeKind};
use crate::model::path::path_of;
use crate::model::problem::ProblemKind;
use crate::model::source::Source;

/// Bytes before the first anomaly in which a fault is looked for.
const WINDOW: usize = 24;
/// What one trial costs at the least, in budget bytes: a decode's own setting up.
const TRIAL_COST: usize = 4096;

/// How far after a unit the top level may first read out of step because of a byte
/// shifted inside it (the unit's last byte may still read as a field or two).
pub const SHIFT_SHOWS_WITHIN: usize = 16;

/// The shorter lengths a nested length prefix that lies is tried with.
const NESTED_LENGTHS: usize = 64;

/// How many nested length prefixes are suspected at most.
pub const LENGTHS_TRIED: usize = 8;

/// A length prefix inside a damaged field that may claim more than its content.
#[derive(Debug, Clone, Copy)]
pub struct LengthSuspect {
    /// Where the prefix is.
    pub at: usize,
    /// Whether its content is opaque (bytes, a string): its true end is then any byte,
    /// not a field boundary.
    pub opaque: bool,
}

/// The places nearest the first anomaly at which a dropped byte is tried as every value.
const DROPPED_ANY_PLACES: usize = 2;

/// The places nearest the first anomaly at which a dropped byte is also tried as a tag.
const DROPPED_TAG_PLACES: usize = 8;

/// Largest top-level field searched (each trial decodes it once).
pub const SEARCHED: usize = 64 << 10;

/// The trial bytes allowed for an input of `len` bytes: its size, and at least
/// enough for a few damaged units of a small blob.
pub(crate) fn budget_for(len: usize) -> usize {
    len.max(32 << 20)
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
    /// The bytes the fault may be in: `offset` alone, a length prefix, or for a byte
    /// shifted inside an opaque value (bytes, a string), that value, as any of its bytes
    /// could be the one.
    pub span: std::ops::Range<usize>,
}

impl Cause {
    /// A fault at one byte.
    fn at(offset: usize, what: String, fix: String) -> Cause {
        Cause { offset, what, fix, span: offset..offset + 1 }
    }

    /// The problem that reports it.
    pub fn into_problem(self) -> crate::model::problem::ProblemKind {
        let span = self.span.start as u64..self.span.end as u64;
        crate::model::problem::ProblemKind::LikelyCause { what: self.what, fix: self.fix, span }
    }
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
    /// The length prefixes inside the field that may lie, innermost first.
    pub lengths: Vec<LengthSuspect>,
    /// The field's path (`units[4]`).
    pub path: String,
}

/// The likely cause of `damage`, if one single fault explains it; each trial spends the
/// field's size from `budget`, and the search stops when it runs out.
pub(crate) fn find(decoder: &Decoder, damage: &Damage<'_>, budget: &mut usize) -> Option<Cause> {
    search(decoder, damage, budget, false)
}

/// For a field that decoded cleanly but after which the top level goes out of step (its
/// `anomaly` is where): a byte inserted into it or dropped from it, if one explains it.
/// (A shift inside an opaque value leaves the field itself clean.)
pub(crate) fn find_shift(decoder: &Decoder, damage: &Damage<'_>, budget: &mut usize) -> Option<Cause> {
    search(decoder, damage, budget, true)
}

fn search(decoder: &Decoder, damage: &Damage<'_>, budget: &mut usize, shift_only: bool) -> Option<Cause> {
    let root = decoder.root_type().cloned();
    let value = damage.value_start..damage.field.end;
    if value.len() > SEARCHED || damage.anomaly < value.start || *budget < value.len() {
        return None;
    }
    let decoder =
        Decoder::new(decoder.schema().clone(), Some(damage.ty.clone())).with_limits(decoder.limits()).without_causes();
    let left = std::cell::Cell::new(*budget);
    // A trial decode (`None` once the budget is spent): it costs its bytes, and at least
    // what setting up a decode costs.
    let trial_with = |decoder: &Decoder, bytes: Vec<u8>| {
        left.set(left.get().checked_sub(bytes.len().max(TRIAL_COST))?);
        Some(decoder.decode(Source::new(bytes)))
    };
    let clean_with = |decoder: &Decoder, bytes: Vec<u8>| trial_with(decoder, bytes).filter(|d| d.problems().is_empty());
    let trial = |bytes: Vec<u8>| trial_with(&decoder, bytes);
    let clean = |bytes: Vec<u8>| clean_with(&decoder, bytes);
    // What follows a field at the top level, decoded as the root type, for the length trial.
    let root = Decoder::new(decoder.schema().clone(), root).with_limits(decoder.limits()).without_causes();
    // The top level in step at `from`: the input ends there, or fields read cleanly.
    let resyncs = |from: usize| {
        let upto = next_fields(damage.bytes, from);
        from == damage.bytes.len() || (upto > from && clean_with(&root, damage.bytes[from..upto].to_vec()).is_some())
    };
    let cause = if shift_only {
        shifted_byte(damage, &trial, &resyncs)
    } else {
        // A shift first: its test (is the top level out of step by one byte after the
        // field?) is cheap and rules it in or out, and no fault inside a field's value
        // moves the top level otherwise.
        shifted_byte(damage, &trial, &resyncs)
            .or_else(|| nested_length(damage, &clean))
            .or_else(|| single_byte(damage, &clean))
            .or_else(|| own_length(damage, &clean, &resyncs))
    };
    *budget = left.get();
    cause
}

/// Where in the field's value (relative positions) a fault is looked for, nearest first:
/// the window before the first anomaly (the fault is usually just before where parsing
/// failed), then the tags of the message that failed, last first.
fn suspects(damage: &Damage<'_>) -> Vec<usize> {
    let value = damage.value_start..damage.field.end;
    let original = &damage.bytes[value.clone()];
    let at = damage.anomaly.min(value.end) - value.start;
    let mut found: Vec<usize> = (at.saturating_sub(WINDOW)..(at + 1).min(original.len())).rev().collect();
    let mut tags = Vec::new();
    let mut pos = damage.message_start.max(value.start) - value.start;
    while let Ok(field) = wire::read_field(original, pos, at.min(original.len())) {
        tags.push(pos);
        pos = field.end;
    }
    found.extend(tags.into_iter().rev().filter(|&t| t < at.saturating_sub(WINDOW)));
    found
}

/// A fault in one byte of the suspects: a changed wire type, or a flipped bit.
fn single_byte(damage: &Damage<'_>, clean: &impl Fn(Vec<u8>) -> Option<Document>) -> Option<Cause> {
    let value = damage.value_start..damage.field.end;
    let original = &damage.bytes[value.clone()];
    for p in suspects(damage) {
        if let Some(cause) = wire_type(original, p, clean, damage) {
            return Some(cause);
        }
        for bit in 0..8 {
            let mut fixed = original.to_vec();
            fixed[p] ^= 1 << bit;
            if clean(fixed).is_some() {
                let o = value.start + p;
                return Some(Cause::at(o, format!("bit {bit} of byte {o} is flipped"), format!("flip {o} {bit}")));
            }
        }
    }
    None
}

/// A byte inserted into the field or dropped from it. Its length prefix was written
/// before, so the field's declared span ends a byte early (inserted) or late (dropped), and
/// the top level reads in step again one byte after (or before) where the field ends: only
/// then is a shift tried, at the suspects. A shift that makes the field decode cleanly is
/// the cause; failing that, the first that puts its structure back in step (a byte shifted
/// in a string may leave a value that still does not resolve). A dropped byte's value is
/// unknown: it is looked for only at the place found with a placeholder.
fn shifted_byte(
    damage: &Damage<'_>,
    trial: &impl Fn(Vec<u8>) -> Option<Document>,
    resyncs: &impl Fn(usize) -> bool,
) -> Option<Cause> {
    let (bytes, end) = (damage.bytes, damage.field.end);
    let original = &bytes[damage.value_start..end];
    // The last field, its length one more than the input holds: a byte dropped from it.
    let cut_by_one = end == bytes.len() && declared_len(damage) == Some(original.len() + 1);
    if !cut_by_one && resyncs(end) {
        return None; // the top level is in step: nothing was inserted or dropped
    }
    let inserted = !cut_by_one && end < bytes.len() && resyncs(end + 1);
    let dropped = cut_by_one || (!inserted && end > damage.value_start && resyncs(end - 1));
    if !inserted && !dropped {
        return None;
    }
    // The field as it was, undoing a shift at `p`: its declared length, with the byte it
    // lost put back (and the one it took from what follows given back), or its own extra
    // byte taken out (and the one it gave to what follows taken back).
    let kept = if cut_by_one { original.len() } else { original.len().saturating_sub(1) };
    let shifted = |p: usize, value: u8| match inserted {
        true => [&original[..p], &original[p + 1..], &bytes[end..end + 1]].concat(),
        false => [&original[..p], &[value], &original[p..kept]].concat(),
    };
    let mut in_step = None;
    // A dropped byte is put back as 0x00 first, then at the very nearest places as every
    // value (the byte where parsing failed is most often the lost one: the first byte of a
    // two-byte tag, say), then at the nearest places as the one-byte tags of fields 1-15,
    // as a lost tag throws everything after it out of step. The shift
    // being certain, every place is tried after the suspects, those before the anomaly
    // nearest first: a shift can stay hidden long before it shows (and one inside a type
    // URL shows at the URL's start). The budget bounds the search.
    let suspects = suspects(damage);
    let at = damage.anomaly.min(end) - damage.value_start;
    let before = (0..at.min(original.len())).rev();
    let rest = before.chain(at..original.len()).filter(|p| !suspects.contains(p));
    let tags = (1u8..16).flat_map(|n| [n << 3, n << 3 | 2]);
    let dropped_at = |places: usize| suspects.iter().copied().take(if inserted { 0 } else { places });
    let placeholders = suspects
        .iter()
        .copied()
        .chain(rest)
        .map(|p| (p, 0))
        .chain(dropped_at(DROPPED_ANY_PLACES).flat_map(|p| (1..=u8::MAX).map(move |v| (p, v))))
        .chain(dropped_at(DROPPED_TAG_PLACES).flat_map(|p| tags.clone().map(move |t| (p, t))));
    // The cause at `p`; widened to the opaque field around it only when a byte shifted at
    // that field's other end does as well (else the value, a type URL say, fixes the place).
    let cause = |p: usize, value: u8, doc: &Document, clean: bool| {
        let fits = |doc: &Document| match clean {
            true => doc.problems().is_empty(),
            false => !doc.problems().iter().any(|q| is_out_of_step(&q.kind)),
        };
        let opaque = opaque_around(doc, damage, p, if inserted { 1 } else { -1 }).filter(|(span, _)| {
            let start = span.start - damage.value_start;
            let other = if p == start { span.end.saturating_sub(damage.value_start + 1) } else { start };
            other != p && other < original.len() && trial(shifted(other, value)).is_some_and(|d| fits(&d))
        });
        shift_cause(damage, p, inserted, value, clean, opaque)
    };
    // A repair that writes a singular field twice is legal but not what an encoder does:
    // kept only as a fallback to one that does not.
    let mut fallback = None;
    for (p, placeholder) in placeholders {
        let doc = trial(shifted(p, placeholder))?;
        if doc.problems().is_empty() {
            if inserted || !repeats_a_singular_field(&doc) {
                return Some(cause(p, placeholder, &doc, true));
            }
            fallback.get_or_insert((p, placeholder, doc));
        } else if in_step.is_none() && !doc.problems().iter().any(|q| is_out_of_step(&q.kind)) {
            in_step = Some((p, doc));
            if !inserted {
                break; // the place of a dropped byte is found; its value is looked for next
            }
        }
    }
    // The place of a dropped byte (in step, or clean with a field twice): every value there.
    let place = in_step.as_ref().map(|(p, _)| *p).or(fallback.as_ref().map(|(p, ..)| *p));
    if let Some(p) = place.filter(|_| !inserted) {
        for value in 0..=u8::MAX {
            let doc = trial(shifted(p, value))?;
            if doc.problems().is_empty() {
                if !repeats_a_singular_field(&doc) {
                    return Some(cause(p, value, &doc, true));
                }
                fallback.get_or_insert((p, value, doc));
            }
        }
    }
    if let Some((p, value, doc)) = fallback {
        return Some(cause(p, value, &doc, true));
    }
    let (p, doc) = in_step?;
    Some(cause(p, 0, &doc, false))
}

/// Whether a decode holds a singular (not repeated) field more than once.
fn repeats_a_singular_field(doc: &Document) -> bool {
    NodeId::ROOT.up_to(doc.end()).any(|id| doc.node(id).index > 0 && doc.field_info(id).is_some_and(|f| !f.is_list))
}

/// The length a field's prefix declares (for a field the input ends inside, more than its
/// span).
fn declared_len(damage: &Damage<'_>) -> Option<usize> {
    let (_, tag_len) = wire::read_tag(damage.bytes, damage.field.start, damage.field.end).ok()?;
    let (len, _) = wire::read_varint(damage.bytes, damage.field.start + tag_len, damage.field.end).ok()?;
    usize::try_from(len).ok()
}

/// Whether a problem is the bytes being out of step (rather than a value that is wrong).
fn is_out_of_step(kind: &ProblemKind) -> bool {
    kind.is_structural() || matches!(kind, ProblemKind::UnknownField { .. })
}

/// The cause for a byte inserted at, or dropped before, `p` (relative to the value);
/// `clean` says whether undoing it decodes cleanly or only puts the structure back in
/// step; `opaque`, the opaque field (span in the damaged blob, path) it may be anywhere in.
fn shift_cause(
    damage: &Damage<'_>,
    p: usize,
    inserted: bool,
    value: u8,
    clean: bool,
    opaque: Option<(std::ops::Range<usize>, String)>,
) -> Cause {
    let o = damage.value_start + p;
    let (span, inside) = match opaque {
        Some((span, path)) => (span, Some(path)),
        None => (o..o + 1, None),
    };
    let place = match &inside {
        Some(field) => {
            format!("in {field} (bytes {}..{}; which byte cannot be told, its value is opaque)", span.start, span.end)
        }
        None if inserted => format!("at byte {o} ({:#04x})", damage.bytes[o]),
        None => format!("before byte {o}"),
    };
    let (what, fix) = if inserted {
        (format!("a byte was inserted {place}: what follows it is one byte out of step"), format!("remove-byte {o}"))
    } else {
        let found = if clean {
            format!("{value:#04x} there makes it decode; the lost value may differ")
        } else {
            "no value there makes it decode cleanly".to_owned()
        };
        let what = format!("a byte was dropped {place}: what follows it is one byte out of step ({found})");
        (what, format!("insert-byte {o} {value:#04x}"))
    };
    let what =
        if clean { what } else { format!("{what}; with it undone the bytes are in step, but a value is still wrong") };
    Cause { offset: o, what, fix, span }
}

/// The opaque field (bytes, a string, a packed run) of the repaired decode `doc` that a
/// byte shifted at `p` (relative to the damaged field's value) lies in, or just after: its value's span in
/// the damaged blob, and its path. `shift` is how the damaged bytes differ in length from
/// the repaired (+1 inserted, -1 dropped).
fn opaque_around(
    doc: &Document,
    damage: &Damage<'_>,
    p: usize,
    shift: isize,
) -> Option<(std::ops::Range<usize>, String)> {
    let id = NodeId::ROOT.up_to(doc.end()).rfind(|&id| {
        let node = doc.node(id);
        matches!(node.kind, NodeKind::Bytes | NodeKind::String | NodeKind::Packed)
            && (node.value_start as usize..=node.value_end as usize).contains(&p)
    })?;
    let node = doc.node(id);
    let start = damage.value_start + node.value_start as usize;
    let end = (damage.value_start + node.value_end as usize).saturating_add_signed(shift);
    let inner = path_of(doc, id);
    let path = if inner.is_root() { damage.path.clone() } else { format!("{}.{inner}", damage.path) };
    Some((start..end.max(start + 1), path))
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
        return Some(Cause { offset: o, what, fix, span: o..o + tag_len });
    }
    None
}

/// A length prefix inside the field that claims more than its content, so that it runs
/// past its enclosing field or swallows what follows it: a shorter length (a field
/// boundary of a message's content, any length of an opaque one), largest first, with which
/// the whole field decodes cleanly. Only lengths written in as many bytes are tried, so the
/// repair moves nothing else.
fn nested_length(damage: &Damage<'_>, clean: &impl Fn(Vec<u8>) -> Option<Document>) -> Option<Cause> {
    let (bytes, end) = (damage.bytes, damage.field.end);
    for suspect in &damage.lengths {
        let at = suspect.at;
        let Ok((claimed, width)) = wire::read_varint(bytes, at, end) else { continue };
        let content = at + width;
        let lengths: Vec<u64> = if suspect.opaque {
            (claimed.saturating_sub(NESTED_LENGTHS as u64)..claimed).rev().collect()
        } else {
            let mut boundaries = vec![content];
            while let Some(&last) = boundaries.last() {
                match wire::read_field(bytes, last, end) {
                    Ok(field) if boundaries.len() < NESTED_LENGTHS => boundaries.push(field.end),
                    _ => break,
                }
            }
            boundaries.into_iter().rev().map(|b| (b - content) as u64).filter(|&len| len < claimed).collect()
        };
        // Of the lengths that decode cleanly, the first for a message's content; for opaque
        // content (where every shorter length may decode, the rest read as fields) the one
        // that leaves the most fields decoded rather than swallowed.
        let mut best: Option<(usize, Vec<u8>, u64)> = None;
        for len in lengths {
            let mut encoded = Vec::new();
            wire::write_varint(&mut encoded, len);
            if encoded.len() != width {
                continue;
            }
            let mut trial = bytes[damage.value_start..end].to_vec();
            trial[at - damage.value_start..content - damage.value_start].copy_from_slice(&encoded);
            let Some(doc) = clean(trial) else { continue };
            let fields = doc.nodes().len();
            if best.as_ref().is_none_or(|(most, ..)| fields > *most) {
                best = Some((fields, encoded, len));
            }
            if !suspect.opaque {
                break;
            }
        }
        if let Some((_, encoded, len)) = best {
            let what = format!("the length prefix at byte {at} says {claimed}, its content is {len}");
            let fix = format!("replace-raw @{at}+{width} {}", crate::model::value::hex(&encoded));
            return Some(Cause { offset: at, what, fix, span: at..content });
        }
    }
    None
}

/// A type URL (at byte `at`) that names no type but is one byte away from one that the
/// schema declares, at the same length: that byte, if exactly one declared URL fits.
pub(crate) fn damaged_url(schema: &Schema, url: &[u8], at: usize) -> Option<Cause> {
    let mut fits = schema.pool.all_messages().filter_map(|m| {
        let expected = format!("{TYPE_URL_PREFIX}{}", m.full_name());
        damaged_url_byte(expected.as_bytes(), url, at)
    });
    let cause = fits.next()?;
    fits.next().is_none().then_some(cause)
}

/// The one byte in which `url` (at byte `at`) differs from `expected`, if it is one.
pub(crate) fn damaged_url_byte(expected: &[u8], url: &[u8], at: usize) -> Option<Cause> {
    if expected.len() != url.len() {
        return None;
    }
    let mut differ = (0..url.len()).filter(|&i| url[i] != expected[i]);
    let i = differ.next()?;
    if differ.next().is_some() {
        return None;
    }
    let o = at + i;
    let what = format!(
        "byte {o} of the type URL is {:#04x} where `{}` has `{}`",
        url[i],
        String::from_utf8_lossy(expected),
        char::from(expected[i])
    );
    Some(Cause::at(o, what, format!("replace-raw @{o}+1 {:02x}", expected[i])))
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
    resyncs: &impl Fn(usize) -> bool,
) -> Option<Cause> {
    let bytes = damage.bytes;
    let mut end = damage.value_start;
    while end < damage.field.end {
        end = wire::read_field(bytes, end, damage.field.end).ok()?.end;
        if end < damage.field.end && resyncs(end) && clean(bytes[damage.value_start..end].to_vec()).is_some() {
            let len = end - damage.value_start;
            // The fault is in the length prefix, just after the tag.
            let (_, tag_len) = wire::read_tag(bytes, damage.field.start, damage.field.end).ok()?;
            let offset = damage.field.start + tag_len;
            let claimed = damage.field.end - damage.value_start;
            let what = format!("the length prefix of {} says {claimed}, its content is {len}", damage.path);
            let span = offset..damage.value_start;
            return Some(Cause { offset, what, fix: format!("set-length {} {len}", damage.path), span });
        }
    }
    None
}
