//! Edit operations, one per line of an edit script, addressed by path: what each means and
//! the splice it makes on a given document. Schema-aware operations refuse invalid values;
//! raw operations write exactly what they are told, on purpose.

use std::fmt;

use crate::decode::schema::{FieldClass, FieldInfo};
use crate::decode::wire::{self, WireType, write_varint};
use crate::edit::splice::{Change, Splice, has_length_prefix, kept_width, replace_within, varint_at_least};
use crate::edit::value::{self, Encoded};
use crate::model::Document;
use crate::model::node::{NONE, NodeId, NodeKind};
use crate::model::path::{self, PathError};

/// One edit. Its `Display` is its line in an edit script; [`EditOp::parse`] reads it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditOp {
    /// `set PATH VALUE`: a scalar, string, bytes (hex), enum or Any `@type`; adds the field
    /// (or appends the next element of a repeated field) when it is absent.
    Set {
        /// Where.
        path: String,
        /// The value as typed.
        value: String,
    },
    /// `delete PATH`: removes a field, a repeated element or a packed value.
    Delete {
        /// What.
        path: String,
    },
    /// `duplicate PATH`: inserts a copy of the field right after it.
    Duplicate {
        /// What.
        path: String,
    },
    /// `insert PATH[i] [from SRC]`: a new element before element `i`, a copy of `SRC` or
    /// the default value.
    Insert {
        /// Where.
        path: String,
        /// What to copy.
        from: Option<String>,
    },
    /// `append PATH [from SRC]`: a new element after the last one of a repeated field.
    Append {
        /// The repeated field (no index).
        path: String,
        /// What to copy.
        from: Option<String>,
    },
    /// `add PATH`: a field the schema knows, with its default value.
    Add {
        /// The field.
        path: String,
    },
    /// `replace-raw PATH HEX` or `replace-raw @OFFSET+LEN HEX`: replaces a node's bytes (tag
    /// included) or a span; enclosing length prefixes follow.
    ReplaceRaw {
        /// What to replace.
        target: Target,
        /// The new bytes.
        bytes: Vec<u8>,
    },
    /// `set-raw PATH HEX`: sets a length-delimited value's bytes unchecked (invalid UTF-8…).
    SetRaw {
        /// Where.
        path: String,
        /// The new value bytes.
        bytes: Vec<u8>,
    },
    /// `truncate OFFSET`: cuts the file there.
    Truncate {
        /// New length.
        offset: usize,
    },
    /// `flip OFFSET BIT`: flips one bit.
    Flip {
        /// Byte.
        offset: usize,
        /// Bit, 0 to 7.
        bit: u8,
    },
    /// `set-length PATH N`: writes a (possibly false) length prefix, content unchanged.
    SetLength {
        /// The length-delimited field.
        path: String,
        /// The length to claim.
        length: u64,
    },
    /// `set-wire PATH W`: rewrites the tag's wire type (0 to 7).
    SetWire {
        /// The field.
        path: String,
        /// The new wire type bits.
        wire: u8,
    },
    /// `overlong PATH`: rewrites a varint value (or a length prefix) in 10 bytes.
    Overlong {
        /// The field.
        path: String,
    },
    /// `insert-raw PATH HEX`: appends raw bytes inside a message (an unknown field…).
    InsertRaw {
        /// The message.
        path: String,
        /// The bytes.
        bytes: Vec<u8>,
    },
}

/// What a raw replacement addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A node's whole bytes.
    Path(String),
    /// A byte span.
    Span {
        /// First byte.
        offset: usize,
        /// How many bytes.
        len: usize,
    },
}

/// Why an edit cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// The path names nothing.
    #[error(transparent)]
    Path(#[from] PathError),
    /// The value does not fit the field.
    #[error("{path}: {source}")]
    Value {
        /// Where.
        path: String,
        /// Why.
        source: value::ValueError,
    },
    /// The edit does not apply to what the path names.
    #[error("{path}: {reason}")]
    NotApplicable {
        /// Where.
        path: String,
        /// Why, and what to do instead.
        reason: String,
    },
    /// A script line that is not an edit.
    #[error("{0}")]
    Syntax(String),
    /// A byte offset past the end.
    #[error("offset {offset} is past the end ({len} bytes)")]
    Offset {
        /// The offset.
        offset: usize,
        /// The size of the bytes.
        len: usize,
    },
}

fn not_applicable(path: &str, reason: impl Into<String>) -> EditError {
    EditError::NotApplicable { path: path.to_owned(), reason: reason.into() }
}

/// Whether a `set` value cannot be written as it is on one script line: empty, with
/// control characters, or with leading or trailing space (which reading trims).
fn needs_quoting(value: &str) -> bool {
    value.is_empty() || value.trim() != value || value.chars().any(|c| c.is_control())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl fmt::Display for EditOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let from = |from: &Option<String>| from.as_ref().map(|s| format!(" from {s}")).unwrap_or_default();
        match self {
            EditOp::Set { path, value } if needs_quoting(value) => {
                // Written as the quoted form of what it sets, which reads back to the same.
                let content = value::unquote(value).unwrap_or_else(|_| value.clone());
                let mut quoted = String::new();
                crate::model::value::c_escape(content.as_bytes(), &mut quoted);
                write!(f, "set {path} \"{quoted}\"")
            }
            EditOp::Set { path, value } => write!(f, "set {path} {value}"),
            EditOp::Delete { path } => write!(f, "delete {path}"),
            EditOp::Duplicate { path } => write!(f, "duplicate {path}"),
            EditOp::Insert { path, from: src } => write!(f, "insert {path}{}", from(src)),
            EditOp::Append { path, from: src } => write!(f, "append {path}{}", from(src)),
            EditOp::Add { path } => write!(f, "add {path}"),
            EditOp::ReplaceRaw { target: Target::Path(path), bytes } => write!(f, "replace-raw {path} {}", hex(bytes)),
            EditOp::ReplaceRaw { target: Target::Span { offset, len }, bytes } => {
                write!(f, "replace-raw @{offset}+{len} {}", hex(bytes))
            }
            EditOp::SetRaw { path, bytes } => write!(f, "set-raw {path} {}", hex(bytes)),
            EditOp::Truncate { offset } => write!(f, "truncate {offset}"),
            EditOp::Flip { offset, bit } => write!(f, "flip {offset} {bit}"),
            EditOp::SetLength { path, length } => write!(f, "set-length {path} {length}"),
            EditOp::SetWire { path, wire } => write!(f, "set-wire {path} {wire}"),
            EditOp::Overlong { path } => write!(f, "overlong {path}"),
            EditOp::InsertRaw { path, bytes } => write!(f, "insert-raw {path} {}", hex(bytes)),
        }
    }
}

impl EditOp {
    /// Reads one script line (not a comment or blank line).
    pub fn parse(line: &str) -> Result<EditOp, EditError> {
        let line = line.trim();
        let (verb, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let rest = rest.trim();
        let syntax = |usage: &str| EditError::Syntax(format!("`{line}`: expected `{usage}`"));
        let one = |usage: &str| -> Result<String, EditError> {
            if rest.is_empty() || rest.contains(char::is_whitespace) { Err(syntax(usage)) } else { Ok(rest.to_owned()) }
        };
        let two = |usage: &str| -> Result<(String, String), EditError> {
            let (a, b) = rest.split_once(char::is_whitespace).ok_or_else(|| syntax(usage))?;
            Ok((a.to_owned(), b.trim().to_owned()))
        };
        let hex_arg = |text: &str, usage: &str| value::parse_hex(text).ok_or_else(|| syntax(usage));
        let number = |text: &str, usage: &str| value::parse_int(text).ok_or_else(|| syntax(usage));
        let bits = |text: &str, usage: &str| -> Result<u8, EditError> {
            number(text, usage)?.try_into().ok().filter(|b: &u8| *b < 8).ok_or_else(|| syntax(usage))
        };
        let with_from = |usage: &str| -> Result<(String, Option<String>), EditError> {
            let words: Vec<&str> = rest.split_whitespace().collect();
            match words.as_slice() {
                [path] => Ok((path.to_string(), None)),
                [path, "from", src] => Ok((path.to_string(), Some(src.to_string()))),
                _ => Err(syntax(usage)),
            }
        };
        Ok(match verb {
            "set" => {
                let (path, value) = two("set PATH VALUE")?;
                EditOp::Set { path, value }
            }
            "delete" | "clear" => EditOp::Delete { path: one("delete PATH")? },
            "duplicate" => EditOp::Duplicate { path: one("duplicate PATH")? },
            "insert" => {
                let (path, from) = with_from("insert PATH[i] [from SRC]")?;
                EditOp::Insert { path, from }
            }
            "append" => {
                let (path, from) = with_from("append PATH [from SRC]")?;
                EditOp::Append { path, from }
            }
            "add" => EditOp::Add { path: one("add PATH")? },
            "replace-raw" => {
                let usage = "replace-raw PATH HEX` or `replace-raw @OFFSET+LEN HEX";
                let (target, bytes) = two(usage)?;
                let target = match target.strip_prefix('@') {
                    Some(span) => {
                        let (offset, len) = span.split_once('+').ok_or_else(|| syntax(usage))?;
                        let offset = number(offset, usage)?.try_into().map_err(|_| syntax(usage))?;
                        let len = number(len, usage)?.try_into().map_err(|_| syntax(usage))?;
                        Target::Span { offset, len }
                    }
                    None => Target::Path(target),
                };
                EditOp::ReplaceRaw { target, bytes: hex_arg(&bytes, usage)? }
            }
            "set-raw" => {
                let (path, bytes) = two("set-raw PATH HEX")?;
                EditOp::SetRaw { path, bytes: hex_arg(&bytes, "set-raw PATH HEX")? }
            }
            "truncate" => {
                let usage = "truncate OFFSET";
                EditOp::Truncate { offset: number(&one(usage)?, usage)?.try_into().map_err(|_| syntax(usage))? }
            }
            "flip" => {
                let usage = "flip OFFSET BIT (0-7)";
                let (offset, bit) = two(usage)?;
                EditOp::Flip {
                    offset: number(&offset, usage)?.try_into().map_err(|_| syntax(usage))?,
                    bit: bits(&bit, usage)?,
                }
            }
            "set-length" => {
                let usage = "set-length PATH N";
                let (path, n) = two(usage)?;
                EditOp::SetLength { path, length: number(&n, usage)?.try_into().map_err(|_| syntax(usage))? }
            }
            "set-wire" => {
                let usage = "set-wire PATH W (0-7)";
                let (path, w) = two(usage)?;
                EditOp::SetWire { path, wire: bits(&w, usage)? }
            }
            "overlong" => EditOp::Overlong { path: one("overlong PATH")? },
            "insert-raw" => {
                let (path, bytes) = two("insert-raw PATH HEX")?;
                EditOp::InsertRaw { path, bytes: hex_arg(&bytes, "insert-raw PATH HEX")? }
            }
            _ => {
                return Err(EditError::Syntax(format!(
                    "`{verb}` is not an edit; edits are set, delete, duplicate, insert, append, add, \
                     replace-raw, set-raw, truncate, flip, set-length, set-wire, overlong, insert-raw"
                )));
            }
        })
    }

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
                let mut bytes = tag(field.number, wire_of(field));
                bytes.extend(default_value(field));
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
    let field = field_for(doc, id)
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

/// The declared field of a node, including an Any's own `type_url` and `value`.
fn field_for(doc: &Document, id: NodeId) -> Option<&FieldInfo> {
    doc.field_info(id)
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
    let existing = path::visible_children(doc, container).filter(|&c| doc.node(c).field_number == field.number);
    let values: u32 =
        existing.map(|c| if doc.node(c).kind == NodeKind::Packed { doc.node(c).next - c - 1 } else { 1 }).sum();
    match (field.is_list, last.indices.as_slice()) {
        (false, []) if values == 0 => {}
        (true, [i]) if *i == values => {}
        (true, _) => {
            return Err(not_applicable(p, format!("a new element of `{}` goes at index {values}", field.name)));
        }
        _ => return Err(not_applicable(p, "no such element")),
    }
    let encoded = value::parse(field, text).map_err(|source| EditError::Value { path: p.to_owned(), source })?;
    // A new value of a packed field joins the field's last packed run.
    if let Some(run) =
        path::visible_children(doc, container).filter(|&c| doc.node(c).field_number == field.number).last()
        && doc.node(run).kind == NodeKind::Packed
    {
        let end = doc.node(run).value_end as usize;
        return Ok(replace_within(doc, run, end..end, encoded.bytes()));
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
    let last = path::visible_children(doc, container).filter(|&c| doc.node(c).field_number == field.number).last();
    if let (Some(run), None) = (last, from)
        && doc.node(run).kind == NodeKind::Packed
    {
        let end = doc.node(run).value_end as usize;
        return Ok(replace_within(doc, run, end..end, zero_element(field)));
    }
    let bytes = match from {
        Some(src) => copy_of(doc, src, field.number)?,
        None => {
            let mut bytes = tag(field.number, wire_of(field));
            bytes.extend(default_value(field));
            bytes
        }
    };
    let (at, parent) = match last {
        Some(l) => (doc.node(l).end() as usize, doc.node(l).parent),
        None => (doc.node(container).value_end as usize, container),
    };
    Ok(replace_within(doc, parent, at..at, bytes))
}

/// The bytes of a new element for `path`'s field: a copy of `from`, or the default.
fn element_bytes(doc: &Document, p: &str, id: NodeId, from: Option<&str>) -> Result<Vec<u8>, EditError> {
    let node = doc.node(id);
    if let Some(src) = from {
        return copy_of(doc, src, node.field_number);
    }
    let field = field_for(doc, id).ok_or_else(|| not_applicable(p, "unknown field: give `from SRC` to copy"))?;
    if node.kind == NodeKind::Element {
        return Ok(zero_element(field));
    }
    let mut bytes = tag(field.number, wire_of(field));
    bytes.extend(default_value(field));
    Ok(bytes)
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

/// The default value's bytes after the tag: zero, or an empty length-delimited value.
fn default_value(field: &FieldInfo) -> Vec<u8> {
    match wire_of(field) {
        WireType::Varint => vec![0],
        WireType::Fixed32 => vec![0; 4],
        WireType::Fixed64 => vec![0; 8],
        _ => vec![0],
    }
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
