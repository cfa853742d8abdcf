//! A byte inserted into a unit or dropped from it: the lengths around it were written
//! before, so the top level reads one byte out of step after the unit.

use super::Trial;
use crate::decode::wire;
use crate::model::cause::{Cause, Damage, suspects};
use crate::model::document::Document;
use crate::model::node::{NodeId, NodeKind};
use crate::model::path::path_of;
use crate::model::problem::ProblemKind;

/// The places nearest the first anomaly at which a dropped byte is tried as every value.
const DROPPED_ANY_PLACES: usize = 2;

/// The places nearest the first anomaly at which a dropped byte is also tried as a tag.
const DROPPED_TAG_PLACES: usize = 8;

/// A byte inserted into the field or dropped from it. Its length prefix was written
/// before, so the field's declared span ends a byte early (inserted) or late (dropped), and
/// the top level reads in step again one byte after (or before) where the field ends: only
/// then is a shift tried, at the suspects. A shift that makes the field decode cleanly is
/// the cause; failing that, the first that puts its structure back in step (a byte shifted
/// in a string may leave a value that still does not resolve). A dropped byte's value is
/// unknown: it is looked for only at the place found with a placeholder.
pub(super) fn shifted_byte<'t>(
    damage: &Damage<'_>,
    trial: &impl Fn(Vec<u8>) -> Option<Trial<'t>>,
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
    // A byte inserted right after the field, between it and the next: the field is as it
    // was. Tried after every place inside it (a byte shifted inside a string can leave it
    // clean too), and before a place that only puts the structure back in step.
    if inserted && trial(original.to_vec())?.problems().is_empty() {
        return Some(shift_cause(damage, original.len(), true, 0, true, None));
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
    // A dropped byte is a gap: it may be before any byte of the value or just after it.
    let span = if inserted || inside.is_none() { span } else { span.start..span.end + 1 };
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
            && (node.value_start() as usize..=node.value_end as usize).contains(&p)
    })?;
    let node = doc.node(id);
    let start = damage.value_start + node.value_start() as usize;
    let end = (damage.value_start + node.value_end as usize).saturating_add_signed(shift);
    let inner = path_of(doc, id);
    let path = if inner.is_root() { damage.path.clone() } else { format!("{}.{inner}", damage.path) };
    Some((start..end.max(start + 1), path))
}
