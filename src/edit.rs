//! Editing: operations addressed by path, planned as splices on the bytes, applied with
//! the enclosing length prefixes fixed up, recorded as a replayable script, undoable.
//!
//! Invariants: every byte outside the edited span and its ancestors' length prefixes is
//! copied verbatim; with no edit the bytes are exactly the input; undo restores the exact
//! bytes; the history keeps only the splices, never a copy of the document.

pub mod focus;
pub mod lean;
pub mod op;
pub mod plan;
pub mod spans;
pub mod splice;
pub mod value;

use std::sync::Arc;

use crate::edit::op::{EditError, EditOp};
use crate::edit::spans::Spans;
pub use crate::edit::splice::Change;
use crate::files::Extent;
use crate::model::Document;
use crate::model::source::Origin;

/// One applied edit: its script line and how to undo and redo it.
#[derive(Debug, Clone)]
struct Applied {
    op: EditOp,
    forward: Change,
    inverse: Change,
}

/// A document being edited, with its history.
#[derive(Debug)]
pub struct Editor {
    doc: Option<Document>,
    done: Vec<Applied>,
    undone: Vec<Applied>,
    /// Byte spans (in the current bytes) written by the last edit itself, for marking
    /// edited rows.
    edited: Vec<std::ops::Range<usize>>,
    /// Length prefixes (in the current bytes) the last edit rewrote to follow it.
    fixed_prefixes: Vec<std::ops::Range<usize>>,
    /// How many edits were applied when the document was last saved.
    saved_at: usize,
    /// The span of the bytes the last rewrite changed (old offsets) and the size change.
    last_rewrite: Option<(std::ops::Range<usize>, isize)>,
    /// Which of the bytes are still as read, and the file they were read from, if any.
    spans: Spans,
    origin: Option<Arc<Origin>>,
}

impl Editor {
    /// Starts editing `doc`.
    pub fn new(doc: Document) -> Self {
        Editor {
            spans: Spans::new(doc.bytes().len()),
            origin: doc.origin().cloned(),
            doc: Some(doc),
            done: Vec::new(),
            undone: Vec::new(),
            edited: Vec::new(),
            fixed_prefixes: Vec::new(),
            saved_at: 0,
            last_rewrite: None,
        }
    }

    /// The document as edited so far.
    pub fn doc(&self) -> &Document {
        self.doc.as_ref().expect("the document is only taken out while it is rewritten")
    }

    /// Gives the document back.
    pub fn into_doc(mut self) -> Document {
        self.doc.take().expect("present")
    }

    /// Plans and applies `op`; on error nothing changes.
    pub fn apply(&mut self, op: EditOp) -> Result<(), EditError> {
        let change = op.plan(self.doc())?;
        let inverse = self.rewrite(change.clone());
        self.done.push(Applied { op, forward: change, inverse });
        self.undone.clear();
        Ok(())
    }

    /// Applies every line of an edit script (comments and blank lines skipped), stopping at
    /// the first that fails; the error names its line number.
    pub fn apply_script(&mut self, script: &str) -> Result<usize, (usize, EditError)> {
        let mut count = 0;
        for (n, line) in script_lines(script) {
            EditOp::parse(line).and_then(|op| self.apply(op)).map_err(|e| (n, e))?;
            count += 1;
        }
        Ok(count)
    }

    /// Undoes the last edit; false if there is none.
    pub fn undo(&mut self) -> bool {
        let Some(applied) = self.done.pop() else { return false };
        self.rewrite(applied.inverse.clone());
        self.undone.push(applied);
        true
    }

    /// Redoes the last undone edit; false if there is none.
    pub fn redo(&mut self) -> bool {
        let Some(applied) = self.undone.pop() else { return false };
        self.rewrite(applied.forward.clone());
        self.done.push(applied);
        true
    }

    /// Whether there are edits not yet saved.
    pub fn is_dirty(&self) -> bool {
        self.done.len() != self.saved_at
    }

    /// Records that the current state was saved.
    pub fn mark_saved(&mut self) {
        self.saved_at = self.done.len();
    }

    /// How many edits are applied.
    pub fn edit_count(&self) -> usize {
        self.done.len()
    }

    /// The applied edits as a script, one line each, replayable with `statescope patch`.
    pub fn script(&self) -> String {
        let mut out =
            String::from("# statescope edit script: replay with `statescope patch FILE --script THIS -o OUT`\n");
        for applied in &self.done {
            out.push_str(&applied.op.to_string());
            out.push('\n');
        }
        out
    }

    /// Spans of the current bytes that the last edit wrote (not the length prefixes that
    /// followed it).
    pub fn edited_spans(&self) -> &[std::ops::Range<usize>] {
        &self.edited
    }

    /// Length prefixes of the current bytes that the last edit rewrote to match it.
    pub fn fixed_prefixes(&self) -> &[std::ops::Range<usize>] {
        &self.fixed_prefixes
    }

    /// The span of the bytes the last edit, undo or redo changed (in the offsets before
    /// it), and how much it grew or shrank them.
    pub fn last_rewrite(&self) -> Option<(std::ops::Range<usize>, isize)> {
        self.last_rewrite.clone()
    }

    /// The bytes to save, as extents: while the file they were read from is as it was then,
    /// the spans no edit touched are marked as held by it, to be copied from there.
    pub fn extents(&self) -> Vec<Extent<'_>> {
        let file = self.origin.as_deref().filter(|origin| origin.unchanged().unwrap_or(false)).map(Origin::file);
        self.spans.extents(self.doc().bytes(), file)
    }

    /// Whether the file the bytes were read from has changed since (or can no longer be
    /// told): extents copied from it meanwhile are then not the bytes read.
    pub fn origin_changed(&self) -> bool {
        self.origin.as_ref().is_some_and(|origin| !origin.unchanged().unwrap_or(false))
    }

    /// Applies a change to the bytes and re-decodes; returns the inverse.
    fn rewrite(&mut self, change: Change) -> Change {
        self.spans.apply(&change);
        let start = change.splices.iter().map(|s| s.offset).min().unwrap_or(0);
        let end = change.splices.iter().map(|s| s.offset + s.removed.len()).max().unwrap_or(0);
        let delta = change.splices.iter().map(|s| s.inserted.len() as isize - s.removed.len() as isize).sum();
        self.last_rewrite = Some((start..end, delta));
        let doc = self.doc.take().expect("present");
        let (doc, inverse) = doc.rewrite(start..end, |bytes| change.apply(bytes));
        self.doc = Some(doc);
        let spans = |fixup: bool| {
            inverse.splices.iter().filter(|s| s.fixup == fixup).map(|s| s.offset..s.offset + s.removed.len()).collect()
        };
        (self.edited, self.fixed_prefixes) = (spans(false), spans(true));
        inverse
    }
}

/// The edits of a script with their line numbers: comments and blank lines skipped.
fn script_lines(script: &str) -> impl Iterator<Item = (usize, &str)> {
    script
        .lines()
        .enumerate()
        .map(|(n, line)| (n + 1, line.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
}
