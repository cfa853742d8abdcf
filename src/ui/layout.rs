//! Where each pane goes: one pure function of the terminal size and the visible panes,
//! shared by drawing and by mouse handling so that clicks land where rows are drawn.

use ratatui::layout::{Constraint, Direction, Layout, Rect};

/// The screen areas of the browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Panes {
    /// The tree, inside its border.
    pub tree: Rect,
    /// The tree's border box.
    pub tree_box: Rect,
    /// The detail pane's box, if shown.
    pub detail: Option<Rect>,
    /// The hex pane's box, if shown.
    pub hex: Option<Rect>,
    /// The status bar.
    pub status: Rect,
}

/// Splits `area`: the tree on the left (or top, when narrow), detail and hex beside it,
/// the status bar of `status_lines` lines at the bottom.
pub fn panes(area: Rect, show_detail: bool, show_hex: bool, status_lines: u16) -> Panes {
    let [main, status] = Layout::vertical([Constraint::Min(1), Constraint::Length(status_lines.max(1))]).areas(area);
    let side_count = u16::from(show_detail) + u16::from(show_hex);
    let (tree_box, side) = if side_count == 0 {
        (main, None)
    } else {
        let direction = if main.width >= 100 { Direction::Horizontal } else { Direction::Vertical };
        let [a, b] = Layout::default()
            .direction(direction)
            .constraints([Constraint::Percentage(55), Constraint::Percentage(45)])
            .areas(main);
        (a, Some(b))
    };
    let (detail, hex) = match (side, show_detail, show_hex) {
        (Some(side), true, true) => {
            let [d, h] = Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(side);
            (Some(d), Some(h))
        }
        (Some(side), true, false) => (Some(side), None),
        (Some(side), false, true) => (None, Some(side)),
        _ => (None, None),
    };
    let tree = Rect {
        x: tree_box.x + 1,
        y: tree_box.y + 1,
        width: tree_box.width.saturating_sub(2),
        height: tree_box.height.saturating_sub(2),
    };
    Panes { tree, tree_box, detail, hex, status }
}

/// Bytes a line of the hex pane holds, for its box's `width` and a file of `len` bytes:
/// 16 when they fit, else 8, else 4. Each byte takes four columns (hex, space, ASCII);
/// the offsets (decimal and hex) and the borders take the rest.
pub fn hex_bytes_per_line(width: u16, len: usize) -> u64 {
    let (decimal, hex) = hex_offset_widths(len);
    let fits = |n: usize| usize::from(width) >= 2 + decimal + 3 + hex + 2 + 4 * n;
    if fits(16) {
        16
    } else if fits(8) {
        8
    } else {
        4
    }
}

/// The digits the hex pane's offsets take for a file of `len` bytes: decimal and hex.
pub fn hex_offset_widths(len: usize) -> (usize, usize) {
    (len.max(1).to_string().len(), format!("{:x}", len.max(1)).len())
}

/// `text` in lines of at most `width` characters, broken at spaces where it can be and
/// inside a word only when the word is longer than a line: the status line's message is
/// wrapped, never cut.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = vec![String::new()];
    for word in text.split(' ') {
        let last = lines.last_mut().expect("never empty");
        let (used, len) = (last.chars().count(), word.chars().count());
        if used > 0 && used + 1 + len <= width {
            last.push(' ');
            last.push_str(word);
            continue;
        }
        if used > 0 {
            lines.push(String::new());
        }
        let chars: Vec<char> = word.chars().collect();
        for (i, piece) in chars.chunks(width).enumerate() {
            if i > 0 {
                lines.push(String::new());
            }
            lines.last_mut().expect("never empty").extend(piece);
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wraps_at_spaces_and_splits_only_long_words() {
        assert_eq!(wrap("problem 1 of 2: byte 740", 12), ["problem 1 of", "2: byte 740"]);
        assert_eq!(wrap("abcdefghij xy", 4), ["abcd", "efgh", "ij", "xy"]);
        assert_eq!(wrap("", 10), [""]);
        let text = "no --type given; decoding as sample.openvmm.SavedState (best fit)";
        assert_eq!(wrap(text, 20).concat().replace(' ', ""), text.replace(' ', ""), "nothing is lost");
    }
}
