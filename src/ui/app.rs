//! The browser's state and its one way in for changes: every key, mouse event and resize
//! becomes an [`Action`], and [`App::update`] applies it. Rendering only reads the state.

use std::path::PathBuf;

use ratatui::layout::Rect;

use crate::edit::Editor;
use crate::edit::op::EditOp;
use crate::files::Protected;
use crate::model::node::NodeId;
use crate::model::path::{FieldPath, PathError, Segment};
use crate::model::problem::Severity;
use crate::model::value::terminal_safe;
use crate::model::{Document, path, value};
use crate::ui::folds::Folds;
use crate::ui::layout::{Panes, panes};
use crate::ui::node_set::NodeSet;
pub use crate::ui::prompt::{Prompt, PromptKey};
use crate::ui::rows::Rows;

mod differences;
mod editing;
mod hex;
mod search;
mod sifting;

pub use differences::Differences;
pub use hex::{ByteRole, HexCursor, HexStep};

use editing::default_save_path;
use search::{SEARCH_SLICE_TIME, Search};

/// The most nodes a document may have for a match's message to count every match in it
/// ("match k of N"): counted row by row on one core, in some tens of milliseconds.
const MOST_MATCHES_COUNTED: usize = 400_000;

/// Everything a user can ask the browser to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Select the next row.
    Down,
    /// Select the previous row.
    Up,
    /// Expand the row, or select its first child when already expanded.
    ExpandOrEnter,
    /// Collapse the row, or select its parent when already collapsed.
    CollapseOrLeave,
    /// Expand or collapse the row.
    Toggle,
    /// Move a page down.
    PageDown,
    /// Move a page up.
    PageUp,
    /// Move half a page down.
    HalfPageDown,
    /// Move half a page up.
    HalfPageUp,
    /// Select the first row.
    First,
    /// Select the last row.
    Last,
    /// Select the parent.
    Parent,
    /// Select the next sibling.
    NextSibling,
    /// Select the previous sibling.
    PrevSibling,
    /// Expand the row and everything below it.
    ExpandSubtree,
    /// Collapse the row and everything below it.
    CollapseSubtree,
    /// Expand every row.
    ExpandAll,
    /// Collapse every row but the root.
    CollapseAll,
    /// Show this many levels below the root, collapsing the rest.
    CollapseToDepth(u8),
    /// Select the next node with a problem.
    NextProblem,
    /// Select the previous node with a problem.
    PrevProblem,
    /// Open the list of every problem (j/k move, Enter goes there).
    ProblemList,
    /// Select the next difference from the other blob (`diff --view`).
    NextDifference,
    /// Select the previous difference.
    PrevDifference,
    /// Open the search prompt.
    StartSearch,
    /// Open the go-to-path prompt.
    StartGoto,
    /// Select the next search match.
    SearchNext,
    /// Select the previous search match.
    SearchPrev,
    /// Copy the selected path.
    CopyPath,
    /// Copy the selected value.
    CopyValue,
    /// Show or hide the detail pane.
    ToggleDetail,
    /// Show or hide the hex pane.
    ToggleHex,
    /// Show or hide the help screen.
    ToggleHelp,
    /// Give keys to the hex pane's byte cursor, or back to the tree.
    ToggleHexFocus,
    /// Move the hex pane's byte cursor.
    HexMove(HexStep),
    /// A hex digit typed in the hex pane (two overwrite the byte).
    HexDigit(u8),
    /// Esc in the hex pane: drop a half-typed byte, or leave the pane.
    HexEscape,
    /// Leave (asking first when there are unsaved edits).
    Quit,
    /// Edit the selected value (or expand/collapse a message).
    EditValue,
    /// Delete the selected field or element.
    Delete,
    /// Append a copy of the selected repeated element, or add a field to a message.
    Append,
    /// Undo the last edit.
    Undo,
    /// Redo the last undone edit.
    Redo,
    /// Save to a new file (with the edit script beside it).
    Save,
    /// A key inside the prompt: typing, cursor movement, deletion.
    PromptKey(PromptKey),
    /// The previous entry of this prompt's history (`:` and `/`).
    PromptHistoryPrev,
    /// The next entry of this prompt's history.
    PromptHistoryNext,
    /// Run the prompt.
    PromptSubmit,
    /// Close the prompt.
    PromptCancel,
    /// Scroll the tree by rows (mouse wheel): negative is up.
    Scroll(i8),
    /// A click at a screen cell.
    Click(u16, u16),
    /// The terminal's new size.
    Resize(u16, u16),
    /// Time passes with no input: a running search continues.
    Tick,
    /// Stop a running search.
    Cancel,
}

/// What an open prompt is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKind {
    /// `/`: search names and values.
    Search,
    /// `:`: go to a path.
    Goto,
    /// `e`: a new value for the selected field.
    Edit,
    /// `a` on a message: the name of a field to add.
    AddField,
    /// `w`: the file to save to.
    Save,
    /// Saving over the input file: `y` to confirm.
    ConfirmOverwrite,
}

impl PromptKind {
    /// What the status line shows before the prompt's text.
    pub fn lead(self) -> &'static str {
        match self {
            PromptKind::Search => "/",
            PromptKind::Goto => ":",
            PromptKind::Edit => "new value: ",
            PromptKind::AddField => "add field: ",
            PromptKind::Save => "save as: ",
            PromptKind::ConfirmOverwrite => "overwrite a file you opened? (y/n): ",
        }
    }

    /// Whether the message line's text goes with the prompt (the check of a typed value,
    /// what a `y` would overwrite).
    pub fn shows_message(self) -> bool {
        matches!(self, PromptKind::Edit | PromptKind::ConfirmOverwrite)
    }
}

/// What an action asks of the world outside the app; the event loop carries it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Put this text on the clipboard (OSC 52), and print it on exit for terminals that
    /// have no clipboard.
    Copy(String),
    /// Find the nodes this `:` query names, where keys still answer, and hand them to
    /// [`App::looked_up`].
    LookUp(String),
    /// Leave the browser.
    Quit,
}

/// The browser's state. Only [`App::update`] changes it; the view reads it through the
/// accessors.
#[derive(Debug)]
pub struct App {
    /// The document shown, with its edits.
    editor: Editor,
    /// The file it came from, if any (the built-in sample has none).
    file: Option<PathBuf>,
    /// The files read to show it (the file, its schemas): saving never replaces one
    /// without asking.
    protected: Protected,
    /// Where a save that waits for the user's `y` goes.
    confirm_target: Option<PathBuf>,
    /// Whether only a preview is decoded yet (edits wait for the whole file).
    preview: bool,
    /// Whether the user was told of unsaved edits and may now quit without saving.
    quit_confirmed: bool,
    /// The file's name as shown in the status bar.
    file_label: String,
    /// Which rows are expanded.
    folds: Folds,
    /// The selected row.
    selected: NodeId,
    /// The first row on screen.
    top: NodeId,
    /// The terminal size.
    size: (u16, u16),
    /// Whether the detail pane is shown.
    show_detail: bool,
    /// Whether the hex pane is shown.
    show_hex: bool,
    /// Whether the help screen is shown.
    show_help: bool,
    /// The open prompt, if any.
    prompt: Option<Prompt>,
    /// The last search.
    last_search: Option<String>,
    /// A message for the status bar.
    message: String,
    /// What the action being applied asks of the event loop.
    effects: Vec<Effect>,
    /// Nodes with a problem somewhere below them, for marking collapsed rows.
    problem_ancestors: NodeSet,
    /// Errors and warnings in the document, for the status line.
    problem_counts: (usize, usize),
    /// A search in progress, continued a slice at a time so keys stay responsive.
    search: Option<Search>,
    /// How long a slice of a search looks ([`SEARCH_SLICE_TIME`]; none in tests that
    /// watch a search go a slice at a time, whatever the build's speed).
    pub(crate) search_slice_time: std::time::Duration,
    /// Differences from another blob, on this document's nodes (`diff --view`).
    differences: Differences,
    /// The open problem list, and the problem selected in it.
    problem_list: Option<usize>,
    /// What was run in the `/` and `:` prompts, oldest first, and where Up/Down are.
    history: (Vec<String>, Vec<String>),
    history_at: Option<usize>,
    /// The hex pane's byte cursor.
    hex: HexCursor,
    /// How the file was read (the type detected), for the root's detail pane.
    note: Option<String>,
}

/// A submitted prompt: its kind and text, and the prompt itself to reopen on a mistake.
struct PromptText {
    kind: PromptKind,
    input: String,
    open: Prompt,
}

impl App {
    /// A browser over `doc`, with the root's children shown.
    pub fn new(doc: Document, file_label: String, size: (u16, u16)) -> Self {
        let folds = Folds::new(doc.node_count());
        let problems = doc.problems().len();
        let mut app = App {
            editor: Editor::new(doc),
            file: None,
            protected: Protected::default(),
            confirm_target: None,
            preview: false,
            quit_confirmed: false,
            file_label,
            folds,
            selected: NodeId::ROOT,
            top: NodeId::ROOT,
            size,
            show_detail: true,
            show_hex: true,
            show_help: false,
            prompt: None,
            last_search: None,
            message: String::new(),
            effects: Vec::new(),
            problem_ancestors: NodeSet::default(),
            problem_counts: (0, 0),
            search: None,
            search_slice_time: SEARCH_SLICE_TIME,
            differences: Differences::default(),
            problem_list: None,
            history: (Vec::new(), Vec::new()),
            history_at: None,
            hex: HexCursor::default(),
            note: None,
        };
        mark_problem_ancestors(app.editor.doc(), &mut app.problem_ancestors);
        app.problem_counts = problem_counts(app.editor.doc());
        app.message = match problems {
            0 => "? for help".to_owned(),
            n => format!("{n} problem(s): ] and [ jump between them; ? for help"),
        };
        app
    }

    /// The same browser over a file on disk: saving offers a name beside it, and never
    /// writes over it, or over any of the `other` files read (its schemas), without asking.
    pub fn with_file(self, file: PathBuf, other: &[PathBuf]) -> Self {
        let mut protected = Protected::default();
        protected.add(&file);
        other.iter().for_each(|f| protected.add(f));
        App { file: Some(file), protected, ..self }
    }

    /// The same browser with differences from another blob noted on its rows.
    pub fn with_differences(self, differences: Differences) -> Self {
        let message = format!("{} difference(s): }} and {{ jump between them; ? for help", differences.len());
        App { differences, message, ..self }
    }

    /// The differences noted on a node.
    pub fn differences_of(&self, id: NodeId) -> impl Iterator<Item = &str> {
        self.differences.of(id)
    }

    /// Whether a difference lies somewhere below `id`.
    pub fn difference_below(&self, id: NodeId) -> bool {
        self.differences.below(id)
    }

    /// The same browser with a note on how the file was read (the type detected): said
    /// once in the message line, and kept in the root's detail pane.
    pub fn with_note(self, note: String) -> Self {
        App { message: format!("{note}; ? for help"), note: Some(note), ..self }
    }

    /// The note on how the file was read, if any.
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    /// The same browser showing only a preview of a large file: edits wait for the whole.
    pub fn with_preview(self) -> Self {
        App { preview: true, ..self }
    }

    /// Shows `text` in the status line.
    pub fn notify(&mut self, text: String) {
        self.message = text;
    }

    /// The document shown, with its edits.
    pub fn editor(&self) -> &Editor {
        &self.editor
    }

    /// The document shown, as edited so far.
    pub fn doc(&self) -> &Document {
        self.editor.doc()
    }

    /// The selected row.
    pub fn selected(&self) -> NodeId {
        self.selected
    }

    /// The first row on screen.
    pub fn top(&self) -> NodeId {
        self.top
    }

    /// The open prompt, if any.
    pub fn prompt(&self) -> Option<&Prompt> {
        self.prompt.as_ref()
    }

    /// The status line's message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The file's name as the status bar shows it.
    pub fn file_label(&self) -> &str {
        &self.file_label
    }

    /// Where keys go now: an open prompt, the hex pane, or the tree.
    pub fn input_mode(&self) -> crate::ui::keymap::InputMode {
        use crate::ui::keymap::InputMode;
        match (&self.prompt, self.hex.focused) {
            (Some(_), _) => InputMode::Prompt,
            (None, true) => InputMode::Hex,
            (None, false) => InputMode::Tree,
        }
    }

    /// Whether the help screen is shown.
    pub fn showing_help(&self) -> bool {
        self.show_help
    }

    /// Whether a search is still looking (it goes on with [`Action::Tick`]).
    pub fn is_searching(&self) -> bool {
        self.search.is_some()
    }

    /// Replaces a preview (a prefix of the file's top-level fields) with the whole document.
    /// The preview decoded the same bytes the same way, so its nodes keep their ids and
    /// the selection, scroll position and folds carry over unchanged.
    pub fn replace_document(&mut self, doc: Document) {
        self.editor = Editor::new(doc);
        self.preview = false;
        self.folds.grow(self.doc().node_count());
        mark_problem_ancestors(self.editor.doc(), &mut self.problem_ancestors);
        self.problem_counts = problem_counts(self.doc());
        let nodes = self.doc().node_count();
        self.message = match self.doc().problems().len() {
            0 => format!("decoded all {nodes} nodes"),
            n => format!("decoded all {nodes} nodes; {n} problem(s): ] and [ jump between them"),
        };
    }

    /// The row navigator for the current folds.
    pub fn rows(&self) -> Rows<'_> {
        Rows { doc: self.editor.doc(), folds: &self.folds }
    }

    /// The screen areas for the current size and panes.
    pub fn panes(&self) -> Panes {
        let status = 1 + self.message_lines_above().map_or(0, |lines| lines.len() as u16);
        panes(Rect::new(0, 0, self.size.0, self.size.1), self.show_detail, self.show_hex, status)
    }

    /// The status bar's summary: problems, edits, file, size, and `? help`, always shown.
    pub fn status_summary(&self) -> String {
        let doc = self.doc();
        let edits = match (self.editor().edit_count(), self.editor().is_dirty()) {
            (0, _) => String::new(),
            (n, true) => format!("{n} edit(s), unsaved · "),
            (n, false) => format!("{n} edit(s), saved · "),
        };
        let problems = match self.problem_counts {
            (0, 0) => String::new(),
            (e, 0) => format!("✗ {e} error(s) · "),
            (0, w) => format!("! {w} warning(s) · "),
            (e, w) => format!("✗ {e} error(s) ! {w} warning(s) · "),
        };
        let (label, bytes, nodes) = (self.file_label(), doc.bytes().len(), doc.node_count());
        terminal_safe(&format!(" {problems}{edits}{label} · {bytes} bytes · {nodes} nodes · ? help ")).into_owned()
    }

    /// The message wrapped onto lines of its own above the status bar, when it does not fit
    /// on the bar beside the summary (or the open prompt); `None` when it fits. At most a
    /// third of the screen: beyond that, the last line ends in `…`.
    pub fn message_lines_above(&self) -> Option<Vec<String>> {
        let message = terminal_safe(&self.message);
        let width = usize::from(self.size.0);
        let beside = match &self.prompt {
            Some(p) if !p.kind.shows_message() => return None,
            Some(p) => p.kind.lead().chars().count() + p.text().chars().count() + 3,
            None => self.status_summary().chars().count(),
        };
        if message.is_empty() || beside + message.chars().count() <= width {
            return None;
        }
        let mut lines = crate::ui::layout::wrap(&message, width);
        let most = usize::from(self.size.1 / 3).max(1);
        if lines.len() > most {
            lines.truncate(most);
            let last = &mut lines[most - 1];
            while last.chars().count() + 1 > width {
                last.pop();
            }
            last.push('…');
        }
        Some(lines)
    }

    fn page(&self) -> usize {
        usize::from(self.panes().tree.height.max(1))
    }

    /// Applies one action, and returns what it asks of the world outside (copies to the
    /// clipboard, leaving).
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        if let Some(at) = self.problem_list {
            self.in_problem_list(at, action);
            self.keep_selection_on_screen();
            return std::mem::take(&mut self.effects);
        }
        // "q again quits" holds for the very next key only.
        if !matches!(action, Action::Quit | Action::Tick | Action::Resize(..)) {
            self.quit_confirmed = false;
        }
        // A message is said once: the next key outside a prompt clears it (what that key
        // does may say something new), and the status line shows the path again.
        if self.prompt.is_none() && !matches!(action, Action::Tick | Action::Resize(..)) {
            self.message.clear();
        }
        if self.show_help && !matches!(action, Action::Resize(..)) {
            // Any key closes the help screen, and does only that: `q` there goes back to
            // the tree, as it leaves a help page in `less` or `man`.
            self.show_help = false;
        } else {
            self.apply(action);
            self.keep_hex_cursor_on_selection();
            self.keep_selection_on_screen();
        }
        std::mem::take(&mut self.effects)
    }

    fn apply(&mut self, action: Action) {
        match action {
            Action::Down
            | Action::Up
            | Action::PageDown
            | Action::PageUp
            | Action::HalfPageDown
            | Action::HalfPageUp
            | Action::Scroll(_)
            | Action::First
            | Action::Last
            | Action::Parent
            | Action::NextSibling
            | Action::PrevSibling
            | Action::NextProblem
            | Action::PrevProblem
            | Action::NextDifference
            | Action::PrevDifference
            | Action::ProblemList
            | Action::Click(..) => self.move_selection(action),
            Action::ExpandOrEnter
            | Action::CollapseOrLeave
            | Action::Toggle
            | Action::ExpandSubtree
            | Action::CollapseSubtree
            | Action::ExpandAll
            | Action::CollapseAll
            | Action::CollapseToDepth(_) => self.fold(action),
            Action::StartSearch
            | Action::StartGoto
            | Action::Save
            | Action::PromptKey(_)
            | Action::PromptHistoryPrev
            | Action::PromptHistoryNext
            | Action::PromptCancel
            | Action::PromptSubmit => self.prompt_key(action),
            Action::SearchNext => self.search_again(true),
            Action::SearchPrev => self.search_again(false),
            Action::Tick => self.continue_search(),
            Action::Cancel => {
                if self.search.take().is_some() {
                    self.message = "search stopped".to_owned();
                }
            }
            Action::CopyPath => self.copy(path::path_of(self.doc(), self.selected).label()),
            // What `set` takes back: no quotes, no hex aside, no "[n bytes]".
            Action::CopyValue => {
                let id = self.selected;
                let text =
                    value::settable(self.doc(), id).unwrap_or_else(|| value::preview(self.doc(), id, usize::MAX));
                self.copy(text);
            }
            Action::ToggleDetail => self.show_detail = !self.show_detail,
            Action::ToggleHex => self.show_hex = !self.show_hex,
            Action::ToggleHelp => self.show_help = true,
            Action::ToggleHexFocus => self.toggle_hex_focus(),
            Action::HexMove(step) => self.hex_move(step),
            Action::HexDigit(digit) => self.hex_digit(digit),
            Action::HexEscape => self.hex_escape(),
            Action::Resize(w, h) => self.size = (w, h),
            Action::Quit => self.quit(),
            Action::EditValue => self.start_edit(),
            Action::Delete => {
                let path = self.selected_path();
                self.edit(EditOp::Delete { path });
            }
            Action::Append => self.append(),
            Action::Undo => self.undo_redo(true),
            Action::Redo => self.undo_redo(false),
        }
    }

    /// The actions that move the selection; others are left alone.
    fn move_selection(&mut self, action: Action) {
        let half = (self.page() / 2).max(1) as isize;
        let rows = self.rows();
        let target = match action {
            Action::Down => return self.step(1),
            Action::Up => return self.step(-1),
            Action::PageDown => return self.step(self.page() as isize),
            Action::PageUp => return self.step(-(self.page() as isize)),
            Action::HalfPageDown => return self.step(half),
            Action::HalfPageUp => return self.step(-half),
            Action::Scroll(n) => return self.step(isize::from(n)),
            Action::NextProblem => return self.jump_to_problem(true),
            Action::PrevProblem => return self.jump_to_problem(false),
            Action::ProblemList if self.doc().problems().is_empty() => {
                self.message = "no problems in this file".to_owned();
                return;
            }
            Action::ProblemList => {
                self.problem_list = Some(0);
                return;
            }
            Action::NextDifference => return self.jump_to_difference(true),
            Action::PrevDifference => return self.jump_to_difference(false),
            Action::Click(x, y) => return self.click(x, y),
            Action::First => Some(NodeId::ROOT),
            Action::Last => Some(rows.last()),
            Action::Parent => rows.parent(self.selected),
            Action::NextSibling => rows.next_sibling(self.selected),
            Action::PrevSibling => rows.prev_sibling(self.selected),
            _ => None,
        };
        if let Some(id) = target {
            self.select(id);
        }
    }

    /// The actions that expand and collapse rows; others are left alone.
    fn fold(&mut self, action: Action) {
        let id = self.selected;
        let subtree = id..self.doc().node(id).next;
        match action {
            Action::ExpandOrEnter => self.expand_or_enter(),
            Action::CollapseOrLeave => self.collapse_or_leave(),
            Action::Toggle if self.rows().has_children(id) => self.toggle(id),
            Action::ExpandSubtree => self.folds.set_range(subtree, true),
            Action::CollapseSubtree => self.folds.set_range(subtree, false),
            Action::ExpandAll => self.folds.set_level(self.doc().node_count(), usize::MAX),
            Action::CollapseAll => {
                self.folds.set_level(self.doc().node_count(), 1);
                self.select(NodeId::ROOT);
            }
            Action::CollapseToDepth(depth) => self.collapse_to_depth(usize::from(depth)),
            _ => {}
        }
    }

    /// The actions that open a prompt or type into it; others are left alone.
    fn prompt_key(&mut self, action: Action) {
        let open = |kind, input| Some(Prompt::new(kind, input));
        match action {
            Action::StartSearch => self.prompt = open(PromptKind::Search, String::new()),
            Action::StartGoto => self.prompt = open(PromptKind::Goto, self.selected_path().to_string()),
            Action::Save => self.prompt = open(PromptKind::Save, default_save_path(self.file.as_deref())),
            Action::PromptKey(key) => {
                self.prompt.iter_mut().for_each(|p| p.edit(key));
                self.check_typed_value();
            }
            Action::PromptHistoryPrev => self.recall(true),
            Action::PromptHistoryNext => self.recall(false),
            Action::PromptCancel => self.prompt = None,
            Action::PromptSubmit => self.submit_prompt(),
            _ => {}
        }
    }

    /// The path of the selected row.
    fn selected_path(&self) -> FieldPath {
        path::path_of(self.doc(), self.selected)
    }

    /// Selects `id`, revealing it if a fold hides it.
    pub fn select(&mut self, id: NodeId) {
        let id = if self.doc().is_transparent(id) { self.rows().parent(id).unwrap_or(NodeId::ROOT) } else { id };
        Rows::reveal(self.editor.doc(), &mut self.folds, id);
        self.selected = id;
    }

    fn step(&mut self, by: isize) {
        let rows = self.rows();
        let mut id = self.selected;
        for _ in 0..by.unsigned_abs() {
            let next = if by > 0 { rows.next(id) } else { rows.prev(id) };
            match next {
                Some(n) => id = n,
                None => break,
            }
        }
        self.selected = id;
    }

    fn expand_or_enter(&mut self) {
        let id = self.selected;
        if !self.rows().has_children(id) {
            return;
        }
        if self.rows().is_expanded(id) {
            if let Some(child) = self.rows().first_child(id) {
                self.selected = child;
            }
        } else {
            self.folds.set(id, true);
        }
    }

    fn collapse_or_leave(&mut self) {
        let id = self.selected;
        if self.rows().has_children(id) && self.rows().is_expanded(id) {
            self.folds.set(id, false);
        } else if let Some(p) = self.rows().parent(id) {
            self.selected = p;
        }
    }

    /// Shows `depth` levels of rows: every row above that depth is expanded, nothing
    /// below it. The folds take the level as it is; no node is visited.
    fn collapse_to_depth(&mut self, depth: usize) {
        self.folds.set_level(self.doc().node_count(), depth);
        let mut sel = self.selected;
        while self.rows().depth(sel) > depth {
            sel = self.rows().parent(sel).unwrap_or(NodeId::ROOT);
        }
        self.select(sel);
        self.message = format!("showing {depth} level(s)");
    }

    /// Expands row `id` if it is collapsed, collapses it if not.
    fn toggle(&mut self, id: NodeId) {
        let open = self.rows().is_expanded(id);
        self.folds.set(id, !open);
    }

    fn jump_to_problem(&mut self, forward: bool) {
        let problems = self.editor.doc().problems();
        if problems.is_empty() {
            self.message = "no problems in this file".to_owned();
            return;
        }
        // The problems are sorted by node: a hostile file's millions are searched, not read
        // one by one on each key.
        let sel = self.selected;
        let ahead = if forward {
            Some(problems.partition_point(|p| p.node <= sel)).filter(|&k| k < problems.len())
        } else {
            problems.partition_point(|p| p.node < sel).checked_sub(1)
        };
        let wrapped = ahead.is_none();
        let k = ahead.unwrap_or(if forward { 0 } else { problems.len() - 1 });
        let p = &problems[k];
        let (node, text, offset, total) = (p.node, p.kind.describe(self.editor.doc()), p.offset, problems.len());
        self.select(node);
        let wrap = match (wrapped, forward) {
            (true, true) => " (from the first again)",
            (true, false) => " (from the last again)",
            _ => "",
        };
        self.message = format!("problem {} of {total}{wrap}: byte {offset} ({offset:#x}): {text}", k + 1);
    }

    fn jump_to_difference(&mut self, forward: bool) {
        match self.differences.next(self.selected, forward).cloned() {
            Some((node, text)) => {
                self.select(node);
                self.message = text;
            }
            None => self.message = "no differences shown (statescope diff A B --view shows them)".to_owned(),
        }
    }

    /// A key while the problem list is open: j/k (arrows) move, Enter (or e) goes to the
    /// problem, anything else closes the list.
    fn in_problem_list(&mut self, at: usize, action: Action) {
        let last = self.doc().problems().len().saturating_sub(1);
        match action {
            Action::Down => self.problem_list = Some((at + 1).min(last)),
            Action::Up => self.problem_list = Some(at.saturating_sub(1)),
            Action::EditValue | Action::ExpandOrEnter => {
                self.problem_list = None;
                if let Some(p) = self.doc().problems().get(at) {
                    let (node, offset, text) = (p.node, p.offset, p.kind.describe(self.doc()));
                    self.select(node);
                    self.message = format!("problem {} of {}: byte {offset} ({offset:#x}): {text}", at + 1, last + 1);
                }
            }
            Action::Resize(w, h) => self.size = (w, h),
            Action::Tick => {}
            _ => self.problem_list = None,
        }
    }

    /// The open problem list's selected entry, if the list is open.
    pub fn problem_list(&self) -> Option<usize> {
        self.problem_list
    }

    /// `:@502` (or `:@0x1f6`): the innermost field that holds that byte.
    fn go_to_byte(&mut self, text: &str) {
        let digits = text[1..].trim();
        let parsed = match digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
            Some(hex) => u64::from_str_radix(hex, 16).ok(),
            None => digits.parse::<u64>().ok(),
        };
        let Some(offset) = parsed else {
            self.message = format!("`{text}` is not a byte offset (`:@502` or `:@0x1f6`)");
            return;
        };
        match self.doc().node_holding(offset) {
            Some(_) => self.place_hex_cursor(offset),
            None => self.message = format!("byte {offset} is past the end ({} bytes)", self.doc().bytes().len()),
        }
    }

    /// While a value is typed (`e`), says whether it fits the field, and what fits: the
    /// edit is planned, not applied.
    fn check_typed_value(&mut self) {
        let Some(prompt) = self.prompt.as_ref().filter(|p| p.kind == PromptKind::Edit) else { return };
        if poke(self.doc(), self.selected, prompt.text()).is_some() {
            self.message = String::new();
            return;
        }
        let op = EditOp::Set { path: self.selected_path(), value: prompt.text().to_owned() };
        let fits = crate::model::value::accepted(self.doc(), self.selected);
        self.message = match op.plan(self.doc()) {
            Ok(_) => format!("✓ {fits}"),
            Err(e) => format!("✗ {e}; takes {fits}"),
        };
    }

    /// Steps through the open prompt's history (`:` and `/` remember what was run).
    fn recall(&mut self, back: bool) {
        let Some(prompt) = self.prompt.as_mut() else { return };
        let history = match prompt.kind {
            PromptKind::Search => &self.history.0,
            PromptKind::Goto => &self.history.1,
            _ => return,
        };
        let len = history.len();
        let at = match (self.history_at, back) {
            (None, true) => len.checked_sub(1),
            (Some(i), true) => Some(i.saturating_sub(1)),
            (Some(i), false) if i + 1 < len => Some(i + 1),
            _ => None,
        };
        self.history_at = at;
        prompt.set_text(at.map_or_else(String::new, |i| history[i].clone()));
    }

    fn submit_prompt(&mut self) {
        let Some(prompt) = self.prompt.take() else { return };
        self.history_at = None;
        let text = prompt.text().to_owned();
        match prompt.kind {
            PromptKind::Search if !text.is_empty() => self.history.0.push(text.clone()),
            PromptKind::Goto if !text.is_empty() => self.history.1.push(text.clone()),
            _ => {}
        }
        let prompt = PromptText { kind: prompt.kind, input: text, open: prompt };
        match prompt.kind {
            PromptKind::Search if prompt.input.is_empty() => {}
            PromptKind::Search => {
                self.last_search = Some(prompt.input);
                self.search_again(true);
            }
            // A query may select many (`units[name=pit]`, `units[*].name`): the first, and
            // how many there are.
            PromptKind::Goto if prompt.input.trim().starts_with('@') => self.go_to_byte(prompt.input.trim()),
            PromptKind::Goto => {
                self.message = format!("looking up {}… Esc stops", prompt.input.trim());
                self.effects.push(Effect::LookUp(prompt.input));
            }
            PromptKind::Edit => {
                let path = self.selected_path();
                let op = match poke(self.doc(), self.selected, &prompt.input) {
                    Some(Ok(bytes)) => EditOp::SetRaw { path, bytes },
                    Some(Err(why)) => {
                        self.message = why;
                        self.prompt = Some(prompt.open);
                        return;
                    }
                    None => EditOp::Set { path, value: prompt.input.clone() },
                };
                if !self.edit(op) {
                    // Keep what was typed, so a mistake can be corrected.
                    self.prompt = Some(prompt.open);
                }
            }
            PromptKind::AddField => {
                let path = self.selected_path().child(Segment::named(prompt.input.trim()));
                self.edit(EditOp::Add { path });
            }
            PromptKind::Save => self.save(PathBuf::from(prompt.input.trim()), false),
            PromptKind::ConfirmOverwrite => {
                let target = self.confirm_target.take();
                if let Some(target) = target.filter(|_| prompt.input.trim().eq_ignore_ascii_case("y")) {
                    self.save(target, true);
                } else {
                    self.message = "not saved".to_owned();
                }
            }
        }
    }

    /// Goes to what a `:` query found: the first node, and how many there are.
    pub fn looked_up(&mut self, query: &str, found: Result<Vec<NodeId>, PathError>) {
        match found {
            Ok(found) => {
                self.select(found[0]);
                let path = self.doc().path_of(found[0]).label();
                self.message = match found.len() {
                    1 => format!("at {path}"),
                    n => format!("at {path} (1 of {n} matches of {})", query.trim()),
                };
            }
            Err(PathError::Stopped) => self.message = "lookup stopped".to_owned(),
            Err(e) => self.message = e.to_string(),
        }
        self.keep_hex_cursor_on_selection();
        self.keep_selection_on_screen();
    }

    fn search_again(&mut self, forward: bool) {
        let Some(query) = self.last_search.clone() else {
            self.message = "no search yet: / starts one".to_owned();
            return;
        };
        self.search = Some(Search::new(query, forward, self.selected));
        self.continue_search();
    }

    /// Looks at the next slice of nodes for the running search.
    fn continue_search(&mut self) {
        let Some(mut search) = self.search.take() else { return };
        let doc = self.editor.doc();
        let len = doc.node_count() as u32;
        let until = std::time::Instant::now() + self.search_slice_time;
        let found = search.first_match(doc, search.looked + 1..len + 1, Some(until));
        search.looked = found.map_or_else(|left| left - 1, |(step, _)| step);
        if let Ok((_, id)) = found {
            let wrapped = if search.forward { id <= search.from } else { id >= search.from };
            let count = self.count_matches(&search, id);
            self.select(id);
            let wrap = match (wrapped, search.forward) {
                (true, true) => " (from the top again)",
                (true, false) => " (from the bottom again)",
                _ => "",
            };
            self.message = format!("/{}: {count}{wrap}", search.query);
            return;
        }
        if search.looked >= len {
            self.message = format!("/{}: not found", search.query);
            return;
        }
        self.message =
            format!("/{}: searching… {}% (Esc stops)", search.query, u64::from(search.looked) * 100 / u64::from(len));
        self.search = Some(search);
    }

    /// "match k of N" for a match at `at`, when the document is small enough to count every
    /// match at once, row by row ([`MOST_MATCHES_COUNTED`]); on larger ones, just "match".
    fn count_matches(&self, search: &Search, at: NodeId) -> String {
        let doc = self.doc();
        if doc.node_count() > MOST_MATCHES_COUNTED {
            return "match".to_owned();
        }
        let mut scratch = search.scratch();
        let (mut k, mut n) = (0, 0);
        for id in NodeId::ROOT.up_to(doc.end()) {
            let node = doc.node(id);
            if search.finds(doc, id, &node, doc.field_info_of(&node), &mut scratch) {
                n += 1;
                if id <= at {
                    k = n;
                }
            }
        }
        format!("match {k} of {n}")
    }

    fn copy(&mut self, text: String) {
        self.message = format!("copied: {}", text.chars().take(60).collect::<String>());
        self.effects.push(Effect::Copy(text));
    }

    fn click(&mut self, x: u16, y: u16) {
        let tree = self.panes().tree;
        if !tree.contains(ratatui::layout::Position { x, y }) {
            return;
        }
        let mut id = self.top;
        for _ in 0..(y - tree.y) {
            match self.rows().next(id) {
                Some(n) => id = n,
                None => return,
            }
        }
        if id == self.selected && self.rows().has_children(id) {
            self.toggle(id);
        }
        self.selected = id;
    }

    /// Moves `top` so that the selected row is on screen.
    fn keep_selection_on_screen(&mut self) {
        if self.doc().is_transparent(self.top) || self.selected < self.top {
            self.top = self.selected;
        }
        let page = self.page();
        let rows = self.rows();
        let mut id = self.top;
        for _ in 1..page {
            if id == self.selected {
                return;
            }
            match rows.next(id) {
                Some(n) => id = n,
                None => break,
            }
        }
        if id == self.selected {
            return;
        }
        // Selected is below the page: put it on the last line.
        let mut top = self.selected;
        for _ in 1..page {
            match rows.prev(top) {
                Some(p) => top = p,
                None => break,
            }
        }
        self.top = top;
    }

    /// The document's errors and warnings.
    pub fn problem_counts(&self) -> (usize, usize) {
        self.problem_counts
    }

    /// Whether a problem lies somewhere below `id`.
    pub fn problem_below(&self, id: NodeId) -> bool {
        self.problem_ancestors.contains(id)
    }

    /// Whether a node is shown with an error or warning mark, and which.
    pub fn mark(&self, id: NodeId) -> Option<Severity> {
        self.doc().row_problems(id).map(|p| p.kind.severity()).max()
    }
}

/// `@N=HEX` typed for a bytes or string value: its bytes with those at offset N (within
/// the value) replaced, so one CMOS byte is changed without retyping 256. `None` when the
/// text is not that form.
fn poke(doc: &Document, id: NodeId, text: &str) -> Option<Result<Vec<u8>, String>> {
    let (at, hex) = text.trim().strip_prefix('@')?.split_once('=')?;
    let node = doc.node(id);
    if !matches!(node.kind, crate::model::NodeKind::Bytes | crate::model::NodeKind::String) {
        return Some(Err("@N=HEX changes bytes of a bytes or string value".to_owned()));
    }
    let Ok(at) = at.trim().parse::<usize>() else { return Some(Err(format!("`{at}` is not an offset"))) };
    let Some(new) = crate::edit::value::parse_hex(hex.trim()) else { return Some(Err(format!("`{hex}` is not hex"))) };
    let mut bytes = doc.value_bytes(id).to_vec();
    match at.checked_add(new.len()).filter(|&end| end <= bytes.len()) {
        Some(end) => {
            bytes[at..end].copy_from_slice(&new);
            Some(Ok(bytes))
        }
        None => {
            Some(Err(format!("the value has {} bytes: @{at} with {} byte(s) runs past it", bytes.len(), new.len())))
        }
    }
}

/// How many errors and warnings a document has.
pub(super) fn problem_counts(doc: &Document) -> (usize, usize) {
    let errors = doc.problems().iter().filter(|p| p.kind.severity() == Severity::Error).count();
    (errors, doc.problems().len() - errors)
}

/// Marks every ancestor of every problem's node in `marks`, in the memory it holds when it
/// is of the size (the set of a gigabyte is tens of MB: new, its pages' faults were a tenth
/// of carrying an edit over).
fn mark_problem_ancestors(doc: &Document, marks: &mut NodeSet) {
    marks.clear(doc.node_count());
    for problem in doc.problems() {
        let mut p = doc.parent(problem.node);
        while let Some(ancestor) = p.filter(|&a| !marks.contains(a)) {
            marks.set(ancestor, true);
            p = doc.parent(ancestor);
        }
    }
}
