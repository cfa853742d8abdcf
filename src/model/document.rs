//! The document: the input bytes, the decoded node arena over them, and the schema overlay
//! that names each node. The bytes are the source of truth; everything else is derived.

use std::sync::Arc;

use prost_reflect::MessageDescriptor;

use crate::decode::overlay::{self, Limits};
use crate::decode::schema::{FieldInfo, Schema, TypeInfo, TypeTable};
use crate::model::node::{Node, NodeId, NodeKind};
use crate::model::problem::Problem;
use crate::model::source::Source;

/// A decoded saved-state blob.
#[derive(Debug)]
pub struct Document {
    source: Source,
    /// Nodes in pre-order; node 0 is the root.
    pub nodes: Vec<Node>,
    pub(crate) types: TypeTable,
    /// Every problem, sorted by node.
    pub problems: Vec<Problem>,
    schema: Arc<Schema>,
    root_type: Option<MessageDescriptor>,
    limits: Limits,
}

impl Document {
    /// Decodes `source` as `root_type` (schema-less when `None`). Never fails.
    pub fn decode(source: Source, schema: Arc<Schema>, root_type: Option<MessageDescriptor>, limits: Limits) -> Self {
        let mut doc = Self::empty(source, schema, root_type, limits);
        overlay::decode_into(&mut doc, None).expect("without a hook decoding cannot fail");
        doc
    }

    /// Decodes while handing each top-level field's complete subtree to `hook`, then
    /// dropping it: memory stays bounded by the largest top-level field. The returned
    /// document keeps only the root and the root's own problems.
    pub fn decode_streaming(
        source: Source,
        schema: Arc<Schema>,
        root_type: Option<MessageDescriptor>,
        limits: Limits,
        hook: &mut dyn FnMut(&Document, NodeId) -> std::io::Result<()>,
    ) -> std::io::Result<Self> {
        let mut doc = Self::empty(source, schema, root_type, limits);
        overlay::decode_into(&mut doc, Some(hook))?;
        Ok(doc)
    }

    fn empty(source: Source, schema: Arc<Schema>, root_type: Option<MessageDescriptor>, limits: Limits) -> Self {
        Document {
            source,
            nodes: Vec::new(),
            types: TypeTable::default(),
            problems: Vec::new(),
            schema,
            root_type,
            limits,
        }
    }

    /// Gives the bytes back and decodes what `edit` makes of them, with the same schema,
    /// root type and limits. The bytes are moved, not copied (a mapped file is copied once).
    pub fn rewrite<T>(self, edit: impl FnOnce(&mut Vec<u8>) -> T) -> (Self, T) {
        let Document { source, schema, root_type, limits, .. } = self;
        let mut bytes = match source {
            Source::Owned(bytes) => bytes,
            Source::Mapped(map) => map.to_vec(),
        };
        let result = edit(&mut bytes);
        (Self::decode(Source::Owned(bytes), schema, root_type, limits), result)
    }

    /// The input bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.source
    }

    /// The schema the document was decoded with.
    pub fn schema(&self) -> &Arc<Schema> {
        &self.schema
    }

    /// The root message type, if one was given or detected.
    pub fn root_type(&self) -> Option<&MessageDescriptor> {
        self.root_type.as_ref()
    }

    /// The decoding limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The node with this id.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id as usize]
    }

    /// The bytes of a node's value (inside tag and length prefix).
    pub fn value_bytes(&self, id: NodeId) -> &[u8] {
        let n = self.node(id);
        &self.bytes()[n.value_start as usize..n.value_end as usize]
    }

    /// The message type a container node decodes its children with.
    pub fn message_type(&self, id: NodeId) -> Option<&MessageDescriptor> {
        self.type_info(self.node(id).ty).map(|t| &t.desc)
    }

    /// The schema facts of the message type a container node decodes its children with.
    pub fn type_info_of(&self, id: NodeId) -> Option<&TypeInfo> {
        self.type_info(self.node(id).ty)
    }

    fn type_info(&self, ty: u32) -> Option<&TypeInfo> {
        self.types.types.get(ty as usize)
    }

    /// The precomputed schema facts of the field a node is an occurrence of. `None` for
    /// unknown fields, the root, error nodes and an Any's own payload field.
    pub fn field_info(&self, id: NodeId) -> Option<&FieldInfo> {
        let node = self.node(id);
        let parent = match node.kind {
            NodeKind::Root | NodeKind::Error | NodeKind::AnyPayload => return None,
            NodeKind::Element => self.node(node.parent).parent,
            _ => node.parent,
        };
        self.type_info(self.node(parent).ty)?.field(node.field_number)
    }

    /// The direct children of a node, in wire order.
    pub fn children(&self, id: NodeId) -> Children<'_> {
        let node = self.node(id);
        Children { doc: self, next: id + 1, end: node.next }
    }

    /// The problems attached to a node.
    pub fn problems_of(&self, id: NodeId) -> &[Problem] {
        if !self.node(id).has_problem {
            return &[];
        }
        let from = self.problems.partition_point(|p| p.node < id);
        let to = self.problems.partition_point(|p| p.node <= id);
        &self.problems[from..to]
    }

    /// The problems shown on a node's row: its own, and for an Any those of its payload,
    /// which has no row of its own.
    pub fn row_problems(&self, id: NodeId) -> impl Iterator<Item = &Problem> {
        let payload = self.any_payload(id).filter(|_| self.node(id).kind == NodeKind::Any);
        self.problems_of(id).iter().chain(payload.map_or(&[][..], |p| self.problems_of(p)))
    }

    /// Whether `ancestor` is `id` or one of its ancestors.
    pub fn contains(&self, ancestor: NodeId, id: NodeId) -> bool {
        id >= ancestor && id < self.node(ancestor).next
    }

    /// Whether a node's children are an Any's `type_url` and `value`: an Any field, a
    /// root of type Any, or a payload that is itself an Any.
    pub fn is_any(&self, id: NodeId) -> bool {
        self.type_info(self.node(id).ty).is_some_and(|t| t.is_any)
    }

    /// Whether paths and tree views pass through this node as if its children belonged
    /// to its parent: a resolved Any payload, unless the payload is itself an Any (which
    /// would make two `@type` fields meet at one level; it shows as `@value`).
    pub fn is_transparent(&self, id: NodeId) -> bool {
        self.node(id).kind == NodeKind::AnyPayload && !self.is_any(id)
    }

    /// The Any type URL a resolved payload node was decoded by.
    pub fn any_type_url(&self, any: NodeId) -> Option<String> {
        self.children(any)
            .filter(|&c| self.node(c).field_number == 1 && self.node(c).kind == NodeKind::String)
            .last()
            .map(|c| String::from_utf8_lossy(self.value_bytes(c)).into_owned())
    }

    /// The payload node of an Any node, when its URL resolved and its value decoded.
    pub fn any_payload(&self, any: NodeId) -> Option<NodeId> {
        self.children(any).filter(|&c| self.node(c).kind == NodeKind::AnyPayload).last()
    }
}

/// Iterator over a node's direct children.
#[derive(Debug, Clone)]
pub struct Children<'a> {
    doc: &'a Document,
    next: NodeId,
    end: NodeId,
}

impl Iterator for Children<'_> {
    type Item = NodeId;
    fn next(&mut self) -> Option<NodeId> {
        if self.next >= self.end {
            return None;
        }
        let id = self.next;
        self.next = self.doc.node(id).next;
        Some(id)
    }
}
