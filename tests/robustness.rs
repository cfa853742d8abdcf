//! Untrusted input: no byte string panics, overflows the stack or escapes the spans
//! invariant (a container's children tile its value exactly; the root covers the input).

mod common;

use std::sync::Arc;

use proptest::prelude::*;
use statescope::{
    Decoder, Document, Limits, NodeId, NodeKind, ProblemKind, Schema, SchemaSources, Source, TextOptions, write_text,
    write_varint,
};

fn schema() -> Arc<Schema> {
    static SCHEMA: std::sync::OnceLock<Arc<Schema>> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(|| Arc::new(Schema::load(&SchemaSources::default()).expect("registered schemas load"))).clone()
}

fn decode(bytes: &[u8], schema: &Arc<Schema>, root: Option<&str>, limits: Limits) -> Document {
    let root = root.map(|r| schema.pool.get_message_by_name(r).expect("type exists"));
    Decoder::new(schema.clone(), root).with_limits(limits).decode(Source::new(bytes.to_vec()))
}

/// Every container's children tile its value; every node lies inside its parent; every
/// problem points at a node; every path resolves back to its node.
fn assert_well_formed(doc: &Document) {
    let root = doc.node(NodeId::ROOT);
    assert_eq!((root.start, root.end()), (0, doc.bytes().len() as u64));
    assert_eq!(root.next, doc.end());
    for id in NodeId::ROOT.up_to(doc.end()) {
        let node = doc.node(id);
        assert!(node.start <= node.value_start() && node.value_start() <= node.value_end);
        assert!(node.next > id && node.next <= doc.end());
        if node.is_container() {
            let mut pos = node.value_start();
            for child in doc.children(id) {
                let c = doc.node(child);
                assert_eq!(c.parent, Some(id));
                assert_eq!(c.start, pos, "children tile their parent (node {id}, child {child})");
                pos = c.end();
            }
            if doc.children(id).next().is_some() || node.kind != NodeKind::Packed {
                assert_eq!(pos, node.value_end, "children cover their parent (node {id})");
            }
        }
    }
    for p in doc.problems() {
        assert!(p.node < doc.end());
    }
    let len = doc.node_count();
    for id in NodeId::ROOT.up_to(doc.end()).step_by((len / 200).max(1)).take(if len > 1000 { 20 } else { 200 }) {
        // Error spans and Any payloads have no step of their own; a packed run other than
        // a field's first occurrence is addressed through its values.
        let node = doc.node(id);
        let later_run = node.kind == NodeKind::Packed && node.index > 0;
        if matches!(node.kind, NodeKind::Error | NodeKind::AnyPayload) || later_run {
            continue;
        }
        let p = doc.path_of(id);
        assert_eq!(doc.resolve(&p.to_string()), Ok(id), "path `{p}` names its node");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_decode_schema_less(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let s = schema();
        assert_well_formed(&decode(&bytes, &s, None, Limits::default()));
    }

    #[test]
    fn arbitrary_bytes_decode_as_saved_state(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let s = schema();
        assert_well_formed(&decode(&bytes, &s, Some(statescope::samples::ROOT_TYPE), Limits::default()));
    }

    #[test]
    fn mutated_sample_decodes(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = statescope::samples::VM_STATE.to_vec();
        for (at, value, op) in edits {
            let i = at.index(bytes.len());
            match op {
                0 => bytes[i] = value,
                1 => bytes[i] ^= 1 << (value % 8),
                2 => bytes.insert(i, value),
                _ => { bytes.remove(i); }
            }
        }
        let s = schema();
        let doc = decode(&bytes, &s, Some(statescope::samples::ROOT_TYPE), Limits::default());
        assert_well_formed(&doc);
        bytes.truncate(cut.index(bytes.len() + 1));
        assert_well_formed(&decode(&bytes, &s, Some(statescope::samples::ROOT_TYPE), Limits::default()));
    }
}

#[test]
fn a_long_run_of_values_out_of_range_is_reported_as_if_each_were_kept() {
    // base_addresses: 30 values, the 25 from [3] on out of range. `check` shows ten in
    // full and counts the rest, which it need not keep (a hostile run has a million);
    // its JSON holds none back, and names each at its place.
    let values: Vec<u64> = (0..30).map(|i| if (3..28).contains(&i) { (1 << 33) + i } else { i }).collect();
    let (mut run, mut starts) = (Vec::new(), Vec::new());
    for &v in &values {
        starts.push(run.len());
        write_varint(&mut run, v);
    }
    let mut blob = vec![0x12];
    write_varint(&mut blob, run.len() as u64);
    let offsets: Vec<usize> = starts.iter().map(|start| blob.len() + start).collect();
    blob.extend_from_slice(&run);
    let ty = ["--type", "sample.pci.cfg_space_emu.SavedState"];
    let text = common::stdout(&common::statescope(&[&["check", "-"][..], &ty].concat(), Some(&blob)));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 12, "{text}");
    for (line, i) in lines.iter().zip(3..13) {
        let (v, at) = (values[i], offsets[i]);
        let expected = format!(
            "standard input: base_addresses[{i}]: byte {at}: error: saved state is invalid: {v} does not fit a 32-bit unsigned field"
        );
        assert_eq!(*line, expected);
    }
    let (v, at) = (values[13], offsets[13]);
    let more = format!(
        "standard input: base_addresses: from byte {at}: 15 more like the above: saved state is invalid: {v} does not fit a 32-bit unsigned field"
    );
    assert_eq!(lines[10..], [more.as_str(), "standard input: 25 error(s), 0 warning(s)"]);
    let json =
        common::stdout(&common::statescope(&[&["check", "-", "--format", "json"][..], &ty].concat(), Some(&blob)));
    let objects: Vec<serde_json::Value> = json.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(objects.len(), 26, "{json}");
    for (object, i) in objects.iter().zip(3..28) {
        assert_eq!(
            (object["path"].as_str(), object["offset"].as_u64()),
            (Some(&*format!("base_addresses[{i}]")), Some(offsets[i] as u64))
        );
    }
    assert_eq!(objects[25]["summary"]["errors"], 25);
}

#[test]
fn many_fields_a_message_does_not_declare_are_reported_as_if_each_were_kept() {
    // Apic with 30 fields it does not declare (numbers 100 to 129) between its own two:
    // `check` shows ten in full and counts the rest, which it need not keep (a hostile
    // blob has a million); its JSON holds none back.
    let mut blob = vec![0x08, 0x05];
    let mut offsets = Vec::new();
    for number in 100u64..130 {
        offsets.push(blob.len());
        write_varint(&mut blob, number << 3);
        blob.push((number % 7) as u8);
    }
    blob.extend_from_slice(&[0x12, 0x02, 0x01, 0x02]);
    let ty = ["--type", "sample.virt.x86.Apic"];
    let words = "warning: field not in sample.virt.x86.Apic: written by a newer release? (load the VMM's schema folder with --proto-dir)";
    let text = common::stdout(&common::statescope(&[&["check", "-"][..], &ty].concat(), Some(&blob)));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 12, "{text}");
    for (k, line) in lines[..10].iter().enumerate() {
        assert_eq!(*line, format!("standard input: #{}: byte {}: {words}", 100 + k, offsets[k]));
    }
    let more = format!("standard input: #*: from byte {}: 20 more like the above: {}", offsets[10], &words[9..]);
    assert_eq!(lines[10..], [more.as_str(), "standard input: 0 error(s), 30 warning(s)"]);
    let json =
        common::stdout(&common::statescope(&[&["check", "-", "--format", "json"][..], &ty].concat(), Some(&blob)));
    let objects: Vec<serde_json::Value> = json.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(objects.len(), 31, "{json}");
    for (k, object) in objects[..30].iter().enumerate() {
        let path = format!("#{}", 100 + k);
        assert_eq!((object["path"].as_str(), object["offset"].as_u64()), (Some(&*path), Some(offsets[k] as u64)));
    }
    assert_eq!(objects[30]["summary"]["warnings"], 30);
}

/// An Any's own unknown field and its payload's field of the same number are two steps,
/// though the payload is shown in the Any's: found by `mutated_sample_decodes`. Byte 402 of
/// the sample turns the rtc unit's Any `value` tag into an unknown field 5 of the Any; the
/// payload, read from a later field 2, holds a field 5 of its own.
#[test]
fn an_anys_own_unknown_field_is_not_named_as_its_payloads() {
    let mut bytes = statescope::samples::VM_STATE.to_vec();
    bytes[402] = 0x2d;
    let doc = decode(&bytes, &schema(), Some(statescope::samples::ROOT_TYPE), Limits::default());
    assert_well_formed(&doc);
    let own = doc.resolve("units[3].state.@#5").expect("the Any's own field");
    let payloads = doc.resolve("units[3].state.#5").expect("the payload's field");
    assert_eq!(doc.node(own).start, 402, "the Any's own field is the one at the changed byte");
    assert_ne!(own, payloads);
    assert_eq!(doc.path_of(payloads).to_string(), "units[3].state.#5");
}

/// `depth` levels of field `number` each wrapping the next, innermost `inner`. Built
/// outside-in from precomputed sizes, so it costs linear time.
fn nested(depth: usize, number: u32, inner: &[u8]) -> Vec<u8> {
    let varint = |v: u64| {
        let mut out = Vec::new();
        write_varint(&mut out, v);
        out
    };
    let tag = varint(u64::from(number) << 3 | 2);
    let mut sizes = vec![inner.len() as u64];
    for _ in 0..depth {
        let content = *sizes.last().unwrap();
        sizes.push(tag.len() as u64 + varint(content).len() as u64 + content);
    }
    let mut bytes = Vec::with_capacity(*sizes.last().unwrap() as usize);
    for level in (0..depth).rev() {
        bytes.extend_from_slice(&tag);
        bytes.extend_from_slice(&varint(sizes[level]));
    }
    bytes.extend_from_slice(inner);
    bytes
}

#[test]
fn deep_nesting_stops_at_the_limit_without_overflowing() {
    let s = schema();
    // DescriptorProto.nested_type (field 3) is recursive: 20,000 levels of it.
    let bytes = nested(20_000, 3, &[]);
    let doc = decode(&bytes, &s, Some("google.protobuf.DescriptorProto"), Limits::default());
    assert_well_formed(&doc);
    assert!(doc.problems().iter().any(|p| matches!(p.kind, ProblemKind::DepthLimit { limit: 100 })));
    // Schema-less, the same bytes are one opaque field: nothing to overflow either.
    assert_well_formed(&decode(&bytes, &s, None, Limits::default()));
    // A huge limit is still walked iteratively.
    let deep = Limits { max_depth: 10_000, max_any_depth: 32 };
    assert_well_formed(&decode(&bytes, &s, Some("google.protobuf.DescriptorProto"), deep));
}

#[test]
fn deep_any_chain_stops_at_the_any_limit() {
    let s = schema();
    let url = b"type.googleapis.com/google.protobuf.Any";
    let mut bytes = Vec::new();
    for _ in 0..5_000 {
        let mut any = Vec::new();
        any.push(0x0a);
        write_varint(&mut any, url.len() as u64);
        any.extend_from_slice(url);
        any.push(0x12);
        write_varint(&mut any, bytes.len() as u64);
        any.extend_from_slice(&bytes);
        bytes = any;
    }
    let doc = decode(&bytes, &s, Some("google.protobuf.Any"), Limits::default());
    assert_well_formed(&doc);
    assert!(
        doc.problems()
            .iter()
            .any(|p| matches!(p.kind, ProblemKind::AnyDepthLimit { .. } | ProblemKind::DepthLimit { .. }))
    );
    // Text output of such a document is bounded too.
    let mut out = Vec::new();
    write_text(&doc, NodeId::ROOT, TextOptions { expand_any: true }, &mut out).unwrap();
}

#[test]
fn a_length_prefix_of_2_pow_63_is_reported_not_trusted() {
    let s = schema();
    let bytes = [0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x01];
    let doc = decode(&bytes, &s, Some(statescope::samples::ROOT_TYPE), Limits::default());
    assert_well_formed(&doc);
    let truncated = doc.problems().iter().find(|p| matches!(p.kind, ProblemKind::Truncated { .. }));
    assert_eq!(truncated.map(|p| (p.node, p.offset)), Some((NodeId::ROOT + 1, 1)), "{:?}", doc.problems());
}

#[test]
fn the_optional_fixed_array_quirk_is_shown_raw_with_a_warning() {
    // The VMM's .proto declares a wrapper message for an optional fixed array of scalars,
    // but writes the packed scalars directly. A tool that trusts the schema dies here.
    let scratch = common::scratch_dir("quirk");
    let dir = scratch.path();
    let proto = dir.join("q.proto");
    std::fs::write(
        &proto,
        "syntax = \"proto3\";\npackage q;\nmessage State {\n  message Regs { repeated uint64 field1 = 1; }\n  Regs regs = 1;\n  uint32 after = 2;\n}\n",
    )
    .unwrap();
    // regs: the packed values 0, 5, 300 (bytes 00 05 ac 02); then after = 7.
    let blob = [0x0a, 0x04, 0x00, 0x05, 0xac, 0x02, 0x10, 0x07];
    let out = common::statescope(&["show", "--proto", proto.to_str().unwrap(), "--type", "q.State", "-"], Some(&blob));
    assert!(out.status.success());
    let text = common::stdout(&out);
    assert!(text.contains("regs: len = [4 bytes] 0005ac02"), "{text}");
    assert!(
        text.contains("decoding failed in q.State.Regs: field number 0 is not allowed; shown as raw bytes"),
        "{text}"
    );
    assert!(text.contains("after: uint32 = 7"), "the rest is still decoded:\n{text}");
}

#[test]
fn a_malformed_packed_run_is_shown_raw_with_the_reason() {
    // sample.chipset.ioapic.SavedState { id: 1, redirection_entries (packed): 5, then a cut varint }
    let s = schema();
    let bytes = [0x08, 0x01, 0x1a, 0x03, 0x05, 0x80, 0x80];
    let doc = decode(&bytes, &s, Some("sample.chipset.ioapic.SavedState"), Limits::default());
    assert_well_formed(&doc);
    let run = doc.resolve("redirection_entries").unwrap();
    assert_eq!(doc.node(run).kind, NodeKind::Bytes, "no elements are left behind");
    assert_eq!(doc.problems().len(), 1, "{:?}", doc.problems());
    assert!(doc.problems()[0].kind.describe(&doc).contains("packed repeated uint64"));
    assert_eq!(doc.problems()[0].offset, 5, "where the bad varint starts");
}

#[test]
fn a_bad_value_in_a_packed_run_is_reported_the_same_streamed_or_not() {
    // pci.cfg_space_emu.SavedState { base_addresses: [7, 2^33, 9] }: the middle value does
    // not fit uint32. `check` and `show` stream (a packed run's values get no nodes there);
    // `get` decodes whole. All name the same value, at the same byte.
    let mut run = Vec::new();
    for v in [7u64, 1 << 33, 9] {
        write_varint(&mut run, v);
    }
    let mut blob = vec![0x12, run.len() as u8];
    blob.extend_from_slice(&run);
    let ty = ["--type", "sample.pci.cfg_space_emu.SavedState"];
    let check = common::statescope(&[&["check", "-"][..], &ty].concat(), Some(&blob));
    let check = common::stdout(&check);
    assert!(
        check.contains(
            "base_addresses[1]: byte 3: error: saved state is invalid: 8589934592 does not fit a 32-bit unsigned field"
        ),
        "{check}"
    );
    let show = common::stdout(&common::statescope(&[&["show", "-"][..], &ty].concat(), Some(&blob)));
    assert!(
        show.contains("    [0]: uint32 = 7\n    [1]: element = 8589934592 (0x200000000)\n      !! error at byte 3"),
        "{show}"
    );
    assert!(show.contains("[2]: uint32 = 9"), "{show}");
    // Decoded whole (values with nodes), the subtree reads the same.
    let whole = common::statescope(&[&["show", "-", "--path", "base_addresses"][..], &ty].concat(), Some(&blob));
    let whole = common::stdout(&whole);
    assert!(whole.contains("  [1]: element = 8589934592 (0x200000000)\n    !! error at byte 3"), "{whole}");
    let get = common::statescope(&[&["get", "-", "base_addresses[1]"][..], &ty].concat(), Some(&blob));
    assert_eq!(common::stdout(&get), "8589934592\n");
}
