//! Which rows of the tree pane are expanded: every row above a level (what "show N
//! levels" asks for), except the rows expanded or collapsed one by one since. Showing N
//! levels of a gigabyte is then a new level, not a walk over its nodes.

use crate::model::Document;
use crate::model::node::NodeId;
use crate::ui::node_set::NodeSet;

/// The expanded rows: those at a depth under `level`, unless chosen otherwise one by one.
#[derive(Debug, Clone)]
pub struct Folds {
    /// Rows at a depth under this are expanded unless chosen otherwise (1: the root only).
    level: usize,
    /// The rows expanded or collapsed one by one (toggled, revealed, or with a subtree).
    chosen: NodeSet,
    /// Of those, the expanded ones.
    open: NodeSet,
}

impl Folds {
    /// The folds of a freshly opened document of `len` nodes: only the root expanded.
    pub fn new(len: usize) -> Self {
        Folds::to_level(len, 1)
    }

    /// Every row at a depth under `level` expanded and no other (`usize::MAX`: all).
    pub fn to_level(len: usize, level: usize) -> Self {
        Folds { level, chosen: NodeSet::empty(len), open: NodeSet::empty(len) }
    }

    /// Makes these the folds [`Folds::to_level`] gives, in the memory they hold when it is
    /// of the size: the sets of a gigabyte are tens of MB, and clearing pages held costs a
    /// fraction of what new ones do (on the dense gigabyte, "show 2 levels" took 80 ms).
    pub fn set_level(&mut self, len: usize, level: usize) {
        self.level = level;
        self.chosen.clear(len);
        self.open.clear(len);
    }

    /// Whether row `id`, at the depth `depth` tells when asked, is expanded.
    pub fn is_open(&self, id: NodeId, depth: impl FnOnce() -> usize) -> bool {
        if self.chosen.contains(id) { self.open.contains(id) } else { depth() < self.level }
    }

    /// Expands (`true`) or collapses row `id`.
    pub fn set(&mut self, id: NodeId, open: bool) {
        self.chosen.set(id, true);
        self.open.set(id, open);
    }

    /// Expands or collapses every row in `range` (a subtree, or the whole document).
    pub fn set_range(&mut self, range: std::ops::Range<NodeId>, open: bool) {
        self.chosen.set_range(range.clone(), true);
        self.open.set_range(range, open);
    }

    /// Grows the folds to a document of `len` nodes; the new rows follow the level.
    pub fn grow(&mut self, len: usize) {
        self.chosen.grow(len);
        self.open.grow(len);
    }

    /// Carries the folds over a rewrite, as [`NodeSet::remap`] carries a set: the rows
    /// before and after the changed bytes keep their state, and the changed middle
    /// follows the level.
    pub fn remap(&mut self, old_len: usize, new: &Document, span: std::ops::Range<usize>, delta: isize) {
        self.chosen.remap(old_len, new, span.clone(), delta);
        self.open.remap(old_len, new, span, delta);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_follow_the_level_until_chosen_one_by_one() {
        let id = NodeId::from_index;
        let depth_of = |i: usize| i % 4;
        let mut folds = Folds::to_level(300, 2);
        let open = |folds: &Folds| (0..300).filter(|&i| folds.is_open(id(i), || depth_of(i))).collect::<Vec<_>>();
        assert_eq!(open(&folds), (0..300).filter(|i| depth_of(*i) < 2).collect::<Vec<_>>());
        folds.set(id(1), false);
        folds.set(id(3), true);
        folds.set_range(id(100)..id(200), false);
        folds.grow(400);
        let expected: Vec<usize> = (0..400)
            .filter(|&i| match i {
                1 | 100..200 => false,
                3 => true,
                _ => depth_of(i) < 2,
            })
            .collect();
        let open = (0..400).filter(|&i| folds.is_open(id(i), || depth_of(i))).collect::<Vec<_>>();
        assert_eq!(open, expected);
        // A new level forgets the rows chosen one by one, in the sets' memory or in new.
        for (len, level) in [(400, 3), (500, 1)] {
            folds.set_level(len, level);
            let open = (0..len).filter(|&i| folds.is_open(id(i), || depth_of(i))).collect::<Vec<_>>();
            assert_eq!(open, (0..len).filter(|i| depth_of(*i) < level).collect::<Vec<_>>());
        }
        assert!(Folds::to_level(10, usize::MAX).is_open(id(9), || 1000), "all levels");
        assert!(!Folds::to_level(10, 0).is_open(id(0), || 0), "none");
    }
}
