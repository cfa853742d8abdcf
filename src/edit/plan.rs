//! Planning an edit: the splices an [`EditOp`] makes on a given document. Schema-aware
//! operations refuse invalid values and say what is allowed; raw operations write exactly
//! what they are told, on purpose. Every plan goes through [`replace_within`], so the
//! enclosing length prefixes always follow.

use crate::decode::schema::{FieldClass, FieldInfo};
use crate::decode::wire::{self, WireType, write_varint};
use crate::edit::op::{EditError, EditOp, Target, not_applicable};
use crate::edit::splice::{Change, Splice, has_length_prefix, kept_width, replace_within, varint_at_least};
use crate::edit::value::{self, Encoded};
use crate::model::Document;
use crate::model::node::{NodeId, NodeKind};
use crate::model::path::{self, FieldPath, PathError};

impl EditOp {
    /// The change this edit makes to `doc`'s bytes.
    pub fn plan(&self, doc: &Document) -> Result<Change, EditError> {
        match self {
            EditOp::Set { path, value } => plan_set(doc, path, value),
            EditOp::Delete { path } => plan_delete(doc, path),
            EditOp::Duplicate { path } => plan_duplicate(doc, path),
            EditOp::Insert { path, from } => plan_insert(doc, path, from.as_ref()),
            EditOp::Append { path, from } => plan_append(doc, path, from.as_ref()),
            EditOp::Add { path } => plan_add(doc, path),
            EditOp::ReplaceRaw { target, bytes } => plan_replace_raw(doc, target, bytes),
            EditOp::SetRaw { path, bytes } => plan_set_raw(doc, path, bytes),
            EditOp::Truncate { offset } => plan_truncate(doc, *offset),
            EditOp::Flip { offset, bit } => plan_flip(doc, *offset, *bit),
            EditOp::RemoveByte { offset } => plan_raw_splice(doc, *offset, 1, &[]),
            EditOp::SetByte { offset, value } => plan_raw_splice(doc, *offset, 1, &[*value]),
            EditOp::InsertByte { offset, value } => plan_raw_splice(doc, *offset, 0, &[*value]),
            EditOp::SetLength { path, length } => plan_set_length(doc, path, *length),
            EditOp::SetWire { path, wire } => plan_set_wire(doc, path, *wire),
            EditOp::Overlong { path } => plan_overlong(doc, path),
            EditOp::InsertRaw { path, bytes } => plan_insert_raw(doc, path, bytes),
        }
    }
}

/// The byte range of a node, tag (and closing group tag) included.
fn whole(doc: &Document, id: NodeId) -> std::ops::Range<usize> {
    let node = doc.node(id);
    node.start as usize..node.end() as usize
}

/// The node whose value holds `id`: its parent (every node but the root has one).
fn holder(doc: &Document, id: NodeId) -> NodeId {
    doc.parent(id).unwrap_or(NodeId::ROOT)
}

fn plan_delete(doc: &Document, p: &FieldPath) -> Result<Change, EditError> {
    let id = resolve_node(doc, p)?;
    Ok(replace_within(doc, holder(doc, id), whole(doc, id), Vec::new()))
}

fn plan_duplicate(doc: &Document, p: &FieldPath) -> Result<Change, EditError> {
    let id = resolve_node(doc, p)?;
    let span = whole(doc, id);
    let copy = doc.bytes()[span.clone()].to_vec();
    Ok(replace_within(doc, holder(doc, id), span.end..span.end, copy))
}

fn plan_insert(doc: &Document, p: &FieldPath, from: Option<&FieldPath>) -> Result<Change, EditError> {
    let id = resolve_node(doc, p)?;
    let at = doc.node(id).start as usize;
    let bytes = element_bytes(doc, p, id, from)?;
    Ok(replace_within(doc, holder(doc, id), at..at, bytes))
}

fn plan_add(doc: &Document, p: &FieldPath) -> Result<Change, EditError> {
    let (container, field) = absent_field(doc, p)?;
    let end = doc.node(container).value_end as usize;
    Ok(replace_within(doc, container, end..end, default_field(field)))
}

fn plan_replace_raw(doc: &Document, target: &Target, bytes: &[u8]) -> Result<Change, EditError> {
    let (span, container) = match target {
        Target::Path(p) => {
            let id = resolve_node(doc, p)?;
            (whole(doc, id), holder(doc, id))
        }
        Target::Span { offset, len } => {
            let size = doc.bytes().len();
            let end = offset.checked_add(*len).filter(|&e| e <= size);
            let end = end.ok_or(EditError::Span { offset: *offset, len: *len, size })?;
            (*offset..end, innermost_container(doc, *offset, end))
        }
    };
    Ok(replace_within(doc, container, span, bytes.to_vec()))
}

fn plan_set_raw(doc: &Document, p: &FieldPath, bytes: &[u8]) -> Result<Change, EditError> {
    let id = resolve_node(doc, p)?;
    let node = doc.node(id);
    if node.wire != Some(WireType::Len) || node.kind == NodeKind::Root {
        return Err(not_applicable(p, "set-raw takes a length-delimited field; use replace-raw"));
    }
    Ok(set_len_value(doc, id, bytes.to_vec()))
}

fn plan_truncate(doc: &Document, offset: usize) -> Result<Change, EditError> {
    let len = doc.bytes().len();
    if offset > len {
        return Err(EditError::Offset { offset, len });
    }
    Ok(Change::one(Splice::edit(offset, doc.bytes()[offset..].to_vec(), Vec::new())))
}

fn plan_flip(doc: &Document, offset: usize, bit: u8) -> Result<Change, EditError> {
    let byte = *doc.bytes().get(offset).ok_or(EditError::Offset { offset, len: doc.bytes().len() })?;
    plan_raw_splice(doc, offset, 1, &[byte ^ (1 << bit)])
}

/// Replaces `len` bytes at `offset` with `inserted` as they are: no length prefix follows.
fn plan_raw_splice(doc: &Document, offset: usize, len: usize, inserted: &[u8]) -> Result<Change, EditError> {
    let size = doc.bytes().len();
    let end = offset.checked_add(len).filter(|&end| end <= size).ok_or(EditError::Span { offset, len, size })?;
    Ok(Change::one(Splice::edit(offset, doc.bytes()[offset..end].to_vec(), inserted.to_vec())))
}

fn plan_set_length(doc: &Document, p: &FieldPath, length: u64) -> Result<Change, EditError> {
    let id = resolve_node(doc, p)?;
    if !has_length_prefix(doc, id) {
        return Err(not_applicable(p, "has no length prefix"));
    }
    let prefix = doc.node(id).len_prefix();
    let prefix = prefix.start as usize..prefix.end as usize;
    let encoded = varint_at_least(length, kept_width(&doc.bytes()[prefix.clone()], length));
    Ok(replace_within(doc, holder(doc, id), prefix, encoded))
}

fn plan_set_wire(doc: &Document, p: &FieldPath, wire: u8) -> Result<Change, EditError> {
    let id = resolve_node(doc, p)?;
    let node = doc.node(id);
    if node.tag_len() == 0 {
        return Err(not_applicable(p, "has no tag of its own (a packed value or the root)"));
    }
    let raw = (u64::from(node.field_number) << 3) | u64::from(wire);
    let tag = node.start as usize..node.start as usize + usize::from(node.tag_len());
    let encoded = varint_at_least(raw, tag.len());
    Ok(replace_within(doc, holder(doc, id), tag, encoded))
}

fn plan_overlong(doc: &Document, p: &FieldPath) -> Result<Change, EditError> {
    let id = resolve_node(doc, p)?;
    let node = doc.node(id);
    let is_element = node.kind == NodeKind::Element && node.wire.is_none();
    let (span, container) = if has_length_prefix(doc, id) {
        let prefix = node.len_prefix();
        (prefix.start as usize..prefix.end as usize, holder(doc, id))
    } else if node.wire == Some(WireType::Varint) || is_element {
        let container = if is_element { holder(doc, id) } else { id };
        (node.value_start() as usize..node.value_end as usize, container)
    } else {
        return Err(not_applicable(p, "holds no varint (only varint values and length prefixes can be over-long)"));
    };
    let old = &doc.bytes()[span.clone()];
    let value = wire::read_varint(old, 0, old.len()).map_err(|_| not_applicable(p, "its varint is malformed"))?.0;
    Ok(replace_within(doc, container, span, varint_at_least(value, wire::MAX_VARINT_LEN)))
}

fn plan_insert_raw(doc: &Document, p: &FieldPath, bytes: &[u8]) -> Result<Change, EditError> {
    let id = container_of(doc, resolve_node(doc, p)?, p)?;
    let end = doc.node(id).value_end as usize;
    Ok(replace_within(doc, id, end..end, bytes.to_vec()))
}

/// Resolves a path, also accepting `@value` for a resolved Any payload.
fn resolve_node(doc: &Document, p: &FieldPath) -> Result<NodeId, EditError> {
    if let Some(any) = p.parent().filter(|_| p.segments().last().is_some_and(|s| s.name == "@value")) {
        let id = path::resolve_path(doc, &any)?;
        if let Some(payload) = doc.any_payload(id) {
            return Ok(payload);
        }
    }
    let id = path::resolve_path(doc, p)?;
    if id == NodeId::ROOT {
        return Err(not_applicable(p, "is the whole document"));
    }
    Ok(id)
}

/// The node whose children a new field goes among: an Any's payload for a resolved Any.
fn container_of(doc: &Document, id: NodeId, p: &FieldPath) -> Result<NodeId, EditError> {
    let id = doc.any_payload(id).filter(|_| doc.node(id).kind == NodeKind::Any).unwrap_or(id);
    if !doc.node(id).is_container() || doc.node(id).kind == NodeKind::Packed {
        return Err(not_applicable(p, "is not a message"));
    }
    Ok(id)
}

fn plan_set(doc: &Document, p: &FieldPath, text: &str) -> Result<Change, EditError> {
    let id = match resolve_node(doc, p) {
        Ok(id) => id,
        Err(EditError::Path(PathError::NotFound { .. })) => return plan_add_value(doc, p, text),
        Err(e) => return Err(e),
    };
    let node = doc.node(id);
    let in_any = node.parent.is_some_and(|parent| doc.is_any(parent));
    let is_any_value = node.kind == NodeKind::AnyPayload || (node.field_number == 2 && in_any);
    if is_any_value {
        let bytes = value::parse_hex(text).ok_or_else(|| not_applicable(p, "an Any's @value is set as hex bytes"))?;
        return Ok(set_len_value(doc, id, bytes));
    }
    let field = doc
        .field_info(id)
        .ok_or_else(|| not_applicable(p, "the schema does not declare this field; use replace-raw"))?;
    if node.has_problem() && node.kind != NodeKind::String {
        return Err(not_applicable(p, "its bytes do not match its declared type; use set-raw or replace-raw"));
    }
    let encoded = value::parse(field, text).map_err(|source| EditError::Value { path: p.to_string(), source })?;
    let value_span = node.value_start() as usize..node.value_end as usize;
    // A packed value's bytes lie in its run's value; a scalar's in its own field.
    let container = if node.kind == NodeKind::Element { holder(doc, id) } else { id };
    Ok(match (node.kind, encoded) {
        (NodeKind::String | NodeKind::Bytes, Encoded::Len(bytes)) => set_len_value(doc, id, bytes),
        (NodeKind::Scalar | NodeKind::Element, encoded @ (Encoded::Fixed32(_) | Encoded::Fixed64(_))) => {
            replace_within(doc, container, value_span, encoded.bytes())
        }
        (NodeKind::Scalar | NodeKind::Element, Encoded::Varint(v)) => {
            let encoded = varint_at_least(v, kept_width(&doc.bytes()[value_span.clone()], v));
            replace_within(doc, container, value_span, encoded)
        }
        _ => return Err(not_applicable(p, "is not a value; set its fields")),
    })
}

/// Replaces a length-delimited node's value (and its length prefix).
fn set_len_value(doc: &Document, id: NodeId, content: Vec<u8>) -> Change {
    let node = doc.node(id);
    let prefix = node.len_prefix();
    let old = &doc.bytes()[prefix.start as usize..prefix.end as usize];
    let mut bytes = varint_at_least(content.len() as u64, kept_width(old, content.len() as u64));
    bytes.extend(content);
    replace_within(doc, holder(doc, id), prefix.start as usize..node.value_end as usize, bytes)
}

/// For a path that names a declared but absent field (or the next element of a repeated
/// one), the container it goes into and the field.
fn absent_field<'d>(doc: &'d Document, p: &FieldPath) -> Result<(NodeId, &'d FieldInfo), EditError> {
    let last = p.segments().last().ok_or_else(|| not_applicable(p, "is the whole document"))?;
    let parent_path = p.parent().unwrap_or_default();
    let container = container_of(doc, path::resolve_path(doc, &parent_path)?, &parent_path)?;
    let info = doc
        .message_type(container)
        .and_then(|m| m.get_field_by_name(&last.name))
        .and_then(|f| doc.type_info_of(container).and_then(|t| t.field(f.number())))
        .ok_or_else(|| {
            let names: Vec<String> = doc
                .message_type(container)
                .map(|m| m.fields().map(|f| f.name().to_owned()).collect())
                .unwrap_or_default();
            not_applicable(p, format!("no field `{}` here; fields: {}", last.name, names.join(", ")))
        })?;
    Ok((container, info))
}

fn plan_add_value(doc: &Document, p: &FieldPath, text: &str) -> Result<Change, EditError> {
    let (container, field) = absent_field(doc, p)?;
    let last = p.segments().last().expect("absent_field checked there is a last segment");
    let values: u32 = occurrences(doc, container, field.number)
        .map(|c| if doc.node(c).kind == NodeKind::Packed { doc.node(c).next - c - 1 } else { 1 })
        .sum();
    match (field.is_list, last.indices.as_slice()) {
        (false, []) if values == 0 => {}
        (true, [i]) if *i == values => {}
        (true, _) => {
            return Err(not_applicable(p, format!("a new element of `{}` goes at index {values}", field.name)));
        }
        _ => return Err(not_applicable(p, "no such element")),
    }
    let encoded = value::parse(field, text).map_err(|source| EditError::Value { path: p.to_string(), source })?;
    if let Some(change) = append_to_packed_run(doc, container, field, encoded.bytes()) {
        return Ok(change);
    }
    let bytes = field_bytes(field, &encoded);
    let end = doc.node(container).value_end as usize;
    Ok(replace_within(doc, container, end..end, bytes))
}

fn plan_append(doc: &Document, p: &FieldPath, from: Option<&FieldPath>) -> Result<Change, EditError> {
    let (container, field) = absent_field(doc, p)?;
    if !field.is_list {
        return Err(not_applicable(p, format!("`{}` is not repeated; use set or add", field.name)));
    }
    if from.is_none()
        && let Some(change) = append_to_packed_run(doc, container, field, zero_element(field))
    {
        return Ok(change);
    }
    let last = occurrences(doc, container, field.number).last();
    let bytes = match from {
        Some(src) => copy_of(doc, src, field.number)?,
        None => default_field(field),
    };
    let (at, parent) = match last {
        Some(l) => (doc.node(l).end() as usize, holder(doc, l)),
        None => (doc.node(container).value_end as usize, container),
    };
    Ok(replace_within(doc, parent, at..at, bytes))
}

/// The occurrences of field `number` among a container's fields (through an Any payload).
fn occurrences(doc: &Document, container: NodeId, number: u32) -> impl Iterator<Item = NodeId> + '_ {
    path::visible_children(doc, container).filter(move |&c| doc.node(c).field_number == number)
}

/// A new value of a packed field joins the field's last occurrence when that is a packed
/// run; `None` when it is not.
fn append_to_packed_run(doc: &Document, container: NodeId, field: &FieldInfo, value: Vec<u8>) -> Option<Change> {
    let run = occurrences(doc, container, field.number).last().filter(|&r| doc.node(r).kind == NodeKind::Packed)?;
    let end = doc.node(run).value_end as usize;
    Some(replace_within(doc, run, end..end, value))
}

/// The bytes of a new element for `path`'s field: a copy of `from`, or the default.
fn element_bytes(doc: &Document, p: &FieldPath, id: NodeId, from: Option<&FieldPath>) -> Result<Vec<u8>, EditError> {
    let node = doc.node(id);
    if let Some(src) = from {
        return copy_of(doc, src, node.field_number);
    }
    let field = doc.field_info(id).ok_or_else(|| not_applicable(p, "unknown field: give `from SRC` to copy"))?;
    if node.kind == NodeKind::Element {
        return Ok(zero_element(field));
    }
    Ok(default_field(field))
}

fn copy_of(doc: &Document, src: &FieldPath, field_number: u32) -> Result<Vec<u8>, EditError> {
    let id = resolve_node(doc, src)?;
    let node = doc.node(id);
    if node.field_number != field_number || node.kind == NodeKind::Element {
        return Err(not_applicable(src, "copies must come from another element of the same field"));
    }
    Ok(doc.bytes()[whole(doc, id)].to_vec())
}

/// The wire type a field is written with (packable scalars one at a time).
fn wire_of(field: &FieldInfo) -> WireType {
    match field.class {
        FieldClass::Scalar(w) if !field.is_list => w,
        FieldClass::Scalar(_) | FieldClass::Message(_) | FieldClass::String | FieldClass::Bytes => WireType::Len,
    }
}

/// A whole field holding its default: tag, then zero or an empty length-delimited value.
fn default_field(field: &FieldInfo) -> Vec<u8> {
    let mut bytes = tag(field.number, wire_of(field));
    match wire_of(field) {
        WireType::Fixed32 => bytes.extend([0; 4]),
        WireType::Fixed64 => bytes.extend([0; 8]),
        _ => bytes.push(0),
    }
    bytes
}

/// A whole field: tag, (length,) value. Repeated scalars are written as a packed run of one.
fn field_bytes(field: &FieldInfo, value: &Encoded) -> Vec<u8> {
    let mut out = tag(field.number, wire_of(field));
    let content = value.bytes();
    if wire_of(field) == WireType::Len {
        write_varint(&mut out, content.len() as u64);
    }
    out.extend(content);
    out
}

fn tag(number: u32, wire: WireType) -> Vec<u8> {
    let mut out = Vec::new();
    write_varint(&mut out, (u64::from(number) << 3) | wire as u64);
    out
}

/// A zero as one packed element of `field`.
fn zero_element(field: &FieldInfo) -> Vec<u8> {
    match field.class {
        FieldClass::Scalar(WireType::Fixed32) => vec![0; 4],
        FieldClass::Scalar(WireType::Fixed64) => vec![0; 8],
        _ => vec![0],
    }
}

/// The innermost node whose value contains the whole span (the root if none).
fn innermost_container(doc: &Document, start: usize, end: usize) -> NodeId {
    let mut best = NodeId::ROOT;
    let mut id = NodeId::ROOT + 1;
    while id < doc.end() {
        let node = doc.node(id);
        if node.value_start() as usize <= start && end <= node.value_end as usize && node.is_container() {
            best = id;
            id = id + 1;
        } else {
            id = node.next;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::decode::registry::SchemaSources;
    use crate::decode::schema::Schema;
    use crate::edit::op::EditOp;
    use crate::model::source::Source;
    use crate::model::{Decoder, Document};

    /// `sample.chipset.ioapic.SavedState { id: 1, index: 2, redirection_entries: [5, 300] }`.
    const IOAPIC: [u8; 9] = [0x08, 0x01, 0x10, 0x02, 0x1a, 0x03, 0x05, 0xac, 0x02];

    fn ioapic(bytes: &[u8]) -> Document {
        let schema = Arc::new(Schema::load(&SchemaSources::default()).unwrap());
        let root = schema.pool.get_message_by_name("sample.chipset.ioapic.SavedState");
        Decoder::new(schema, root).decode(Source::new(bytes.to_vec()))
    }

    /// The bytes after applying one edit line to `bytes`.
    fn after(bytes: &[u8], line: &str) -> Vec<u8> {
        let change = EditOp::parse(line).unwrap().plan(&ioapic(bytes)).unwrap_or_else(|e| panic!("{line}: {e}"));
        let mut out = bytes.to_vec();
        change.apply(&mut out);
        out
    }

    #[test]
    fn each_verb_splices_exactly_its_bytes() {
        let table: &[(&str, &[u8])] = &[
            ("set id 7", &[0x08, 0x07, 0x10, 0x02, 0x1a, 0x03, 0x05, 0xac, 0x02]),
            ("set redirection_entries[1] 1", &[0x08, 0x01, 0x10, 0x02, 0x1a, 0x02, 0x05, 0x01]),
            ("set redirection_entries[2] 9", &[0x08, 0x01, 0x10, 0x02, 0x1a, 0x04, 0x05, 0xac, 0x02, 0x09]),
            ("delete index", &[0x08, 0x01, 0x1a, 0x03, 0x05, 0xac, 0x02]),
            ("delete redirection_entries[0]", &[0x08, 0x01, 0x10, 0x02, 0x1a, 0x02, 0xac, 0x02]),
            ("duplicate id", &[0x08, 0x01, 0x08, 0x01, 0x10, 0x02, 0x1a, 0x03, 0x05, 0xac, 0x02]),
            ("append redirection_entries", &[0x08, 0x01, 0x10, 0x02, 0x1a, 0x04, 0x05, 0xac, 0x02, 0x00]),
            ("replace-raw @0+2 0803", &[0x08, 0x03, 0x10, 0x02, 0x1a, 0x03, 0x05, 0xac, 0x02]),
            ("set-raw redirection_entries 01", &[0x08, 0x01, 0x10, 0x02, 0x1a, 0x01, 0x01]),
            ("truncate 4", &[0x08, 0x01, 0x10, 0x02]),
            ("flip 1 1", &[0x08, 0x03, 0x10, 0x02, 0x1a, 0x03, 0x05, 0xac, 0x02]),
            ("set-length redirection_entries 9", &[0x08, 0x01, 0x10, 0x02, 0x1a, 0x09, 0x05, 0xac, 0x02]),
            ("set-wire id 1", &[0x09, 0x01, 0x10, 0x02, 0x1a, 0x03, 0x05, 0xac, 0x02]),
        ];
        for (line, expected) in table {
            assert_eq!(after(&IOAPIC, line), *expected, "{line}");
        }
        let overlong = after(&IOAPIC, "overlong id");
        let doc = ioapic(&overlong);
        assert_eq!(doc.node(doc.resolve("id").unwrap()).value_end, 11, "the value is a 10-byte varint");
        assert_eq!(doc.scalar(doc.resolve("id").unwrap()), Some(crate::model::value::Scalar::Unsigned(1)));
    }

    #[test]
    fn a_new_value_in_a_field_that_is_absent_is_added() {
        let without_index = [0x08, 0x01, 0x1a, 0x01, 0x05];
        assert_eq!(after(&without_index, "set index 4"), [0x08, 0x01, 0x1a, 0x01, 0x05, 0x10, 0x04]);
        assert_eq!(after(&without_index, "add index"), [0x08, 0x01, 0x1a, 0x01, 0x05, 0x10, 0x00]);
    }

    #[test]
    fn edits_that_do_not_fit_are_refused_with_the_reason() {
        let doc = ioapic(&IOAPIC);
        for (line, reason) in [
            ("set id -1", "from 0 to 4294967295"),
            ("set nosuch 1", "no field `nosuch`"),
            ("set redirection_entries[5] 1", "goes at index 2"),
            ("set-raw id 00", "length-delimited"),
            ("set-length id 3", "no length prefix"),
            ("truncate 99", "past the end"),
            ("flip 9 0", "past the end"),
            ("append id", "not repeated"),
            ("insert-raw redirection_entries 00", "not a message"),
            ("replace-raw @18446744073709551615+2 00", "@18446744073709551615+2 runs past the end (9 bytes)"),
        ] {
            let error = EditOp::parse(line).unwrap().plan(&doc).unwrap_err().to_string();
            assert!(error.contains(reason), "{line}: {error}");
        }
    }
}
