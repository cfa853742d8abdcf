//! JSON written from the decoded tree: a message's fields in field-number order, valued
//! and named as prost-reflect's canonical JSON has them, laid out as serde_json's pretty
//! printer lays them out: of a field given twice the last value, of a oneof the field set
//! last, a map's entries in wire order. A message whose JSON is not simply its fields (a
//! well-known type; a message field given twice, which prost-reflect merges; a map with a
//! key given twice; a group) is handed to prost-reflect whole.

use std::io::{self, Write};

use prost_reflect::{DynamicMessage, Kind, MessageDescriptor, SerializeOptions};

use super::JsonError;
use super::map;
use crate::decode::schema::{FieldInfo, TypeInfo};
use crate::model::Document;
use crate::model::listed::ListedMessage;
use crate::model::node::{Node, NodeId, NodeKind};
use crate::model::value;

/// Deepest nesting handed to prost-reflect's recursive serializer.
pub(super) const MAX_DELEGATED_DEPTH: usize = 64;

/// The messages whose canonical JSON is not an object of their fields (prost-reflect's
/// well-known-type serializers). `google.protobuf.Any` is written here.
const SPECIAL_JSON: [&str; 16] = [
    "google.protobuf.Timestamp",
    "google.protobuf.Duration",
    "google.protobuf.Struct",
    "google.protobuf.FloatValue",
    "google.protobuf.DoubleValue",
    "google.protobuf.Int32Value",
    "google.protobuf.Int64Value",
    "google.protobuf.UInt32Value",
    "google.protobuf.UInt64Value",
    "google.protobuf.BoolValue",
    "google.protobuf.StringValue",
    "google.protobuf.BytesValue",
    "google.protobuf.FieldMask",
    "google.protobuf.ListValue",
    "google.protobuf.Value",
    "google.protobuf.Empty",
];

/// Whether `ty`'s canonical JSON is not an object of its fields ([`SPECIAL_JSON`]); most
/// messages are told by their package alone.
fn is_special_json(ty: &MessageDescriptor) -> bool {
    ty.full_name().starts_with("google.protobuf.") && SPECIAL_JSON.contains(&ty.full_name())
}

/// A child of a message being written: its field number, id and node as read.
pub(super) type Child = (u32, NodeId, Node);

/// The children lists of the messages being written, one a level, kept from one message
/// to the next so that writing allocates only while the deepest level grows.
#[derive(Default)]
pub(super) struct Scratch {
    levels: Vec<Vec<Child>>,
}

impl Scratch {
    fn take(&mut self, level: usize) -> Vec<Child> {
        self.levels.get_mut(level).map(std::mem::take).unwrap_or_default()
    }

    fn give_back(&mut self, level: usize, mut children: Vec<Child>) {
        children.clear();
        if self.levels.len() <= level {
            self.levels.resize_with(level + 1, Vec::new);
        }
        self.levels[level] = children;
    }
}

/// One value of a field: a node, or a value of a packed run (which may have no node).
#[derive(Clone, Copy)]
pub(super) enum Item {
    /// A scalar, string, bytes or message node, and the node as read.
    Node(NodeId, Node),
    /// A raw scalar value: a packed run's element, or a scalar node's value read once.
    Raw(u64),
}

/// The values a run of occurrences of one field holds, in wire order.
pub(super) fn items<'d>(doc: &'d Document, run: &'d [Child]) -> impl Iterator<Item = Item> + 'd {
    run.iter().flat_map(move |&(_, id, node)| {
        let packed = node.kind == NodeKind::Packed;
        let whole = (!packed).then_some(Item::Node(id, node));
        let values = packed.then(|| value::packed_values(doc, id)).into_iter().flatten();
        whole.into_iter().chain(values.map(|v| Item::Raw(v.raw)))
    })
}

/// Writes JSON for nodes of one document.
pub(super) struct NodeJson<'a, W: ?Sized> {
    /// The document the nodes are of.
    pub doc: &'a Document,
    /// Whether keys are the `.proto` names rather than the JSON names.
    pub proto_names: bool,
    /// Lists reused from one message to the next.
    pub scratch: &'a mut Scratch,
    /// Where the JSON goes.
    pub out: &'a mut W,
}

impl<W: Write + ?Sized> NodeJson<'_, W> {
    /// Starts a line indented `level` steps: a comma first unless `first`, then the line's
    /// end and the spaces, in one write where they fit.
    fn new_line(&mut self, first: bool, level: usize) -> io::Result<()> {
        /// A comma, a line's end, and the most spaces written at once.
        const BREAK: &[u8; 130] = b",\n                                                                                                                                ";
        let from = usize::from(first);
        let mut spaces = level * 2;
        let now = spaces.min(BREAK.len() - 2);
        self.out.write_all(&BREAK[from..2 + now])?;
        spaces -= now;
        while spaces > 0 {
            let now = spaces.min(BREAK.len() - 2);
            self.out.write_all(&BREAK[2..2 + now])?;
            spaces -= now;
        }
        Ok(())
    }

    /// A field's key, quoted, with the `: ` after it.
    fn key(&mut self, field: &FieldInfo) -> io::Result<()> {
        write_key(&mut *self.out, field, self.proto_names)
    }

    /// A JSON string.
    fn string(&mut self, text: &str) -> io::Result<()> {
        write_string(&mut *self.out, text)
    }

    /// Writes the message at `id` (a message, an Any or the root) as an object whose
    /// closing brace is indented `level` steps.
    pub fn object(&mut self, id: NodeId, level: usize) -> Result<(), JsonError> {
        let doc = self.doc;
        let ty = doc.message_type(id).ok_or(JsonError::NoSchema)?;
        if doc.is_any(id) {
            return self.any(id, ty, level);
        }
        if is_special_json(ty) {
            return self.delegate(id, ty, level);
        }
        let Some(info) = doc.type_info_of(id) else { return self.delegate(id, ty, level) };
        let Some(children) = self.plain_children(doc.children_with_fields(id), info, level) else {
            return self.delegate(id, ty, level);
        };
        self.out.write_all(b"{")?;
        self.fields(children, info, level, 0)
    }

    /// Writes a message of a run a listing decode left unbuilt as an object whose closing
    /// brace is indented `level` steps, from its leaves.
    pub fn listed_object(&mut self, message: &ListedMessage, level: usize) -> Result<(), JsonError> {
        let doc = self.doc;
        let ty = doc.message_type_of(&message.node).ok_or(JsonError::NoSchema)?;
        let info = message.message_type();
        let leaves = message.leaves().map(|leaf| (leaf.id, leaf.node, leaf.field));
        let children = (!is_special_json(ty)).then(|| self.plain_children(leaves, info, level)).flatten();
        let Some(children) = children else { return self.delegate_bytes(doc.value_bytes_of(&message.node), ty, level) };
        self.out.write_all(b"{")?;
        self.fields(children, info, level, 0)
    }

    /// Writes the `children` of a message of type `info` whose object was opened, after
    /// `before` entries, and closes it, indented `level` steps; gives their list back.
    fn fields(&mut self, children: Vec<Child>, info: &TypeInfo, level: usize, before: usize) -> Result<(), JsonError> {
        let entries = self.entries(&children, info, level, before);
        self.scratch.give_back(level, children);
        self.close(entries?, level, b"}")
    }

    /// An Any as `{"@type": url, <the payload's fields>}`; handed to prost-reflect when
    /// its payload's JSON is not its fields or the Any is not one URL and one payload.
    fn any(&mut self, id: NodeId, ty: &MessageDescriptor, level: usize) -> Result<(), JsonError> {
        let doc = self.doc;
        let (mut urls, mut values) = (0, 0);
        for child in doc.children(id) {
            match doc.node(child).field_number {
                1 => urls += 1,
                2 => values += 1,
                _ => {}
            }
        }
        let (Some(payload), Some(url)) = (doc.any_payload(id), doc.any_type_url(id)) else {
            return self.delegate(id, ty, level);
        };
        // The payload was found as prost-reflect finds it, by the URL's last segment.
        let special = doc.message_type(payload).is_none_or(is_special_json);
        if urls != 1 || values != 1 || special || doc.is_any(payload) {
            return self.delegate(id, ty, level);
        }
        let Some(info) = doc.type_info_of(payload) else { return self.delegate(id, ty, level) };
        let Some(children) = self.plain_children(doc.children_with_fields(payload), info, level) else {
            return self.delegate(id, ty, level);
        };
        self.out.write_all(b"{")?;
        self.new_line(true, level + 1)?;
        self.out.write_all(b"\"@type\": ")?;
        self.string(&url)?;
        self.fields(children, info, level, 1)
    }

    /// Ends an object or array of `entries` entries whose closing `bracket` is indented
    /// `level` steps.
    fn close(&mut self, entries: usize, level: usize, bracket: &[u8]) -> Result<(), JsonError> {
        if entries > 0 {
            self.new_line(true, level)?;
        }
        self.out.write_all(bracket)?;
        Ok(())
    }

    /// The `children` of a message of type `info` (each its id, node as read and field)
    /// by field number, when its JSON is its fields as written here: every declared field
    /// read as declared, no group, a message field that is not repeated given once, and
    /// maps whose entries hold a key and a value at most once, no key twice. `None` when
    /// not: prost-reflect merges and orders those.
    fn plain_children<'f>(
        &mut self,
        children: impl Iterator<Item = (NodeId, Node, Option<&'f FieldInfo>)>,
        info: &TypeInfo,
        level: usize,
    ) -> Option<Vec<Child>> {
        let doc = self.doc;
        let read = children;
        let mut children = self.scratch.take(level);
        // Each child read once, for its number and whether it reads as its number is
        // declared (an unreadable span under a declared number does not).
        let mut as_declared = true;
        children.extend(read.map(|(c, node, _)| {
            as_declared &= info.field(node.field_number).is_none_or(|field| reads_as_declared(node.kind, &field.kind));
            (node.field_number, c, node)
        }));
        if !children.is_sorted_by_key(|c| c.0) {
            children.sort_by_key(|c| c.0);
        }
        let plain = as_declared
            && children.chunk_by(|a, b| a.0 == b.0).all(|run| {
                let Some(field) = info.field(run[0].0) else { return true };
                let merged = !field.is_list && run.len() > 1 && matches!(field.kind, Kind::Message(_));
                !field.is_group && !merged && (!field.is_map || map::keys_once(doc, run))
            });
        if plain {
            Some(children)
        } else {
            self.scratch.give_back(level, children);
            None
        }
    }

    /// The entries of an object whose closing brace is indented `level` steps, after
    /// `before` entries; returns how many there are then. Of a field that is not repeated,
    /// the last value counts; of a oneof, the field given last.
    fn entries(
        &mut self,
        children: &[Child],
        info: &TypeInfo,
        level: usize,
        before: usize,
    ) -> Result<usize, JsonError> {
        let doc = self.doc;
        let runs = || children.chunk_by(|a: &Child, b| a.0 == b.0);
        let mut winners = None;
        let mut entries = before;
        for run in runs() {
            // A field the message does not declare: canonical JSON leaves it out.
            let Some(field) = info.field(run[0].0) else { continue };
            if field.oneof.is_some() && !winners.get_or_insert_with(|| oneof_winners(info, runs())).contains(&run[0].0)
            {
                continue;
            }
            if field.is_map {
                self.entry_start(entries, level + 1)?;
                self.key(field)?;
                self.map(run, level + 1)?;
                entries += 1;
            } else if field.is_list {
                let mut values = 0;
                for item in items(doc, run) {
                    if values == 0 {
                        self.entry_start(entries, level + 1)?;
                        self.key(field)?;
                        self.out.write_all(b"[")?;
                    }
                    self.new_line(values == 0, level + 2)?;
                    self.value(item, field, level + 2)?;
                    values += 1;
                }
                if values > 0 {
                    self.close(values, level + 1, b"]")?;
                    entries += 1;
                }
            } else {
                let (_, id, node) = run[run.len() - 1];
                let last = self.item(id, &node, field);
                if !self.left_out(last, field) {
                    self.entry_start(entries, level + 1)?;
                    self.key(field)?;
                    self.value(last, field, level + 1)?;
                    entries += 1;
                }
            }
        }
        Ok(entries)
    }

    /// A map's entries as an object keyed by their keys as text, in wire order; a missing
    /// key or value is its type's default.
    fn map(&mut self, run: &[Child], level: usize) -> Result<(), JsonError> {
        let doc = self.doc;
        self.out.write_all(b"{")?;
        for (i, &(_, entry, _)) in run.iter().enumerate() {
            self.entry_start(i, level + 1)?;
            let parts = map::Entry::of(doc, entry);
            self.string(&parts.key_text(doc))?;
            self.out.write_all(b": ")?;
            match (parts.value, parts.value_field(doc)) {
                (Some(value), Some(field)) => self.value(Item::Node(value, doc.node(value)), field, level + 1)?,
                _ => self.default_value(&parts.value_kind(doc).ok_or(JsonError::NoSchema)?)?,
            }
        }
        self.close(run.len(), level, b"}")
    }

    /// The default value of `kind`, as JSON writes a map value left out.
    fn default_value(&mut self, kind: &Kind) -> Result<(), JsonError> {
        match kind {
            Kind::Message(_) => self.out.write_all(b"{}")?,
            Kind::String | Kind::Bytes => self.out.write_all(b"\"\"")?,
            other => self.scalar(other, 0)?,
        }
        Ok(())
    }

    /// Starts an object's entry, after `entries` others, indented `level` steps.
    fn entry_start(&mut self, entries: usize, level: usize) -> io::Result<()> {
        self.new_line(entries == 0, level)
    }

    /// Node `id` (`node` as read), a value of `field`, as it is written: a scalar as its
    /// raw value, read once for both [`Self::left_out`] and [`Self::value`].
    fn item(&self, id: NodeId, node: &Node, field: &FieldInfo) -> Item {
        let raw = (node.kind == NodeKind::Scalar).then(|| value::raw_of(self.doc, node, Some(field)));
        raw.flatten().map_or(Item::Node(id, *node), Item::Raw)
    }

    /// Whether canonical JSON leaves a singular field's value out: a field without
    /// presence that holds its type's default.
    pub fn left_out(&self, item: Item, field: &FieldInfo) -> bool {
        if !field.implicit {
            return false;
        }
        let doc = self.doc;
        match item {
            Item::Node(_, node) => match node.kind {
                NodeKind::String | NodeKind::Bytes => doc.value_bytes_of(&node).is_empty(),
                NodeKind::Scalar => {
                    value::raw_of(doc, &node, Some(field)).is_some_and(|raw| is_default(&field.kind, raw))
                }
                _ => false,
            },
            Item::Raw(raw) => is_default(&field.kind, raw),
        }
    }

    /// One value of `field`; a message's closing brace indented `level` steps.
    pub fn value(&mut self, item: Item, field: &FieldInfo, level: usize) -> Result<(), JsonError> {
        let doc = self.doc;
        let (id, node) = match item {
            Item::Raw(raw) => return Ok(self.scalar(&field.kind, raw)?),
            Item::Node(id, node) => (id, node),
        };
        match node.kind {
            NodeKind::Scalar => {
                let raw = value::raw_of(doc, &node, Some(field))
                    .ok_or_else(|| JsonError::Other("a value does not read".into()))?;
                Ok(self.scalar(&field.kind, raw)?)
            }
            NodeKind::String => {
                let text = std::str::from_utf8(doc.value_bytes_of(&node))
                    .map_err(|_| JsonError::Other("failed to decode protobuf: string is not valid UTF-8".into()))?;
                Ok(self.string(text)?)
            }
            NodeKind::Bytes => {
                use base64::Engine;
                self.out.write_all(b"\"")?;
                let encoded = base64::prelude::BASE64_STANDARD.encode(doc.value_bytes_of(&node));
                self.out.write_all(encoded.as_bytes())?;
                Ok(self.out.write_all(b"\"")?)
            }
            _ => self.object(id, level),
        }
    }

    /// A scalar of `kind` from its raw wire value: 64-bit integers quoted, enums by name
    /// where the enum declares the number.
    fn scalar(&mut self, kind: &Kind, raw: u64) -> io::Result<()> {
        let quoted = matches!(kind, Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 | Kind::Uint64 | Kind::Fixed64);
        let mut digits = itoa::Buffer::new();
        let text = match kind {
            Kind::Float => {
                let x = f32::from_bits(raw as u32);
                return self.float(f64::from(x), |out| serde_json::to_writer(out, &x).map_err(io::Error::from));
            }
            Kind::Double => {
                let x = f64::from_bits(raw);
                return self.float(x, |out| serde_json::to_writer(out, &x).map_err(io::Error::from));
            }
            Kind::Enum(e) => {
                let number = raw as u32 as i32;
                match e.get_value(number) {
                    _ if e.full_name() == "google.protobuf.NullValue" => "null",
                    Some(v) => return self.string(v.name()),
                    None => digits.format(number),
                }
            }
            Kind::Bool => {
                if raw != 0 {
                    "true"
                } else {
                    "false"
                }
            }
            _ => match value::interpret(kind, raw) {
                value::Scalar::Signed(n) => digits.format(n),
                value::Scalar::Unsigned(n) => digits.format(n),
                _ => return Err(io::Error::other("a length-delimited field read as a scalar")),
            },
        };
        if quoted { write_quoted(&mut *self.out, text) } else { self.out.write_all(text.as_bytes()) }
    }

    /// A float or double: finite ones as `finite` writes them, the others as the strings
    /// canonical JSON names them by.
    fn float(&mut self, x: f64, finite: impl FnOnce(&mut W) -> io::Result<()>) -> io::Result<()> {
        if x.is_finite() {
            finite(self.out)
        } else if x.is_nan() {
            self.out.write_all(b"\"NaN\"")
        } else if x > 0.0 {
            self.out.write_all(b"\"Infinity\"")
        } else {
            self.out.write_all(b"\"-Infinity\"")
        }
    }

    /// Message `id` of type `ty` through prost-reflect, its lines indented `level` steps.
    fn delegate(&mut self, id: NodeId, ty: &MessageDescriptor, level: usize) -> Result<(), JsonError> {
        if max_depth(self.doc, id) > MAX_DELEGATED_DEPTH {
            return Err(JsonError::TooDeep);
        }
        self.delegate_bytes(self.doc.value_bytes(id), ty, level)
    }

    /// A message of type `ty` read from `bytes` (no deeper than prost-reflect serializes)
    /// through prost-reflect, its lines indented `level` steps.
    fn delegate_bytes(&mut self, bytes: &[u8], ty: &MessageDescriptor, level: usize) -> Result<(), JsonError> {
        let message = DynamicMessage::decode(ty.clone(), bytes).map_err(|e| JsonError::Other(e.to_string()))?;
        let mut text = Vec::new();
        let options = SerializeOptions::new().use_proto_field_name(self.proto_names);
        message
            .serialize_with_options(&mut serde_json::Serializer::pretty(&mut text), &options)
            .map_err(|e| JsonError::Other(e.to_string()))?;
        for (i, line) in text.split(|&b| b == b'\n').enumerate() {
            if i > 0 {
                self.new_line(true, level)?;
            }
            self.out.write_all(line)?;
        }
        Ok(())
    }
}

/// Whether a node of `kind` holds a value of a field declared `declared`.
fn reads_as_declared(kind: NodeKind, declared: &Kind) -> bool {
    match declared {
        Kind::Message(_) => matches!(kind, NodeKind::Message | NodeKind::Any),
        Kind::String => kind == NodeKind::String,
        Kind::Bytes => kind == NodeKind::Bytes,
        _ => matches!(kind, NodeKind::Scalar | NodeKind::Packed),
    }
}

/// Whether a raw wire value is the default of `kind`, as prost-reflect compares values
/// (`-0.0` is a default; NaN is not).
fn is_default(kind: &Kind, raw: u64) -> bool {
    match kind {
        Kind::Float => f32::from_bits(raw as u32) == 0.0,
        Kind::Double => f64::from_bits(raw) == 0.0,
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 | Kind::Uint32 | Kind::Fixed32 | Kind::Enum(_) => raw as u32 == 0,
        _ => raw == 0,
    }
}

/// The field numbers of the oneof fields JSON shows among `runs`: of each oneof, the one
/// given last on the wire (a oneof keeps the field set last).
fn oneof_winners<'c>(info: &TypeInfo, runs: impl Iterator<Item = &'c [Child]>) -> Vec<u32> {
    let mut winners: Vec<(&prost_reflect::OneofDescriptor, u32, NodeId)> = Vec::new();
    for run in runs {
        let Some(oneof) = info.field(run[0].0).and_then(|f| f.oneof.as_ref()) else { continue };
        let (number, last) = (run[0].0, run[run.len() - 1].1);
        match winners.iter_mut().find(|(o, _, _)| *o == oneof) {
            Some(winner) if winner.2 < last => *winner = (oneof, number, last),
            Some(_) => {}
            None => winners.push((oneof, number, last)),
        }
    }
    winners.into_iter().map(|(_, number, _)| number).collect()
}

/// How many levels of nodes lie below `top`.
pub(super) fn max_depth(doc: &Document, top: NodeId) -> usize {
    let mut depth = vec![0usize; (doc.node(top).next - top) as usize];
    let mut deepest = 0;
    for id in (top + 1).up_to(doc.node(top).next) {
        let parent = doc.parent(id).expect("only the root has no parent");
        let d = depth[(parent - top) as usize] + 1;
        depth[(id - top) as usize] = d;
        deepest = deepest.max(d);
    }
    deepest
}

/// A field's key as an object entry opens with it: quoted, with the `: ` after it; with
/// `proto_names`, its name in the `.proto` rather than its JSON name.
pub(super) fn write_key<W: Write + ?Sized>(out: &mut W, field: &FieldInfo, proto_names: bool) -> io::Result<()> {
    let name = if proto_names { &field.name } else { &field.json_name };
    let mut key = [b' '; 68];
    if name.len() <= 64 && needs_no_escape(name) {
        key[0] = b'"';
        key[1..=name.len()].copy_from_slice(name.as_bytes());
        key[name.len() + 1..name.len() + 3].copy_from_slice(b"\":");
        return out.write_all(&key[..name.len() + 4]);
    }
    write_string(out, name)?;
    out.write_all(b": ")
}

/// Whether `text` is written in JSON as it is (the names of fields and types).
fn needs_no_escape(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
}

/// A JSON string, escaped as serde_json escapes it.
fn write_string<W: Write + ?Sized>(out: &mut W, text: &str) -> io::Result<()> {
    if needs_no_escape(text) {
        write_quoted(out, text)
    } else {
        serde_json::to_writer(out, text).map_err(io::Error::from)
    }
}

/// `text`, which needs no escape, in quotes: in one write when it is short.
fn write_quoted<W: Write + ?Sized>(out: &mut W, text: &str) -> io::Result<()> {
    let mut quoted = [b'"'; 66];
    if text.len() <= 64 {
        quoted[1..=text.len()].copy_from_slice(text.as_bytes());
        return out.write_all(&quoted[..text.len() + 2]);
    }
    out.write_all(b"\"")?;
    out.write_all(text.as_bytes())?;
    out.write_all(b"\"")
}
