//! The rows of a long packed run, made on two cores: the run is one top-level field (a
//! megabyte array of numbers, say) that the decode cannot cut in parts, and its rows are
//! most of the tree, so a second thread makes every other piece of them while this one
//! makes and writes the pieces between. The values' problems must be found again from each
//! value alone ([`run_problems::found_again_alone`]): out of the field's range.

use std::io::{self, Write};
use std::ops::Range;
use std::sync::mpsc;

use super::lines::{Escape, Lines};
use super::{TreeOptions, write_problem, write_value_row};
use crate::decode::schema::FieldInfo;
use crate::decode::wire::{self, PackedRun, WireType};
use crate::model::Document;
use crate::model::node::NodeId;
use crate::model::run_problems;

/// Runs of fewer bytes are written on one core: a thread and the hand-over of its rows
/// cost more than they save below this.
pub(super) const FROM_BYTES: usize = 1 << 20;

/// How many bytes of the run each core makes the rows of at a time: the rows of a piece
/// are held until written, twenty or thirty times its bytes.
const PIECE: usize = 128 << 10;

/// Whose rows, and how they look: the values of run `run` of `doc`, a field's, at which
/// depth, with which options and escape.
#[derive(Clone, Copy)]
pub(super) struct RowsOf<'d> {
    pub(super) doc: &'d Document,
    pub(super) run: NodeId,
    pub(super) field: Option<&'d FieldInfo>,
    pub(super) depth: usize,
    pub(super) options: TreeOptions,
    pub(super) escape: Escape,
}

/// Writes the `rows` of the values in `span` of the document's bytes (a run of
/// `wire`-typed values that reads whole), the first the `first`th of its field, each
/// followed by its problem if it is out of the field's range, as one core writes them:
/// the same lines in the same order.
pub(super) fn write_values(
    rows: RowsOf<'_>,
    (span, wire): (Range<usize>, WireType),
    first: u32,
    lines: &mut Lines<impl Write>,
) -> io::Result<()> {
    std::thread::scope(|scope| {
        // Pieces for the second thread (where, the index of the first value, a buffer to
        // reuse), and their rows back with how many values they held.
        let (to_second, pieces) = mpsc::channel::<(Range<usize>, u32, Vec<u8>)>();
        let (made_back, made) = mpsc::channel::<(Vec<u8>, u32)>();
        scope.spawn(move || {
            let mut block = String::new();
            for (piece, first, mut out) in pieces {
                out.clear();
                let mut lines = Lines::new(&mut block, &mut out);
                // Rows made into memory: no write fails.
                let count = write_rows(rows, (piece, wire), first, &mut lines).unwrap_or(0);
                let _ = lines.finish();
                if made_back.send((out, count)).is_err() {
                    break;
                }
            }
        });
        let bytes = rows.doc.bytes();
        let (mut at, mut index, mut spare) = (span.start, first, Vec::new());
        while at < span.end {
            let mine = at..wire::packed_value_start_from(bytes, span.clone(), wire, at.saturating_add(PIECE));
            let theirs = mine.end..wire::packed_value_start_from(bytes, span.clone(), wire, mine.end + PIECE);
            let theirs_first = index.wrapping_add(wire::packed_values_within(bytes, mine.clone(), wire) as u32);
            let handed = !theirs.is_empty() && to_second.send((theirs.clone(), theirs_first, spare)).is_ok();
            index = index.wrapping_add(write_rows(rows, (mine, wire), index, lines)?);
            spare = Vec::new();
            // A piece the second thread did not make back is made here.
            match handed.then(|| made.recv().ok()).flatten() {
                Some((rows_made, count)) => {
                    lines.write_made(&rows_made)?;
                    (index, spare) = (theirs_first.wrapping_add(count), rows_made);
                }
                None => index = index.wrapping_add(write_rows(rows, (theirs.clone(), wire), index, lines)?),
            }
            at = theirs.end;
        }
        Ok(())
    })
}

/// Writes the `rows` of the values in `piece`, the first the `first`th of its field, each
/// followed by its problem if it has one; how many it wrote.
fn write_rows(
    rows: RowsOf<'_>,
    (piece, wire): (Range<usize>, WireType),
    first: u32,
    lines: &mut Lines<impl Write>,
) -> io::Result<u32> {
    let RowsOf { doc, run, .. } = rows;
    let range = rows.field.and_then(|f| f.range);
    let mut count = 0u32;
    for value in PackedRun::new(piece, wire).values(doc.bytes()).map_while(Result::ok) {
        let index = first.wrapping_add(count);
        let problem = range.and_then(|range| run_problems::out_of_range(run, &value, range));
        let (depth, options) = (rows.depth, rows.options);
        write_value_row(rows.field, (index, &value, problem.is_some()), depth, options, rows.escape, lines)?;
        if let Some(problem) = problem {
            write_problem(doc, &problem, depth, options, &mut false, lines)?;
        }
        count += 1;
    }
    Ok(count)
}
