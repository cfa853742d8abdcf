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
use crate::ui::app::{App, ByteRole};
use crate::ui::keymap;
use crate::ui::layout::{hex_bytes_per_line, hex_offset_widths};

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
        let mut lines = detail_lines(app.doc(), app.selected(), area.width.saturating_sub(2), theme);
        if let Some(note) = app.note().filter(|_| app.selected() == NodeId::ROOT) {
            lines.push(Line::styled(terminal_safe(&format!("note      {note}")).into_owned(), theme.fg(Color::Yellow)));
        }
        let noted = app.differences_of(app.selected()).map(|d| terminal_safe(&format!("Δ {d}")).into_owned());
        lines.extend(noted.map(|d| Line::styled(d, theme.fg(Color::Yellow))));
        let block = Block::bordered().title(" detail ");
        frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), area);
    }
    if let Some(area) = panes.hex {
        let lines = hex_lines(app, area.width, area.height.saturating_sub(2) as usize, theme);
        let border = if app.hex_cursor().focused { theme.fg(Color::Yellow) } else { Style::new() };
        let block = Block::bordered().title(hex_title(app)).border_style(border);
        frame.render_widget(Paragraph::new(lines).block(block), area);
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
        text.push_str(match (rows.has_children(row), rows.is_expanded(row)) {
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
        // `~`: a length prefix the edit rewrote to follow it, told apart from the edit.
        let prefix = node.len_prefix();
        let fixed = !prefix.is_empty()
            && app
                .editor()
                .fixed_prefixes()
                .iter()
                .any(|p| p.start as u64 == prefix.start && p.end as u64 == prefix.end);
        text.push_str(match (edited, fixed) {
            (true, true) => "*~ ",
            (true, false) => "* ",
            (false, true) => "~ ",
            (false, false) => "",
        });
        let mark = app.mark(row);
        let collapsed = rows.has_children(row) && !rows.is_expanded(row);
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
        tree::label(app.doc(), row, &app.doc().node(row), &mut text);
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
fn detail_lines(doc: &Document, id: NodeId, width: u16, theme: Theme) -> Vec<Line<'static>> {
    let node = doc.node(id);
    let mut lines = Vec::new();
    let field = |lines: &mut Vec<Line<'static>>, name: &str, value: String| {
        lines.push(Line::from(vec![
            Span::styled(format!("{name:<10}"), Style::new().add_modifier(Modifier::BOLD)),
            Span::raw(terminal_safe(&value).into_owned()),
        ]));
    };
    field(&mut lines, "path", path::path_of(doc, id).label());
    if node.kind != NodeKind::Root {
        field(
            &mut lines,
            "field",
            format!("{} ({})", node.field_number, node.wire.map_or("packed element", |w| w.name())),
        );
    }
    let mut declared = String::new();
    tree::type_name(doc, id, &node, doc.field_info(id), &mut declared);
    if node.kind == NodeKind::Root {
        declared = doc.root_type().map_or("(no schema)".to_owned(), |m| m.full_name().to_owned());
    }
    field(&mut lines, "type", declared);
    if let Some(info) = doc.field_info(id) {
        if let Some(oneof) = info.desc.containing_oneof() {
            field(&mut lines, "oneof", format!("{} (this variant: {})", oneof.name(), info.name));
        }
        if let prost_reflect::Kind::Enum(e) = &info.kind {
            let names: Vec<String> = e.values().map(|v| format!("{}={}", v.name(), v.number())).collect();
            field(&mut lines, "enum", names.join(" "));
        }
    }
    let (start, end) = (node.start, node.end());
    let mut span = format!("{start}..{end} ({start:#x}..{end:#x}, {} bytes)", end - start);
    if node.tag_len() > 0 {
        let _ = write!(span, "; tag {} B", node.tag_len());
    }
    if node.value_start() > node.start + u64::from(node.tag_len()) {
        let _ = write!(span, ", length {} B", node.value_start() - node.start - u64::from(node.tag_len()));
    }
    let _ = write!(span, ", value {} B at {}", node.value_end - node.value_start(), node.value_start());
    field(&mut lines, "bytes", span);
    if doc.is_any(id) {
        field(&mut lines, "type URL", doc.any_type_url(id).unwrap_or_else(|| "(none)".to_owned()));
    }
    // Bytes as a hex dump, offsets within the value (as `@N=HEX` takes them), lines cut to
    // the pane so none wraps inside a byte.
    let dump = matches!(node.kind, NodeKind::Bytes | NodeKind::Error);
    if dump {
        let bytes = doc.value_bytes(id);
        let at = node.value_start();
        field(&mut lines, "value", format!("[{} bytes at {at} ({at:#x})]", bytes.len()));
        lines.extend(hex_dump(bytes, width));
    } else {
        let full = value::preview(doc, id, 4096);
        if !full.is_empty() {
            field(&mut lines, "value", full);
        }
    }
    // The edit line that sets this value again, as a script or `statescope set` takes it.
    if let Some(value) = value::settable(doc, id).filter(|_| node.kind != NodeKind::Error) {
        field(&mut lines, "set", crate::edit::op::EditOp::Set { path: path::path_of(doc, id), value }.to_string());
    }
    for problem in doc.row_problems(id) {
        let style = match problem.kind.severity() {
            Severity::Error => theme.error(),
            Severity::Warning => theme.warning(),
        };
        let at = problem.offset;
        lines.push(Line::styled(format!("✗ byte {at} ({at:#x}): {}", problem.kind.describe(doc)), style));
    }
    lines
}

/// Up to [`DETAIL_BYTES`] of a value as hex dump lines of 4, 8 or 16 bytes (what fits in
/// `width` columns), each led by its offset within the value and followed by its ASCII.
fn hex_dump(bytes: &[u8], width: u16) -> Vec<Line<'static>> {
    let per_line = [16, 8, 4].into_iter().find(|&n| usize::from(width) > 6 + 4 * n).unwrap_or(4);
    let mut lines: Vec<Line<'static>> = bytes
        .chunks(per_line)
        .take(DETAIL_BYTES / per_line)
        .enumerate()
        .map(|(i, chunk)| {
            let mut text = format!("{:>4}  ", i * per_line);
            for b in chunk {
                let _ = write!(text, "{b:02x} ");
            }
            text.push_str(&"   ".repeat(per_line - chunk.len()));
            text.push(' ');
            text.extend(chunk.iter().map(|&c| if (0x20..0x7f).contains(&c) { c as char } else { '.' }));
            Line::raw(text)
        })
        .collect();
    let more = bytes.len().saturating_sub(DETAIL_BYTES);
    if more > 0 {
        lines.push(Line::raw(format!("      … {more} more bytes: the hex pane has them all")));
    }
    lines
}

/// The hex pane: 16 bytes a line (fewer when narrow) around the node, tag, length and
/// value each styled, each line led by its offset in decimal and in hex. The byte cursor,
/// when placed in the node (or focused), is drawn on its byte, red on a tag or length byte.
fn hex_lines(app: &App, width: u16, height: usize, theme: Theme) -> Vec<Line<'static>> {
    let doc = app.doc();
    let node = doc.node(app.selected());
    let bytes = doc.bytes();
    let tag_end = node.start + u64::from(node.tag_len());
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
        } else if at < node.value_start() {
            styles[1]
        } else if at < node.value_end {
            styles[2]
        } else {
            styles[0]
        }
    };
    let cursor = app.hex_cursor();
    let shown_cursor = cursor.at.filter(|&at| cursor.focused || (node.start..node.end()).contains(&at));
    let structural = app.hex_byte_role().is_some_and(|(_, role)| role.is_structural());
    let cursor_style = Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED).patch(if structural {
        theme.error().add_modifier(Modifier::UNDERLINED)
    } else {
        theme.fg(Color::Yellow)
    });
    // The same byte is styled alike in the hex and the ASCII column.
    let byte_style = |b: u64| if shown_cursor == Some(b) { cursor_style } else { style_of(b) };
    let per_line = hex_bytes_per_line(width, bytes.len());
    let rows = height.saturating_sub(1).max(1) as u64;
    let mut first_line = (node.start / per_line).saturating_sub(1);
    if let Some(line) = shown_cursor.map(|at| at / per_line) {
        if line >= first_line + rows {
            first_line = line + 1 - rows;
        }
        first_line = first_line.min(line);
    }
    let mut lines = vec![Line::from(vec![
        Span::styled("tag", styles[0]),
        Span::raw(" "),
        Span::styled("length", styles[1]),
        Span::raw(" "),
        Span::styled("value", styles[2]),
        Span::raw(if cursor.focused { "  hjkl move, 00-ff set" } else { "  Tab: edit bytes" }),
    ])];
    let (decimal_width, hex_width) = hex_offset_widths(bytes.len());
    for line in 0..rows {
        let at = (first_line + line) * per_line;
        if at >= bytes.len() as u64 {
            break;
        }
        // Decimal, as the detail pane, check and edit scripts give offsets, and hex beside.
        let mut spans = vec![Span::raw(format!("{at:>decimal_width$} 0x{at:0hex_width$x}  "))];
        let end = (at + per_line).min(bytes.len() as u64);
        for b in at..end {
            let text = match (shown_cursor == Some(b), cursor.pending) {
                (true, Some(high)) if cursor.focused => format!("{high:x}_"),
                _ => format!("{:02x}", bytes[b as usize]),
            };
            spans.push(Span::styled(text, byte_style(b)));
            spans.push(Span::raw(" "));
        }
        spans.push(Span::raw("   ".repeat((per_line - (end - at)) as usize) + " "));
        for b in at..end {
            let c = bytes[b as usize];
            let shown = if (0x20..0x7f).contains(&c) { c as char } else { '.' };
            spans.push(Span::styled(shown.to_string(), byte_style(b)));
        }
        lines.push(Line::from(spans));
    }
    lines
}

/// The hex pane's title: where the cursor is when the pane has the keys, and a warning when
/// its byte frames the structure.
fn hex_title(app: &App) -> String {
    let cursor = app.hex_cursor();
    match (cursor.focused, cursor.at, app.hex_byte_role()) {
        (true, Some(at), Some((_, role))) if role.is_structural() => {
            let what = if role == ByteRole::Tag { "tag" } else { "length" };
            format!(" hex @{at} ({at:#x}) ⚠ a {what} byte ")
        }
        (true, Some(at), _) => format!(" hex @{at} ({at:#x}) "),
        _ => " hex ".to_owned(),
    }
}

fn draw_status(frame: &mut Frame, app: &App, theme: Theme, area: Rect) {
    let above = app.message_lines_above();
    let message_style = theme.fg(Color::Yellow);
    let bar = Rect { y: area.y + area.height.saturating_sub(1), height: 1.min(area.height), ..area };
    if let Some(lines) = &above {
        let lines: Vec<Line> = lines.iter().map(|l| Line::styled(l.clone(), message_style)).collect();
        frame.render_widget(Paragraph::new(lines), Rect { height: area.height.saturating_sub(1), ..area });
    }
    if let Some(prompt) = app.prompt() {
        let lead = prompt.kind.lead();
        // Offered text is shown selected: typing replaces it.
        let text = terminal_safe(prompt.text()).into_owned();
        let style = if prompt.is_fresh() { Style::new().add_modifier(Modifier::REVERSED) } else { Style::new() };
        let mut spans = vec![Span::raw(lead), Span::styled(text, style)];
        if above.is_none() && !app.message().is_empty() && prompt.kind.shows_message() {
            spans.push(Span::styled(format!("   {}", terminal_safe(app.message())), message_style));
        }
        frame.render_widget(Paragraph::new(Line::from(spans)), bar);
        let cursor = (lead.chars().count() + prompt.cursor()) as u16;
        frame.set_cursor_position((bar.x + cursor.min(bar.width.saturating_sub(1)), bar.y));
        return;
    }
    let right = app.status_summary();
    let left = match (&above, app.message().is_empty()) {
        (Some(_), _) => String::new(),
        (None, true) => path::path_of(app.doc(), app.selected()).label(),
        (None, false) => terminal_safe(app.message()).into_owned(),
    };
    let width = bar.width as usize;
    let room = width.saturating_sub(right.chars().count());
    let left: String = left.chars().take(room).collect();
    let pad = room.saturating_sub(left.chars().count());
    let line = Line::from(vec![
        Span::styled(left, message_style),
        Span::raw(" ".repeat(pad)),
        Span::styled(right, Style::new().add_modifier(Modifier::REVERSED)),
    ]);
    frame.render_widget(Paragraph::new(line), bar);
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
            let (at, path) = (p.offset, doc.path_of(p.node).label());
            let text = format!("byte {at:>7} {:>9}  {path}: {}", format!("({at:#x})"), p.kind.describe(doc));
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
                // One blank column after each help, so the columns never run together.
                let w = column_width.saturating_sub(key_width + 1);
                spans.push(Span::raw(format!("{help:<w$.w$} ")));
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
