//! The rows of a run of top-level messages that read clean, of any shape, a listing
//! decode handed over as one node ([`crate::model::Decoder::listing_clean_messages`]): each
//! field's node made from the bytes, in the order and with the `[i]` a full decode gives
//! it, for the tree's writer.

use crate::decode::schema::{FieldClass, FieldInfo, TYPE_URL_PREFIX, TypeIndex, TypeInfo};
use crate::decode::wire::{self, PackedRun, RawField, WireType};
use crate::model::document::{Document, leaf_kind_of};
use crate::model::elided::flat::tagged;
use crate::model::field_counts::FieldCounts;
use crate::model::node::{Node, NodeId, NodeKind};
use crate::model::overlay::any_url_and_payload;

/// The rows of a clean run, one at a time ([`CleanMessages::next_row`]).
pub struct CleanMessages<'a> {
    doc: &'a Document,
    /// Where the next message of the run starts, where the run ends, and how many of its
    /// messages are still to come.
    pos: usize,
    end: usize,
    left: u32,
    /// The next message's `[i]`, and the run's node as read: what every message's node
    /// shares.
    index: u32,
    shape: Node,
    field: &'a FieldInfo,
    /// The messages open, innermost last: the first `depth` of `open`, whose others are
    /// room kept for messages to come.
    open: Vec<Open>,
    depth: usize,
}

/// A message whose fields are being read.
struct Open {
    ty: TypeIndex,
    pos: usize,
    end: usize,
    /// How deep its fields' rows are, below the run's messages' own.
    depth: usize,
    /// For an Any: where its payload (its last `value` field) starts, and its type.
    payload: Option<(usize, TypeIndex)>,
    counts: FieldCounts,
}

/// One row of a clean run: a field's node as a full decode builds it (but for its id,
/// parent and `next`, which it does not have), its field, and how deep its row is below
/// the run's messages' own (0 for those).
pub struct CleanRow<'a> {
    pub depth: usize,
    pub node: Node,
    pub field: &'a FieldInfo,
    pub shape: RowShape<'a>,
}

/// How a [`CleanRow`] is written.
pub enum RowShape<'a> {
    /// As its node alone says: a message, a number (its raw value given), a string or
    /// bytes.
    Plain(Option<u64>),
    /// A message that is an Any (or an Any's payload that is an Any itself), named
    /// `name`: `Any → payload`. Its own fields follow, and its payload's, one deeper.
    Any { name: &'a str, payload: &'a TypeInfo },
    /// A field of an Any itself, `@type` or an earlier `@value`, named `name`.
    OfAny { name: &'a str },
    /// A packed run of `values` values, read from its bytes as `wire`.
    Packed { wire: WireType, values: u32 },
}

impl Document {
    /// When `id` is a node that stands for a run of top-level messages of any shape that
    /// read clean ([`crate::model::Decoder::listing_clean_messages`]): the rows of its
    /// messages, from its first.
    pub fn listed_clean(&self, id: NodeId) -> Option<CleanMessages<'_>> {
        let run = self.listed.filter(|run| run.node == id && run.clean)?;
        let shape = self.node(id);
        let index = shape.index.checked_sub(run.count - 1)?;
        let field = self.field_info_of(&shape)?;
        let (pos, end) = (run.start, shape.end() as usize);
        Some(CleanMessages { doc: self, pos, end, left: run.count, index, shape, field, open: Vec::new(), depth: 0 })
    }
}

impl<'a> CleanMessages<'a> {
    /// Whether every message of the run was read to its end: what a decode found clean
    /// always is, so a writer that finds otherwise has met a fault of its own.
    pub fn read_whole(&self) -> bool {
        self.left == 0 && self.depth == 0
    }

    /// The next row, `None` past the run's last message's last field.
    pub fn next_row(&mut self) -> Option<CleanRow<'a>> {
        let bytes = self.doc.bytes();
        loop {
            let Some(open) = self.depth.checked_sub(1).map(|last| &mut self.open[last]) else {
                self.left = self.left.checked_sub(1)?;
                let raw = wire::read_field_inline(bytes, self.pos, self.end).ok()?;
                self.pos = raw.end;
                let node = tagged(&raw, Node { index: self.index, ..self.shape });
                self.index += 1;
                return self.message_row(0, node, self.field, self.field.name.as_str(), &raw);
            };
            if open.pos >= open.end {
                self.depth -= 1;
                continue;
            }
            let raw = wire::read_field_inline(bytes, open.pos, open.end).ok()?;
            open.pos = raw.end;
            let (ty, depth, number) = (open.ty, open.depth, raw.tag.field_number);
            let info = self.doc.types.get(ty);
            let place = info.field_index(number)?;
            let field = &info.fields[place];
            let index = open.counts.bump(number, 1);
            let node = tagged(&raw, leaf_node(number, index));
            if info.is_any {
                let payload = open.payload.filter(|&(at, _)| at == raw.start && number == 2);
                if let Some((_, payload)) = payload {
                    let node = Node { kind: NodeKind::AnyPayload, ty: Some(payload), ..node };
                    if self.doc.types.get(payload).is_any {
                        return self.message_row(depth, node, field, "@value", &raw);
                    }
                    // Passed through: its fields are the Any's own rows' siblings.
                    self.open_message(payload, &raw, depth)?;
                    continue;
                }
                let (kind, name) = if number == 1 { (NodeKind::String, "@type") } else { (NodeKind::Bytes, "@value") };
                let node = Node { kind, ..node };
                return Some(CleanRow { depth, node, field, shape: RowShape::OfAny { name } });
            }
            return match (&field.class, raw.tag.wire_type) {
                (FieldClass::Message(_), WireType::Len) => {
                    let child = self.doc.types.child(ty, place)?;
                    let kind = if self.doc.types.get(child).is_any { NodeKind::Any } else { NodeKind::Message };
                    self.message_row(depth, Node { kind, ty: Some(child), ..node }, field, field.name.as_str(), &raw)
                }
                (FieldClass::String | FieldClass::Bytes, _) => {
                    let node = Node { kind: leaf_kind_of(Some(field)), ..node };
                    Some(CleanRow { depth, node, field, shape: RowShape::Plain(None) })
                }
                (FieldClass::Scalar(wire), WireType::Len) => {
                    let run = PackedRun::new(raw.value_start..raw.value_end, *wire);
                    let values = u32::try_from(run.values(bytes).count()).ok()?;
                    // The run holds `values` values: later occurrences count on from them.
                    if values > 1 {
                        self.open[self.depth - 1].counts.bump(number, values - 1);
                    }
                    let node = Node { kind: NodeKind::Packed, ..node };
                    Some(CleanRow { depth, node, field, shape: RowShape::Packed { wire: *wire, values } })
                }
                _ => Some(CleanRow { depth, node, field, shape: RowShape::Plain(Some(raw.scalar)) }),
            };
        }
    }

    /// The row of a message `node` (its kind and type set) at `depth`, a value of `field`
    /// (`raw`) named `name` if it is an Any, its fields opened to be read next.
    fn message_row(
        &mut self,
        depth: usize,
        node: Node,
        field: &'a FieldInfo,
        name: &'a str,
        raw: &RawField,
    ) -> Option<CleanRow<'a>> {
        let payload = self.open_message(node.ty?, raw, depth + 1)?;
        let shape = match payload {
            Some(payload) => RowShape::Any { name, payload: self.doc.types.get(payload) },
            None => RowShape::Plain(None),
        };
        Some(CleanRow { depth, node, field, shape })
    }

    /// Opens the message of type `ty` whose value `raw` holds, its rows at `depth`; for
    /// an Any, its payload's type, which its last type URL names exactly (as the decode
    /// that found it clean required). `None` when that URL names no type met.
    fn open_message(&mut self, ty: TypeIndex, raw: &RawField, depth: usize) -> Option<Option<TypeIndex>> {
        let (start, end) = (raw.value_start, raw.value_end);
        let payload = if self.doc.types.get(ty).is_any { Some(self.payload_of(start, end)?) } else { None };
        if self.depth == self.open.len() {
            self.open.push(Open { ty, pos: start, end, depth, payload, counts: FieldCounts::default() });
        } else {
            let open = &mut self.open[self.depth];
            (open.ty, open.pos, open.end, open.depth, open.payload) = (ty, start, end, depth, payload);
            open.counts.clear();
        }
        self.depth += 1;
        Some(payload.map(|(_, ty)| ty))
    }

    /// Where the payload of the Any at `start..end` starts (its last `value` field; past
    /// the end when it has none) and the type its last type URL names.
    fn payload_of(&self, start: usize, end: usize) -> Option<(usize, TypeIndex)> {
        let bytes = self.doc.bytes();
        let (url, last_value) = any_url_and_payload(bytes, start..end)?;
        let name = std::str::from_utf8(&bytes[url?]).ok()?.strip_prefix(TYPE_URL_PREFIX)?;
        Some((last_value, self.doc.types.find(name)?))
    }
}

/// The node of a field `number`'s `index`th value, before its bytes and kind are known.
fn leaf_node(number: u32, index: u32) -> Node {
    Node {
        start: 0,
        value_end: 0,
        parent: None,
        next: NodeId::ROOT,
        field_number: number,
        index,
        ty: None,
        kind: NodeKind::Scalar,
        wire: None,
        lens: 0,
    }
}
