//! Edit scripts applied with no history to undo (`set`, `patch`): each edit planned on a
//! decode of only what it touches. After one change the result is kept as the input's
//! spans around the new bytes, with no copy of the input; after more, as new bytes with
//! the spans of them still as read ([`Spans`]). Either way, saving a large file copies
//! what did not change from the file in the kernel rather than writing it from memory.

use std::sync::Arc;

use crate::edit::focus;
use crate::edit::op::{EditError, EditOp};
use crate::edit::script_lines;
use crate::edit::spans::Spans;
use crate::edit::splice::{Change, Splice};
use crate::files::Extent;
use crate::model::Decoder;
use crate::model::source::{Origin, Source};

/// The bytes an edit script gave.
#[derive(Debug)]
pub enum Edited {
    /// The input with one change made: its splices on the input, in order of offset (none
    /// for an empty script).
    Spliced {
        /// The bytes the script was applied to.
        input: Source,
        /// What changed, as non-overlapping splices.
        splices: Vec<Splice>,
    },
    /// New bytes: the input after two or more changes.
    Rewritten {
        /// The bytes.
        bytes: Vec<u8>,
        /// Which of them are still as read from the input.
        spans: Spans,
        /// The file the input was mapped from, if it was.
        origin: Option<Arc<Origin>>,
    },
}

impl Edited {
    /// The bytes as extents in order. A span still as read from a mapped input's file is
    /// marked as held by that file, to be copied from there: the caller makes sure the file
    /// did not change ([`Origin::unchanged`]). A small input, read into memory, is written
    /// from there.
    pub fn extents(&self) -> Vec<Extent<'_>> {
        let (input, splices) = match self {
            Edited::Rewritten { bytes, spans, origin } => {
                return spans.extents(bytes, origin.as_deref().map(Origin::file));
            }
            Edited::Spliced { input, splices } => (input, splices),
        };
        let file = input.mapped_from().map(|origin| origin.file());
        let kept =
            |from: usize, to: usize| Extent { bytes: &input[from..to], copied_from: file.map(|f| (f, from as u64)) };
        let mut extents = Vec::with_capacity(2 * splices.len() + 1);
        let mut at = 0;
        for splice in splices {
            extents.push(kept(at, splice.offset));
            extents.push(Extent::bytes(&splice.inserted));
            at = splice.offset + splice.removed.len();
        }
        extents.push(kept(at, input.len()));
        extents.retain(|p| !p.bytes.is_empty());
        extents
    }

    /// The bytes in one buffer.
    pub fn to_vec(&self) -> Vec<u8> {
        self.extents().iter().flat_map(|p| p.bytes).copied().collect()
    }
}

/// Applies an edit script to `input`: each edit is planned on a decode of only the
/// top-level fields it touches (a [`crate::Focus`]), so the memory an edit needs stays
/// near the blob's size however many fields the rest of it holds. When the focus cannot
/// be told, or the focused plan is refused, the edit is planned on the whole document, so
/// every edit means exactly what it means in an [`crate::Editor`]. Returns the bytes and
/// how many edits were applied; on error, the line number.
pub fn apply_script_lean(
    decoder: &Decoder,
    input: Source,
    script: &str,
) -> Result<(Edited, usize), (usize, EditError)> {
    let origin = input.mapped_from().cloned();
    let mut edited = Edited::Spliced { input, splices: Vec::new() };
    let mut count = 0;
    for (n, line) in script_lines(script) {
        let op = EditOp::parse(line).map_err(|e| (n, e))?;
        let (now, mut spans) = current(edited);
        let plan_on = |decoder: &Decoder| op.plan(&decoder.decode(now.clone()));
        let focused = focus::focus_for(&op, decoder.root_type(), &now).map(|f| decoder.clone().with_focus(f));
        let mut planned = plan_on(focused.as_ref().unwrap_or(decoder));
        if planned.is_err() && focused.is_some() {
            planned = plan_on(decoder);
        }
        let mut change = planned.map_err(|e| (n, e))?;
        edited = if count == 0 {
            change.splices.sort_by_key(|s| s.offset);
            Edited::Spliced { input: now, splices: change.splices }
        } else {
            spans.apply(&change);
            let mut bytes = now.into_bytes();
            change.apply(&mut bytes);
            Edited::Rewritten { bytes, spans, origin: origin.clone() }
        };
        count += 1;
    }
    Ok((edited, count))
}

/// The bytes as they stand, to plan the next edit on, and which of them are as read.
fn current(edited: Edited) -> (Source, Spans) {
    match edited {
        Edited::Spliced { input, splices } => {
            let mut spans = Spans::new(input.len());
            if splices.is_empty() {
                return (input, spans);
            }
            let change = Change { splices };
            spans.apply(&change);
            let mut bytes = input.into_bytes();
            change.apply(&mut bytes);
            (Source::new(bytes), spans)
        }
        Edited::Rewritten { bytes, spans, .. } => (Source::new(bytes), spans),
    }
}
