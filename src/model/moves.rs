//! The moves that edits left pending on the nodes after them: an edit that changes one
//! top-level field's size moves every later node by the same number of bytes, and one that
//! changes its count of nodes moves every later id (a node's parent and next) by the same
//! number of places; on a gigabyte that is tens of millions of nodes, so the move is
//! recorded here and applied as each node is read. Moves are kept by the position of the
//! stored nodes they start at (the values of a packed run that are not stored move with
//! their run's node). The root's id never moves: it is the parent of every top-level field.

use crate::model::node::{Node, NodeId};
use crate::model::record::NodeRecord;

/// How many moves are kept pending before they are applied to the nodes once for all: a
/// node read looks its move up among them.
const MOST_PENDING: usize = 16;

/// How far a stored node lies from where it says: `bytes` further on in the bytes, and the
/// ids it holds (but the root's) `places` further on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Move {
    pub(super) bytes: i64,
    pub(super) places: i32,
}

impl Move {
    /// `id`, held by a node moved so, where it is now.
    #[inline]
    pub(super) fn id(self, id: NodeId) -> NodeId {
        if self.places == 0 || id == NodeId::ROOT { id } else { id.moved_by(self.places) }
    }

    /// `node` with the ids it holds (its parent, its next) moved so; its offsets as they are.
    #[inline]
    pub(super) fn ids(self, node: Node) -> Node {
        Node { parent: node.parent.map(|parent| self.id(parent)), next: self.id(node.next), ..node }
    }
}

/// Moves pending on a document's stored nodes: each node lies as [`Moves::before`] its
/// position says from where its stored offsets and ids say.
#[derive(Debug, Clone, Default)]
pub(super) struct Moves {
    /// Where each move starts, by position, with the move made by it and every move
    /// starting before it (a running sum).
    from: Vec<(usize, Move)>,
}

impl Moves {
    /// How far the node stored at `at` lies from where its stored offsets and ids say.
    #[inline]
    pub(super) fn before(&self, at: usize) -> Move {
        if self.from.is_empty() { Move::default() } else { self.looked_up(at) }
    }

    /// [`Moves::before`] when some are pending: kept out of line and marked cold, so that
    /// every node read of a document no edit moved stays a load and a test (with the call
    /// inline, a search over a gigabyte took 10-15% longer).
    #[cold]
    #[inline(never)]
    fn looked_up(&self, at: usize) -> Move {
        let after = self.from.partition_point(|&(from, _)| from <= at);
        after.checked_sub(1).map_or_else(Move::default, |last| self.from[last].1)
    }

    /// `node`, stored at `at`, where it lies: its stored offsets and ids moved by the
    /// moves pending.
    #[inline]
    pub(super) fn applied(&self, at: usize, node: Node) -> Node {
        let moved = self.before(at);
        let node = moved.ids(node);
        Node {
            start: node.start.wrapping_add_signed(moved.bytes),
            value_end: node.value_end.wrapping_add_signed(moved.bytes),
            ..node
        }
    }

    /// Records that every node stored from position `first` on moves by `moved` more;
    /// applies them all to `nodes` instead when too many are pending.
    pub(super) fn add(&mut self, nodes: &mut [NodeRecord], first: usize, moved: Move) {
        if moved == Move::default() || first >= nodes.len() {
            return;
        }
        let at = self.from.partition_point(|&(from, _)| from < first);
        let before = at.checked_sub(1).map_or_else(Move::default, |last| self.from[last].1);
        if self.from.get(at).is_none_or(|&(from, _)| from != first) {
            self.from.insert(at, (first, before));
        }
        for (_, pending) in &mut self.from[at..] {
            pending.bytes += moved.bytes;
            pending.places += moved.places;
        }
        // A move that another took back (an edit undone) leaves nothing to look up.
        let mut before = Move::default();
        self.from.retain(|&(_, pending)| std::mem::replace(&mut before, pending) != pending);
        if self.from.len() > MOST_PENDING {
            self.settle(nodes);
        }
    }

    /// Records that the stored nodes from position `first` on are now `by` places further
    /// on in the vector (nodes before them were put in or taken out): their moves go with
    /// them.
    pub(super) fn shift_positions(&mut self, first: usize, by: isize) {
        for (from, _) in self.from.iter_mut().filter(|(from, _)| *from >= first) {
            *from = from.checked_add_signed(by).expect("moves stay among the nodes");
        }
    }

    /// Applies every pending move to the stored offsets of `nodes`, on both cores.
    pub(super) fn settle(&mut self, nodes: &mut [NodeRecord]) {
        let moves = std::mem::take(&mut self.from);
        let Some(&(first, _)) = moves.first() else { return };
        // Each move applies to the positions up to where the next starts, from its own on.
        let settle = |part: &mut [NodeRecord], first: usize| {
            let ends = moves.iter().skip(1).map(|&(from, _)| from).chain([usize::MAX]);
            for (&(from, moved), end) in moves.iter().zip(ends) {
                let (from, end) = (from.max(first) - first, end.min(first + part.len()).saturating_sub(first));
                for node in part.get_mut(from..end).unwrap_or_default() {
                    node.moved(moved.bytes, moved.places);
                }
            }
        };
        let (_, moved) = nodes.split_at_mut(first);
        let half = moved.len() / 2;
        let (one, two) = moved.split_at_mut(half);
        std::thread::scope(|scope| {
            scope.spawn(|| settle(two, first + half));
            settle(one, first);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::node::{NodeId, NodeKind};

    fn nodes(count: usize) -> Vec<Node> {
        (0..count)
            .map(|i| Node {
                start: 100 * i as u64,
                value_end: 100 * i as u64 + 10,
                parent: None,
                next: NodeId::from_index(i + 1),
                field_number: 1,
                index: 0,
                ty: None,
                kind: NodeKind::Scalar,
                wire: None,
                lens: 0,
            })
            .collect()
    }

    /// Each node as the moves say it lies.
    fn applied(moves: &Moves, nodes: &[NodeRecord]) -> Vec<Node> {
        (0..nodes.len()).map(|i| moves.applied(i, nodes[i].unpack())).collect()
    }

    #[test]
    fn pending_moves_read_as_the_moves_done_at_once() {
        let mut moved_at_once: Vec<NodeRecord> = nodes(40).into_iter().map(NodeRecord::pack).collect();
        let mut stored = moved_at_once.clone();
        let mut moves = Moves::default();
        // More edits than are kept pending, in and out of order, some at one place, some
        // shrinking, of bytes and of ids: each read must see every edit made before it on
        // an earlier node.
        let edits = (0..40).map(|k| ((k * 7) % 37 + 1, if k % 3 == 0 { -3 } else { 5 + k as i64 }, k as i32 % 5 - 2));
        for (first, bytes, places) in edits {
            for node in &mut moved_at_once[first..] {
                node.moved(bytes, places);
            }
            moves.add(&mut stored, first, Move { bytes, places });
            assert!(moves.from.len() <= MOST_PENDING);
            assert_eq!(applied(&moves, &stored), applied(&Moves::default(), &moved_at_once));
        }
        moves.settle(&mut stored);
        assert!(moves.from.is_empty());
        assert_eq!(stored, moved_at_once, "settled, the stored offsets and ids are the moved ones");
    }

    #[test]
    fn a_move_taken_back_leaves_nothing_pending() {
        let mut stored: Vec<NodeRecord> = nodes(10).into_iter().map(NodeRecord::pack).collect();
        let mut moves = Moves::default();
        moves.add(&mut stored, 3, Move { bytes: 4, places: 2 });
        moves.add(&mut stored, 6, Move { bytes: -1, places: 1 });
        moves.add(&mut stored, 3, Move { bytes: -4, places: -2 });
        assert_eq!(moves.from, [(6, Move { bytes: -1, places: 1 })]);
        moves.add(&mut stored, 6, Move { bytes: 1, places: -1 });
        assert!(moves.from.is_empty(), "reads of a document whose edits were undone look nothing up");
    }
}
