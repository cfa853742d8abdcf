//! Which nodes are rows of the tree pane, and moving between them, computed on demand from
//! the pre-order arena and the set of expanded nodes: nothing is built per frame beyond
//! the rows actually drawn, so the cost of a frame does not grow with the document.

use crate::model::Document;
use crate::model::node::NodeId;
use crate::ui::folds::Folds;

/// A set of nodes, one bit each: which rows are expanded, which contain problems.
#[derive(Debug, Clone, Default)]
pub struct NodeSet {
    bits: Vec<u64>,
}

impl NodeSet {
    /// The set holding only the root, for a document of `len` nodes.
    pub fn new(len: usize) -> Self {
        let mut set = NodeSet { bits: vec![0; len.div_ceil(64)] };
        set.set(NodeId::ROOT, true);
        set
    }

    /// The empty set, for a document of `len` nodes.
    pub fn empty(len: usize) -> Self {
        NodeSet { bits: vec![0; len.div_ceil(64)] }
    }

    /// Empties the set, for a document of `len` nodes: in place when it is of the size.
    pub fn clear(&mut self, len: usize) {
        if self.bits.len() == len.div_ceil(64) {
            self.bits.fill(0);
        } else {
            *self = NodeSet::empty(len);
        }
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
    /// at a time: a node at a time into a new set, the sets of the dense gigabyte took a
    /// second to carry over the deletion of one value, a third of it faulting in new pages.
    fn remap_by_place(&mut self, old_len: usize, new_len: usize, prefix: usize, suffix: usize) {
        let words = new_len.div_ceil(64);
        self.bits.resize(words.max(self.bits.len()), 0);
        let (from, to) = (old_len - suffix, new_len - suffix);
        // Each chunk's members are read before a write can reach them: moved down, the
        // chunks are copied from the first; moved up, from the last.
        let chunks = Chunks { at: to, end: new_len };
        let mut copy = |(at, count)| self.copy_within(from + (at - to), at, count);
        if to < from {
            chunks.for_each(&mut copy)
        } else {
            chunks.rev().for_each(&mut copy)
        }
        self.bits.truncate(words);
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
    }
}

/// The nodes from `at` up to `end` cut where words of the set end: each chunk's first
/// node and count.
struct Chunks {
    at: usize,
    end: usize,
}

impl Iterator for Chunks {
    type Item = (usize, usize);

    fn next(&mut self) -> Option<(usize, usize)> {
        let count = (64 - self.at % 64).min(self.end.checked_sub(self.at).filter(|&n| n > 0)?);
        let chunk = (self.at, count);
        self.at += count;
        Some(chunk)
    }
}

impl DoubleEndedIterator for Chunks {
    fn next_back(&mut self) -> Option<(usize, usize)> {
        let in_last_word = if self.end.is_multiple_of(64) { 64 } else { self.end % 64 };
        let count = in_last_word.min(self.end.checked_sub(self.at).filter(|&n| n > 0)?);
        self.end -= count;
        Some((self.end, count))
    }
}

/// Navigation over the rows of a document under given folds.
#[derive(Clone, Copy)]
pub struct Rows<'a> {
    /// The document.
    pub doc: &'a Document,
    /// The expanded rows.
    pub folds: &'a Folds,
}

impl Rows<'_> {
    /// Whether a node has children to show.
    pub fn has_children(&self, id: NodeId) -> bool {
        self.doc.node(id).next > id + 1
    }

    /// Whether the node's children are shown (transparent nodes always pass through).
    fn opens(&self, id: NodeId) -> bool {
        self.doc.is_transparent(id) || self.folds.is_open(id, || self.depth(id))
    }

    /// Whether row `id` is expanded (its children, if it has any, are rows).
    pub fn is_expanded(&self, id: NodeId) -> bool {
        self.opens(id)
    }

    /// The row after `id`, if any.
    pub fn next(&self, id: NodeId) -> Option<NodeId> {
        let end = self.doc.end();
        let mut n = if self.opens(id) { id + 1 } else { self.doc.node(id).next };
        while n < end && self.doc.is_transparent(n) {
            n = n + 1;
        }
        (n < end).then_some(n)
    }

    /// The row before `id`, if any.
    pub fn prev(&self, id: NodeId) -> Option<NodeId> {
        let mut x = before(id)?;
        loop {
            x = self.outermost_hidden_ancestor(x).unwrap_or(x);
            if !self.doc.is_transparent(x) {
                return Some(x);
            }
            x = before(x)?;
        }
    }

    /// The outermost collapsed ancestor hiding `id`, if one does.
    fn outermost_hidden_ancestor(&self, id: NodeId) -> Option<NodeId> {
        let mut hidden = None;
        // Each ancestor that is a row is one row shallower than the one below it.
        let mut depth = self.depth(id);
        let mut p = self.doc.parent(id);
        while let Some(ancestor) = p {
            if !self.doc.is_transparent(ancestor) {
                depth = depth.saturating_sub(1);
                if !self.folds.is_open(ancestor, || depth) {
                    hidden = Some(ancestor);
                }
            }
            p = self.doc.parent(ancestor);
        }
        hidden
    }

    /// The nearest ancestor that is a row (transparent ones are skipped).
    pub fn parent(&self, id: NodeId) -> Option<NodeId> {
        let mut p = self.doc.parent(id);
        while let Some(ancestor) = p.filter(|&a| self.doc.is_transparent(a)) {
            p = self.doc.parent(ancestor);
        }
        p
    }

    /// Indentation level: rows between the root and this one.
    pub fn depth(&self, id: NodeId) -> usize {
        let mut depth = 0;
        let mut p = self.parent(id);
        while let Some(x) = p {
            depth += 1;
            p = self.parent(x);
        }
        depth
    }

    /// The last row of the document.
    pub fn last(&self) -> NodeId {
        let mut x = before(self.doc.end()).unwrap_or(NodeId::ROOT);
        loop {
            x = self.outermost_hidden_ancestor(x).unwrap_or(x);
            match before(x).filter(|_| self.doc.is_transparent(x)) {
                Some(earlier) => x = earlier,
                None => return x,
            }
        }
    }

    /// Makes `id` a row by expanding every ancestor.
    pub fn reveal(doc: &Document, folds: &mut Folds, id: NodeId) {
        let mut p = doc.parent(id);
        while let Some(ancestor) = p {
            folds.set(ancestor, true);
            p = doc.parent(ancestor);
        }
    }

    /// The next row that is a sibling of `id` (same row parent), if any.
    pub fn next_sibling(&self, id: NodeId) -> Option<NodeId> {
        let parent = self.parent(id);
        let mut x = self.doc.node(id).next;
        while x < self.doc.end() {
            if self.doc.is_transparent(x) {
                x = x + 1;
                continue;
            }
            return (self.parent(x) == parent).then_some(x);
        }
        None
    }

    /// The previous row that is a sibling of `id`, if any.
    pub fn prev_sibling(&self, id: NodeId) -> Option<NodeId> {
        let parent = self.parent(id)?;
        let mut candidate = None;
        let mut x = self.first_child(parent)?;
        while x != id {
            candidate = Some(x);
            x = self.next_sibling(x)?;
        }
        candidate
    }

    /// The first child row of `id`, whether or not `id` is expanded.
    pub fn first_child(&self, id: NodeId) -> Option<NodeId> {
        let mut x = id + 1;
        while x < self.doc.node(id).next {
            if !self.doc.is_transparent(x) {
                return Some(x);
            }
            x = x + 1;
        }
        None
    }
}

/// The id just before `id` in pre-order; `None` for the root.
fn before(id: NodeId) -> Option<NodeId> {
    id.index().checked_sub(1).map(NodeId::from_index)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::decode::registry::SchemaSources;
    use crate::decode::schema::Schema;
    use crate::model::Decoder;
    use crate::model::source::Source;

    fn sample() -> Document {
        let schema = Arc::new(Schema::load(&SchemaSources::default()).unwrap());
        let root = schema.pool.get_message_by_name(crate::samples::ROOT_TYPE);
        Decoder::new(schema, root).decode(Source::new(crate::samples::VM_STATE.to_vec()))
    }

    fn path(doc: &Document, id: NodeId) -> String {
        doc.path_of(id).to_string()
    }

    #[test]
    fn collapsed_rows_are_skipped_and_next_and_prev_are_inverse() {
        let doc = sample();
        let mut folds = Folds::new(doc.node_count());
        let rows = Rows { doc: &doc, folds: &folds };
        let units: Vec<String> =
            std::iter::successors(Some(NodeId::ROOT), |&id| rows.next(id)).map(|id| path(&doc, id)).collect();
        assert_eq!(units.len(), 9, "the root and its eight units: {units:?}");
        assert_eq!(path(&doc, rows.last()), "units[7]");
        // Open the PIT unit: its fields become rows, and prev walks back over them.
        let pit = doc.resolve("units[1]").unwrap();
        folds.set(pit, true);
        let rows = Rows { doc: &doc, folds: &folds };
        let mut id = NodeId::ROOT;
        while let Some(next) = rows.next(id) {
            assert_eq!(rows.prev(next), Some(id), "prev undoes next at {}", path(&doc, next));
            id = next;
        }
        assert_eq!(path(&doc, rows.first_child(pit).unwrap()), "units[1].name");
        assert_eq!(rows.next_sibling(pit).map(|s| path(&doc, s)).as_deref(), Some("units[2]"));
        assert_eq!(rows.prev_sibling(pit).map(|s| path(&doc, s)).as_deref(), Some("units[0]"));
    }

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
    fn any_payloads_are_passed_through() {
        let doc = sample();
        let lun = doc.resolve("units[7].state.channel.drives[0].path.lun").unwrap();
        let mut folds = Folds::new(doc.node_count());
        Rows::reveal(&doc, &mut folds, lun);
        let rows = Rows { doc: &doc, folds: &folds };
        let chain: Vec<String> =
            std::iter::successors(Some(lun), |&id| rows.parent(id)).map(|id| path(&doc, id)).collect();
        assert_eq!(
            chain,
            [
                "units[7].state.channel.drives[0].path.lun",
                "units[7].state.channel.drives[0].path",
                "units[7].state.channel.drives[0]",
                "units[7].state.channel",
                "units[7].state",
                "units[7]",
                ""
            ]
        );
        assert_eq!(rows.depth(lun), 6);
        assert!(chain.iter().all(|p| !p.ends_with("@value")), "payloads have no rows of their own");
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
}
