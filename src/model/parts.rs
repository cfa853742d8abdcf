//! Decoding a large blob's top level in parts, one per core: the root's fields are cut at
//! field boundaries, and each part is decoded at once as if nothing came before it. A
//! part's result stands only when nothing before it could have changed it: it found no
//! problem, and its unit names and fixed-array lengths agree with those before it. From
//! the first part that fails that, the rest is decoded again in order, starting one part
//! earlier (a byte shifted out of a unit shows only in the next), exactly as one pass
//! would. So a healthy blob is checked on every core, and a damaged one is reported
//! exactly as the single pass reports it.

use std::ops::Range;

use crate::decode::wire;
use crate::model::builder::Builder;
use crate::model::decoder::{Decoder, TopLevelHook};
use crate::model::document::Document;
use crate::model::node::NodeId;
use crate::model::overlay::{self, Part, TopState};
use crate::model::source::Source;

/// What a part decoded on its own found.
struct Speculation {
    range: Range<usize>,
    /// No problem at all, in its fields or at its top level.
    clean: bool,
    /// What `measure` added up over its top-level fields.
    measured: usize,
    /// Its own top-level state (as if nothing came before).
    after: TopState,
}

/// Decodes `source` streaming, like [`Decoder::decode_streaming`], with its top level in
/// up to `parts` parts on as many threads. `hook` sees, in order, every top-level field of
/// the parts decoded again in order; of the parts whose results stand it sees none, and
/// `measure` (run on each of their fields) is summed instead. Returns the document (the
/// root and its problems) and that sum.
pub fn decode_streaming_in_parts(
    decoder: &Decoder,
    source: Source,
    parts: usize,
    measure: &(dyn Fn(&Document, NodeId) -> usize + Sync),
    hook: TopLevelHook<'_>,
) -> std::io::Result<(Document, usize)> {
    let cuts = cut(&source, decoder, parts);
    let speculative = decoder.clone().without_causes();
    let speculations: Vec<Speculation> = std::thread::scope(|scope| {
        let running: Vec<_> = cuts
            .iter()
            .map(|range| {
                let (source, decoder) = (source.clone(), &speculative);
                scope.spawn(move || speculate(decoder, source, range.clone(), measure))
            })
            .collect();
        running.into_iter().map(|t| t.join().expect("a part's decode never panics")).collect()
    });
    // The parts that stand, in order, and the state after them.
    let mut before = vec![TopState::default()];
    let mut measured = Vec::new();
    for part in &speculations {
        let state = before.last().expect("never empty");
        if !part.clean || !agrees(state, &part.after) {
            break;
        }
        before.push(absorb(state.clone(), &part.after));
        measured.push(part.measured);
    }
    // Decoded again from one part before the first that does not stand.
    let standing = measured.len();
    let (at, state, kept) = if standing == speculations.len() {
        (source.len(), before.pop().expect("never empty"), measured.iter().sum())
    } else {
        let from = standing.saturating_sub(1);
        let at = speculations.get(from).map_or(0, |p| p.range.start);
        (at, before.swap_remove(from), measured[..from].iter().sum())
    };
    let mut builder = Builder::new(source, decoder.clone());
    let part = Part { range: at..usize::MAX, before: state, partial: false };
    overlay::build_part(&mut builder, Some(hook), false, Some(part))?;
    Ok((builder.finish(), kept))
}

/// Decodes one part as if nothing came before it.
fn speculate(
    decoder: &Decoder,
    source: Source,
    range: Range<usize>,
    measure: &(dyn Fn(&Document, NodeId) -> usize + Sync),
) -> Speculation {
    let mut measured = 0;
    let mut clean = true;
    let mut hook = |doc: &Document, top: NodeId| {
        measured += measure(doc, top);
        clean &= doc.problems().iter().all(|p| p.node < top);
        Ok(())
    };
    let mut builder = Builder::new(source, decoder.clone());
    let part = Part { range: range.clone(), before: TopState::default(), partial: true };
    let after = overlay::build_part(&mut builder, Some(&mut hook), false, Some(part)).unwrap_or_default();
    let clean = clean && builder.problems().is_empty();
    Speculation { range, clean, measured, after }
}

/// Whether a part decoded alone finds what it would have found after `before`: no unit
/// name of its is taken already, and its fixed arrays have the lengths met before.
fn agrees(before: &TopState, part: &TopState) -> bool {
    part.unit_names.is_disjoint(&before.unit_names)
        && part.array_lengths.iter().all(|(key, count)| before.array_lengths.get(key).is_none_or(|c| c == count))
}

/// The state after a part that stands.
fn absorb(mut state: TopState, part: &TopState) -> TopState {
    for &(number, count) in &part.counts {
        match state.counts.iter_mut().find(|(n, _)| *n == number) {
            Some((_, total)) => *total += count,
            None => state.counts.push((number, count)),
        }
    }
    state.unit_names.extend(part.unit_names.iter().cloned());
    for (key, &count) in &part.array_lengths {
        state.array_lengths.entry(key.clone()).or_insert(count);
    }
    state
}

/// The top level cut into up to `parts` byte ranges of about equal size at field
/// boundaries, read as far as the fields read; what follows a field that does not read
/// is in the last range. One range when the root is an Any (its payload is one field).
fn cut(bytes: &[u8], decoder: &Decoder, parts: usize) -> Vec<Range<usize>> {
    if parts < 2 || decoder.root_type().is_some_and(|m| m.full_name() == "google.protobuf.Any") {
        return std::iter::once(0..bytes.len()).collect();
    }
    // Only as far as the last cut: the parts' own decodes read the rest.
    let step = bytes.len() / parts;
    let mut cuts = vec![0];
    let mut pos = 0;
    while cuts.len() < parts
        && let Ok(field) = wire::read_field(bytes, pos, bytes.len())
        && field.end < bytes.len()
    {
        pos = field.end;
        if pos >= cuts.last().expect("never empty") + step {
            cuts.push(pos);
        }
    }
    cuts.push(bytes.len());
    cuts.windows(2).map(|w| w[0]..w[1]).collect()
}
