//! The browser's editing actions: editing a value in a prompt, deleting, appending, undo
//! and redo, saving (atomically, never over the input unless confirmed), and the guard
//! against quitting with unsaved edits. The view keeps its place across each rewrite.

use std::path::{Path, PathBuf};

use super::{App, Effect, Prompt, PromptKind, mark_problem_ancestors};
use crate::edit::op::EditOp;
use crate::files::{self, Extent, WriteError, WriteOptions};
use crate::model::node::{NodeId, NodeKind};
use crate::model::path::{self, FieldPath};
use crate::model::value;

/// The view's place, kept across a rewrite of the document.
#[derive(Debug)]
struct Anchor {
    selected: FieldPath,
    top: FieldPath,
    /// The ids the selection and the top row had: after most edits the same ids are
    /// named by the same paths, which is checked up their ancestors in no time, where a
    /// lookup of a unit deep in a gigabyte walks a quarter of a million others.
    ids: (NodeId, NodeId),
    old_len: usize,
}

impl App {
    pub(super) fn quit(&mut self) {
        if self.editor.is_dirty() && !self.quit_confirmed {
            self.quit_confirmed = true;
            self.message = "unsaved edits: w saves them, q again quits without saving".to_owned();
            return;
        }
        self.effects.push(Effect::Quit);
    }

    pub(super) fn start_edit(&mut self) {
        let doc = self.editor.doc();
        let id = self.selected;
        let node = doc.node(id);
        if self.rows().has_children(id) && node.kind != NodeKind::AnyPayload {
            self.toggle(id);
            return;
        }
        let Some(input) = value::settable(doc, id).filter(|_| node.kind != NodeKind::Error) else {
            self.message = "this row holds no value to edit".to_owned();
            return;
        };
        self.prompt = Some(Prompt::new(PromptKind::Edit, input));
    }

    pub(super) fn append(&mut self) {
        let doc = self.editor.doc();
        let id = self.selected;
        let node = doc.node(id);
        let repeated = doc.field_info(id).is_some_and(|f| f.is_list);
        if repeated && node.kind != NodeKind::Packed {
            let own = path::path_of(doc, id);
            let field = own.field();
            let from = (node.kind != NodeKind::Element).then_some(own);
            self.edit(EditOp::Append { path: field, from });
        } else if node.is_container() && node.kind != NodeKind::Packed {
            self.prompt = Some(Prompt::new(PromptKind::AddField, String::new()));
        } else {
            self.message = "a appends to a repeated field, or adds a field to a message".to_owned();
        }
    }

    /// Applies an edit, keeping the view where it was; false (with the reason shown) if
    /// the edit was refused.
    pub(super) fn edit(&mut self, op: EditOp) -> bool {
        if self.preview {
            self.message = "still decoding the whole file; edits wait for it".to_owned();
            return false;
        }
        let anchor = self.anchor();
        let text = op.to_string();
        match self.editor.apply(op) {
            Ok(()) => {
                self.after_rewrite(anchor);
                self.message = format!("edited: {text} (u undoes)");
                true
            }
            Err(e) => {
                self.message = e.to_string();
                false
            }
        }
    }

    pub(super) fn undo_redo(&mut self, undo: bool) {
        let anchor = self.anchor();
        let done = if undo { self.editor.undo() } else { self.editor.redo() };
        if done {
            self.after_rewrite(anchor);
            self.message = if undo { "undone" } else { "redone" }.to_owned();
        } else {
            self.message = if undo { "nothing to undo" } else { "nothing to redo" }.to_owned();
        }
    }

    /// What to keep in view across a rewrite: the paths of the selection and the top row,
    /// and the size of the document the folds belong to (they are carried over in place).
    fn anchor(&self) -> Anchor {
        let doc = self.editor.doc();
        Anchor {
            selected: path::path_of(doc, self.selected),
            top: path::path_of(doc, self.top),
            ids: (self.selected, self.top),
            old_len: doc.node_count(),
        }
    }

    fn after_rewrite(&mut self, anchor: Anchor) {
        let doc = self.editor.doc();
        if let Some((span, delta)) = self.editor.last_rewrite() {
            self.folds.remap(anchor.old_len, doc, span, delta);
        }
        mark_problem_ancestors(doc, &mut self.problem_ancestors);
        self.problem_counts = super::problem_counts(doc);
        self.quit_confirmed = false;
        // The notes were made on the document before the edit: its nodes have moved.
        self.differences = super::Differences::default();
        // The node the path names (the id it had, if that is it still), or failing that
        // the nearest element or field above it.
        let nearest = |p: &FieldPath, id: NodeId| -> NodeId {
            let still = id.index() < doc.node_count() && !doc.is_transparent(id) && path::path_of(doc, id) == *p;
            if still {
                return id;
            }
            let mut p = p.clone();
            loop {
                if let Ok(id) = path::resolve_path(doc, &p) {
                    return id;
                }
                let up = p.field();
                p = if up != p { up } else { p.parent().unwrap_or_default() };
                if p.is_root() {
                    return NodeId::ROOT;
                }
            }
        };
        let (sel, top) = (nearest(&anchor.selected, anchor.ids.0), nearest(&anchor.top, anchor.ids.1));
        self.top = top;
        self.select(sel);
    }

    /// Saves the bytes to `target` and the edit script beside it. Both are written in full
    /// before either replaces anything, so a full disk leaves the old files as they were;
    /// a file that was read to open this one is replaced only once `confirmed`.
    pub(super) fn save(&mut self, target: PathBuf, confirmed: bool) {
        if target.as_os_str().is_empty() {
            self.message = "not saved: no file name".to_owned();
            return;
        }
        let options = WriteOptions { overwrite_protected: confirmed, no_follow: false };
        let script = files::script_path(&target);
        let bytes = self.editor.doc().bytes();
        let staged = files::stage(&target, &self.editor.extents(), &self.protected, options)
            .and_then(|data| match self.editor.origin_changed() {
                // What was copied from the file opened is not what was read: all from memory.
                true => files::stage(&target, &[Extent::bytes(bytes)], &self.protected, options),
                false => Ok(data),
            })
            .and_then(|data| {
                files::stage(&script, &[Extent::bytes(self.editor.script().as_bytes())], &self.protected, options)
                    .map(|s| (data, s))
            });
        let (data, script_file) = match staged {
            Ok(staged) => staged,
            Err(WriteError::WouldOverwriteInput { target: refused, input }) => {
                self.prompt = Some(Prompt::new(PromptKind::ConfirmOverwrite, String::new()));
                let named = files::named_as_read(&refused, &input);
                self.message =
                    format!("{named} is a file you opened: overwrite it? y and Enter to confirm, Enter alone keeps it");
                self.confirm_target = Some(target);
                return;
            }
            Err(e) => {
                self.message = format!("not saved: {}", e.one_line());
                return;
            }
        };
        let size = bytes.len();
        self.message = match data.commit() {
            Err(e) => format!("not saved: {}", e.one_line()),
            Ok(written) => {
                self.editor.mark_saved();
                let warnings: String = written.warnings.iter().map(|w| format!("; {w}")).collect();
                match script_file.commit() {
                    Ok(_) => format!(
                        "saved {} ({size} bytes) and the edit script {}{warnings}",
                        written.path.display(),
                        script.display()
                    ),
                    Err(e) => format!(
                        "saved {} ({size} bytes), but not its edit script: {}{warnings}",
                        written.path.display(),
                        e.one_line()
                    ),
                }
            }
        };
    }
}

/// Where `w` offers to save: beside the input, `NAME.edited.bin`.
pub(super) fn default_save_path(input: Option<&Path>) -> String {
    let input = input.unwrap_or(Path::new("vm.state.bin"));
    let stem = input.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "state".to_owned());
    input.with_file_name(format!("{stem}.edited.bin")).display().to_string()
}
