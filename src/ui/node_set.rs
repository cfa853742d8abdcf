//! A set of nodes, one bit each, with a mark for each block of 4096 nodes that may hold a
//! member: which rows are expanded or chosen, which contain problems. An edit that moves
//! every id after it carries a set over by copying only the blocks marked, so a set of a
//! gigabyte's nodes that holds a few rows costs a look at its marks, not a pass over
//! its tens of MB.

use crate::model::Document;
use crate::model::node::NodeId;

/// Words of bits in a block that one mark stands for.
const BLOCK_WORDS: usize = 64;

/// Nodes in a block.
const BLOCK_NODES: usize = 64 * BLOCK_WORDS;

/// A set of nodes, one bit each.
#[derive(Debug, Clone, Default)]
pub struct NodeSet {
    bits: Vec<u64>,
    /// A bit for each block of [`BLOCK_WORDS`] words of `bits`: clear only where every
    /// word of the block is 0 (a block emptied again may stay marked).
    marks: Vec<u64>,
}

impl NodeSet {
    /// The set holding only the root, for a document of `len` nodes.
    pub fn new(len: usize) -> Self {
        let mut set = NodeSet::empty(len);
        set.set(NodeId::ROOT, true);
        set
    }

    /// The empty set, for a document of `len` nodes.
    pub fn empty(len: usize) -> Self {
        let words = len.div_ceil(64);
        NodeSet { bits: vec![0; words], marks: vec![0; marks_for(words)] }
    }

    /// Empties the set, for a document of `len` nodes: in place when it is of the size,
    /// only the blocks marked cleared.
    pub fn clear(&mut self, len: usize) {
        if self.bits.len() != len.div_ceil(64) {
            *self = NodeSet::empty(len);
            return;
        }
        for (block, words) in self.bits.chunks_mut(BLOCK_WORDS).enumerate() {
            if is_marked(&self.marks, block) {
                words.fill(0);
            }
        }
        self.marks.fill(0);
    }

    /// Whether node `id` is in the set.
    pub fn contains(&self, id: NodeId) -> bool {
        let i = id.index();
        self.bits.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    /// Adds (`true`) or removes node `id`.
    pub fn set(&mut self, id: NodeId, member: bool) {
        let i = id.index();
        if let Some(word) = self.bits.get_mut(i / 64) {
            if member {
                *word |= 1 << (i % 64);
                mark(&mut self.marks, i / 64);
            } else {
                *word &= !(1 << (i % 64));
            }
        }
    }

    /// Adds or removes every node in `range`, a word at a time where it can.
    pub fn set_range(&mut self, range: std::ops::Range<NodeId>, member: bool) {
        let (mut i, end) = (range.start.index(), range.end.index());
        while i < end {
            if i.is_multiple_of(64) && end - i >= 64 {
                if let Some(word) = self.bits.get_mut(i / 64) {
                    *word = if member { u64::MAX } else { 0 };
                    if member {
                        mark(&mut self.marks, i / 64);
                    }
                }
                i += 64;
            } else {
                self.set(NodeId::from_index(i), member);
                i += 1;
            }
        }
    }

    /// Carries the set over a rewrite of the bytes from a document of `old_len` nodes to
    /// `new` nodes. The rewrite changed the bytes `[span.start, span.end)` (old offsets) and
    /// shifted what follows by `delta`: nodes starting before the span keep their ids, nodes
    /// starting after it keep their place counted from the end, and the changed middle
    /// starts collapsed. Only offsets are compared, so no copy of the old nodes is needed.
    pub fn remap(&mut self, old_len: usize, new: &Document, span: std::ops::Range<usize>, delta: isize) {
        let new_len = new.node_count();
        let prefix = new.nodes_starting_before(span.start as u64).min(old_len);
        let after = (span.end as isize + delta).max(0) as u64;
        let suffix = (new_len - new.nodes_starting_before(after)).min(old_len - prefix).min(new_len - prefix);
        if new_len != old_len {
            self.remap_by_place(old_len, new_len, prefix, suffix);
            return;
        }
        // Ids did not move (an edit of values): the middle collapsed, in place. The sets of
        // a gigabyte are tens of MB: copied, each new page's fault made the first edit of
        // the dense gigabyte take 0.24-0.49 s.
        self.set_range(NodeId::from_index(prefix)..NodeId::from_index(new_len - suffix), false);
        if prefix == 0 {
            self.set(NodeId::ROOT, true);
        }
    }

    /// [`Self::remap`] where ids moved: the first `prefix` nodes keep their ids, the last
    /// `suffix` their place from the end, and the rest start collapsed. In place and a word
    /// at a time, and only in the blocks where a member is or lands: a node at a time into
    /// a new set, the sets of the dense gigabyte took a second to carry over the deletion
    /// of one value, a third of it faulting in new pages; a word at a time over every
    /// block, 25-50 ms of deleting a value of a gigabyte of VM state.
    fn remap_by_place(&mut self, old_len: usize, new_len: usize, prefix: usize, suffix: usize) {
        let words = new_len.div_ceil(64);
        self.bits.resize(words.max(self.bits.len()), 0);
        self.marks.resize(marks_for(self.bits.len()), 0);
        let (from, to) = (old_len - suffix, new_len - suffix);
        // The nodes that move, cut where blocks of the new places end: each piece is copied
        // unless it and its old places are in blocks with no member.
        let pieces = Pieces { at: to, end: new_len };
        let mut carry = |(at, count): (usize, usize)| {
            let source = from + (at - to);
            let old_blocks = source / BLOCK_NODES..(source + count - 1) / BLOCK_NODES + 1;
            let marked = |block| is_marked(&self.marks, block);
            if !old_blocks.clone().any(marked) && !marked(at / BLOCK_NODES) {
                return;
            }
            // Each chunk's members are read before a write can reach them: moved down,
            // the chunks are copied from the first; moved up, from the last.
            let chunks = Chunks { at, end: at + count };
            let mut copy = |(at, count)| self.copy_within(from + (at - to), at, count);
            if to < from { chunks.for_each(&mut copy) } else { chunks.rev().for_each(&mut copy) }
        };
        if to < from {
            pieces.for_each(&mut carry)
        } else {
            pieces.rev().for_each(&mut carry)
        }
        self.bits.truncate(words);
        self.marks.truncate(marks_for(words));
        if let Some(last) = self.bits.last_mut().filter(|_| !new_len.is_multiple_of(64)) {
            *last &= (1u64 << (new_len % 64)) - 1;
        }
        self.set_range(NodeId::from_index(prefix)..NodeId::from_index(to), false);
        if prefix == 0 && to > 0 {
            self.set(NodeId::ROOT, true);
        }
    }

    /// Makes the `count` nodes from node `at` on (within one word) members as those from
    /// node `source` on are.
    fn copy_within(&mut self, source: usize, at: usize, count: usize) {
        let mask = if count == 64 { u64::MAX } else { (1u64 << count) - 1 };
        let bits = self.bits_from(source) & mask;
        if let Some(w) = self.bits.get_mut(at / 64) {
            let word = (*w & !(mask << (at % 64))) | (bits << (at % 64));
            // Written only where it changes: a set is mostly empty, and a page of it never
            // written costs no new page when it is carried over.
            if *w != word {
                *w = word;
            }
            if word != 0 {
                mark(&mut self.marks, at / 64);
            }
        }
    }

    /// The membership of the 64 nodes from node `start` on, the first in the lowest bit.
    fn bits_from(&self, start: usize) -> u64 {
        let (word, shift) = (start / 64, start % 64);
        let low = self.bits.get(word).map_or(0, |w| w >> shift);
        let high = match shift {
            0 => 0,
            _ => self.bits.get(word + 1).map_or(0, |w| w << (64 - shift)),
        };
        low | high
    }

    /// Grows the set to hold `len` nodes, keeping its members.
    pub fn grow(&mut self, len: usize) {
        self.bits.resize(len.div_ceil(64).max(self.bits.len()), 0);
        self.marks.resize(marks_for(self.bits.len()), 0);
    }
}

/// How many words of marks `words` words of bits need.
fn marks_for(words: usize) -> usize {
    words.div_ceil(BLOCK_WORDS).div_ceil(64)
}

/// Marks the block of word `word`.
fn mark(marks: &mut [u64], word: usize) {
    let block = word / BLOCK_WORDS;
    if let Some(m) = marks.get_mut(block / 64) {
        *m |= 1 << (block % 64);
    }
}

/// Whether block `block` is marked.
fn is_marked(marks: &[u64], block: usize) -> bool {
    marks.get(block / 64).is_some_and(|m| m >> (block % 64) & 1 == 1)
}

/// The nodes from `at` up to `end` cut where units of `UNIT` nodes end (a word of the set,
/// or a block of words): each piece's first node and count.
struct Cut<const UNIT: usize> {
    at: usize,
    end: usize,
}

/// The nodes cut where words of the set end.
type Chunks = Cut<64>;

/// The nodes cut where blocks of the set end.
type Pieces = Cut<BLOCK_NODES>;

impl<const UNIT: usize> Iterator for Cut<UNIT> {
    type Item = (usize, usize);

    fn next(&mut self) -> Option<(usize, usize)> {
        let count = (UNIT - self.at % UNIT).min(self.end.checked_sub(self.at).filter(|&n| n > 0)?);
        let chunk = (self.at, count);
        self.at += count;
        Some(chunk)
    }
}

impl<const UNIT: usize> DoubleEndedIterator for Cut<UNIT> {
    fn next_back(&mut self) -> Option<(usize, usize)> {
        let in_last = if self.end.is_multiple_of(UNIT) { UNIT } else { self.end % UNIT };
        let count = in_last.min(self.end.checked_sub(self.at).filter(|&n| n > 0)?);
        self.end -= count;
        Some((self.end, count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::rows::tests::sample;

    #[test]
    fn folds_over_an_edit_of_values_are_kept_as_a_node_at_a_time_keeps_them() {
        let doc = sample();
        let len = doc.node_count();
        let mut folds = NodeSet::new(len);
        for i in (0..len).filter(|i| i % 3 != 1) {
            folds.set(NodeId::from_index(i), true);
        }
        let offsets = |id: usize| doc.node(NodeId::from_index(id)).start as usize;
        for (first, last) in [(0, 5), (1, 2), (7, 200), (150, len - 1), (0, len - 1)] {
            let span = offsets(first)..offsets(last);
            let mut kept = folds.clone();
            kept.remap(len, &doc, span.clone(), 0);
            let prefix = (0..len).filter(|&id| offsets(id) < span.start).count();
            let suffix = len - (0..len).filter(|&id| offsets(id) < span.end).count();
            let by_place = remap_a_node_at_a_time(&folds, len, len, prefix, suffix.min(len - prefix));
            assert_eq!(kept.bits, by_place.bits, "an edit of bytes {span:?}");
        }
    }

    /// What [`NodeSet::remap_by_place`] gives, a node at a time.
    fn remap_a_node_at_a_time(set: &NodeSet, old_len: usize, new_len: usize, prefix: usize, suffix: usize) -> NodeSet {
        let mut out = NodeSet::new(new_len);
        for i in 0..prefix {
            out.set(NodeId::from_index(i), set.contains(NodeId::from_index(i)));
        }
        for k in 1..=suffix {
            out.set(NodeId::from_index(new_len - k), set.contains(NodeId::from_index(old_len - k)));
        }
        out
    }

    #[test]
    fn folds_over_ids_that_moved_are_carried_a_word_at_a_time_as_a_node_at_a_time() {
        // Lengths, and kept ends, on each side of a word's edges.
        let edges = [0, 1, 2, 63, 64, 65, 127, 128, 129, 200];
        for old_len in [1, 64, 65, 130, 200] {
            let mut set = NodeSet::empty(old_len);
            for i in (0..old_len).filter(|i| (i * 7) % 5 < 2 || i % 64 == 63) {
                set.set(NodeId::from_index(i), true);
            }
            for new_len in [1, 63, 64, 66, 129, 199, 201, 260] {
                for (&prefix, &suffix) in edges.iter().flat_map(|p| edges.iter().map(move |s| (p, s))) {
                    if prefix + suffix > old_len.min(new_len) {
                        continue;
                    }
                    let mut words = set.clone();
                    words.remap_by_place(old_len, new_len, prefix, suffix);
                    let nodes = remap_a_node_at_a_time(&set, old_len, new_len, prefix, suffix);
                    assert_eq!(words.bits, nodes.bits, "{old_len} -> {new_len} nodes, {prefix} and {suffix} kept");
                }
            }
        }
    }

    #[test]
    fn node_sets_set_ranges_and_carry_over_a_rewrite() {
        let mut set = NodeSet::new(200);
        set.set_range(NodeId::from_index(3)..NodeId::from_index(150), true);
        let members: Vec<usize> = (0..200).filter(|&i| set.contains(NodeId::from_index(i))).collect();
        assert_eq!(members, [0].into_iter().chain(3..150).collect::<Vec<_>>());
        set.set_range(NodeId::from_index(64)..NodeId::from_index(128), false);
        assert!(!set.contains(NodeId::from_index(100)) && set.contains(NodeId::from_index(130)));
    }

    /// Whether every block with a member is marked.
    fn marks_cover_members(set: &NodeSet) -> bool {
        set.bits.iter().enumerate().all(|(word, &bits)| bits == 0 || is_marked(&set.marks, word / BLOCK_WORDS))
    }

    #[test]
    fn sets_of_many_blocks_are_carried_over_moved_ids_as_a_node_at_a_time() {
        // A few members in blocks far apart (rows revealed at the start, the middle and
        // the end of a large document) and a block full of them; ids moved by less than a
        // word, a word, and more than a block, down and up, with ends kept across blocks.
        let old_len = 20 * BLOCK_NODES + 77;
        let mut set = NodeSet::new(old_len);
        for i in [1, 63, 64, 4095, 4096, 9000, 40_000, old_len - 1] {
            set.set(NodeId::from_index(i), true);
        }
        set.set_range(NodeId::from_index(50_000)..NodeId::from_index(50_000 + BLOCK_NODES), true);
        set.set(NodeId::from_index(50_100), false);
        for moved in [-5000isize, -4096, -65, -64, -1, 1, 63, 64, 4097, 9000] {
            let new_len = old_len.checked_add_signed(moved).unwrap();
            for prefix in [0, 2, 4000, 10_000, 45_000] {
                for suffix in [0, 1, 4096, 30_000, 70_000] {
                    if prefix + suffix > old_len.min(new_len) {
                        continue;
                    }
                    let mut words = set.clone();
                    words.remap_by_place(old_len, new_len, prefix, suffix);
                    let nodes = remap_a_node_at_a_time(&set, old_len, new_len, prefix, suffix);
                    let what = format!("{old_len} -> {new_len} nodes, {prefix} and {suffix} kept");
                    assert_eq!(words.bits, nodes.bits, "{what}");
                    assert!(marks_cover_members(&words), "{what}: a member in a block not marked");
                }
            }
        }
        // Emptied, a set of the size is cleared where it was marked.
        set.clear(old_len);
        assert!(set.bits.iter().all(|&w| w == 0) && set.marks.iter().all(|&m| m == 0));
    }
}
