//! `show`'s tree of runs of clean top-level messages of every shape (nested messages, Any
//! payloads, an Any in an Any, packed and unpacked values of one field, fields given twice
//! or out of order), written from their bytes rather than built, is a whole decode's tree
//! line for line, in one pass and in parts, around messages with problems of every kind.

mod common;

use common::{Dice, len_field, varint_field};
use statescope::{Decoder, NodeId, Pieces, Source, TreeOptions, samples, write_tree, write_tree_streaming};

/// A decoder of tests/data/clean_runs.proto, rooted at `cleanruns.Root`.
fn clean_runs_decoder() -> Decoder {
    clean_runs_decoder_at("cleanruns.Root")
}

/// A decoder of tests/data/clean_runs.proto, rooted at `root`.
fn clean_runs_decoder_at(root: &str) -> Decoder {
    let proto = common::root().join("tests/data/clean_runs.proto");
    let sources = statescope::SchemaSources { proto_files: vec![proto], ..Default::default() };
    let schema = std::sync::Arc::new(statescope::Schema::load(&sources).unwrap());
    let root = schema.pool.get_message_by_name(root);
    Decoder::new(schema, root)
}

/// The tree of a whole decode of `bytes`, and the advice it leaves to say after it.
fn whole_tree(decoder: &Decoder, bytes: &[u8]) -> String {
    let doc = decoder.decode(Source::new(bytes.to_vec()));
    let mut out = Vec::new();
    let written = write_tree(&doc, NodeId::ROOT, TreeOptions::default(), &mut out).unwrap();
    String::from_utf8(out).unwrap() + &written.advice().unwrap_or_default()
}

/// The tree `show` streams, in `pieces`, and the advice it leaves to say after it.
fn streamed_tree(decoder: &Decoder, bytes: &[u8], pieces: Pieces) -> String {
    let mut out = Vec::new();
    let options = TreeOptions::default();
    let written = write_tree_streaming(decoder, Source::new(bytes.to_vec()), options, pieces, &mut out).unwrap();
    String::from_utf8(out).unwrap() + &written.advice().unwrap_or_default()
}

/// Streamed in one pass and in parts, the tree is the whole decode's.
fn assert_streams_as_whole(decoder: &Decoder, bytes: &[u8], what: &str) {
    let whole = whole_tree(decoder, bytes);
    for pieces in [Pieces { threads: 1, bytes: bytes.len() }, Pieces { threads: 2, bytes: 700 }] {
        let streamed = streamed_tree(decoder, bytes, pieces);
        if streamed != whole {
            let at = streamed.lines().zip(whole.lines()).position(|(s, w)| s != w).unwrap_or(0);
            let (s, w) = (streamed.lines().nth(at), whole.lines().nth(at));
            panic!("{what}, {pieces:?}: line {at} streams as {s:?}, a whole decode shows {w:?}");
        }
    }
}

/// The bytes of an Any: its type URL and payload in some order, at times with an earlier
/// `value`, a URL given twice, or an Any in it.
fn any(dice: &mut Dice, depth: u32) -> Vec<u8> {
    let (url, payload): (&[u8], Vec<u8>) = match dice.below(4) {
        0 if depth < 3 => (b"type.googleapis.com/google.protobuf.Any", any(dice, depth + 1)),
        1 if depth < 3 => (b"type.googleapis.com/cleanruns.Unit", unit(dice, depth + 1)),
        _ => (b"type.googleapis.com/cleanruns.Inner", inner(dice, depth + 1)),
    };
    let mut out = Vec::new();
    if dice.below(6) == 0 {
        len_field(&mut out, 2, b"an earlier value");
    }
    if dice.below(6) == 0 {
        len_field(&mut out, 1, b"type.googleapis.com/an.Earlier");
    }
    if dice.below(3) == 0 {
        len_field(&mut out, 2, &payload);
        len_field(&mut out, 1, url);
    } else {
        len_field(&mut out, 1, url);
        if dice.below(8) > 0 {
            len_field(&mut out, 2, &payload);
        }
    }
    out
}

fn inner(dice: &mut Dice, depth: u32) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..dice.below(5) {
        match dice.below(5) {
            0 => varint_field(&mut out, 1, dice.below(1 << 31)),
            1 if depth < 4 => len_field(&mut out, 2, &inner(dice, depth + 1)),
            2 if depth < 4 => len_field(&mut out, 3, &any(dice, depth + 1)),
            3 => varint_field(&mut out, 4, dice.below(u64::MAX)),
            _ => {
                let mut run = Vec::new();
                (0..dice.below(4)).for_each(|_| statescope::write_varint(&mut run, dice.below(1000)));
                len_field(&mut out, 4, &run);
            }
        }
    }
    out
}

/// A unit's bytes, its fields in any order, some given twice, its names some that need
/// escaping.
fn unit(dice: &mut Dice, depth: u32) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..dice.below(9) {
        match dice.below(12) {
            0 => len_field(
                &mut out,
                1,
                ["vp0", "gäst-α", "a \"quoted\"\\name", "\u{1b}[2J"][dice.below(4) as usize].as_bytes(),
            ),
            1 if depth < 4 => len_field(&mut out, 2, &any(dice, depth + 1)),
            2 => varint_field(&mut out, 3, dice.below(1 << 32)),
            3 => {
                let mut run = Vec::new();
                (0..dice.below(5)).for_each(|_| statescope::write_varint(&mut run, dice.below(1 << 32)));
                len_field(&mut out, 3, &run);
            }
            4 if depth < 4 => len_field(&mut out, 4, &inner(dice, depth + 1)),
            5 => varint_field(&mut out, 5, dice.below(3)),
            6 => len_field(&mut out, 6, &[0, 1, 0xff, b'x'][..dice.below(5) as usize]),
            7 if depth < 4 => len_field(&mut out, 7, &inner(dice, depth + 1)),
            8 => {
                statescope::write_varint(&mut out, 8 << 3 | 1);
                out.extend_from_slice(&(dice.below(1000) as f64 / 7.0).to_le_bytes());
            }
            9 => {
                statescope::write_varint(&mut out, 9 << 3 | 5);
                out.extend_from_slice(&(dice.below(1 << 32) as u32).to_le_bytes());
            }
            _ => {
                let run: Vec<u8> = (0..dice.below(3)).flat_map(|_| dice.below(u64::MAX).to_le_bytes()).collect();
                len_field(&mut out, 10, &run);
            }
        }
    }
    out
}

/// A unit, or one damaged in one of the ways a unit can be: a value out of range, bad
/// UTF-8, the wrong wire type, an unknown field or type URL, bytes that do not read.
fn maybe_damaged(dice: &mut Dice) -> Vec<u8> {
    let mut out = unit(dice, 0);
    match dice.below(30) {
        0 => varint_field(&mut out, 3, 1 << 33),
        1 => len_field(&mut out, 1, &[0xc3, 0x28]),
        2 => len_field(&mut out, 5, b"x"),
        3 => varint_field(&mut out, 99, 5),
        4 => {
            let mut bad = Vec::new();
            len_field(&mut bad, 1, b"type.googleapis.com/no.Such");
            len_field(&mut out, 2, &bad);
        }
        5 => out.extend_from_slice(&[0xff, 0xff]),
        _ => {}
    }
    out
}

/// A root of runs of units, long and short, among other top-level fields.
fn runs_of_units(dice: &mut Dice) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..14 {
        let run = [dice.below(4), dice.below(40), 2100 + dice.below(100)][dice.below(3) as usize];
        (0..run).for_each(|_| len_field(&mut out, 1, &maybe_damaged(dice)));
        match dice.below(5) {
            0 => len_field(&mut out, 2, &any(dice, 0)),
            1 => varint_field(&mut out, 3, dice.below(100)),
            2 => varint_field(&mut out, 77, dice.below(100)),
            _ => {}
        }
    }
    out
}

#[test]
fn runs_of_clean_messages_of_every_shape_show_as_a_whole_decode_builds_them() {
    let decoder = clean_runs_decoder();
    for seed in 1..=5u64 {
        let bytes = runs_of_units(&mut Dice(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
        let whole = whole_tree(&decoder, &bytes);
        for shape in ["Any → google.protobuf.Any", "@value: bytes", "@type[1]", "packed uint32", "[1]: cleanruns.Inner"]
        {
            assert!(whole.contains(shape), "seed {seed}: no `{shape}` in the tree");
        }
        assert!(whole.contains("!! error"), "seed {seed}: some units have problems");
        assert_streams_as_whole(&decoder, &bytes, &format!("seed {seed}"));
    }
}

#[test]
fn the_samples_and_their_mutants_show_as_a_whole_decode_builds_them() {
    let decoder = common::sample_decoder();
    assert_streams_as_whole(&decoder, &samples::large_vm(300_000), "a large healthy VM");
    for (name, path) in common::sample_blobs() {
        assert_streams_as_whole(&decoder, &std::fs::read(&path).unwrap(), &name);
    }
    for (what, bytes) in common::sample_mutants(&decoder, 0xc1ea, 60) {
        assert_streams_as_whole(&decoder, &bytes, &what);
    }
    if let Some(openvmm) = common::openvmm() {
        let decoder = common::openvmm_decoder(&openvmm);
        let state = std::fs::read(openvmm.join("state.bin")).unwrap();
        assert_streams_as_whole(&decoder, &state, "the real state");
    }
}

#[test]
fn long_runs_of_values_made_on_two_cores_show_as_one_core_writes_them() {
    // A top-level run of a megabyte and more is one part: with two threads, its rows are
    // made on both cores, a piece each in turn.
    let decoder = clean_runs_decoder_at("cleanruns.Unit");
    let mut dice = Dice(0x2c04_e5b1);
    // Varints of one to five bytes, some out of a uint32's range (each a problem, found
    // again from its value where it is written), and fixed64 values.
    let (mut values, mut wide) = (Vec::new(), Vec::new());
    while values.len() < 1_100_000 {
        let bits = [7, 14, 21, 28, 32, 35][dice.below(6) as usize];
        statescope::write_varint(&mut values, dice.below(1 << bits));
    }
    while wide.len() < 1_100_000 {
        wide.extend_from_slice(&dice.below(u64::MAX).to_le_bytes());
    }
    let mut alone = Vec::new();
    len_field(&mut alone, 3, &values);
    let mut all = Vec::new();
    len_field(&mut all, 1, b"unit");
    all.extend_from_slice(&alone);
    len_field(&mut all, 10, &wide);
    let whole = whole_tree(&decoder, &all);
    assert!(whole.contains("wide: packed fixed64 = [137500 elements]\n"), "one run of fixed64 values");
    assert!(whole.contains("\n    [137499]: fixed64 = "), "every value has its row");
    let out_of_range = whole.matches("does not fit a 32-bit unsigned field").count();
    assert!(out_of_range > 10_000, "{out_of_range} values out of range");
    assert_streams_as_whole(&decoder, &alone, "a run of varints alone");
    assert_streams_as_whole(&decoder, &all, "a run of varints and one of fixed64 values");
}
