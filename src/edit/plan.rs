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
use crate::model::node::{NONE, NodeId, NodeKind};
use crate::model::path::{self, PathError};

impl EditOp {
    /// The change this edit makes to `doc`'s bytes.
    pub fn plan(&self, doc: &Document) -> Result<Change, EditError> {
        match self {
            EditOp::Set { path, value } => plan_set(doc, path, value),
            EditOp::Delete { path } => {
                let id = resolve_node(doc, path)?;
                let node = doc.node(id);
                Ok(replace_within(doc, node.parent, node.start as usize..node.end() as usize, Vec::new()))
            }
            EditOp::Duplicate { path } => {
                let id = resolve_node(doc, path)?;
                let node = doc.node(id);
                let copy = doc.bytes()[node.start as usize..node.end() as usize].to_vec();
                Ok(replace_within(doc, node.parent, node.end() as usize..node.end() as usize, copy))
            }
            EditOp::Insert { path, from } => {
                let id = resolve_node(doc, path)?;
                let node = doc.node(id);
                let bytes = element_bytes(doc, path, id, from.as_deref())?;
                Ok(replace_within(doc, node.parent, node.start as usize..node.start as usize, bytes))
            }
            EditOp::Append { path, from } => plan_append(doc, path, from.as_deref()),
            EditOp::Add { path } => {
                let (container, field) = absent_field(doc, path)?;
                let bytes = default_field(field);
                let end = doc.node(container).value_end as usize;
                Ok(replace_within(doc, container, end..end, bytes))
            }
            EditOp::ReplaceRaw { target, bytes } => {
                let (span, container) = match target {
                    Target::Path(p) => {
                        let id = resolve_node(doc, p)?;
                        let node = doc.node(id);
                        (node.start as usize..node.end() as usize, node.parent)
                    }
                    Target::Span { offset, len } => {
                        let end = offset.checked_add(*len).filter(|&e| e <= doc.bytes().len());
                        let end = end.ok_or(EditError::Offset { offset: offset + len, len: doc.bytes().len() })?;
                        (*offset..end, innermost_container(doc, *offset, end))
                    }
                };
                Ok(replace_within(doc, container, span, bytes.clone()))
            }
            EditOp::SetRaw { path, bytes } => {
                let id = resolve_node(doc, path)?;
                let node = doc.node(id);
                if node.wire != Some(WireType::Len) || node.kind == NodeKind::Root {
                    return Err(not_applicable(path, "set-raw takes a length-delimited field; use replace-raw"));
                }
                Ok(set_len_value(doc, id, bytes.clone()))
            }
            EditOp::Truncate { offset } => {
                let len = doc.bytes().len();
                if *offset > len {
                    return Err(EditError::Offset { offset: *offset, len });
                }
                Ok(Change::one(Splice {
                    offset: *offset,
                    removed: doc.bytes()[*offset..].to_vec(),
                    inserted: Vec::new(),
                }))
            }
            EditOp::Flip { offset, bit } => {
                let byte =
                    *doc.bytes().get(*offset).ok_or(EditError::Offset { offset: *offset, len: doc.bytes().len() })?;
                Ok(Change::one(Splice { offset: *offset, removed: vec![byte], inserted: vec![byte ^ (1 << bit)] }))
            }
            EditOp::SetLength { path, length } => {
                let id = resolve_node(doc, path)?;
                if !has_length_prefix(doc, id) {
                    return Err(not_applicable(path, "has no length prefix"));
                }
                let prefix = doc.node(id).len_prefix();
                let old = &doc.bytes()[prefix.start as usize..prefix.end as usize];
                let encoded = varint_at_least(*length, kept_width(old, *length));
                Ok(replace_within(doc, doc.node(id).parent, prefix.start as usize..prefix.end as usize, encoded))
            }
            EditOp::SetWire { path, wire } => {
                let id = resolve_node(doc, path)?;
                let node = doc.node(id);
                if node.tag_len == 0 {
                    return Err(not_applicable(path, "has no tag of its own (a packed value or the root)"));
                }
                let raw = (u64::from(node.field_number) << 3) | u64::from(*wire);
                let old = &doc.bytes()[node.start as usize..node.start as usize + node.tag_len as usize];
                let encoded = varint_at_least(raw, old.len());
                Ok(replace_within(doc, node.parent, node.start as usize..node.start as usize + old.len(), encoded))
            }
            EditOp::Overlong { path } => {
                let id = resolve_node(doc, path)?;
                let node = doc.node(id);
                let (span, container) = if has_length_prefix(doc, id) {
                    let p = node.len_prefix();
                    (p.start as usize..p.end as usize, node.parent)
                } else if node.wire == Some(WireType::Varint) || (node.kind == NodeKind::Element && node.wire.is_none())
                {
                    (
                        node.value_start as usize..node.value_end as usize,
                        if node.kind == NodeKind::Element { node.parent } else { id },
                    )
                } else {
                    return Err(not_applicable(
                        path,
                        "holds no varint (only varint values and length prefixes can be over-long)",
                    ));
                };
                let old = &doc.bytes()[span.clone()];
                let value = wire::read_varint(old, 0, old.len())
                    .map_err(|_| not_applicable(path, "its varint is malformed"))?
                    .0;
                Ok(replace_within(doc, container, span, varint_at_least(value, wire::MAX_VARINT_LEN)))
            }
            EditOp::InsertRaw { path, bytes } => {
                let id = container_of(doc, resolve_node(doc, path)?, path)?;
                let end = doc.node(id).value_end as usize;
                Ok(replace_within(doc, id, end..end, bytes.clone()))
            }
        }
    }
}

/// Resolves a path, also accepting `@value` for a resolved Any payload.
fn resolve_node(doc: &Document, p: &str) -> Result<NodeId, EditError> {
    if let Some(any) = p.strip_suffix(".@value") {
        let id = path::resolve(doc, any)?;
        if let Some(payload) = doc.any_payload(id) {
            return Ok(payload);
        }
    }
    let id = path::resolve(doc, p)?;
    if id == 0 {
        return Err(not_applicable(p, "is the whole document"));
    }
    Ok(id)
}

/// The node whose children a new field goes among: an Any's payload for a resolved Any.
fn container_of(doc: &Document, id: NodeId, p: &str) -> Result<NodeId, EditError> {
    let id = doc.any_payload(id).filter(|_| doc.node(id).kind == NodeKind::Any).unwrap_or(id);
    if !doc.node(id).is_container() || doc.node(id).kind == NodeKind::Packed {
        return Err(not_applicable(p, "is not a message"));
    }
    Ok(id)
}

fn plan_set(doc: &Document, p: &str, text: &str) -> Result<Change, EditError> {
    let id = match resolve_node(doc, p) {
        Ok(id) => id,
        Err(EditError::Path(PathError::NotFound { .. })) => return plan_add_value(doc, p, text),
        Err(e) => return Err(e),
    };
    let node = *doc.node(id);
    let is_any_value = node.kind == NodeKind::AnyPayload || (node.field_number == 2 && doc.is_any(node.parent));
    if is_any_value {
        let bytes = value::parse_hex(text).ok_or_else(|| not_applicable(p, "an Any's @value is set as hex bytes"))?;
        return Ok(set_len_value(doc, id, bytes));
    }
    let field = doc
        .field_info(id)
        .ok_or_else(|| not_applicable(p, "the schema does not declare this field; use replace-raw"))?;
    if node.has_problem && node.kind != NodeKind::String {
        return Err(not_applicable(p, "its bytes do not match its declared type; use set-raw or replace-raw"));
    }
    let encoded = value::parse(field, text).map_err(|source| EditError::Value { path: p.to_owned(), source })?;
    Ok(match (node.kind, encoded) {
        (NodeKind::String | NodeKind::Bytes, Encoded::Len(bytes)) => set_len_value(doc, id, bytes),
        (NodeKind::Scalar | NodeKind::Element, encoded @ (Encoded::Fixed32(_) | Encoded::Fixed64(_))) => {
            let container = if node.kind == NodeKind::Element { node.parent } else { id };
            replace_within(doc, container, node.value_start as usize..node.value_end as usize, encoded.bytes())
        }
        (NodeKind::Scalar | NodeKind::Element, Encoded::Varint(v)) => {
            let old = &doc.bytes()[node.value_start as usize..node.value_end as usize];
            let container = if node.kind == NodeKind::Element { node.parent } else { id };
            let encoded = varint_at_least(v, kept_width(old, v));
            replace_within(doc, container, node.value_start as usize..node.value_end as usize, encoded)
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
    replace_within(doc, node.parent, prefix.start as usize..node.value_end as usize, bytes)
}

/// For a path that names a declared but absent field (or the next element of a repeated
/// one), the container it goes into and the field.
fn absent_field<'d>(doc: &'d Document, p: &str) -> Result<(NodeId, &'d FieldInfo), EditError> {
    let segments = path::parse(p)?;
    let last = segments.last().ok_or_else(|| not_applicable(p, "is the whole document"))?;
    let parent_path = p.rsplit_once('.').map_or("", |(a, _)| a);
    let container = container_of(doc, path::resolve(doc, parent_path)?, parent_path)?;
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

fn plan_add_value(doc: &Document, p: &str, text: &str) -> Result<Change, EditError> {
    let (container, field) = absent_field(doc, p)?;
    let last = path::parse(p)?.pop().expect("absent_field checked there is a last segment");
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
    let encoded = value::parse(field, text).map_err(|source| EditError::Value { path: p.to_owned(), source })?;
    if let Some(change) = append_to_packed_run(doc, container, field, encoded.bytes()) {
        return Ok(change);
    }
    let bytes = field_bytes(field, &encoded);
    let end = doc.node(container).value_end as usize;
    Ok(replace_within(doc, container, end..end, bytes))
}

fn plan_append(doc: &Document, p: &str, from: Option<&str>) -> Result<Change, EditError> {
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
        Some(l) => (doc.node(l).end() as usize, doc.node(l).parent),
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
fn element_bytes(doc: &Document, p: &str, id: NodeId, from: Option<&str>) -> Result<Vec<u8>, EditError> {
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

fn copy_of(doc: &Document, src: &str, field_number: u32) -> Result<Vec<u8>, EditError> {
    let id = resolve_node(doc, src)?;
    let node = doc.node(id);
    if node.field_number != field_number || node.kind == NodeKind::Element {
        return Err(not_applicable(src, "copies must come from another element of the same field"));
    }
    Ok(doc.bytes()[node.start as usize..node.end() as usize].to_vec())
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
    let mut best = 0;
    let mut id: NodeId = 1;
    let len = doc.nodes.len() as NodeId;
    while id < len {
        let node = doc.node(id);
        if node.value_start as usize <= start && end <= node.value_end as usize && node.is_container() {
            best = id;
            id += 1;
        } else {
            id = if node.next == NONE { id + 1 } else { node.next };
        }
    }
    best
}
