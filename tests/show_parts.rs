//! `show`'s tree and text format of a large blob, decoded and written a part at a time on
//! two threads, are the one pass's line for line: on healthy blobs, on every broken
//! sample, with unit names repeated across parts, on mutants with their faults anywhere,
//! and with offsets. A run of small clean top-level messages, listed from its bytes rather
//! than built, shows as a whole decode's nodes show it.

mod common;

use statescope::{
    Decoder, NodeId, Pieces, ProblemKind, Source, TextOptions, TreeOptions, samples, write_text, write_text_streaming,
    write_tree, write_tree_streaming,
};

use common::sample_decoder as decoder;
use common::{Dice, len_field, varint_field};

/// The tree `show` streams, and the advice it leaves to say after it.
fn tree(decoder: &Decoder, bytes: &[u8], pieces: Pieces, options: TreeOptions) -> String {
    let mut out = Vec::new();
    let written = write_tree_streaming(decoder, Source::new(bytes.to_vec()), options, pieces, &mut out).unwrap();
    String::from_utf8(out).unwrap() + &written.advice().unwrap_or_default()
}

/// The tree of a whole document, and the advice it leaves to say after it.
fn whole_tree(doc: &statescope::Document, options: TreeOptions) -> String {
    let mut out = Vec::new();
    let written = write_tree(doc, NodeId::ROOT, options, &mut out).unwrap();
    String::from_utf8(out).unwrap() + &written.advice().unwrap_or_default()
}

/// The text format, and how many fields it left out; `None` where it is not streamed.
fn text(decoder: &Decoder, bytes: &[u8], pieces: Pieces, options: TextOptions) -> Option<(String, usize)> {
    let mut out = Vec::new();
    let omitted =
        write_text_streaming(decoder, Source::new(bytes.to_vec()), options, pieces, &mut out).unwrap().ok()?;
    Some((String::from_utf8(out).unwrap(), omitted))
}

/// In parts of a few sizes, the tree (with and without offsets) and the text format
/// (with Any expanded or not) are the one pass's.
fn assert_same_in_parts(decoder: &Decoder, bytes: &[u8], what: &str) {
    let one_pass = Pieces { threads: 1, bytes: bytes.len() };
    let in_parts = [bytes.len() / 3, bytes.len() / 16, 200].map(|least| Pieces { threads: 2, bytes: least.max(1) });
    for options in [TreeOptions::default(), TreeOptions { offsets: true }] {
        let whole = tree(decoder, bytes, one_pass, options);
        for pieces in in_parts {
            assert_eq!(tree(decoder, bytes, pieces, options), whole, "{what}, in {pieces:?}, {options:?}");
        }
    }
    for options in [TextOptions { expand_any: true }, TextOptions { expand_any: false }] {
        let whole = text(decoder, bytes, one_pass, options);
        for pieces in in_parts {
            assert_eq!(text(decoder, bytes, pieces, options), whole, "{what}, text in {pieces:?}, {options:?}");
        }
    }
}

#[test]
fn healthy_and_broken_samples_show_the_same_tree_in_parts() {
    let decoder = decoder();
    let large = samples::large_vm(100_000);
    assert!(tree(&decoder, &large, Pieces { threads: 2, bytes: 200 }, TreeOptions::default()).lines().count() > 1000);
    let streamed = text(&decoder, &large, Pieces { threads: 2, bytes: 200 }, TextOptions { expand_any: true });
    assert!(streamed.is_some_and(|(text, _)| text.lines().count() > 1000), "the text of a healthy VM streams");
    assert_same_in_parts(&decoder, &large, "a large healthy VM");
    assert_same_in_parts(&decoder, &[samples::VM_STATE, samples::VM_STATE].concat(), "the sample twice");
    for (name, path) in common::sample_blobs() {
        assert_same_in_parts(&decoder, &std::fs::read(&path).unwrap(), &name);
    }
}

#[test]
fn mutants_with_faults_anywhere_show_the_same_tree_in_parts() {
    let decoder = decoder();
    let mutants = common::sample_mutants(&decoder, 0x7ee, 60);
    assert!(mutants.len() > 40, "only {} mutants were made", mutants.len());
    for (what, bytes) in &mutants {
        let whole = tree(&decoder, bytes, Pieces { threads: 1, bytes: bytes.len() }, TreeOptions::default());
        let pieces = Pieces { threads: 2, bytes: 300 };
        assert_eq!(tree(&decoder, bytes, pieces, TreeOptions::default()), whole, "{what}");
        let options = TextOptions { expand_any: true };
        let whole = text(&decoder, bytes, Pieces { threads: 1, bytes: bytes.len() }, options);
        assert_eq!(text(&decoder, bytes, pieces, options), whole, "{what}, text");
    }
}

#[test]
fn values_out_of_range_show_each_with_its_problem_as_a_whole_decode_shows_them() {
    // A streamed run keeps only its first value's problem out of range and counts the
    // rest; each must still show under its own value, as a whole decode, which has a node
    // and a problem for every value, shows it. In parts, each run's values are numbered
    // on from those of the runs before it.
    let decoder = common::sample_decoder_rooted_at("sample.virt.x86.Apic");
    let blob = common::apic_of_runs(&mut Dice(0x0dd5));
    let doc = decoder.decode(Source::new(blob.clone()));
    let out_of_range = doc.problems().iter().filter(|p| matches!(p.kind, ProblemKind::OutOfRange { .. })).count();
    let lengths = doc.problems().iter().filter(|p| matches!(p.kind, ProblemKind::WrongArrayLength { .. })).count();
    assert!(out_of_range > 1000 && lengths > 3, "{out_of_range} values out of range, {lengths} wrong lengths");
    for options in [TreeOptions::default(), TreeOptions { offsets: true }] {
        let whole = whole_tree(&doc, options);
        assert_eq!(whole.matches("does not fit a 32-bit unsigned field").count(), out_of_range);
        for pieces in [Pieces { threads: 1, bytes: blob.len() }, Pieces { threads: 2, bytes: 300 }] {
            assert_eq!(tree(&decoder, &blob, pieces, options), whole, "in {pieces:?}, {options:?}");
        }
    }
    let options = TextOptions { expand_any: true };
    let mut whole = Vec::new();
    let omitted = write_text(&doc, NodeId::ROOT, options, &mut whole).unwrap();
    let whole = Some((String::from_utf8(whole).unwrap(), omitted));
    for pieces in [Pieces { threads: 1, bytes: blob.len() }, Pieces { threads: 2, bytes: 300 }] {
        assert_eq!(text(&decoder, &blob, pieces, options), whole, "text in {pieces:?}");
    }
}

#[test]
fn the_real_openvmm_state_shows_the_same_tree_in_parts() {
    let Some(openvmm) = common::openvmm() else { return };
    let decoder = common::openvmm_decoder(&openvmm);
    let state = std::fs::read(openvmm.join("state.bin")).unwrap();
    assert_same_in_parts(&decoder, &state.repeat(3), "the real state three times");
}

#[test]
fn show_of_a_large_file_on_every_core_prints_what_one_thread_prints() {
    // Past the size from which `show` cuts the file in parts, with a unit name taken
    // again in each copy after the first, so problems are written in parts too.
    let dir = common::scratch_dir("show-parts");
    let blob = [samples::large_vm(5 << 20), samples::VM_STATE.to_vec()].concat().repeat(2);
    let path = dir.path().join("large.bin");
    std::fs::write(&path, &blob).unwrap();
    let path = path.to_str().unwrap();
    for format in ["tree", "text"] {
        let one = common::statescope(&["show", "--format", format, "-j", "1", path], None);
        let every_core = common::statescope(&["show", "--format", format, path], None);
        let two = common::statescope(&["show", "--format", format, "--jobs", "2", path], None);
        assert!(one.status.success(), "{}", String::from_utf8_lossy(&one.stderr));
        assert!(common::stdout(&one).lines().count() > 100_000, "{format}");
        assert_eq!(common::stdout(&every_core), common::stdout(&one), "{format}");
        assert_eq!(common::stdout(&two), common::stdout(&one), "{format}");
    }
    let tree = common::stdout(&common::statescope(&["show", path], None));
    assert!(tree.contains("duplicate unit name"));
}

#[test]
fn a_unit_whose_lines_are_too_many_to_hold_is_written_again_in_order_among_parts() {
    // A unit of 200,000 MSR entries, about 10 MB of lines: more than a part holds, so its
    // part is written again in order while the small units around it stay in parts.
    let mut msrs = Vec::new();
    for i in 0..200_000u64 {
        let mut entry = Vec::new();
        statescope::write_varint(&mut entry, 1 << 3);
        statescope::write_varint(&mut entry, 0xc000_0080 + i);
        statescope::write_varint(&mut entry, 2 << 3);
        statescope::write_varint(&mut entry, i * 7919);
        len_field(&mut msrs, 1, &entry);
    }
    let big = samples::unit_field(b"msrs", b"type.googleapis.com/sample.virt.x86.Msrs", &msrs);
    let small = samples::large_vm(300_000);
    let blob = [small.clone(), big, small].concat();
    let decoder = decoder();
    let whole = tree(&decoder, &blob, Pieces { threads: 1, bytes: blob.len() }, TreeOptions::default());
    assert!(whole.len() > 8 << 20, "the unit's lines are more than a part holds: {} bytes", whole.len());
    for least in [20_000, blob.len() / 4] {
        let pieces = Pieces { threads: 2, bytes: least };
        assert!(tree(&decoder, &blob, pieces, TreeOptions::default()) == whole, "in {pieces:?}");
        let options = TextOptions { expand_any: true };
        let text_whole = text(&decoder, &blob, Pieces { threads: 1, bytes: blob.len() }, options);
        assert!(text(&decoder, &blob, pieces, options) == text_whole, "text in {pieces:?}");
    }
}

#[test]
fn text_streams_a_top_level_whose_undeclared_fields_come_last_as_the_whole_decode_prints_it() {
    let decoder = decoder();
    let units = samples::large_vm(300_000);
    let mut undeclared = Vec::new();
    for number in [900u64, 7, 900, 12_345] {
        statescope::write_varint(&mut undeclared, number << 3);
        statescope::write_varint(&mut undeclared, number * 3);
    }
    let options = TextOptions { expand_any: true };
    let whole_text = |bytes: &[u8]| {
        let doc = decoder.decode(Source::new(bytes.to_vec()));
        let mut out = Vec::new();
        statescope::write_text(&doc, statescope::NodeId::ROOT, options, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    };
    // Undeclared fields last, in any order: text format prints them last, as they come.
    let last = [units.clone(), undeclared.clone()].concat();
    for pieces in [Pieces { threads: 1, bytes: last.len() }, Pieces { threads: 2, bytes: 5000 }] {
        let (streamed, _) = text(&decoder, &last, pieces, options).expect("undeclared fields last stream");
        assert_eq!(streamed, whole_text(&last), "in {pieces:?}");
        assert!(
            streamed.ends_with("900: 2700\n7: 21\n900: 2700\n12345: 37035\n"),
            "{}",
            &streamed[streamed.len() - 80..]
        );
    }
    // A declared field after an undeclared one is printed before it: not streamed.
    let between = [units.clone(), undeclared, units].concat();
    assert_eq!(text(&decoder, &between, Pieces { threads: 2, bytes: 5000 }, options), None);
}

#[test]
fn text_of_a_blob_no_type_fits_streams_as_the_whole_decode_prints_it() {
    // Raw wire fields, as `show` prints a blob no registered type fits: every field is
    // undeclared, so text format prints them all in wire order, and they stream.
    let raw = common::raw_decoder();
    let mut blob = Vec::new();
    for i in 0..4000u64 {
        // Distinct numbers and some again, now and then a group, bytes and a fixed field.
        varint_field(&mut blob, 1000 + (i * 7) % 3000, i);
        match i % 500 {
            3 => blob.extend_from_slice(&[0x0b, 0x08, 0x01, 0x0c]),
            7 => len_field(&mut blob, 2, &[0x08, 0x01]),
            9 => blob.extend_from_slice(&[0x1d, 1, 2, 3, 4]),
            _ => {}
        }
    }
    let whole_text = |bytes: &[u8]| {
        let doc = raw.decode(Source::new(bytes.to_vec()));
        let mut out = Vec::new();
        let omitted = write_text(&doc, NodeId::ROOT, TextOptions { expand_any: true }, &mut out).unwrap();
        (String::from_utf8(out).unwrap(), omitted)
    };
    let cut = [blob.as_slice(), &[0x12, 0x09, 0x01]].concat();
    for (what, bytes) in [("whole", &blob), ("its last field cut short", &cut)] {
        let whole = whole_text(bytes);
        assert!(whole.0.lines().count() > 4000, "{what}: {} lines", whole.0.lines().count());
        for pieces in [Pieces { threads: 1, bytes: bytes.len() }, Pieces { threads: 2, bytes: 2000 }] {
            let streamed = text(&raw, bytes, pieces, TextOptions { expand_any: true });
            assert!(streamed.as_ref() == Some(&whole), "{what}, in {pieces:?}");
        }
    }
}

/// A decoder of tests/data/listed_runs.proto, rooted at `listedruns.Root`.
fn listed_runs_decoder() -> Decoder {
    let proto = common::root().join("tests/data/listed_runs.proto");
    let sources = statescope::SchemaSources { proto_files: vec![proto], ..Default::default() };
    let schema = std::sync::Arc::new(statescope::Schema::load(&sources).unwrap());
    let root = schema.pool.get_message_by_name("listedruns.Root");
    Decoder::new(schema, root)
}

/// An `Entry`: mostly clean, its leaves in any order, some given twice; else, when it may
/// be `damaged`, damaged in one way a message of leaves can be.
fn entry(dice: &mut Dice, damaged: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..dice.below(6) {
        match dice.below(10) {
            0 => varint_field(&mut out, 1, 0xc000_0000 + dice.below(1 << 20)),
            1 => varint_field(&mut out, 2, dice.below(u64::MAX)),
            2 => len_field(&mut out, 3, b"vp0"),
            3 => len_field(&mut out, 4, &[0, 1, 0xff]),
            4 => varint_field(&mut out, 5, dice.below(3)),
            5 => varint_field(&mut out, 6, dice.below(300)),
            6 => varint_field(&mut out, 7, dice.below(1000)),
            7 => {
                statescope::write_varint(&mut out, 8 << 3 | 1);
                out.extend_from_slice(&(dice.below(1000) as f64 / 7.0).to_le_bytes());
            }
            8 => varint_field(&mut out, 9, dice.below(2)),
            _ => {
                statescope::write_varint(&mut out, 10 << 3 | 5);
                out.extend_from_slice(&(dice.below(1 << 32) as u32).to_le_bytes());
            }
        }
    }
    match dice.below(40) {
        _ if !damaged => {}
        // Out of range, an unknown field, the wrong wire type (twice), bad UTF-8, a packed
        // run, more leaves than a listed message holds, a varint longer than it need be,
        // bytes that do not read.
        0 => varint_field(&mut out, 1, 1 << 33),
        1 => varint_field(&mut out, 11, 5),
        2 => len_field(&mut out, 1, b"x"),
        3 => len_field(&mut out, 3, &[0xc3, 0x28]),
        4 => len_field(&mut out, 6, &[1, 2, 3]),
        5 => (0..70).for_each(|k| varint_field(&mut out, 6, k)),
        6 => out.extend_from_slice(&[1 << 3, 0x81, 0x80, 0x80, 0x80, 0x00]),
        7 => out.extend_from_slice(&[0xff, 0xff]),
        8 => varint_field(&mut out, 10, 5),
        _ => {}
    }
    out
}

/// A root of runs of entries, long and short, among other top-level fields; or, `in_order`
/// as text format prints them, with the other fields after the entries.
fn runs_of_entries(dice: &mut Dice, in_order: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for k in 0..13 {
        let run = [dice.below(4), dice.below(40), 2100 + dice.below(100)][dice.below(3) as usize];
        if k < 12 {
            (0..run).for_each(|_| len_field(&mut out, 1, &entry(dice, true)));
        }
        if in_order && k < 12 {
            continue;
        }
        match dice.below(6) {
            0 => len_field(&mut out, 2, &[1 << 3, dice.below(100) as u8]),
            1 => len_field(&mut out, 3, &entry(dice, true)),
            2 => varint_field(&mut out, 4, dice.below(100)),
            3 => varint_field(&mut out, 99, dice.below(100)),
            _ => {}
        }
    }
    out
}

#[test]
fn runs_of_small_messages_listed_from_their_bytes_show_as_a_whole_decode_builds_them() {
    // In the tree, in text format, which prints a message's fields by number, and in JSON,
    // which keeps a singular field's last value.
    let decoder = listed_runs_decoder();
    for seed in 1..=6u64 {
        let bytes = runs_of_entries(&mut Dice(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)), false);
        let doc = decoder.decode(Source::new(bytes.clone()));
        for options in [TreeOptions::default(), TreeOptions { offsets: true }] {
            let whole = whole_tree(&doc, options);
            assert!(whole.lines().count() > 5000, "seed {seed}: {} lines", whole.lines().count());
            for pieces in [Pieces { threads: 1, bytes: bytes.len() }, Pieces { threads: 2, bytes: 3000 }] {
                let listed = tree(&decoder, &bytes, pieces, options);
                assert!(listed == whole, "seed {seed}, {pieces:?}, {options:?}");
            }
        }
        let bytes = runs_of_entries(&mut Dice(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)), true);
        let doc = decoder.decode(Source::new(bytes.clone()));
        let options = TextOptions { expand_any: true };
        let mut whole = Vec::new();
        let omitted = statescope::write_text(&doc, statescope::NodeId::ROOT, options, &mut whole).unwrap();
        let whole = (String::from_utf8(whole).unwrap(), omitted);
        assert!(whole.1 > 0 && whole.0.lines().count() > 5000, "seed {seed}: {} omitted", whole.1);
        for pieces in [Pieces { threads: 1, bytes: bytes.len() }, Pieces { threads: 2, bytes: 3000 }] {
            let listed = text(&decoder, &bytes, pieces, options).expect("the top level is in order");
            assert!(listed == whole, "seed {seed}, text in {pieces:?}");
        }
        // JSON, of clean entries only (it refuses a blob with problems).
        let mut dice = Dice(seed.wrapping_mul(0x2545_f491_4f6c_dd1d));
        let mut bytes = Vec::new();
        (0..3000).for_each(|_| len_field(&mut bytes, 1, &entry(&mut dice, false)));
        len_field(&mut bytes, 2, &[1 << 3, 7]);
        let mut whole = Vec::new();
        statescope::write_json(
            &decoder.decode(Source::new(bytes.clone())),
            statescope::NodeId::ROOT,
            false,
            &mut whole,
        )
        .unwrap();
        assert!(whole.len() > 100_000, "seed {seed}: {} bytes of JSON", whole.len());
        for pieces in [Pieces { threads: 1, bytes: bytes.len() }, Pieces { threads: 2, bytes: 3000 }] {
            let mut listed = Vec::new();
            let streamed =
                statescope::write_json_streaming(&decoder, Source::new(bytes.clone()), false, pieces, &mut listed);
            assert!(streamed.unwrap().is_ok(), "seed {seed}: JSON streams");
            assert!(listed == whole, "seed {seed}, JSON in {pieces:?}");
        }
    }
}

#[test]
fn the_advice_to_load_schemas_is_left_to_say_once_whichever_part_met_an_unknown_field() {
    let decoder = decoder();
    let large = samples::large_vm(100_000);
    let written = |bytes: &[u8], pieces| {
        let mut out = Vec::new();
        let written =
            write_tree_streaming(&decoder, Source::new(bytes.to_vec()), TreeOptions::default(), pieces, &mut out);
        (written.unwrap(), String::from_utf8(out).unwrap())
    };
    let one_pass = Pieces { threads: 1, bytes: usize::MAX };
    let in_parts = Pieces { threads: 2, bytes: 200 };
    for pieces in [one_pass, in_parts] {
        assert_eq!(written(&large, pieces).0.advice(), None, "a healthy VM needs no advice, {pieces:?}");
    }
    // One field a unit's type lacks, in a part of the middle: the last part is always
    // handed over field by field, the others gather their lines on their own.
    let mut unit = Vec::new();
    len_field(&mut unit, 1, b"lacking");
    varint_field(&mut unit, 1000, 7);
    let mut blob = large.clone();
    len_field(&mut blob, 1, &unit);
    blob.extend_from_slice(&large);
    for pieces in [one_pass, in_parts] {
        let (said, tree) = written(&blob, pieces);
        let advice = said.advice().unwrap_or_else(|| panic!("the advice is left to say, {pieces:?}"));
        assert!(advice.ends_with("load the VMM's schema folder with --proto-dir"), "{advice}");
        let warnings: Vec<&str> = tree.lines().filter(|l| l.contains("?? warning")).collect();
        assert_eq!(warnings.len(), 1, "{pieces:?}");
        let words = "field not in sample.state_unit.SavedStateUnit: written by a newer release?";
        assert!(warnings[0].ends_with(words), "{}", warnings[0]);
    }
}
