//! One node of the document tree: a field (or packed element, or error span) with its byte
//! spans and its place in the pre-order arena.

use crate::decode::wire::WireType;

/// Index of a node in [`crate::model::Document::nodes`].
pub type NodeId = u32;
/// Marks "no node" / "no type" in the compact fields below.
pub const NONE: u32 = u32::MAX;

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

/// A node: field number, spans and tree links. 48 bytes; values are read from the bytes on
/// demand rather than stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node {
    /// First byte of the tag (of the value, for elements, errors and the root).
    pub start: u64,
    /// First byte of the value, past tag and length prefix.
    pub value_start: u64,
    /// One past the last byte of the value (for groups, the start of the end-group tag).
    pub value_end: u64,
    /// Parent node, or [`NONE`] for the root.
    pub parent: NodeId,
    /// One past the last node of this node's subtree: the next sibling, if any.
    pub next: NodeId,
    /// Field number from the tag (0 for the root and error nodes).
    pub field_number: u32,
    /// How many values of the same field came before this one in its message (the `[i]`
    /// of a path; a packed run counts one per element). For packed elements: the place in
    /// their run.
    pub index: u32,
    /// Interned message type decoding this node's children ([`NONE`] if none is known).
    pub ty: u32,
    /// What the node is.
    pub kind: NodeKind,
    /// Wire type from the tag, if the node has one.
    pub wire: Option<WireType>,
    /// Bytes in the tag.
    pub tag_len: u8,
    /// Bytes in the closing end-group tag (groups only).
    pub end_tag_len: u8,
    /// Whether at least one problem is attached to this node.
    pub has_problem: bool,
}

impl Node {
    /// One past the last byte of the node, trailing end-group tag included.
    pub fn end(&self) -> u64 {
        self.value_end + u64::from(self.end_tag_len)
    }

    /// The byte range of the length prefix (empty unless length-delimited).
    pub fn len_prefix(&self) -> std::ops::Range<u64> {
        self.start + u64::from(self.tag_len)..self.value_start
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
    #[test]
    fn node_stays_compact() {
        assert!(std::mem::size_of::<super::Node>() <= 56);
    }
}
