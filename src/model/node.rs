//! One node of the document tree: a field (or packed element, or error span) with its byte
//! spans and its place in the pre-order arena.

use std::fmt;
use std::num::NonZeroU32;

use crate::decode::schema::TypeIndex;
use crate::decode::wire::WireType;

/// A node's place in a document's pre-order arena: the root is [`NodeId::ROOT`], and a
/// node's subtree is the ids from it up to its `next`. Stored as the index plus one, so
/// that an `Option<NodeId>` takes no more room than the id.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(NonZeroU32);

impl NodeId {
    /// The root node, the whole input.
    pub const ROOT: NodeId = NodeId(NonZeroU32::MIN);

    /// The node at arena position `index`.
    ///
    /// # Panics
    /// When `index` does not fit 32 bits: no document holds four billion nodes.
    pub fn from_index(index: usize) -> NodeId {
        let stored = u32::try_from(index).ok().and_then(|i| i.checked_add(1)).and_then(NonZeroU32::new);
        NodeId(stored.expect("node ids fit in 32 bits"))
    }

    /// The node's arena position.
    pub fn index(self) -> usize {
        (self.0.get() - 1) as usize
    }

    /// The id `places` places on in pre-order (back, when negative).
    ///
    /// # Panics
    /// When that is not an id: an edit moves ids only within the document.
    #[inline]
    pub fn moved_by(self, places: i32) -> NodeId {
        let moved = self.0.get().checked_add_signed(places).and_then(NonZeroU32::new);
        NodeId(moved.expect("ids stay in range"))
    }

    /// Every id from `self` up to, not including, `end`: a subtree when `end` is its `next`.
    pub fn up_to(self, end: NodeId) -> impl DoubleEndedIterator<Item = NodeId> {
        (self.index()..end.index()).map(NodeId::from_index)
    }
}

impl std::ops::Add<u32> for NodeId {
    type Output = NodeId;
    /// The id `n` places further on in pre-order.
    fn add(self, n: u32) -> NodeId {
        NodeId(self.0.checked_add(n).expect("node ids fit in 32 bits"))
    }
}

impl std::ops::Sub for NodeId {
    type Output = u32;
    /// How many places `other` comes before `self` (`self` must not come first).
    fn sub(self, other: NodeId) -> u32 {
        self.0.get() - other.0.get()
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.index())
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.index())
    }
}

/// What a node holds, as decided by the wire format and the schema overlay together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum NodeKind {
    /// The whole input, decoded as the root type.
    Root,
    /// A varint, fixed32 or fixed64 value.
    Scalar,
    /// A length-delimited value shown as bytes (declared bytes, unknown, or not decodable).
    Bytes,
    /// A length-delimited value declared `string`.
    String,
    /// A length-delimited value decoded as a nested message.
    Message,
    /// A nested `google.protobuf.Any`; its children are its `type_url` and `value`.
    Any,
    /// The `value` of a resolved Any, decoded as the type its URL names. Paths and the tree
    /// view pass through it as if the payload's fields belonged to the Any itself.
    AnyPayload,
    /// A packed run of scalars; its children are the elements.
    Packed,
    /// One scalar of a packed run (no tag of its own).
    Element,
    /// A group (wire types 3 and 4) and its contents.
    Group,
    /// Bytes that could not be scanned, to the end of the enclosing span.
    Error,
}

impl NodeKind {
    /// Whether a node of this kind is a field its parent's type declares or not (by its
    /// number); the root, an unscannable span, an Any's payload and a packed element are
    /// not fields of their parent ([`crate::model::Document::field_info_of`]).
    pub fn is_field_of_parent(self) -> bool {
        !matches!(self, NodeKind::Root | NodeKind::Error | NodeKind::AnyPayload | NodeKind::Element)
    }
}

/// A node: field number, spans and tree links, in 40 bytes (a document stores it packed
/// into 32); values are read from the bytes on demand rather than stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node {
    /// First byte of the tag (of the value, for elements, errors and the root).
    pub start: u64,
    /// One past the last byte of the value (for groups, the start of the end-group tag).
    pub value_end: u64,
    /// Parent node; `None` for the root.
    pub parent: Option<NodeId>,
    /// One past the last node of this node's subtree: the next sibling, if any. While the
    /// document is being built, a container that is still open has its own id here.
    pub next: NodeId,
    /// Field number from the tag (0 for the root and error nodes).
    pub field_number: u32,
    /// How many values of the same field came before this one in its message (the `[i]`
    /// of a path; a packed run counts one per element). For packed elements: the place in
    /// their run.
    pub index: u32,
    /// Interned message type decoding this node's children, if one is known.
    pub ty: Option<TypeIndex>,
    /// What the node is.
    pub kind: NodeKind,
    /// Wire type from the tag, if the node has one.
    pub wire: Option<WireType>,
    /// The lengths of the tag, the length prefix and a group's closing end-group tag (four
    /// bits each: a varint is at most ten bytes), and whether a problem is attached (the
    /// bit above them). Packed so that a node takes 40 bytes and its record 32; read with
    /// [`Node::value_start`], [`Node::tag_len`], [`Node::end_tag_len`] and
    /// [`Node::has_problem`].
    pub lens: u16,
}

/// The bit of [`Node::lens`] that says a problem is attached.
pub(crate) const HAS_PROBLEM: u16 = 1 << 12;

impl Node {
    /// [`Node::lens`] of a tag, a length prefix and an end-group tag of these lengths
    /// (each at most ten bytes), with no problem attached.
    pub fn pack_lens(tag_len: u8, len_len: u8, end_tag_len: u8) -> u16 {
        debug_assert!(tag_len <= 10 && len_len <= 10 && end_tag_len <= 10, "a varint is at most ten bytes");
        u16::from(tag_len & 0x0f) | u16::from(len_len & 0x0f) << 4 | u16::from(end_tag_len & 0x0f) << 8
    }

    /// Bytes in the tag.
    pub fn tag_len(&self) -> u8 {
        (self.lens & 0x0f) as u8
    }

    /// Bytes in the length prefix (length-delimited fields only).
    fn len_len(&self) -> u8 {
        (self.lens >> 4 & 0x0f) as u8
    }

    /// Bytes in the closing end-group tag (groups only).
    pub fn end_tag_len(&self) -> u8 {
        (self.lens >> 8 & 0x0f) as u8
    }

    /// First byte of the value, past tag and length prefix.
    pub fn value_start(&self) -> u64 {
        self.start + u64::from(self.tag_len()) + u64::from(self.len_len())
    }

    /// Whether at least one problem is attached to this node.
    pub fn has_problem(&self) -> bool {
        self.lens & HAS_PROBLEM != 0
    }

    /// Marks whether a problem is attached to this node.
    pub fn set_has_problem(&mut self, has: bool) {
        self.lens = if has { self.lens | HAS_PROBLEM } else { self.lens & !HAS_PROBLEM };
    }

    /// One past the last byte of the node, trailing end-group tag included.
    pub fn end(&self) -> u64 {
        self.value_end + u64::from(self.end_tag_len())
    }

    /// The byte range of the length prefix (empty unless length-delimited).
    pub fn len_prefix(&self) -> std::ops::Range<u64> {
        self.start + u64::from(self.tag_len())..self.value_start()
    }

    /// Whether this node can have children.
    pub fn is_container(&self) -> bool {
        matches!(
            self.kind,
            NodeKind::Root
                | NodeKind::Message
                | NodeKind::Any
                | NodeKind::AnyPayload
                | NodeKind::Packed
                | NodeKind::Group
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_stays_compact() {
        assert!(std::mem::size_of::<Node>() <= 40);
        assert_eq!(std::mem::size_of::<Option<NodeId>>(), 4);
    }

    #[test]
    fn ids_count_from_the_root() {
        let id = NodeId::from_index(7);
        assert_eq!((NodeId::ROOT.index(), id.index()), (0, 7));
        assert_eq!(id + 3, NodeId::from_index(10));
        assert_eq!(NodeId::from_index(10) - id, 3);
        assert_eq!(NodeId::ROOT.up_to(NodeId::from_index(3)).map(NodeId::index).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(format!("{id} {id:?}"), "7 #7");
    }
}
