//! A node as the document's arena stores it: a [`Node`] packed into 32 bytes, offsets in
//! 44 bits and kind, wire type, lengths and type beside them, as a browsed gigabyte holds
//! tens of millions of them.

use crate::decode::schema::TypeIndex;
use crate::decode::wire::WireType;
use crate::model::node::{HAS_PROBLEM, Node, NodeId, NodeKind};

/// Bits of a byte offset: inputs are at most [`NodeRecord::LARGEST_INPUT`] bytes.
const OFFSET_BITS: u32 = 44;
const OFFSET_MASK: u64 = (1 << OFFSET_BITS) - 1;
/// Bits of a type's stored index (its index plus one, 0 for none).
const TYPE_BITS: u32 = 64 - OFFSET_BITS;
const _: () = assert!(TypeIndex::MOST < (1 << TYPE_BITS) - 1, "every type's index plus one fits");
/// Where the kind (4 bits), the wire type plus one (3 bits, 0 for none) and the lengths
/// (13 bits) sit in the word beside the start.
const KIND_SHIFT: u32 = OFFSET_BITS;
const WIRE_SHIFT: u32 = KIND_SHIFT + 4;
const LENS_SHIFT: u32 = WIRE_SHIFT + 3;

/// Every kind, by its `repr(u8)` value.
const KINDS: [NodeKind; 11] = [
    NodeKind::Root,
    NodeKind::Scalar,
    NodeKind::Bytes,
    NodeKind::String,
    NodeKind::Message,
    NodeKind::Any,
    NodeKind::AnyPayload,
    NodeKind::Packed,
    NodeKind::Element,
    NodeKind::Group,
    NodeKind::Error,
];

/// A [`Node`] in 32 bytes rather than 40: what the arena holds; read as a [`Node`] with
/// [`NodeRecord::unpack`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NodeRecord {
    /// The start, the kind, the wire type and the lengths.
    head: u64,
    /// The value's end and the type.
    tail: u64,
    parent: Option<NodeId>,
    next: NodeId,
    field_number: u32,
    index: u32,
}

impl NodeRecord {
    /// The largest input whose offsets a record holds (16 TiB): larger files are refused
    /// when they are opened.
    pub(crate) const LARGEST_INPUT: u64 = OFFSET_MASK;

    /// `node` packed.
    #[inline]
    pub(crate) fn pack(node: Node) -> NodeRecord {
        debug_assert!(node.value_end <= OFFSET_MASK && node.start <= OFFSET_MASK, "inputs are at most 16 TiB");
        let wire = node.wire.map_or(0, |w| w as u64 + 1);
        let ty = node.ty.map_or(0, |t| u64::from(t.to_raw()));
        debug_assert!(ty < 1 << TYPE_BITS, "a schema declares at most {} types", TypeIndex::MOST);
        NodeRecord {
            head: node.start & OFFSET_MASK
                | (node.kind as u64) << KIND_SHIFT
                | wire << WIRE_SHIFT
                | u64::from(node.lens) << LENS_SHIFT,
            tail: node.value_end & OFFSET_MASK | ty << OFFSET_BITS,
            parent: node.parent,
            next: node.next,
            field_number: node.field_number,
            index: node.index,
        }
    }

    /// The node this record holds.
    #[inline]
    pub(crate) fn unpack(self) -> Node {
        let wire = (self.head >> WIRE_SHIFT & 0b111) as u8;
        Node {
            start: self.head & OFFSET_MASK,
            value_end: self.tail & OFFSET_MASK,
            parent: self.parent,
            next: self.next,
            field_number: self.field_number,
            index: self.index,
            ty: TypeIndex::from_raw((self.tail >> OFFSET_BITS) as u32),
            kind: self.kind(),
            wire: wire.checked_sub(1).and_then(WireType::from_bits),
            lens: (self.head >> LENS_SHIFT) as u16,
        }
    }

    /// The node's kind, read without unpacking the rest.
    #[inline]
    pub(crate) fn kind(self) -> NodeKind {
        KINDS[(self.head >> KIND_SHIFT & 0b1111) as usize]
    }

    /// The first byte of the node, as stored.
    pub(crate) fn start(self) -> u64 {
        self.head & OFFSET_MASK
    }

    /// The node after this one's subtree.
    pub(crate) fn next(self) -> NodeId {
        self.next
    }

    /// The node's parent.
    pub(crate) fn parent(self) -> Option<NodeId> {
        self.parent
    }

    /// Sets the node after this one's subtree.
    #[inline]
    pub(crate) fn set_next(&mut self, next: NodeId) {
        self.next = next;
    }

    /// Marks whether a problem is attached to the node ([`Node::set_has_problem`]).
    #[inline]
    pub(crate) fn set_has_problem(&mut self, has: bool) {
        let bit = u64::from(HAS_PROBLEM) << LENS_SHIFT;
        self.head = if has { self.head | bit } else { self.head & !bit };
    }

    /// Changes the node as `change` says.
    /// Moves the node `bytes` further on in the input and `ids` places on in pre-order
    /// (its parent too, unless that is the root), in place: an edit moves tens of millions
    /// of nodes after it, and unpacking and packing each took twice as long.
    #[inline]
    pub(crate) fn moved(&mut self, bytes: i64, ids: i32) {
        let offset = |word: u64| {
            let moved = (word & OFFSET_MASK).wrapping_add_signed(bytes);
            assert!(moved <= OFFSET_MASK, "offsets stay in the input");
            word & !OFFSET_MASK | moved
        };
        (self.head, self.tail) = (offset(self.head), offset(self.tail));
        self.parent = self.parent.map(|p| if p == NodeId::ROOT { p } else { p.moved_by(ids) });
        self.next = self.next.moved_by(ids);
    }

    /// Counts `by` more values of the same field before the node.
    #[inline]
    pub(crate) fn renumber(&mut self, by: i32) {
        self.index = self.index.wrapping_add_signed(by);
    }

    /// The node's field number.
    #[inline]
    pub(crate) fn field_number(self) -> u32 {
        self.field_number
    }

    #[inline]
    pub(crate) fn update(&mut self, change: impl FnOnce(&mut Node)) {
        let mut node = self.unpack();
        change(&mut node);
        *self = NodeRecord::pack(node);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_record_takes_32_bytes_and_kinds_are_in_their_order() {
        assert_eq!(std::mem::size_of::<NodeRecord>(), 32);
        assert!(KINDS.iter().enumerate().all(|(i, &kind)| kind as usize == i));
        assert!(KINDS.len() <= 16, "a kind takes four bits");
    }

    proptest! {
        #[test]
        fn every_node_comes_back_as_it_was_packed(
            start in 0..=OFFSET_MASK,
            len in 0..=u64::MAX,
            parent in proptest::option::of(0..u32::MAX - 1),
            next in 0..u32::MAX - 1,
            field_number in any::<u32>(),
            index in any::<u32>(),
            ty in proptest::option::of(0..TypeIndex::MOST),
            kind in 0..KINDS.len(),
            wire in proptest::option::of(0u8..6),
            lens in 0u16..1 << 13,
        ) {
            let node = Node {
                start,
                value_end: start + len % (OFFSET_MASK - start + 1),
                parent: parent.map(|p| NodeId::from_index(p as usize)),
                next: NodeId::from_index(next as usize),
                field_number,
                index,
                ty: ty.map(TypeIndex::from_index),
                kind: KINDS[kind],
                wire: wire.and_then(WireType::from_bits),
                lens,
            };
            let mut record = NodeRecord::pack(node);
            prop_assert_eq!(record.unpack(), node);
            let mut marked = node;
            for has in [true, false, true] {
                record.set_has_problem(has);
                marked.set_has_problem(has);
                prop_assert_eq!(record.unpack(), marked);
            }
            // Moved in place as its fields would be, back to where it was, and on.
            let (bytes, places) = ((len % 1000) as i64, (len % 100) as i32);
            let fits = marked.value_end + (bytes as u64) <= OFFSET_MASK && next as usize + 100 < u32::MAX as usize - 1;
            if fits && parent.is_none_or(|p| p as usize + 100 < u32::MAX as usize - 1) {
                let mut moved = record;
                moved.moved(bytes, places);
                let id = |id: NodeId| NodeId::from_index(id.index() + places as usize);
                let expected = Node {
                    start: marked.start + bytes as u64,
                    value_end: marked.value_end + bytes as u64,
                    parent: marked.parent.map(|p| if p == NodeId::ROOT { p } else { id(p) }),
                    next: id(marked.next),
                    ..marked
                };
                prop_assert_eq!(moved.unpack(), expected);
                moved.moved(-bytes, -places);
                prop_assert_eq!(moved, record);
            }
        }
    }
}
