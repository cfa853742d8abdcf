//! Canonical protobuf JSON (with `@type` for Any), through prost-reflect, for documents
//! that decode cleanly. Nesting is checked first: prost-reflect expands Any recursively.
//! A large blob is written a top-level field at a time where its top level allows it.

use std::io::Write;

use prost_reflect::{DynamicMessage, MessageDescriptor, SerializeOptions};

use crate::decode::wire::{self, RawField};
use crate::model::node::NodeId;
use crate::model::source::Source;
use crate::model::{Decoder, Document};

/// Deepest nesting handed to prost-reflect's recursive serializer.
const MAX_JSON_DEPTH: usize = 64;

/// Why JSON could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// The node is not a message.
    #[error("`{0}` is not a message; JSON needs a message (use --format tree)")]
    NotAMessage(String),
    /// No schema for the node.
    #[error("no schema for this message; give --type or load the schema")]
    NoSchema,
    /// The document has problems JSON cannot represent.
    #[error("the blob has {0} problem(s) JSON cannot show; run `statescope check` or use --format tree")]
    Problems(usize),
    /// Nesting too deep for the serializer.
    #[error("nested more than {MAX_JSON_DEPTH} levels deep; use --format tree")]
    TooDeep,
    /// Decoding or writing failed.
    #[error("{0}")]
    Other(String),
}

/// Writes the message at `top` as pretty JSON; with `proto_names`, fields are named as the
/// `.proto` (and paths) name them rather than in canonical lowerCamelCase.
pub fn write_json(doc: &Document, top: NodeId, proto_names: bool, out: &mut impl Write) -> Result<(), JsonError> {
    let node = doc.node(top);
    let desc = doc.message_type(top).ok_or_else(|| {
        if node.is_container() {
            JsonError::NoSchema
        } else {
            JsonError::NotAMessage(crate::model::path::path_of(doc, top).to_string())
        }
    })?;
    let problems = doc.problems().iter().filter(|p| doc.contains(top, p.node)).count();
    if problems > 0 {
        return Err(JsonError::Problems(problems));
    }
    if max_depth(doc, top) > MAX_JSON_DEPTH {
        return Err(JsonError::TooDeep);
    }
    let message =
        DynamicMessage::decode(desc.clone(), doc.value_bytes(top)).map_err(|e| JsonError::Other(e.to_string()))?;
    let mut serializer = serde_json::Serializer::pretty(&mut *out);
    message
        .serialize_with_options(&mut serializer, &SerializeOptions::new().use_proto_field_name(proto_names))
        .map_err(|e| JsonError::Other(e.to_string()))?;
    writeln!(out).map_err(|e| JsonError::Other(e.to_string()))
}

/// Writes the whole of `source` as [`write_json`] writes its root, a top-level field at a
/// time, so memory stays near the file's size: a repeated message field one element at a
/// time, any other field whole. It first decodes the blob streaming to be sure it has no
/// problem and is not too deep for JSON. Gives the source back, having written nothing,
/// when the top level does not allow it (a field the root does not declare, fields out of
/// number order, a singular field given twice, a map) or when JSON would refuse the blob:
/// then decode it whole, which says why.
pub fn write_json_streaming(
    decoder: &Decoder,
    source: Source,
    proto_names: bool,
    out: &mut impl Write,
) -> Result<Result<(), Source>, JsonError> {
    let Some(root) = decoder.root_type().filter(|m| m.full_name() != "google.protobuf.Any") else {
        return Ok(Err(source));
    };
    if !top_level_in_order(&source, root) {
        return Ok(Err(source));
    }
    let mut fits = true;
    let mut hook = |doc: &Document, top: NodeId| {
        // One level to spare: the whole document's packed runs have a node per value.
        fits &= doc.problems_of(top).is_empty() && max_depth(doc, top) + 2 <= MAX_JSON_DEPTH;
        Ok(())
    };
    let doc = decoder.decode_streaming(source.clone(), &mut hook).map_err(|e| JsonError::Other(e.to_string()))?;
    if !fits || !doc.problems().is_empty() {
        return Ok(Err(source));
    }
    let options = SerializeOptions::new().use_proto_field_name(proto_names);
    let mut writer = RootWriter { out, options, proto_names, keys: 0 };
    let mut pos = 0;
    while pos < source.len() {
        // Read before: only a file changed underneath since (a mapped one) reads otherwise.
        let changed = || JsonError::Other("the input changed while it was read".to_owned());
        let first = wire::read_field(&source, pos, source.len()).map_err(|_| changed())?;
        let field = root.get_field(first.tag.field_number).ok_or_else(changed)?;
        pos = match field.kind() {
            prost_reflect::Kind::Message(element) if field.is_list() => {
                writer.elements(&source, &field, &element, first)
            }
            _ => writer.field_run(&source, root, first),
        }
        .map_err(|e| JsonError::Other(e.to_string()))?;
    }
    let end = if writer.keys == 0 { "{}\n" } else { "\n}\n" };
    writer.out.write_all(end.as_bytes()).map_err(|e| JsonError::Other(e.to_string()))?;
    Ok(Ok(()))
}

/// Whether JSON can be written from the top level of `bytes` one run of a field at a time
/// in the order they come: in field-number order with the root's fields declared in that
/// order too, no map, no group, and a field that is not repeated given once.
fn top_level_in_order(bytes: &[u8], root: &MessageDescriptor) -> bool {
    let numbers: Vec<u32> = root.fields().map(|f| f.number()).collect();
    numbers.is_sorted()
        && super::top_level_in_order(bytes, root, |field, declared, again| {
            declared.is_some_and(|declared| {
                !declared.is_map()
                    && field.tag.wire_type != wire::WireType::StartGroup
                    && (!again || declared.is_list())
            })
        })
}

/// Where the run of fields numbered like `first` that starts with it ends.
fn run_end(bytes: &[u8], first: &RawField) -> usize {
    let mut end = first.end;
    while let Ok(next) = wire::read_field(bytes, end, bytes.len()) {
        if next.tag.field_number != first.tag.field_number {
            break;
        }
        end = next.end;
    }
    end
}

/// The root object being written: its key and value pairs, as serde_json's pretty printer
/// lays them out (two spaces a level).
struct RootWriter<'a, W> {
    out: &'a mut W,
    options: SerializeOptions,
    proto_names: bool,
    keys: usize,
}

impl<W: Write> RootWriter<'_, W> {
    /// Starts the next key of the root object.
    fn key(&mut self) -> std::io::Result<()> {
        self.out.write_all(if self.keys == 0 { b"{\n  " } else { b",\n  " })?;
        self.keys += 1;
        Ok(())
    }

    /// The run of a repeated message field that starts with `first`, one element decoded
    /// and written at a time; returns where the run ends.
    fn elements(
        &mut self,
        bytes: &[u8],
        field: &prost_reflect::FieldDescriptor,
        element: &MessageDescriptor,
        first: RawField,
    ) -> std::io::Result<usize> {
        self.key()?;
        let name = if self.proto_names { field.name() } else { field.json_name() };
        serde_json::to_writer(&mut *self.out, name)?;
        self.out.write_all(b": [\n    ")?;
        let mut raw = first;
        loop {
            let message = DynamicMessage::decode(element.clone(), &bytes[raw.value_start..raw.value_end])
                .map_err(std::io::Error::other)?;
            let text = self.pretty(&message)?;
            self.out.write_all(text.replace('\n', "\n    ").as_bytes())?;
            match wire::read_field(bytes, raw.end, bytes.len()) {
                Ok(next) if next.tag.field_number == first.tag.field_number => {
                    self.out.write_all(b",\n    ")?;
                    raw = next;
                }
                _ => break,
            }
        }
        self.out.write_all(b"\n  ]")?;
        Ok(raw.end)
    }

    /// The run of any other field that starts with `first`: the root decoded from those
    /// occurrences alone, its one key written as the pretty printer wrote it (nothing,
    /// when JSON leaves its value out); returns where the run ends.
    fn field_run(&mut self, bytes: &[u8], root: &MessageDescriptor, first: RawField) -> std::io::Result<usize> {
        let end = run_end(bytes, &first);
        let message = DynamicMessage::decode(root.clone(), &bytes[first.start..end]).map_err(std::io::Error::other)?;
        let text = self.pretty(&message)?;
        if let Some(pair) = text.strip_prefix("{\n  ").and_then(|t| t.strip_suffix("\n}")) {
            self.key()?;
            self.out.write_all(pair.as_bytes())?;
        }
        Ok(end)
    }

    /// A message as pretty JSON on its own.
    fn pretty(&self, message: &DynamicMessage) -> std::io::Result<String> {
        let mut text = Vec::new();
        message.serialize_with_options(&mut serde_json::Serializer::pretty(&mut text), &self.options)?;
        String::from_utf8(text).map_err(std::io::Error::other)
    }
}

fn max_depth(doc: &Document, top: NodeId) -> usize {
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::decode::registry::SchemaSources;
    use crate::decode::schema::Schema;

    fn decoder(root: &str) -> Decoder {
        let schema = Arc::new(Schema::load(&SchemaSources::default()).unwrap());
        let root = schema.pool.get_message_by_name(root);
        Decoder::new(schema, root)
    }

    /// The JSON of the whole document.
    fn whole(decoder: &Decoder, bytes: &[u8], proto_names: bool) -> String {
        let mut out = Vec::new();
        let doc = decoder.decode(Source::new(bytes.to_vec()));
        write_json(&doc, NodeId::ROOT, proto_names, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// What streaming wrote; `None` when it declined (having written nothing).
    fn streamed(decoder: &Decoder, bytes: &[u8], proto_names: bool) -> Option<String> {
        let mut out = Vec::new();
        let wrote = write_json_streaming(decoder, Source::new(bytes.to_vec()), proto_names, &mut out).unwrap();
        assert!(wrote.is_ok() || out.is_empty(), "a declined stream writes nothing");
        wrote.ok().map(|()| String::from_utf8(out).unwrap())
    }

    #[test]
    fn streamed_json_is_the_whole_documents_byte_for_byte() {
        let vm = include_bytes!("../../samples/vm.state.bin");
        // id 5, index 7, and the redirection entries in two packed runs of three.
        let ioapic =
            [vec![0x08, 0x05, 0x10, 0x07, 0x1a, 0x03, 0x01, 0x02, 0x03], vec![0x1a, 0x03, 0x04, 0x05, 0x06]].concat();
        let cases: [(&str, &[u8]); 2] =
            [("sample.openvmm.SavedState", vm), ("sample.chipset.ioapic.SavedState", &ioapic)];
        for (root, bytes) in cases {
            for proto_names in [false, true] {
                let decoder = decoder(root);
                let whole = whole(&decoder, bytes, proto_names);
                assert_eq!(streamed(&decoder, bytes, proto_names), Some(whole), "{root}, proto names {proto_names}");
            }
        }
    }

    #[test]
    fn a_blob_json_refuses_or_a_top_level_out_of_order_is_left_to_the_whole_document() {
        let vm = include_bytes!("../../samples/vm.state.bin");
        // Twice: every unit name is taken again, a problem JSON cannot show.
        let twice = [&vm[..], &vm[..]].concat();
        assert_eq!(streamed(&decoder("sample.openvmm.SavedState"), &twice, false), None);
        // No units: a restore of no device.
        assert_eq!(streamed(&decoder("sample.openvmm.SavedState"), &[], false), None);
        // The ioapic's fields out of number order.
        let backwards = [vec![0x10, 0x07], vec![0x08, 0x05]].concat();
        assert_eq!(streamed(&decoder("sample.chipset.ioapic.SavedState"), &backwards, false), None);
    }
}
