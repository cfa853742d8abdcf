//! Drawing the browser: tree, detail, hex, status bar, prompt and help. Reads the app,
//! never changes it; builds only the rows on screen.

use std::fmt::Write as _;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use crate::model::node::{NodeId, NodeKind};
use crate::model::problem::Severity;
use crate::model::value::terminal_safe;
use crate::model::{Document, path, value};
use crate::render::tree;
use crate::ui::app::{App, PromptKind};
use crate::ui::keymap;

/// Colours, or none under `NO_COLOR` (symbols and reverse video still mark everything).
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    color: bool,
}

impl Theme {
    /// Colours unless the `NO_COLOR` environment variable is set.
    pub fn from_env() -> Self {
        Theme { color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) }
    }

    fn fg(self, color: Color) -> Style {
        if self.color { Style::new().fg(color) } else { Style::new() }
    }

    fn error(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    fn warning(self) -> Style {
        self.fg(Color::Yellow)
    }
}

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, app: &App, theme: Theme) {
    let panes = app.panes();
    draw_tree(frame, app, theme, panes.tree_box);
    if let Some(area) = panes.detail {
        let mut lines = detail_lines(app.doc(), app.selected(), theme);
        let noted = app.differences_of(app.selected()).map(|d| terminal_safe(&format!("Δ {d}")).into_owned());
        lines.extend(noted.map(|d| Line::styled(d, theme.fg(Color::Yellow))));
        let block = Block::bordered().title(" detail ");
        frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), area);
    }
    if let Some(area) = panes.hex {
        let inner = (area.width.saturating_sub(2) as usize, area.height.saturating_sub(2) as usize);
        let lines = hex_lines(app.doc(), app.selected(), inner.0 + 2, inner.1, theme);
        frame.render_widget(Paragraph::new(lines).block(Block::bordered().title(" hex ")), area);
    }
    draw_status(frame, app, theme, panes.status);
    if let Some(at) = app.problem_list() {
        draw_problem_list(frame, app, at, theme, panes.tree_box);
    }
    if app.showing_help() {
        draw_help(frame, frame.area());
    }
}

fn draw_tree(frame: &mut Frame, app: &App, theme: Theme, area: Rect) {
    let rows = app.rows();
    let height = area.height.saturating_sub(2) as usize;
    let mut lines = Vec::with_capacity(height);
    let mut id = Some(app.top());
    let mut text = String::new();
    while let (Some(row), true) = (id, lines.len() < height) {
        text.clear();
        // The selected row also carries a glyph, so it shows without colour or reverse video.
        text.push(if row == app.selected() { '›' } else { ' ' });
        for _ in 0..rows.depth(row) {
            text.push_str("  ");
        }
        text.push_str(match (rows.has_children(row), app.folds().contains(row)) {
            (false, _) => "  ",
            (true, true) => "▾ ",
            (true, false) => "▸ ",
        });
        let node = app.doc().node(row);
        let (start, end) = (node.start as usize, node.end() as usize);
        let edited = app
            .editor()
            .edited_spans()
            .iter()
            // An empty span is where something was deleted: it marks what held it, not
            // the neighbour that now starts there.
            .any(|e| if e.is_empty() { start < e.start && e.start < end } else { e.start < end && start < e.end });
        if edited {
            text.push_str("* ");
        }
        let mark = app.mark(row);
        let collapsed = rows.has_children(row) && !app.folds().contains(row);
        text.push_str(match mark {
            Some(Severity::Error) => "✗ ",
            Some(Severity::Warning) => "! ",
            // A folded row with a problem inside carries the mark where the eye looks.
            None if collapsed && app.problem_below(row) => "✗…",
            None => "",
        });
        let differs = app.differences_of(row).next().is_some();
        if differs {
            text.push_str("Δ ");
        }
        tree::label(app.doc(), row, &mut text);
        if collapsed {
            let digest = value::summary(app.doc(), row, 60);
            if !digest.is_empty() {
                text.push_str("  {");
                text.push_str(&digest);
                text.push('}');
            }
        }
        if mark.is_none() && collapsed && app.problem_below(row) {
            text.push_str("  ✗ problems inside");
        }
        if !differs && collapsed && app.difference_below(row) {
            text.push_str("  Δ differences inside");
        }
        let mut style = match mark {
            Some(Severity::Error) => theme.error(),
            Some(Severity::Warning) => theme.warning(),
            None => Style::new(),
        };
        if edited {
            style = style.add_modifier(Modifier::BOLD).patch(theme.fg(Color::Green));
        }
        if differs {
            style = style.patch(theme.fg(Color::Yellow));
        }
        if row == app.selected() {
            style = style.add_modifier(Modifier::REVERSED);
        }
        lines.push(Line::styled(terminal_safe(&text).into_owned(), style));
        id = rows.next(row);
    }
    let title = format!(" {} ", terminal_safe(app.file_label()));
    frame.render_widget(Paragraph::new(lines).block(Block::bordered().title(title)), area);
}

/// Bytes of a value the detail pane lists.
const DETAIL_BYTES: usize = 256;

/// The detail pane: everything known about one node.
pub fn detail_lines(doc: &Document, id: NodeId, theme: Theme) -> Vec<Line<'static>> {
    let node = *doc.node(id);
    let mut lines = Vec::new();
    let mut field = |name: &str, value: String| {
        lines.push(Line::from(vec![
            Span::styled(format!("{name:<10}"), Style::new().add_modifier(Modifier::BOLD)),
            Span::raw(terminal_safe(&value).into_owned()),
        ]));
    };
    field("path", path::path_of(doc, id).label());
    if node.kind != NodeKind::Root {
        field("field", format!("{} ({})", node.field_number, node.wire.map_or("packed element", |w| w.name())));
    }
    let mut declared = String::new();
    tree::type_name(doc, id, doc.field_info(id), &mut declared);
    if node.kind == NodeKind::Root {
        declared = doc.root_type().map_or("(no schema)".to_owned(), |m| m.full_name().to_owned());
    }
    field("type", declared);
    if let Some(info) = doc.field_info(id) {
        if let Some(oneof) = info.desc.containing_oneof() {
            field("oneof", format!("{} (this variant: {})", oneof.name(), info.name));
        }
        if let prost_reflect::Kind::Enum(e) = &info.kind {
            let names: Vec<String> = e.values().map(|v| format!("{}={}", v.name(), v.number())).collect();
            field("enum", names.join(" "));
        }
    }
    let mut span = format!("{}..{} ({} bytes)", node.start, node.end(), node.end() - node.start);
    if node.tag_len > 0 {
        let _ = write!(span, "; tag {} B", node.tag_len);
    }
    if node.value_start > node.start + u64::from(node.tag_len) {
        let _ = write!(span, ", length {} B", node.value_start - node.start - u64::from(node.tag_len));
    }
    let _ = write!(span, ", value {} B at {}", node.value_end - node.value_start, node.value_start);
    field("bytes", span);
    if doc.is_any(id) {
        field("type URL", doc.any_type_url(id).unwrap_or_else(|| "(none)".to_owned()));
    }
    // Bytes as spaced pairs, so the pane wraps between bytes, never inside one.
    let full = match node.kind {
        NodeKind::Bytes | NodeKind::Error => {
            let bytes = doc.value_bytes(id);
            let shown: Vec<String> = bytes.iter().take(DETAIL_BYTES).map(|b| format!("{b:02x}")).collect();
            let more = bytes.len().saturating_sub(DETAIL_BYTES);
            let tail = if more > 0 { format!(" … (+{more}; the hex pane has all)") } else { String::new() };
            format!("[{} bytes] {}{tail}", bytes.len(), shown.join(" "))
        }
        _ => value::preview(doc, id, 4096),
    };
    if !full.is_empty() {
        field("value", full);
    }
    // The edit line that sets this value again, as a script or `statescope set` takes it.
    if let Some(value) = value::settable(doc, id).filter(|_| node.kind != NodeKind::Error) {
        field("set", crate::edit::op::EditOp::Set { path: path::path_of(doc, id), value }.to_string());
    }
    for problem in doc.row_problems(id) {
        let style = match problem.kind.severity() {
            Severity::Error => theme.error(),
            Severity::Warning => theme.warning(),
        };
        lines.push(Line::styled(format!("✗ byte {}: {}", problem.offset, problem.kind.describe(doc)), style));
    }
    lines
}

/// The hex pane: 16 bytes a line (fewer when narrow) around the node, tag, length and
/// value each styled.
pub fn hex_lines(doc: &Document, id: NodeId, width: usize, height: usize, theme: Theme) -> Vec<Line<'static>> {
    let node = *doc.node(id);
    let bytes = doc.bytes();
    let tag_end = node.start + u64::from(node.tag_len);
    let styles = [
        Style::new().add_modifier(Modifier::REVERSED).patch(theme.fg(Color::Magenta)),
        Style::new().add_modifier(Modifier::REVERSED).patch(theme.fg(Color::Cyan)),
        Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
    ];
    let style_of = |at: u64| -> Style {
        if at < node.start || at >= node.end() {
            Style::new()
        } else if at < tag_end {
            styles[0]
        } else if at < node.value_start {
            styles[1]
        } else if at < node.value_end {
            styles[2]
        } else {
            styles[0]
        }
    };
    // Each byte takes four columns (hex, space, ASCII); the offset ten, the gap and borders three.
    let fits = |n: usize| width >= 13 + 4 * n;
    let per_line: u64 = if fits(16) {
        16
    } else if fits(8) {
        8
    } else {
        4
    };
    let first_line = (node.start / per_line).saturating_sub(1);
    let mut lines = vec![Line::from(vec![
        Span::styled("tag", styles[0]),
        Span::raw(" "),
        Span::styled("length", styles[1]),
        Span::raw(" "),
        Span::styled("value", styles[2]),
    ])];
    for line in 0..height.saturating_sub(1) as u64 {
        let at = (first_line + line) * per_line;
        if at >= bytes.len() as u64 {
            break;
        }
        // Decimal offsets, as the detail pane, check and edit scripts give them.
        let mut spans = vec![Span::raw(format!("{at:>8}  "))];
        let end = (at + per_line).min(bytes.len() as u64);
        for b in at..end {
            spans.push(Span::styled(format!("{:02x}", bytes[b as usize]), style_of(b)));
            spans.push(Span::raw(" "));
        }
        spans.push(Span::raw("   ".repeat((per_line - (end - at)) as usize) + " "));
        for b in at..end {
            let c = bytes[b as usize];
            let shown = if (0x20..0x7f).contains(&c) { c as char } else { '.' };
            spans.push(Span::styled(shown.to_string(), style_of(b)));
        }
        lines.push(Line::from(spans));
    }
    lines
}

fn draw_status(frame: &mut Frame, app: &App, theme: Theme, area: Rect) {
    if let Some(prompt) = app.prompt() {
        let lead = match prompt.kind {
            PromptKind::Search => "/",
            PromptKind::Goto => ":",
            PromptKind::Edit => "new value: ",
            PromptKind::AddField => "add field: ",
            PromptKind::Save => "save as: ",
            PromptKind::ConfirmOverwrite => "overwrite a file you opened? (y/n): ",
        };
        // Offered text is shown selected: typing replaces it.
        let text = terminal_safe(prompt.text()).into_owned();
        let style = if prompt.is_fresh() { Style::new().add_modifier(Modifier::REVERSED) } else { Style::new() };
        let mut spans = vec![Span::raw(lead), Span::styled(text, style)];
        if !app.message().is_empty() && matches!(prompt.kind, PromptKind::Edit | PromptKind::ConfirmOverwrite) {
            spans.push(Span::styled(format!("   {}", app.message()), theme.fg(Color::Yellow)));
        }
        frame.render_widget(Paragraph::new(Line::from(spans)), area);
        let cursor = (lead.chars().count() + prompt.cursor()) as u16;
        frame.set_cursor_position((area.x + cursor.min(area.width.saturating_sub(1)), area.y));
        return;
    }
    let doc = app.doc();
    let edits = match (app.editor().edit_count(), app.editor().is_dirty()) {
        (0, _) => String::new(),
        (n, true) => format!("{n} edit(s), unsaved · "),
        (n, false) => format!("{n} edit(s), saved · "),
    };
    let (errors, warnings) = app.problem_counts();
    let problems = match (errors, warnings) {
        (0, 0) => String::new(),
        (e, 0) => format!("✗ {e} error(s) · "),
        (0, w) => format!("! {w} warning(s) · "),
        (e, w) => format!("✗ {e} error(s) ! {w} warning(s) · "),
    };
    let right = format!(
        " {problems}{edits}{} · {} bytes · {} nodes · ? help ",
        app.file_label(),
        doc.bytes().len(),
        doc.nodes().len()
    );
    let right = terminal_safe(&right).into_owned();
    let left = if app.message().is_empty() {
        path::path_of(app.doc(), app.selected()).label()
    } else {
        terminal_safe(app.message()).into_owned()
    };
    let width = area.width as usize;
    let room = width.saturating_sub(right.chars().count());
    let left: String = left.chars().take(room).collect();
    let pad = room.saturating_sub(left.chars().count());
    let line = Line::from(vec![
        Span::styled(left, theme.fg(Color::Yellow)),
        Span::raw(" ".repeat(pad)),
        Span::styled(right, Style::new().add_modifier(Modifier::REVERSED)),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}

/// The problem list over the tree: one line each (byte, path, words), the selected one
/// reversed, scrolled to keep it in view.
fn draw_problem_list(frame: &mut Frame, app: &App, at: usize, theme: Theme, area: Rect) {
    let doc = app.doc();
    let height = area.height.saturating_sub(2).max(1) as usize;
    let first = at.saturating_sub(height - 1);
    let lines: Vec<Line> = doc
        .problems()
        .iter()
        .enumerate()
        .skip(first)
        .take(height)
        .map(|(i, p)| {
            let style = match p.kind.severity() {
                Severity::Error => theme.error(),
                Severity::Warning => theme.warning(),
            };
            let style = if i == at { style.add_modifier(Modifier::REVERSED) } else { style };
            let text = format!("byte {:>7}  {}: {}", p.offset, doc.path_of(p.node).label(), p.kind.describe(doc));
            Line::styled(terminal_safe(&text).into_owned(), style)
        })
        .collect();
    let title = format!(" {} problem(s): j/k move, Enter goes there, any other key closes ", doc.problems().len());
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(lines).block(Block::bordered().title(title)), area);
}

fn draw_help(frame: &mut Frame, area: Rect) {
    let entries = keymap::help_lines();
    let rows_available = area.height.saturating_sub(2).max(1) as usize;
    let columns = entries.len().div_ceil(rows_available).max(1);
    let per_column = entries.len().div_ceil(columns);
    let column_width = (usize::from(area.width.saturating_sub(2)) / columns).clamp(24, 60);
    // The keys take what the longest needs, the help the rest.
    let key_width = entries.iter().map(|(k, _)| k.chars().count() + 1).max().unwrap_or(1).min(column_width / 2);
    let mut lines: Vec<Line> = Vec::new();
    for row in 0..per_column {
        let mut spans = Vec::new();
        for column in 0..columns {
            if let Some((keys, help)) = entries.get(column * per_column + row) {
                spans.push(Span::styled(format!("{keys:<key_width$}"), Style::new().add_modifier(Modifier::BOLD)));
                let w = column_width.saturating_sub(key_width);
                spans.push(Span::raw(format!("{help:<w$.w$}")));
            }
        }
        lines.push(Line::from(spans));
    }
    let width = ((column_width * columns) as u16 + 2).min(area.width);
    let height = (per_column as u16 + 2).min(area.height);
    let popup = Rect { x: area.x + (area.width - width) / 2, y: area.y + (area.height - height) / 2, width, height };
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(lines).block(Block::bordered().title(" keys (any key closes) ")), popup);
}
