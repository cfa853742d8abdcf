//! Building a nested message of leaves (scalars, strings and bytes) in one flat loop: when
//! every field in it reads clean and none is a packed run, its nodes are pushed exactly as
//! the general walk pushes them, without a frame of its own and without the checks a
//! closing frame makes, none of which can find anything in such a message. Anything else
//! is taken back and left to the general walk, which finds and words its problems.

use std::ops::Range;

use super::Walker;
use super::skim;
use crate::decode::schema::{FieldClass, FieldInfo, TypeIndex, TypeInfo};
use crate::decode::wire::{self, RawField, WireType};
use crate::model::document::leaf_kind_of;
use crate::model::field_counts::FieldCounts;
use crate::model::node::NodeId;

impl Walker<'_, '_> {
    /// Pushes the fields in `span` as the children of message `node`, of type `ty`, and
    /// closes it, when `ty` has only leaves and each reads clean; whether it did. When it
    /// did not, nothing of it is left behind.
    pub(super) fn flat_leaves(&mut self, node: NodeId, ty: TypeIndex, span: Range<usize>) -> bool {
        if !self.b.types().get(ty).built_flat() {
            return false;
        }
        let first_child = self.b.node_count();
        let mut counts = FieldCounts::default();
        let mut pos = span.start;
        while pos < span.end {
            let Some((raw, field)) = clean_leaf(self.b.bytes(), self.b.types().get(ty), pos, span.end) else {
                return self.take_back(first_child);
            };
            let kind = leaf_kind_of(Some(field));
            let index = counts.bump(raw.tag.field_number, 1);
            let leaf = self.push(node, kind, &raw, index, None);
            self.b.set_next(leaf, leaf + 1);
            pos = raw.end;
        }
        let next = NodeId::from_index(self.b.node_count());
        self.b.set_next(node, next);
        true
    }

    /// Drops the children pushed from `first_child` on: the general walk builds them.
    fn take_back(&mut self, first_child: usize) -> bool {
        self.b.drop_nodes_from(first_child);
        false
    }
}

/// The field at `pos` (before `end`) of a message of type `info` when the flat loop takes
/// it, with its field: it reads, `info` declares it, it is no packed run, and its value
/// reads clean.
#[inline(always)]
pub(super) fn clean_leaf<'i>(
    bytes: &[u8],
    info: &'i TypeInfo,
    pos: usize,
    end: usize,
) -> Option<(RawField, &'i FieldInfo)> {
    let raw = wire::read_field_inline(bytes, pos, end).ok()?;
    let field = info.field(raw.tag.field_number)?;
    let packed_run = raw.tag.wire_type == WireType::Len && matches!(field.class, FieldClass::Scalar(_));
    (!packed_run && skim::leaf(bytes, field, &raw).is_some()).then_some((raw, field))
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, OnceLock};

    use proptest::prelude::*;

    use crate::decode::registry::SchemaSources;
    use crate::decode::schema::Schema;
    use crate::model::node::{Node, NodeId, NodeKind};
    use crate::model::source::Source;
    use crate::model::{Decoder, Document};

    /// A message of leaves only: `uint32 id = 1; string label = 2; repeated sint64 deltas = 3;`.
    const LEAVES: &str = "jsonkinds.Inner";

    fn decode(root: &str, bytes: Vec<u8>) -> Document {
        static SCHEMA: OnceLock<Arc<Schema>> = OnceLock::new();
        let schema = SCHEMA.get_or_init(|| {
            let proto = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/json_kinds.proto");
            Arc::new(Schema::load(&SchemaSources { proto_files: vec![proto], ..SchemaSources::default() }).unwrap())
        });
        let root = schema.pool.get_message_by_name(root).unwrap();
        Decoder::new(Arc::clone(schema), Some(root)).without_causes().decode(Source::new(bytes))
    }

    fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push(v as u8 | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    fn field(number: u64, wire: u64, value: &[u8], out: &mut Vec<u8>) {
        varint(number << 3 | wire, out);
        out.extend_from_slice(value);
    }

    fn len_prefixed(content: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        varint(content.len() as u64, &mut out);
        out.extend_from_slice(content);
        out
    }

    /// A field of `Inner` as `shape` says: mostly as declared, else damaged in one way.
    fn inner_field(number: u64, shape: usize, value: u64, bytes: &[u8], out: &mut Vec<u8>) {
        let mut v = Vec::new();
        match (shape, number) {
            (0..10, 2) => field(2, 2, &len_prefixed(&bytes.iter().map(|b| b'a' + b % 26).collect::<Vec<_>>()), out),
            (0..10, _) => {
                varint(if number == 1 { value % 1000 } else { value }, &mut v);
                field(number, 0, &v, out);
            }
            // A packed run of varints (as `deltas` is written), and raw bytes in one.
            (10, _) => {
                bytes.iter().for_each(|&b| varint(u64::from(b).wrapping_mul(value) % 100_000, &mut v));
                field(number, 2, &len_prefixed(&v), out);
            }
            (11, _) => field(number, 2, &len_prefixed(bytes), out),
            // Any varint (`id` out of range, `label` of the wrong wire type), a fixed32, an
            // unknown field.
            (12, _) => {
                varint(value, &mut v);
                field(number, 0, &v, out);
            }
            (13, _) => field(number, 5, &value.to_le_bytes()[..4], out),
            (14, _) => field(4, 0, &[1], out),
            // Bytes that may not read as a field at all.
            _ => out.extend_from_slice(bytes),
        }
    }

    /// A node as its message's bytes at `base` place it, with ids counted from `first`.
    fn relative(node: &Node, base: u64, first: NodeId) -> (NodeKind, u32, u32, u64, u64, usize, Option<usize>) {
        let id = |n: NodeId| n.index() - first.index();
        let at = (node.kind, node.field_number, node.index, node.start - base, node.value_end - base);
        (at.0, at.1, at.2, at.3, at.4, id(node.next), node.parent.filter(|&p| p >= first).map(id))
    }

    proptest! {
        /// The fields of a leaves-only message nested in an Any (built in the flat loop
        /// when they read clean, else by the general walk) get the nodes and problems the
        /// general walk gives the same bytes decoded as the root, which never takes the
        /// flat loop: fields repeated, packed, out of range, of the wrong wire type,
        /// unknown, invalid UTF-8, or followed by bytes that do not read.
        #[test]
        fn leaves_built_flat_are_the_nodes_the_general_walk_builds(
            fields in proptest::collection::vec((1u64..4, 0usize..16, any::<u64>(), proptest::collection::vec(any::<u8>(), 0..6)), 0..8),
        ) {
            let mut payload = Vec::new();
            for (number, shape, value, bytes) in &fields {
                inner_field(*number, *shape, *value, bytes, &mut payload);
            }
            let root = decode(LEAVES, payload.clone());
            let mut any = Vec::new();
            field(1, 2, &len_prefixed(format!("type.googleapis.com/{LEAVES}").as_bytes()), &mut any);
            let value = len_prefixed(&payload);
            let base = (any.len() + 1 + value.len() - payload.len()) as u64;
            field(2, 2, &value, &mut any);
            let wrapped = decode("google.protobuf.Any", any);
            // A nested message whose first field does not read is shown raw, not as the
            // root is: those are not compared.
            let payload_node = wrapped.any_payload(NodeId::ROOT);
            prop_assume!(payload_node.is_some_and(|p| wrapped.node(p).kind == NodeKind::AnyPayload));
            let payload_node = payload_node.expect("just checked");
            let built = |doc: &Document, top: NodeId, base: u64| {
                (top + 1).up_to(doc.node(top).next).map(|id| relative(&doc.node(id), base, top + 1)).collect::<Vec<_>>()
            };
            prop_assert_eq!(built(&wrapped, payload_node, base), built(&root, NodeId::ROOT, 0));
            // The problems of the fields (the root's own rules aside).
            let problems = |doc: &Document, top: NodeId, base: u64| {
                let of_fields = doc.problems().iter().filter(|p| p.node > top && doc.contains(top, p.node));
                of_fields.map(|p| (std::mem::discriminant(&p.kind), p.offset - base)).collect::<Vec<_>>()
            };
            prop_assert_eq!(problems(&wrapped, payload_node, base), problems(&root, NodeId::ROOT, 0));
        }
    }
}
