//! Canonical protobuf JSON (with `@type` for Any), as prost-reflect writes it, for
//! documents that decode cleanly: written from the decoded tree (`nodes`), a large blob a
//! top-level field at a time on every core, where its top level allows it.

mod map;
mod nodes;

use std::cell::RefCell;
use std::io::Write;

use nodes::{NodeJson, Scratch};
use prost_reflect::MessageDescriptor;

use crate::decode::schema::FieldInfo;
use crate::decode::wire;
use crate::model::node::{NodeId, NodeKind};
use crate::model::parts::{Gathered, Pieces, decode_streaming_in_parts};
use crate::model::source::Source;
use crate::model::{Decoder, Document};
use crate::render::LinesHeld;
use crate::render::check::{CheckFormat, check_streaming};

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
    /// Nesting too deep for the serializer of well-known types and maps.
    #[error("a well-known type or map nested more than {} levels deep; use --format tree", nodes::MAX_DELEGATED_DEPTH)]
    TooDeep,
    /// Writing failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Decoding or serializing failed.
    #[error("{0}")]
    Other(String),
}

/// Writes the message at `top` as pretty JSON; with `proto_names`, fields are named as the
/// `.proto` (and paths) name them rather than in canonical lowerCamelCase.
pub fn write_json(doc: &Document, top: NodeId, proto_names: bool, out: &mut impl Write) -> Result<(), JsonError> {
    let node = doc.node(top);
    if doc.message_type(top).is_none() {
        return Err(if node.is_container() {
            JsonError::NoSchema
        } else {
            JsonError::NotAMessage(crate::model::path::path_of(doc, top).to_string())
        });
    }
    let problems = doc.problems().iter().filter(|p| doc.contains(top, p.node)).count();
    if problems > 0 {
        return Err(JsonError::Problems(problems));
    }
    let mut scratch = Scratch::default();
    NodeJson { doc, proto_names, scratch: &mut scratch, out: &mut *out }.object(top, 0)?;
    Ok(writeln!(out)?)
}

/// Writes the whole of `source` as [`write_json`] writes its root, a top-level field at a
/// time, so memory stays near the file's size; with more than one thread in `pieces`, in
/// parts on each, written out in order. It first checks the blob (as `check` does, on
/// every core): one with problems is refused before anything is written. Gives the source
/// back, having written nothing, when the top level is not written as it comes (a field
/// the root does not declare, fields out of number order, a singular field given twice,
/// two fields of one oneof, a map): then decode it whole. A blob of no root type is
/// refused at once, as [`write_json`] refuses its root, before any of it is decoded.
pub fn write_json_streaming(
    decoder: &Decoder,
    source: Source,
    proto_names: bool,
    pieces: Pieces,
    out: &mut impl Write,
) -> Result<Result<(), Source>, JsonError> {
    let Some(root) = decoder.root_type() else { return Err(JsonError::NoSchema) };
    if root.full_name() == "google.protobuf.Any" || !top_level_in_order(&source, root) {
        return Ok(Err(source));
    }
    let checking = decoder.clone().skimming_clean_fields();
    let check_pieces = Pieces::per_thread(source.len(), pieces.threads);
    let summary =
        check_streaming(&checking, source.clone(), "", CheckFormat::Text, check_pieces, &mut std::io::sink())?;
    let problems: usize = summary.codes.values().sum();
    if problems > 0 {
        return Err(JsonError::Problems(problems));
    }
    // The runs of small clean messages are written from their bytes, not built.
    let decoder = &decoder.clone().listing_flat_runs();
    let failed = RefCell::new(None);
    let shared = RefCell::new((TopLevel::default(), Scratch::default(), &mut *out));
    let mut hook = |doc: &Document, top: NodeId| {
        let (top_level, scratch, out) = &mut *shared.borrow_mut();
        let mut writer = NodeJson { doc, proto_names, scratch, out: &mut **out };
        doc.top_level_from(top).try_for_each(|top| top_level.write(&mut writer, top)).map_err(|e| failure(e, &failed))
    };
    if pieces.threads > 1 {
        let look = move |doc: &Document, top: NodeId, part: &mut JsonPart| {
            // Past the bound, the part stops holding lines; it is then written again.
            for top in doc.top_level_from(top) {
                if !part.lines.whole() || part.failed.is_some() {
                    break;
                }
                let mut writer = NodeJson { doc, proto_names, scratch: &mut part.scratch, out: &mut part.lines };
                if let Err(e) = part.top_level.write(&mut writer, top) {
                    part.failed = Some(e);
                }
            }
        };
        let mut take = |part: JsonPart| {
            if let Some(e) = part.failed.filter(|_| part.lines.whole()) {
                return Err(failure(e, &failed));
            }
            let (top_level, _, out) = &mut *shared.borrow_mut();
            top_level.follow(&part.top_level, part.lines.bytes(), &mut **out)
        };
        decode_streaming_in_parts(decoder, source, pieces, &look, &mut take, &mut hook)
    } else {
        decoder.decode_streaming(source, &mut hook)
    }
    .map_err(|e| failed.take().unwrap_or(JsonError::Io(e)))?;
    let (top_level, _, out) = &mut *shared.borrow_mut();
    top_level.finish(&mut **out)?;
    Ok(Ok(()))
}

/// Passes a JSON error through the decoder's I/O error: the error is kept in `failed`.
fn failure(error: JsonError, failed: &RefCell<Option<JsonError>>) -> std::io::Error {
    let said = std::io::Error::other(error.to_string());
    failed.borrow_mut().get_or_insert(error);
    said
}

/// A part of the JSON written ahead of its turn: its lines (all but the opening of
/// its first entry, which depends on the part before), where it stands, and the error
/// that stopped it, if one did.
struct JsonPart {
    top_level: TopLevel,
    lines: LinesHeld,
    scratch: Scratch,
    failed: Option<JsonError>,
}

impl Default for JsonPart {
    fn default() -> Self {
        let top_level = TopLevel { in_part: true, ..TopLevel::default() };
        JsonPart { top_level, lines: LinesHeld::default(), scratch: Scratch::default(), failed: None }
    }
}

impl Gathered for JsonPart {
    fn whole(&self) -> bool {
        self.lines.whole()
    }
}

/// The root object, a value at a time: the field of the last value written and whether
/// anything was. A part leaves the opening of its first value to [`TopLevel::follow`].
#[derive(Default)]
struct TopLevel {
    /// The field number of the last value written, and whether that field is repeated.
    last: Option<(u32, bool)>,
    /// Whether a value has been written.
    started: bool,
    /// Whether this is a part of the whole, not knowing what came before it.
    in_part: bool,
    /// In a part: the first value's field, whose opening the part before decides.
    first: Option<Opening>,
}

/// What goes between two elements of a top-level array.
const NEXT_ELEMENT: &[u8] = b",\n    ";

/// A value's field: its number, whether it is repeated, and its key as written.
struct Opening {
    number: u32,
    list: bool,
    key: Vec<u8>,
}

impl TopLevel {
    /// Writes the values top-level field `top` holds, each after the separator or key it
    /// needs.
    fn write<W: Write + ?Sized>(&mut self, writer: &mut NodeJson<'_, W>, top: NodeId) -> Result<(), JsonError> {
        let doc = writer.doc;
        let changed = || JsonError::Other("the input changed while it was read".into());
        let node = doc.node(top);
        let field = doc.field_info_of(&node).ok_or_else(changed)?;
        if let Some(mut messages) = doc.listed_messages(top) {
            while let Some(message) = messages.next_message() {
                let level = self.open_value(writer, field, node.field_number)?;
                writer.listed_object(&message, level)?;
            }
            return Ok(());
        }
        if node.kind != NodeKind::Packed {
            // One value: most top-level fields, each written without a walk over values.
            return self.write_value(writer, field, node.field_number, nodes::Item::Node(top, node));
        }
        let run = [(node.field_number, top, node)];
        nodes::items(doc, &run).try_for_each(|item| self.write_value(writer, field, node.field_number, item))
    }

    /// Writes `item`, a value of top-level field `number` declared as `field`, after the
    /// separator or key it needs.
    fn write_value<W: Write + ?Sized>(
        &mut self,
        writer: &mut NodeJson<'_, W>,
        field: &FieldInfo,
        number: u32,
        item: nodes::Item,
    ) -> Result<(), JsonError> {
        if !field.is_list && writer.left_out(item, field) {
            return Ok(());
        }
        let level = self.open_value(writer, field, number)?;
        writer.value(item, field, level)
    }

    /// Opens a value of top-level field `number`, declared as `field`: writes the
    /// separator or key it needs. Gives the level the value's closing brace is indented.
    fn open_value<W: Write + ?Sized>(
        &mut self,
        writer: &mut NodeJson<'_, W>,
        field: &FieldInfo,
        number: u32,
    ) -> Result<usize, JsonError> {
        let continues = field.is_list && self.last == Some((number, true));
        if !continues || self.in_part && !self.started {
            let mut key = Vec::new();
            nodes::write_key(&mut key, field, writer.proto_names)?;
            let opening = Opening { number, list: field.is_list, key };
            if self.in_part && !self.started {
                self.first = Some(opening);
            } else {
                self.open(&opening, &mut *writer.out)?;
            }
        } else {
            writer.out.write_all(NEXT_ELEMENT)?;
        }
        self.started = true;
        self.last = Some((number, field.is_list));
        Ok(if field.is_list { 2 } else { 1 })
    }

    /// Opens a value of `opening`'s field after what was written: the next element of an
    /// array, or (closing the array before) a new entry.
    fn open<W: Write + ?Sized>(&mut self, opening: &Opening, out: &mut W) -> std::io::Result<()> {
        if opening.list && self.last == Some((opening.number, true)) {
            return out.write_all(NEXT_ELEMENT);
        }
        if let Some((_, true)) = self.last {
            out.write_all(b"\n  ]")?;
        }
        out.write_all(if self.started { b",\n  " } else { b"{\n  " })?;
        out.write_all(&opening.key)?;
        if opening.list {
            out.write_all(b"[\n    ")?;
        }
        Ok(())
    }

    /// Writes a part's lines after what was written, opening its first value.
    fn follow<W: Write + ?Sized>(&mut self, part: &TopLevel, lines: &[u8], out: &mut W) -> std::io::Result<()> {
        let Some(first) = &part.first else { return Ok(()) };
        self.open(first, out)?;
        out.write_all(lines)?;
        self.started = true;
        self.last = part.last;
        Ok(())
    }

    /// Ends the root object.
    fn finish<W: Write + ?Sized>(&self, out: &mut W) -> std::io::Result<()> {
        if let Some((_, true)) = self.last {
            out.write_all(b"\n  ]")?;
        }
        out.write_all(if self.started { b"\n}\n" } else { b"{}\n" })
    }
}

/// Whether JSON can be written from the top level of `bytes` one field at a time in the
/// order they come: in field-number order with the root's fields declared in that order
/// too, no map, no group, a field that is not repeated given once, and at most one field
/// of each oneof.
fn top_level_in_order(bytes: &[u8], root: &MessageDescriptor) -> bool {
    let numbers: Vec<u32> = root.fields().map(|f| f.number()).collect();
    let mut oneofs_met = Vec::new();
    // Whether the field met last may come again: its declaration is looked at once a run.
    let mut may_repeat = false;
    numbers.is_sorted()
        && super::top_level_in_order(bytes, root, |field, declared, again| {
            let Some(declared) = declared else { return false };
            if field.tag.wire_type == wire::WireType::StartGroup {
                return false;
            }
            if again {
                return may_repeat;
            }
            may_repeat = declared.is_list();
            let oneof = declared.containing_oneof().filter(|o| !o.is_synthetic());
            let oneof_again = oneof.is_some_and(|o| {
                let other = oneofs_met.iter().any(|(met, n)| *met == o && *n != declared.number());
                oneofs_met.push((o, declared.number()));
                other
            });
            !declared.is_map() && !oneof_again
        })
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

    /// What streaming wrote, on one thread and in parts of a few bytes on two (which must
    /// agree); `None` when it declined (having written nothing).
    fn streamed(decoder: &Decoder, bytes: &[u8], proto_names: bool) -> Option<String> {
        let mut written = Vec::new();
        for pieces in [Pieces { threads: 1, bytes: 64 << 10 }, Pieces { threads: 2, bytes: 16 }] {
            let mut out = Vec::new();
            let wrote =
                write_json_streaming(decoder, Source::new(bytes.to_vec()), proto_names, pieces, &mut out).unwrap();
            assert!(wrote.is_ok() || out.is_empty(), "a declined stream writes nothing");
            written.push(wrote.ok().map(|()| String::from_utf8(out).unwrap()));
        }
        assert_eq!(written[0], written[1], "one thread and parts");
        written.pop().unwrap()
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
    fn a_blob_with_problems_is_refused_and_a_top_level_out_of_order_is_left_to_the_whole_document() {
        let vm = include_bytes!("../../samples/vm.state.bin");
        // Twice: every unit name is taken again, a problem JSON cannot show.
        let twice = [&vm[..], &vm[..]].concat();
        let refused = write_json_streaming(
            &decoder("sample.openvmm.SavedState"),
            Source::new(twice),
            false,
            Pieces { threads: 2, bytes: 64 },
            &mut Vec::new(),
        );
        assert!(matches!(refused, Err(JsonError::Problems(n)) if n > 0), "{refused:?}");
        // No units: a restore of no device.
        assert!(
            write_json_streaming(
                &decoder("sample.openvmm.SavedState"),
                Source::new(Vec::new()),
                false,
                Pieces { threads: 1, bytes: 64 },
                &mut Vec::new()
            )
            .is_err()
        );
        // The ioapic's fields out of number order.
        let backwards = [vec![0x10, 0x07], vec![0x08, 0x05]].concat();
        assert_eq!(streamed(&decoder("sample.chipset.ioapic.SavedState"), &backwards, false), None);
    }
}
