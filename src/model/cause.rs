//! Why bytes stop parsing: where a top-level field (a unit) does not decode, the single
//! faults that real corruption makes are tried on a copy of its bytes: a byte inserted or
//! dropped ([`shift`]), a length prefix that lies, the unit's own or a nested one
//! ([`length`]), a tag whose wire type changed or a flipped bit ([`byte`]). A type URL one
//! byte from a declared one is named where the Any is read. A fault is a likely cause only
//! when undoing it makes the whole field decode cleanly (and, for its own length or a
//! shift, what follows it read in step too); otherwise nothing is claimed.
//!
//! The search is bounded: a window of bytes before the first anomaly, a fixed set of
//! trials, fields no larger than [`SEARCHED`], and a budget of trial bytes for the whole
//! input (see [`budget_for`]), so a damaged blob, or one damaged everywhere, checks in a
//! small multiple of the time of an undamaged one.

mod byte;
mod length;
mod shift;

use std::cell::Cell;
use std::ops::Deref;

use prost_reflect::MessageDescriptor;

pub(crate) use self::byte::{AnyUrl, UrlGuesses, repaired_url_byte};
pub use self::length::{LENGTHS_TRIED, LengthSuspect};
use crate::decode::schema::TypeTable;
use crate::decode::wire;
use crate::model::decoder::Decoder;
use crate::model::document::Document;
use crate::model::source::Source;

/// Bytes before the first anomaly in which a fault is looked for.
const WINDOW: usize = 24;
/// What one trial costs at the least, in budget bytes: a decode's own setting up.
const TRIAL_COST: usize = 4096;

/// How far after a unit the top level may first read out of step because of a byte
/// shifted inside it (the unit's last byte may still read as a field or two).
pub const SHIFT_SHOWS_WITHIN: usize = 16;

/// Largest top-level field searched (each trial decodes it once).
pub const SEARCHED: usize = 64 << 10;

/// The trial bytes allowed for an input of `len` bytes: its size, and at least 8 MiB,
/// enough for a small blob's few damaged units (a unit of [`SEARCHED`] bytes takes about
/// 2 MiB of trials, a small one about 100 KiB). A larger floor would let a small blob
/// damaged in every unit spend many times its own decode on trials.
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
        crate::model::problem::ProblemKind::LikelyCause(Box::new(self))
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
pub(crate) fn find(decoder: &Decoder, damage: &Damage<'_>, budget: &mut usize, types: &mut TypeTable) -> Option<Cause> {
    search(decoder, damage, budget, types, false)
}

/// For a field that decoded cleanly but after which the top level goes out of step (its
/// `anomaly` is where): a byte inserted into it or dropped from it, if one explains it.
/// (A shift inside an opaque value leaves the field itself clean.)
pub(crate) fn find_shift(
    decoder: &Decoder,
    damage: &Damage<'_>,
    budget: &mut usize,
    types: &mut TypeTable,
) -> Option<Cause> {
    search(decoder, damage, budget, types, true)
}

/// [`find`] or, `shift_only`, [`find_shift`]. The trial decodes intern the message types
/// they meet into `types`, of `decoder`'s schema: the walk keeps it from one search to the
/// next (a blob damaged in every unit is searched once a unit). A trial that runs while
/// another holds it starts from an empty table, so it is a cache, never the walk's own.
fn search(
    decoder: &Decoder,
    damage: &Damage<'_>,
    budget: &mut usize,
    types: &mut TypeTable,
    shift_only: bool,
) -> Option<Cause> {
    let root = decoder.root_type().cloned();
    let value = damage.value_start..damage.field.end;
    if value.len() > SEARCHED || damage.anomaly < value.start || *budget < value.len() {
        return None;
    }
    let decoder =
        Decoder::new(decoder.schema().clone(), Some(damage.ty.clone())).with_limits(decoder.limits()).without_causes();
    let left = Cell::new(*budget);
    // One table for every trial, given back when the search ends.
    let kept = types;
    let types = Cell::new(std::mem::take(kept));
    // A trial decode (`None` once the budget is spent): it costs its bytes, and at least
    // what setting up a decode costs.
    let trial_with = |decoder: &Decoder, bytes: Vec<u8>| {
        left.set(left.get().checked_sub(bytes.len().max(TRIAL_COST))?);
        Some(Trial { doc: decoder.decode_with_types(Source::new(bytes), types.take()), types: &types })
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
        shift::shifted_byte(damage, &trial, &resyncs)
    } else {
        // A shift first: its test (is the top level out of step by one byte after the
        // field?) is cheap and rules it in or out, and no fault inside a field's value
        // moves the top level otherwise.
        shift::shifted_byte(damage, &trial, &resyncs)
            .or_else(|| length::nested_length(damage, &clean))
            .or_else(|| byte::single_byte(damage, &clean))
            .or_else(|| length::own_length(damage, &clean, &resyncs))
    };
    // What is too little for any trial is none: the budget then says it has run out
    // (which lets the parts after the first stop searching, in `model::parts`).
    *budget = Some(left.get()).filter(|&left| left >= TRIAL_COST).unwrap_or(0);
    *kept = types.take();
    cause
}

/// The document of a trial decode; the types it interned go back to the search's table
/// when it is dropped, for the next trial to start from.
pub(super) struct Trial<'t> {
    doc: Document,
    types: &'t Cell<TypeTable>,
}

impl Deref for Trial<'_> {
    type Target = Document;

    fn deref(&self) -> &Document {
        &self.doc
    }
}

impl Drop for Trial<'_> {
    fn drop(&mut self) {
        self.types.set(self.doc.take_types());
    }
}

/// Where in the field's value (relative positions) a fault is looked for, nearest first:
/// the window before the first anomaly (the fault is usually just before where parsing
/// failed), then the tags of the message that failed, last first.
pub(super) fn suspects(damage: &Damage<'_>) -> Vec<usize> {
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
