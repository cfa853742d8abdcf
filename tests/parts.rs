//! A blob checked in parts, one per core, is reported exactly as one pass reports it: on
//! healthy blobs, on every broken sample, with unit names repeated across parts, and on
//! hundreds of mutants with their faults anywhere.

mod common;

use statescope::{CheckFormat, Decoder, samples};

use common::{check_report as report, sample_decoder as decoder};

/// Every part count from 2 to 4 gives the one-pass report, in both formats.
fn assert_same_in_parts(decoder: &Decoder, bytes: &[u8], what: &str) {
    for format in [CheckFormat::Text, CheckFormat::Json] {
        assert_same_in(decoder, bytes, what, 2..=4, format);
    }
}

fn assert_same_in(
    decoder: &Decoder,
    bytes: &[u8],
    what: &str,
    parts: std::ops::RangeInclusive<usize>,
    format: CheckFormat,
) {
    let whole = report(decoder, bytes, 1, format);
    for parts in parts {
        assert_eq!(report(decoder, bytes, parts, format), whole, "{what}, in {parts} parts");
    }
}

#[test]
fn healthy_and_broken_samples_read_the_same_in_parts() {
    let decoder = decoder();
    assert_same_in_parts(&decoder, &samples::large_vm(200_000), "a large healthy VM");
    assert_same_in_parts(&decoder, samples::VM_STATE, "the sample");
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/broken")).unwrap() {
        let path = entry.unwrap().path();
        assert_same_in_parts(&decoder, &std::fs::read(&path).unwrap(), &path.display().to_string());
    }
}

#[test]
fn names_and_array_lengths_met_in_an_earlier_part_still_count() {
    let decoder = decoder();
    // The sample twice: every unit name of the second copy is taken in the first.
    let twice = [samples::VM_STATE, samples::VM_STATE].concat();
    let one_pass = report(&decoder, &twice, 1, CheckFormat::Text);
    assert!(one_pass.contains("duplicate unit name"), "{one_pass}");
    assert_same_in_parts(&decoder, &twice, "the sample twice");
}

#[test]
fn mutants_with_faults_anywhere_read_the_same_in_parts() {
    let decoder = decoder();
    let mutants = common::sample_mutants(&decoder, 0x5eed, 120);
    for (what, bytes) in &mutants {
        // Each fault is searched for its cause in every decode that reads it: two part
        // counts keep the test quick.
        assert_same_in(&decoder, bytes, what, 2..=3, CheckFormat::Text);
    }
    assert!(mutants.len() > 80, "only {} mutants were made", mutants.len());
}

#[test]
fn the_real_openvmm_state_reads_the_same_in_parts() {
    let Some(openvmm) = common::openvmm() else { return };
    let decoder = common::openvmm_decoder(&openvmm);
    let state = std::fs::read(openvmm.join("state.bin")).unwrap();
    assert_same_in_parts(&decoder, &state, "the real state");
    // Repeated, its units' names repeat: the parts after the first find them taken.
    assert_same_in_parts(&decoder, &state.repeat(3), "the real state three times");
}
