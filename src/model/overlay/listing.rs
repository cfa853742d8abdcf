//! Under a listing decoder (`show`'s tree, text and JSON), a run of top-level messages of
//! one field, each of a type of leaves only that the flat loop would build whole, handed to
//! the hook as one node with no children: the writer makes the run's nodes from the bytes as it lists them
//! ([`crate::model::Document::listed_messages`]), so a million small messages cost a
//! million reads, not three million nodes stored and read back. Under a decoder that lists
//! clean messages (`show`'s tree), a run of top-level messages that skim clean, whatever
//! they hold, is handed over so too ([`crate::model::Document::listed_clean`]).

use std::ops::Range;

use super::flat::clean_leaf;
use super::skim::usual_leaf_end;
use super::{AnyTarget, Frame, Walker};
use crate::decode::schema::{TypeIndex, TypeInfo};
use crate::decode::wire::RawField;
use crate::model::elided::MOST_FLAT_LEAVES;
use crate::model::node::{NodeId, NodeKind};

/// The most messages one node stands for: what a hand-over writes stays small when the top
/// level is read in one pass (a part of it is 64 KiB of input anyway).
const MOST_LISTED: u32 = 2048;

impl Walker<'_, '_> {
    /// Under a listing decoder, streaming: reads on from the root's `frame` past the
    /// top-level messages of one field that the flat loop would build whole, and makes the
    /// last of them a node that stands for them all. Whether it made one.
    pub(super) fn listed_run(&mut self, frame: &mut Frame) -> bool {
        let decoder = self.b.decoder();
        let lists = decoder.lists_flat_runs() && decoder.focus().is_none() && self.hook.is_some();
        let lists_clean = decoder.lists_clean_messages();
        let at_root = frame.node == NodeId::ROOT && matches!(frame.any, AnyTarget::NotAny);
        let Some(root) = frame.ty.filter(|_| lists && at_root && frame.level.depth < self.limits.max_depth) else {
            return false;
        };
        if !self.skim_backoff.tries() {
            return false;
        }
        let start = frame.pos;
        let flat = |walker: &mut Self, raw: &RawField, ty| {
            built_flat(walker.buf(), walker.info(ty), raw.value_start..raw.value_end)
        };
        let (mut last, mut count) = self.run_of(frame, root, flat);
        let clean = count == 0 && lists_clean;
        if clean {
            // A unit whose name is taken is built, to say so.
            let level = frame.level;
            let skims_clean =
                |walker: &mut Self, raw: &RawField, ty| matches!(walker.skim_clean(level, raw, ty), Some((_, None)));
            (last, count) = self.run_of(frame, root, skims_clean);
        }
        self.skim_backoff.tried(count > 0);
        let Some((raw, ty)) = last else { return false };
        let index = self.bump_by(frame.counts_at, raw.tag.field_number, count) + count - 1;
        let kind = if self.info(ty).is_any { NodeKind::Any } else { NodeKind::Message };
        let node = self.push(frame.node, kind, &raw, index, Some(ty));
        self.b.set_next(node, node + 1);
        self.b.listed(node, start, count, clean);
        true
    }

    /// Reads on from the root's `frame` past the top-level messages of one field that pass
    /// `test`, up to [`MOST_LISTED`]: the last of them and how many.
    fn run_of(
        &mut self,
        frame: &mut Frame,
        root: TypeIndex,
        mut test: impl FnMut(&mut Self, &RawField, TypeIndex) -> bool,
    ) -> (Option<(RawField, TypeIndex)>, u32) {
        let (mut last, mut count): (Option<(RawField, TypeIndex)>, u32) = (None, 0);
        let mut known = None;
        while frame.pos < frame.end && count < MOST_LISTED {
            let Some((raw, ty)) = self.top_level_message(root, frame.pos, frame.end, &mut known) else { break };
            let same_field = last.is_none_or(|(last, _)| raw.tag.field_number == last.tag.field_number);
            if !same_field || !test(self, &raw, ty) {
                break;
            }
            frame.pos = raw.end;
            (last, count) = (Some((raw, ty)), count + 1);
        }
        (last, count)
    }
}

/// Whether the flat loop builds the message of type `info` at `span` whole, with at most
/// [`MOST_FLAT_LEAVES`] leaves (as many as a reader of its leaves from the bytes takes).
fn built_flat(bytes: &[u8], info: &TypeInfo, span: Range<usize>) -> bool {
    if !info.built_flat() {
        return false;
    }
    let (mut pos, mut leaves) = (span.start, 0);
    while pos < span.end {
        pos = match usual_leaf_end(bytes, info, pos, span.end) {
            Some(next) => next,
            None => match clean_leaf(bytes, info, pos, span.end) {
                Some((raw, _)) => raw.end,
                None => return false,
            },
        };
        leaves += 1;
        if leaves > MOST_FLAT_LEAVES {
            return false;
        }
    }
    true
}
