//! `show`'s tree and text format of a large blob, decoded and written a part at a time on
//! two threads, are the one pass's line for line: on healthy blobs, on every broken
//! sample, with unit names repeated across parts, on mutants with their faults anywhere,
//! and with offsets.

mod common;

use statescope::{
    Decoder, Pieces, Source, TextOptions, TreeOptions, samples, write_text_streaming, write_tree_streaming,
};

use common::sample_decoder as decoder;

fn tree(decoder: &Decoder, bytes: &[u8], pieces: Pieces, options: TreeOptions) -> String {
    let mut out = Vec::new();
    write_tree_streaming(decoder, Source::new(bytes.to_vec()), options, pieces, &mut out).unwrap();
    String::from_utf8(out).unwrap()
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

/// `number` written length-delimited with `bytes`.
fn len_field(out: &mut Vec<u8>, number: u64, bytes: &[u8]) {
    statescope::write_varint(out, number << 3 | 2);
    statescope::write_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
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
