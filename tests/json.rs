//! `show --format json` is prost-reflect's canonical JSON, byte for byte: random messages
//! of every kind of field (tests/data/json_kinds.proto), with fields given twice, out of
//! order, packed and not, oneofs set twice, maps, well-known types and Any, are written
//! from the decoded tree as prost-reflect writes them from the same bytes; in parts on two
//! threads as on one; and on the real OpenVMM state.

mod common;

use std::sync::Arc;

use prost_reflect::{DynamicMessage, Kind, MessageDescriptor, SerializeOptions};
use statescope::{Decoder, NodeId, Pieces, Schema, SchemaSources, Source, write_json, write_json_streaming};

/// A small deterministic generator (xorshift), so a failure names its seed; it notes
/// whether a map entry was drawn.
struct Draw {
    state: u64,
    drew_map_entry: bool,
}

impl Draw {
    fn below(&mut self, n: u64) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state % n
    }

    fn pick<'a, T>(&mut self, from: &'a [T]) -> &'a T {
        &from[self.below(from.len() as u64) as usize]
    }
}

fn tag(out: &mut Vec<u8>, number: u32, wire: u8) {
    statescope::write_varint(out, u64::from(number) << 3 | u64::from(wire));
}

fn delimited(out: &mut Vec<u8>, number: u32, bytes: &[u8]) {
    tag(out, number, 2);
    statescope::write_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// A random value of a scalar kind as its wire type has it: edge values (zero, negative,
/// widest, NaN, infinities, -0.0, undeclared enum numbers) often.
fn scalar(draw: &mut Draw, kind: &Kind) -> (u8, Vec<u8>) {
    let mut bytes = Vec::new();
    let varint = |bytes: &mut Vec<u8>, v: u64| statescope::write_varint(bytes, v);
    match kind {
        Kind::Double => {
            let v = *draw.pick(&[0.0, -0.0, 1.5, -2.25e-300, 1e21, 0.1, f64::NAN, f64::INFINITY, f64::NEG_INFINITY]);
            bytes.extend_from_slice(&f64::to_le_bytes(v));
            return (1, bytes);
        }
        Kind::Float => {
            let v = *draw.pick(&[0.0f32, -0.0, 1.5, 3.4e38, 0.1, 1e-45, f32::NAN, f32::INFINITY, f32::NEG_INFINITY]);
            bytes.extend_from_slice(&f32::to_le_bytes(v));
            return (5, bytes);
        }
        Kind::Fixed64 | Kind::Sfixed64 => {
            bytes.extend_from_slice(&draw.pick(&[0u64, 1, u64::MAX, 1 << 63, 12345]).to_le_bytes());
            return (1, bytes);
        }
        Kind::Fixed32 | Kind::Sfixed32 => {
            bytes.extend_from_slice(&draw.pick(&[0u32, 1, u32::MAX, 1 << 31, 777]).to_le_bytes());
            return (5, bytes);
        }
        Kind::Bool => varint(&mut bytes, draw.below(2)),
        Kind::Enum(_) => varint(&mut bytes, *draw.pick(&[0, 1, 2, 7, u64::MAX])),
        Kind::Int32 => varint(&mut bytes, *draw.pick(&[0, 1, 300, (-5i64) as u64, i32::MAX as u64])),
        Kind::Uint32 | Kind::Sint32 => varint(&mut bytes, *draw.pick(&[0, 1, 300, 1, u64::from(u32::MAX)])),
        _ => varint(&mut bytes, *draw.pick(&[0, 1, 300, u64::MAX, 1 << 40])),
    }
    (0, bytes)
}

/// A Timestamp or Duration (seconds, then nanoseconds of the same sign), one in sixteen out
/// of the range JSON can write; `None` for another type.
fn timing(draw: &mut Draw, name: &str) -> Option<Vec<u8>> {
    let seconds: u64 = match name {
        "google.protobuf.Timestamp" => {
            *draw.pick(&[0, 1_700_000_000, 1, 86_400, 0, 12, 99, 7, 5, 1 << 20, 3, 4, 6, 8, 9, u64::MAX])
        }
        "google.protobuf.Duration" => *draw.pick(&[0, 90, 1, 3600, 0, 12, 99, 7, 5, 1 << 20, 3, 4, 6, 8, 9, 1 << 62]),
        _ => return None,
    };
    let mut out = Vec::new();
    tag(&mut out, 1, 0);
    statescope::write_varint(&mut out, seconds);
    tag(&mut out, 2, 0);
    statescope::write_varint(&mut out, *draw.pick(&[0, 500, 1_000_000]));
    Some(out)
}

/// Random bytes of a message of type `ty`: each field left out, given once or (rarely, for
/// one that is not repeated) twice, repeated scalars packed or not, fields sometimes out
/// of number order.
fn message(draw: &mut Draw, ty: &MessageDescriptor, depth: usize) -> Vec<u8> {
    let pool = ty.parent_pool();
    let mut fields: Vec<Vec<u8>> = Vec::new();
    for field in ty.fields() {
        let times = if field.is_list() { draw.below(4) } else { [0, 0, 1, 1, 1, 2][draw.below(6) as usize] };
        let number = field.number();
        draw.drew_map_entry |= field.is_map() && times > 0;
        let mut out = Vec::new();
        for _ in 0..times {
            match field.kind() {
                Kind::Message(m) if m.full_name() == "google.protobuf.Any" => {
                    let names =
                        ["jsonkinds.Inner", "google.protobuf.Empty", "google.protobuf.Duration", "jsonkinds.Kinds"];
                    let name = *draw.pick(&names);
                    let payload_type = pool.get_message_by_name(name).unwrap();
                    let payload = match timing(draw, name) {
                        Some(payload) => payload,
                        None if depth < 3 => message(draw, &payload_type, depth + 1),
                        None => Vec::new(),
                    };
                    let mut any = Vec::new();
                    delimited(&mut any, 1, format!("type.googleapis.com/{name}").as_bytes());
                    delimited(&mut any, 2, &payload);
                    delimited(&mut out, number, &any);
                }
                Kind::Message(m) if let Some(time) = timing(draw, m.full_name()) => {
                    delimited(&mut out, number, &time);
                }
                Kind::Message(m) => {
                    let inner = if depth < 3 { message(draw, &m, depth + 1) } else { Vec::new() };
                    delimited(&mut out, number, &inner);
                }
                Kind::String => {
                    let text = *draw.pick(&["", "plain", "quo\"te\\ and\nnew line", "ünïcödé ✓", "\u{1}\u{7f}"]);
                    delimited(&mut out, number, text.as_bytes());
                }
                Kind::Bytes => {
                    let len = draw.below(7) as usize;
                    let bytes: Vec<u8> = (0..len).map(|_| draw.below(256) as u8).collect();
                    delimited(&mut out, number, &bytes);
                }
                kind if field.is_list()
                    && !matches!(kind, Kind::String | Kind::Bytes | Kind::Message(_))
                    && draw.below(2) == 0 =>
                {
                    let mut run = Vec::new();
                    for _ in 0..draw.below(4) {
                        run.extend(scalar(draw, &kind).1);
                    }
                    delimited(&mut out, number, &run);
                }
                kind => {
                    let (wire, bytes) = scalar(draw, &kind);
                    tag(&mut out, number, wire);
                    out.extend(bytes);
                }
            }
        }
        fields.push(out);
    }
    if fields.len() > 1 && draw.below(8) == 0 {
        let at = draw.below(fields.len() as u64 - 1) as usize;
        fields.swap(at, at + 1);
    }
    fields.concat()
}

/// prost-reflect's pretty JSON of `bytes` as `ty`, or its error.
fn prost_reflect_json(ty: &MessageDescriptor, bytes: &[u8], proto_names: bool) -> Result<String, String> {
    let message = DynamicMessage::decode(ty.clone(), bytes).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let options = SerializeOptions::new().use_proto_field_name(proto_names);
    message
        .serialize_with_options(&mut serde_json::Serializer::pretty(&mut out), &options)
        .map_err(|e| e.to_string())?;
    Ok(String::from_utf8(out).unwrap() + "\n")
}

/// A decoder of tests/data/json_kinds.proto rooted at `root`.
fn kinds_decoder(root: &str) -> Decoder {
    let proto = common::root().join("tests/data/json_kinds.proto");
    let schema = Arc::new(Schema::load(&SchemaSources { proto_files: vec![proto], ..Default::default() }).unwrap());
    let root = schema.pool.get_message_by_name(root);
    Decoder::new(schema, root)
}

/// Whether two JSON texts are the same: byte for byte, or, where maps may list their
/// entries in any order, as values.
fn same_json(ours: &str, expected: &str, unordered: bool) -> Result<(), String> {
    let parse = |t: &str| serde_json::from_str::<serde_json::Value>(t).unwrap();
    let same = if unordered { parse(ours) == parse(expected) } else { ours == expected };
    if same { Ok(()) } else { Err(format!("ours:\n{ours}\nexpected:\n{expected}")) }
}

#[test]
fn json_from_the_tree_is_prost_reflects_on_random_messages_of_every_kind() {
    let (compared, refused_alike, _) = compare_random_messages("jsonkinds.Kinds", 600);
    // Enough clean messages were compared for the test to mean something.
    assert!(compared >= 200, "only {compared} clean messages compared");
    assert!(refused_alike < compared / 2, "{refused_alike} of {compared} refused by both");
}

#[test]
fn streamed_json_is_the_whole_documents_on_random_top_levels() {
    let (compared, _, streamed) = compare_random_messages("jsonkinds.Stream", 300);
    assert!(compared >= 100, "only {compared} clean messages compared");
    assert!(streamed >= 100, "only {streamed} streamed");
}

/// Compares statescope's JSON with prost-reflect's on random messages of type `root`, each
/// whole and (when its top level allows) streamed on one thread and in parts on two;
/// returns how many clean messages were compared, how many both refused, and how many
/// streams were compared.
fn compare_random_messages(root_name: &str, seeds: u64) -> (usize, usize, usize) {
    let decoder = kinds_decoder(root_name);
    let root = decoder.root_type().unwrap().clone();
    let (mut compared, mut refused_alike, mut streamed) = (0, 0, 0);
    for seed in 1..=seeds {
        let mut draw = Draw { state: seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1, drew_map_entry: false };
        let bytes = message(&mut draw, &root, 0);
        // prost-reflect keeps a map in a hash map: its entries come out in no set order.
        let unordered = draw.drew_map_entry;
        let doc = decoder.decode(Source::new(bytes.clone()));
        if !doc.problems().is_empty() {
            continue;
        }
        for proto_names in [false, true] {
            let expected = prost_reflect_json(&root, &bytes, proto_names);
            let mut out = Vec::new();
            let ours = write_json(&doc, NodeId::ROOT, proto_names, &mut out).map(|()| String::from_utf8(out).unwrap());
            match (&expected, &ours) {
                (Ok(expected), Ok(ours)) => {
                    assert_eq!(same_json(ours, expected, unordered), Ok(()), "seed {seed}, proto names {proto_names}");
                }
                (Err(_), Err(_)) => refused_alike += 1,
                _ => panic!("seed {seed}: prost-reflect {expected:?}, statescope {ours:?}"),
            }
            compared += 1;
            // Streamed, on one thread and in parts of a few bytes on two: the same JSON.
            if let Ok(whole) = &ours {
                for pieces in [Pieces { threads: 1, bytes: 1 << 16 }, Pieces { threads: 2, bytes: 16 }] {
                    let mut out = Vec::new();
                    let source = Source::new(bytes.clone());
                    if let Ok(Ok(())) = write_json_streaming(&decoder, source, proto_names, pieces, &mut out) {
                        let out = String::from_utf8(out).unwrap();
                        assert_eq!(same_json(&out, whole, unordered), Ok(()), "seed {seed}, streamed in {pieces:?}");
                        streamed += 1;
                    }
                }
            }
        }
    }
    (compared, refused_alike, streamed)
}

#[test]
fn json_of_the_real_openvmm_state_is_prost_reflects() {
    let Some(openvmm) = common::openvmm() else { return };
    let decoder = common::openvmm_decoder(&openvmm);
    let bytes = std::fs::read(openvmm.join("state.bin")).unwrap();
    let root = decoder.root_type().unwrap().clone();
    let expected = prost_reflect_json(&root, &bytes, false).unwrap();
    let doc = decoder.decode(Source::new(bytes.clone()));
    let mut out = Vec::new();
    write_json(&doc, NodeId::ROOT, false, &mut out).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), expected);
    for pieces in [Pieces { threads: 1, bytes: 1 << 16 }, Pieces { threads: 2, bytes: 64 }] {
        let mut out = Vec::new();
        let written = write_json_streaming(&decoder, Source::new(bytes.clone()), false, pieces, &mut out).unwrap();
        assert!(written.is_ok(), "the real state streams");
        assert_eq!(String::from_utf8(out).unwrap(), expected, "in {pieces:?}");
    }
}

#[test]
fn a_blob_with_a_problem_anywhere_is_refused_and_a_clean_one_streams_as_it_reads_whole() {
    // Mutants of a large sample VM: a value out of range deep in a unit, a type URL
    // swapped, a required field deleted, and the like, each alone.
    let decoder = common::sample_decoder();
    let (mut refused, mut written) = (0, 0);
    for (what, bytes) in common::sample_mutants(&decoder, 5, 150) {
        let doc = decoder.decode(Source::new(bytes.clone()));
        let mut whole = Vec::new();
        let whole = write_json(&doc, NodeId::ROOT, false, &mut whole).map(|()| whole);
        let mut out = Vec::new();
        let pieces = Pieces { threads: 2, bytes: 4096 };
        match write_json_streaming(&decoder, Source::new(bytes), false, pieces, &mut out) {
            Err(statescope::JsonError::Problems(n)) => {
                assert!(out.is_empty(), "{what}: a refused blob gets no JSON");
                assert_eq!(n, doc.problems().len(), "{what}: the problems counted");
                refused += 1;
            }
            Ok(Ok(())) => {
                assert!(doc.problems().is_empty(), "{what}: JSON written for a blob with problems");
                assert_eq!(Some(out), whole.ok(), "{what}: streamed as the whole document");
                written += 1;
            }
            // A top level that does not read, or not in order: left to the whole document.
            Ok(Err(_)) => assert!(out.is_empty(), "{what}: a declined stream writes nothing"),
            Err(e) => panic!("{what}: {e}"),
        }
    }
    assert!(refused >= 20 && written >= 5, "{refused} refused, {written} written");
}

#[test]
fn a_blob_no_type_fits_is_refused_before_it_is_decoded_as_the_whole_document_refuses_it() {
    let raw = common::raw_decoder();
    let mut blob = Vec::new();
    for number in 1000..5000u32 {
        tag(&mut blob, number, 0);
        blob.push(1);
    }
    let mut whole = Vec::new();
    let refused = write_json(&raw.decode(Source::new(blob.clone())), NodeId::ROOT, false, &mut whole);
    assert!(matches!(refused, Err(statescope::JsonError::NoSchema)), "{refused:?}");
    let mut out = Vec::new();
    let streamed = write_json_streaming(&raw, Source::new(blob), false, Pieces { threads: 2, bytes: 4096 }, &mut out);
    assert!(matches!(streamed, Err(statescope::JsonError::NoSchema)), "{streamed:?}");
    assert!(out.is_empty() && whole.is_empty(), "nothing written");
}
