//! The byte moves that edits left pending on the nodes after them: an edit that changes
//! one top-level field's size moves every later node by the same number of bytes, and on
//! a gigabyte that is tens of millions of nodes, so the move is recorded here and applied
//! as each node is read. Moves are kept by the position of the stored nodes they start at
//! (the values of a packed run that are not stored move with their run's node).

use crate::model::node::Node;
use crate::model::record::NodeRecord;

/// How many moves are kept pending before they are applied to the nodes once for all: a
/// node read looks its move up among them.
const MOST_PENDING: usize = 16;

/// Moves pending on a document's stored nodes: each node is `bytes_before` its position
/// further on in the bytes than its stored offsets say.
#[derive(Debug, Clone, Default)]
pub(super) struct Moves {
    /// Where each move starts, by position, with the bytes moved by it and every move
    /// starting before it (a running sum).
    from: Vec<(usize, i64)>,
}

impl Moves {
    /// How many bytes the node stored at `at` lies from where its stored offsets say.
    #[inline]
    pub(super) fn bytes_before(&self, at: usize) -> i64 {
        if self.from.is_empty() { 0 } else { self.looked_up(at) }
    }

    /// [`Moves::bytes_before`] when some are pending: kept out of line and marked cold,
    /// so that every node read of a document no edit moved stays a load and a test (with
    /// the call inline, a search over a gigabyte took 10-15% longer).
    #[cold]
    #[inline(never)]
    fn looked_up(&self, at: usize) -> i64 {
        let after = self.from.partition_point(|&(from, _)| from <= at);
        after.checked_sub(1).map_or(0, |last| self.from[last].1)
    }

    /// `node`, stored at `at`, where it lies: its stored offsets moved by the moves pending.
    #[inline]
    pub(super) fn applied(&self, at: usize, node: Node) -> Node {
        let bytes = self.bytes_before(at);
        Node {
            start: node.start.wrapping_add_signed(bytes),
            value_end: node.value_end.wrapping_add_signed(bytes),
            ..node
        }
    }

    /// Records that every node stored from position `first` on moves by `bytes` more;
    /// applies them all to `nodes` instead when too many are pending.
    pub(super) fn add(&mut self, nodes: &mut [NodeRecord], first: usize, bytes: i64) {
        if bytes == 0 || first >= nodes.len() {
            return;
        }
        let at = self.from.partition_point(|&(from, _)| from < first);
        let before = at.checked_sub(1).map_or(0, |last| self.from[last].1);
        if self.from.get(at).is_none_or(|&(from, _)| from != first) {
            self.from.insert(at, (first, before));
        }
        for (_, moved) in &mut self.from[at..] {
            *moved += bytes;
        }
        if self.from.len() > MOST_PENDING {
            self.settle(nodes);
        }
    }

    /// Applies every pending move to the stored offsets of `nodes`, on both cores.
    pub(super) fn settle(&mut self, nodes: &mut [NodeRecord]) {
        let moves = std::mem::take(&mut self.from);
        let Some(&(first, _)) = moves.first() else { return };
        // Each move applies to the positions up to where the next starts, from its own on.
        let settle = |part: &mut [NodeRecord], first: usize| {
            let ends = moves.iter().skip(1).map(|&(from, _)| from).chain([usize::MAX]);
            for (&(from, bytes), end) in moves.iter().zip(ends) {
                let (from, end) = (from.max(first) - first, end.min(first + part.len()).saturating_sub(first));
                for node in part.get_mut(from..end).unwrap_or_default() {
                    node.moved(bytes, 0);
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

    /// Each node's start as the moves say, and as moving the nodes one edit at a time does.
    fn starts(moves: &Moves, nodes: &[NodeRecord]) -> Vec<u64> {
        (0..nodes.len()).map(|i| moves.applied(i, nodes[i].unpack()).start).collect()
    }

    #[test]
    fn pending_moves_read_as_the_moves_done_at_once() {
        let mut moved_at_once = nodes(40);
        let mut stored: Vec<NodeRecord> = moved_at_once.iter().copied().map(NodeRecord::pack).collect();
        let mut moves = Moves::default();
        // More edits than are kept pending, in and out of order, some at one place, some
        // shrinking: each read must see every edit made before it on an earlier node.
        let edits = (0..40).map(|k| ((k * 7) % 37 + 1, if k % 3 == 0 { -3 } else { 5 + k as i64 }));
        for (first, bytes) in edits {
            for node in &mut moved_at_once[first..] {
                node.start = node.start.wrapping_add_signed(bytes);
                node.value_end = node.value_end.wrapping_add_signed(bytes);
            }
            moves.add(&mut stored, first, bytes);
            assert!(moves.from.len() <= MOST_PENDING);
            let at_once: Vec<NodeRecord> = moved_at_once.iter().copied().map(NodeRecord::pack).collect();
            assert_eq!(starts(&moves, &stored), starts(&Moves::default(), &at_once));
        }
        moves.settle(&mut stored);
        assert!(moves.from.is_empty());
        let settled: Vec<Node> = stored.iter().map(|n| n.unpack()).collect();
        assert_eq!(settled, moved_at_once, "settled, the stored offsets are the moved ones");
    }
}
