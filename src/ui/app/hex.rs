//! The hex pane's byte cursor: Tab focuses the pane, the cursor moves by byte, line and
//! page (selecting the field that holds its byte), and two hex digits overwrite that byte
//! as a `set-byte` edit, undoable and in the script like every other. A byte that is a tag
//! or a length prefix is called out before and after it is overwritten.

use super::App;
use crate::edit::op::EditOp;
use crate::model::NodeId;

/// The hex pane's byte cursor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HexCursor {
    /// The byte under the cursor (an offset in the file), once placed.
    pub at: Option<u64>,
    /// Whether keys go to the hex pane.
    pub focused: bool,
    /// The first hex digit typed for the byte, waiting for the second.
    pub pending: Option<u8>,
}

/// How far a move of the hex cursor goes; negative is back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HexStep {
    /// By bytes.
    Bytes(i8),
    /// By lines of the pane.
    Lines(i8),
    /// By the pane's height.
    Pages(i8),
}

/// What a byte is to the field that holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRole {
    /// Part of the field's tag: overwriting it changes the field number or the wire type.
    Tag,
    /// Part of the field's length prefix: overwriting it moves where the field ends.
    Length,
    /// Part of the value.
    Value,
}

impl ByteRole {
    /// Whether overwriting the byte changes how what follows is framed.
    pub fn is_structural(self) -> bool {
        self != ByteRole::Value
    }
}

impl App {
    /// The hex pane's cursor.
    pub fn hex_cursor(&self) -> HexCursor {
        self.hex
    }

    /// The field holding the byte under the cursor and what the byte is to it.
    pub fn hex_byte_role(&self) -> Option<(NodeId, ByteRole)> {
        let at = self.hex.at?;
        let id = self.doc().node_holding(at)?;
        let node = self.doc().node(id);
        let role = if at < node.start + u64::from(node.tag_len()) {
            ByteRole::Tag
        } else if at < node.value_start() {
            ByteRole::Length
        } else {
            ByteRole::Value
        };
        Some((id, role))
    }

    /// Tab: keys go to the hex pane (shown if hidden), the cursor on the selected field's
    /// value; Tab or Esc again gives them back to the tree.
    pub(super) fn toggle_hex_focus(&mut self) {
        if self.hex.focused {
            self.hex.focused = false;
            self.hex.pending = None;
            self.message = "keys go to the tree again (Tab goes back to the hex pane)".to_owned();
            return;
        }
        let len = self.doc().bytes().len() as u64;
        if len == 0 {
            self.message = "the file is empty: no byte to put a cursor on".to_owned();
            return;
        }
        self.show_hex = true;
        self.hex.focused = true;
        let node = self.doc().node(self.selected);
        if !self.hex.at.is_some_and(|at| (node.start..node.end()).contains(&at)) {
            let first = if node.value_end > node.value_start() { node.value_start() } else { node.start };
            self.hex.at = Some(first.min(len - 1));
        }
        self.describe_hex_byte();
    }

    /// Moves the cursor, selecting the field that holds its new byte.
    pub(super) fn hex_move(&mut self, step: HexStep) {
        let pane = self.panes().hex;
        let per_line = pane.map_or(16, |area| crate::ui::layout::hex_bytes_per_line(area.width, self.len()));
        let page = pane.map_or(1, |area| u64::from(area.height.saturating_sub(3)).max(1));
        let by = match step {
            HexStep::Bytes(n) => i64::from(n),
            HexStep::Lines(n) => i64::from(n) * per_line as i64,
            HexStep::Pages(n) => i64::from(n) * (per_line * page) as i64,
        };
        let last = self.len().saturating_sub(1) as i64;
        let at = (self.hex.at.unwrap_or(0) as i64).saturating_add(by).clamp(0, last);
        self.place_hex_cursor(at as u64);
    }

    /// Puts the cursor on byte `at` and selects the field that holds it.
    pub(super) fn place_hex_cursor(&mut self, at: u64) {
        self.hex.at = Some(at);
        self.hex.pending = None;
        if let Some(id) = self.doc().node_holding(at) {
            self.select(id);
        }
        self.describe_hex_byte();
    }

    /// A hex digit typed in the hex pane: the first is held, the second overwrites the
    /// byte and moves on to the next.
    pub(super) fn hex_digit(&mut self, digit: u8) {
        let Some(at) = self.hex.at.filter(|_| self.hex.focused) else { return };
        let Some(high) = self.hex.pending.take() else {
            self.hex.pending = Some(digit);
            self.message = format!("byte {at} ({at:#x}): {digit:x}_ (the second digit writes it; Esc cancels)");
            return;
        };
        let value = (high << 4) | digit;
        let structural = self.hex_byte_role().filter(|(_, role)| role.is_structural());
        let op = EditOp::SetByte { offset: at as usize, value };
        let line = op.to_string();
        if !self.edit(op) {
            return;
        }
        let warning = match structural {
            Some((id, role)) => format!(
                "; ⚠ it was {} of {}: what follows may now read differently",
                role_words(role),
                self.doc().path_of(id).label()
            ),
            None => String::new(),
        };
        self.place_hex_cursor((at + 1).min(self.len().saturating_sub(1) as u64));
        self.message = format!("edited: {line} (u undoes){warning}");
    }

    /// Esc in the hex pane: drops a half-typed byte, or else leaves the pane.
    pub(super) fn hex_escape(&mut self) {
        if self.hex.pending.take().is_some() {
            self.message = "byte not changed".to_owned();
        } else {
            self.toggle_hex_focus();
        }
    }

    /// Keeps a focused cursor inside the selected field when something else moved the
    /// selection (a jump, a search, an undo).
    pub(super) fn keep_hex_cursor_on_selection(&mut self) {
        if !self.hex.focused {
            return;
        }
        let node = self.doc().node(self.selected);
        let len = self.len() as u64;
        match self.hex.at {
            Some(at) if (node.start..node.end()).contains(&at) && at < len => {}
            _ if len == 0 => self.hex = HexCursor::default(),
            _ => self.hex.at = Some(node.start.min(len - 1)),
        }
    }

    /// Says in the message line where the cursor is and what its byte is to the structure.
    fn describe_hex_byte(&mut self) {
        let (Some(at), Some((id, role))) = (self.hex.at, self.hex_byte_role()) else { return };
        let path = self.doc().path_of(id).label();
        let path = if path.is_empty() { "the root".to_owned() } else { path };
        let hint = if self.hex.focused { "; two hex digits overwrite it" } else { "" };
        self.message = match role {
            ByteRole::Value => format!("byte {at} ({at:#x}) is in the value of {path}{hint}"),
            _ => format!(
                "⚠ byte {at} ({at:#x}) is {} of {path}: overwriting it re-frames what follows",
                role_words(role)
            ),
        };
    }

    fn len(&self) -> usize {
        self.doc().bytes().len()
    }
}

/// How the message line names a byte's role.
fn role_words(role: ByteRole) -> &'static str {
    match role {
        ByteRole::Tag => "in the tag",
        ByteRole::Length => "in the length prefix",
        ByteRole::Value => "in the value",
    }
}
