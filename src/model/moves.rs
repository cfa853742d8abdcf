//! The moves that edits left pending on the nodes after them: an edit that changes one
//! top-level field's size moves every later node by the same number of bytes, one that
//! changes its count of nodes moves every later id (a node's parent and next) by the same
//! number of places, and one that takes out or puts in whole top-level fields counts the
//! later values of their field number again; on a gigabyte that is tens of millions of
//! nodes, so the move is recorded here and applied as each node is read. Moves are kept by
//! the position of the stored nodes they start at (the values of a packed run that are not
//! stored move with their run's node). The root's id never moves: it is the parent of every
//! top-level field.

use std::ops::Range;

use crate::model::halves::on_both_cores;
use crate::model::node::{Node, NodeId};
use crate::model::record::NodeRecord;

/// How many moves are kept pending before they are applied to the nodes once for all: a
/// node read looks its move up among them.
const MOST_PENDING: usize = 16;

/// How far a stored node lies from where it says: `bytes` further on in the bytes, the
/// ids it holds (but the root's) `places` further on, and, a top-level value of the field
/// number [`Moves`] renumbers, `renumbered` more values of its field before it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Move {
    pub(super) bytes: i64,
    pub(super) places: i32,
    pub(super) renumbered: i32,
}

impl Move {
    /// `id`, held by a node moved so, where it is now.
    #[inline]
    pub(super) fn id(self, id: NodeId) -> NodeId {
        if self.places == 0 || id == NodeId::ROOT { id } else { id.moved_by(self.places) }
    }

    /// The move that takes this one back.
    fn back(self) -> Move {
        Move { bytes: -self.bytes, places: -self.places, renumbered: -self.renumbered }
    }
}

/// Moves pending on a document's stored nodes: each node lies as [`Moves::before`] its
/// position says from where its stored offsets and ids say.
#[derive(Debug, Clone, Default)]
pub(super) struct Moves {
    /// Where each move starts, by position, with the move made by it and every move
    /// starting before it (a running sum).
    from: Vec<(usize, Move)>,
    /// The field number whose top-level values the pending moves count again (one at a
    /// time: a move of another settles those pending first).
    renumbers: u32,
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

    /// `node` moved by `moved`: its ids, its offsets when `offsets`, and its index when it
    /// is a top-level value of the field renumbered.
    #[inline]
    fn moved(&self, node: Node, moved: Move, offsets: bool) -> Node {
        let renumbered = node.parent == Some(NodeId::ROOT) && node.field_number == self.renumbers;
        let bytes = if offsets { moved.bytes } else { 0 };
        Node {
            start: node.start.wrapping_add_signed(bytes),
            value_end: node.value_end.wrapping_add_signed(bytes),
            parent: node.parent.map(|parent| moved.id(parent)),
            next: moved.id(node.next),
            index: if renumbered { node.index.wrapping_add_signed(moved.renumbered) } else { node.index },
            ..node
        }
    }

    /// Whether no move is pending: every stored node is read as it is stored.
    #[inline]
    pub(super) fn none_pending(&self) -> bool {
        self.from.is_empty()
    }

    /// `node`, stored at `at`, where it lies: its stored offsets, ids and index moved by
    /// the moves pending.
    #[inline]
    pub(super) fn applied(&self, at: usize, node: Node) -> Node {
        if self.from.is_empty() { node } else { self.moved(node, self.looked_up(at), true) }
    }

    /// [`Moves::applied`] but for the offsets, which are left as stored.
    #[inline]
    pub(super) fn applied_but_offsets(&self, at: usize, node: Node) -> Node {
        if self.from.is_empty() { node } else { self.moved(node, self.looked_up(at), false) }
    }

    /// `node`, to be stored at `at`, as it is stored there: the moves pending there taken
    /// back, so that [`Moves::applied`] reads it as it is.
    pub(super) fn stored_back(&self, at: usize, node: Node) -> Node {
        self.moved(node, self.before(at).back(), true)
    }

    /// Records that every node stored from position `first` on moves by `moved` more (its
    /// `renumbered` counting the top-level values of field number `number`); applies them
    /// all to `nodes` instead when too many are pending.
    pub(super) fn add(&mut self, nodes: &mut [NodeRecord], first: usize, moved: Move, number: u32) {
        if moved == Move::default() || first >= nodes.len() {
            return;
        }
        if moved.renumbered != 0 && number != self.renumbers {
            if self.from.iter().any(|(_, pending)| pending.renumbered != 0) {
                self.settle(nodes);
            }
            self.renumbers = number;
        }
        let at = self.from.partition_point(|&(from, _)| from < first);
        let before = at.checked_sub(1).map_or_else(Move::default, |last| self.from[last].1);
        if self.from.get(at).is_none_or(|&(from, _)| from != first) {
            self.from.insert(at, (first, before));
        }
        for (_, pending) in &mut self.from[at..] {
            pending.bytes += moved.bytes;
            pending.places += moved.places;
            pending.renumbered += moved.renumbered;
        }
        // A move that another took back (an edit undone) leaves nothing to look up.
        let mut before = Move::default();
        self.from.retain(|&(_, pending)| std::mem::replace(&mut before, pending) != pending);
        if self.from.len() > MOST_PENDING {
            self.settle(nodes);
        }
    }

    /// Records that the stored nodes at positions `taken` were replaced by `put` others:
    /// the moves starting after them go with the nodes after them, and those starting
    /// among them (but at the first) are gone with them, the others' running sums holding
    /// what they moved after them. The nodes put in then lie as [`Moves::before`] the
    /// first position says.
    pub(super) fn replaced_positions(&mut self, taken: Range<usize>, put: usize) {
        let after_taken = self.before(taken.end);
        self.from.retain(|&(from, _)| from <= taken.start || from >= taken.end);
        if self.before(taken.end) != after_taken {
            let at = self.from.partition_point(|&(from, _)| from < taken.end);
            self.from.insert(at, (taken.end, after_taken));
        }
        let by = put as isize - taken.len() as isize;
        for (from, _) in self.from.iter_mut().filter(|(from, _)| *from >= taken.end) {
            *from = from.checked_add_signed(by).expect("moves stay among the nodes");
        }
    }

    /// Applies every pending move to the stored offsets, ids and indices of `nodes`, on
    /// both cores.
    pub(super) fn settle(&mut self, nodes: &mut [NodeRecord]) {
        let moves = std::mem::take(&mut self.from);
        let Some(&(first, _)) = moves.first() else { return };
        let number = self.renumbers;
        // Each move applies to the positions up to where the next starts, from its own on.
        let settle = |part: &mut [NodeRecord], first: usize| {
            let ends = moves.iter().skip(1).map(|&(from, _)| from).chain([usize::MAX]);
            for (&(from, moved), end) in moves.iter().zip(ends) {
                let (from, end) = (from.max(first) - first, end.min(first + part.len()).saturating_sub(first));
                for node in part.get_mut(from..end).unwrap_or_default() {
                    if moved.renumbered != 0 && node.parent() == Some(NodeId::ROOT) && node.field_number() == number {
                        node.renumber(moved.renumbered);
                    }
                    node.moved(moved.bytes, moved.places);
                }
            }
        };
        on_both_cores(&mut nodes[first..], |part, at| settle(part, first + at));
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
                // Every third a top-level value, of field 1 or 2.
                parent: Some(if i % 3 == 0 { NodeId::ROOT } else { NodeId::from_index(1000 + i) }),
                next: NodeId::from_index(i + 1),
                field_number: 1 + i as u32 % 2,
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
        // shrinking, of bytes, of ids and of the count of a field's top-level values (of
        // field 1, then of 2, and so on): each read must see every edit made before it on
        // an earlier node.
        let edits = (0..40).map(|k| {
            let moved = Move {
                bytes: if k % 3 == 0 { -3 } else { 5 + k as i64 },
                places: k as i32 % 5 - 2,
                renumbered: k as i32 % 4 - 1,
            };
            ((k * 7) % 37 + 1, moved, 1 + (k as u32 / 7) % 2)
        });
        for (first, moved, number) in edits {
            for node in &mut moved_at_once[first..] {
                if node.parent() == Some(NodeId::ROOT) && node.field_number() == number {
                    node.renumber(moved.renumbered);
                }
                node.moved(moved.bytes, moved.places);
            }
            moves.add(&mut stored, first, moved, number);
            assert!(moves.from.len() <= MOST_PENDING);
            assert_eq!(applied(&moves, &stored), applied(&Moves::default(), &moved_at_once));
        }
        moves.settle(&mut stored);
        assert!(moves.from.is_empty());
        assert_eq!(stored, moved_at_once, "settled, the stored offsets, ids and indices are the moved ones");
    }

    #[test]
    fn nodes_put_in_among_pending_moves_read_as_put_and_the_rest_as_moved() {
        // Nodes taken out and put in where moves start, before, among and after them:
        // with a field's nodes put in, between fields, or fields taken out.
        for (taken, put) in [(5..5, 3), (7..12, 2), (9..9, 4), (3..20, 0), (12..13, 1), (1..30, 5), (30..30, 2)] {
            let mut moved_at_once: Vec<NodeRecord> = nodes(40).into_iter().map(NodeRecord::pack).collect();
            let mut stored = moved_at_once.clone();
            let mut moves = Moves::default();
            for (first, bytes, places) in [(6, 4, 1), (9, -2, 2), (12, 7, -1), (13, 1, 3), (25, -5, 1)] {
                let moved = Move { bytes, places, renumbered: places };
                for node in &mut moved_at_once[first..] {
                    if node.parent() == Some(NodeId::ROOT) && node.field_number() == 1 {
                        node.renumber(moved.renumbered);
                    }
                    node.moved(moved.bytes, moved.places);
                }
                moves.add(&mut stored, first, moved, 1);
            }
            let fresh: Vec<Node> = nodes(100)[60..60 + put].to_vec();
            moved_at_once.splice(taken.clone(), fresh.iter().map(|&n| NodeRecord::pack(n)));
            moves.replaced_positions(taken.clone(), put);
            let back = fresh.iter().map(|&n| NodeRecord::pack(moves.stored_back(taken.start, n)));
            stored.splice(taken.clone(), back);
            assert_eq!(applied(&moves, &stored), applied(&Moves::default(), &moved_at_once), "{taken:?} by {put}");
        }
    }

    #[test]
    fn a_move_taken_back_leaves_nothing_pending() {
        let mut stored: Vec<NodeRecord> = nodes(10).into_iter().map(NodeRecord::pack).collect();
        let mut moves = Moves::default();
        moves.add(&mut stored, 3, Move { bytes: 4, places: 2, renumbered: 1 }, 1);
        moves.add(&mut stored, 6, Move { bytes: -1, places: 1, renumbered: 0 }, 1);
        moves.add(&mut stored, 3, Move { bytes: -4, places: -2, renumbered: -1 }, 1);
        assert_eq!(moves.from, [(6, Move { bytes: -1, places: 1, renumbered: 0 })]);
        moves.add(&mut stored, 6, Move { bytes: 1, places: -1, renumbered: 0 }, 1);
        assert!(moves.from.is_empty(), "reads of a document whose edits were undone look nothing up");
    }
}
