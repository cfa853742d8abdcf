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
/// a one-line status bar at the bottom.
pub fn panes(area: Rect, show_detail: bool, show_hex: bool) -> Panes {
    let [main, status] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
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
