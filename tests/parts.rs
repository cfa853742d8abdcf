//! A blob checked in parts, one per core or many more, is reported exactly as one pass
//! reports it: on healthy blobs, on every broken sample, with unit names repeated across
//! parts, and on hundreds of mutants with their faults anywhere.

mod common;

use statescope::{CheckFormat, Decoder, Pieces, samples};

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
    // Many parts, more than the threads: decoded a few ahead of the one taken next.
    for least in [bytes.len() / 12, 256] {
        let pieces = Pieces { threads: 2, bytes: least.max(1) };
        assert_eq!(common::check_report_in(decoder, bytes, pieces, format), whole, "{what}, in {pieces:?}");
    }
}

#[test]
fn healthy_and_broken_samples_read_the_same_in_parts() {
    let decoder = decoder();
    assert_same_in_parts(&decoder, &samples::large_vm(200_000), "a large healthy VM");
    for (name, path) in common::sample_blobs() {
        assert_same_in_parts(&decoder, &std::fs::read(&path).unwrap(), &name);
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
fn more_threads_than_cores_taking_turns_to_cut_read_the_same_in_parts() {
    // Eight threads on tiny parts: each cuts its own next part under one lock, and the
    // thread writing the report decodes parts too while the one it waits for is not in.
    // Parts then finish out of order, threads wait for room, and the end is found by
    // several at once; the report is the one pass's every time (and the run ends).
    let decoder = decoder();
    let healthy = samples::large_vm(200_000);
    let twice = [samples::VM_STATE, samples::VM_STATE].concat();
    let damaged = common::sample_mutants(&decoder, 0xc07, 12);
    let blobs = [("a large healthy VM", &healthy), ("the sample twice", &twice)];
    for (what, bytes) in blobs.into_iter().chain(damaged.iter().map(|(what, bytes)| (what.as_str(), bytes))) {
        let whole = report(&decoder, bytes, 1, CheckFormat::Text);
        for (threads, least) in [(8, 256), (3, 64), (8, bytes.len() / 9)] {
            let pieces = Pieces { threads, bytes: least.max(1) };
            for round in 0..3 {
                let parts = common::check_report_in(&decoder, bytes, pieces, CheckFormat::Text);
                assert_eq!(parts, whole, "{what}, in {pieces:?}, round {round}");
            }
        }
    }
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

/// `tag` then `value` of a varint field `number`.
fn varint_field(out: &mut Vec<u8>, number: u64, value: u64) {
    statescope::write_varint(out, number << 3);
    statescope::write_varint(out, value);
}

#[test]
fn a_top_level_of_many_distinct_numbers_reads_the_same_in_parts() {
    let decoder = decoder();
    // Unknown numbers, most met once and in order, then the same numbers scattered, so
    // each part's indices and alike problems depend on the parts before it.
    let mut blob = Vec::new();
    for n in 1000..21_000 {
        varint_field(&mut blob, n, 1);
    }
    for i in 0..20_000u64 {
        varint_field(&mut blob, 1000 + (i * 7919) % 20_000, 2);
    }
    assert_same_in_parts(&decoder, &blob, "40,000 unknown fields");
    let every_one = report(&decoder, &blob, 1, CheckFormat::Json);
    assert!(every_one.contains(r##""path":"#1000[1]""##), "the second #1000 has an index");
}

#[test]
fn a_top_level_that_stops_reading_inside_a_middle_part_reads_the_same_in_parts() {
    let decoder = decoder();
    // Unknown fields, then a byte that is no tag (wire type 7) about a third of the way in,
    // after many fields of its part: one pass reads all after it as one unreadable span.
    let mut blob = Vec::new();
    for n in 0..30_000u64 {
        varint_field(&mut blob, 1000 + n % 700, n);
        if n == 11_000 {
            blob.push(0x0f);
        }
    }
    assert!(report(&decoder, &blob, 1, CheckFormat::Text).contains("wire type 7"));
    assert_same_in_parts(&decoder, &blob, "a top level unreadable from a third of the way in");
}

/// A top-level unit of the sample VM named `u` whose state is `state`.
fn unit(state: &[u8]) -> Vec<u8> {
    named_unit(b"u", state)
}

/// A top-level unit of the sample VM named `name` whose state is `state`.
fn named_unit(name: &[u8], state: &[u8]) -> Vec<u8> {
    let url = b"type.googleapis.com/sample.vmtime.SavedState";
    let mut any = vec![0x0a, url.len() as u8];
    any.extend_from_slice(url);
    any.extend_from_slice(&[0x12, state.len() as u8]);
    any.extend_from_slice(state);
    let mut inner = vec![0x0a, name.len() as u8];
    inner.extend_from_slice(name);
    inner.extend_from_slice(&[0x12, any.len() as u8]);
    inner.extend_from_slice(&any);
    let mut unit = vec![0x0a, inner.len() as u8];
    unit.extend_from_slice(&inner);
    unit
}

#[test]
fn names_taking_turns_and_names_first_given_late_read_the_same_in_parts() {
    let decoder = decoder();
    // Thousands of units whose names take turns (each given again, never twice in a row),
    // with a name of its own every 97th unit, some of them given again much later: the
    // parts after the first find each taken where one pass does, however many names the
    // scan met before their cut.
    let blob: Vec<u8> = (0..30_000u32)
        .flat_map(|k| {
            let name = match k % 97 {
                0 => format!("own{}", k / 97 % 150),
                _ => ["a", "b", "c"][(k % 3) as usize].to_owned(),
            };
            named_unit(name.as_bytes(), &[0x08, 0x01])
        })
        .collect();
    // Every problem is named in JSON: the first unit given `own0` again is the 14,550th.
    let every_one = report(&decoder, &blob, 1, CheckFormat::Json);
    let own0_again = r#"{own0: duplicate unit name}","offset":829992,"path":"units[14550]""#;
    assert!(every_one.contains(own0_again), "{}", every_one.lines().take(20).collect::<Vec<_>>().join("\n"));
    assert_same_in_parts(&decoder, &blob, "names taking turns");
}

#[test]
fn blobs_damaged_throughout_read_the_same_when_the_first_part_spends_the_search_budget() {
    let decoder = decoder();
    // Every damaged unit's payload stops inside a varint: each is searched for a likely
    // cause until the budget for the whole input runs out, early in the first part. The
    // parts after it search no more, as the one pass does there: a part that starts
    // damaged decodes again without searching; one that starts with a long clean stretch
    // goes on without a budget.
    let (damaged, clean) = (unit(&[0x08, 0x01, 0x10]), unit(&[0x08, 0x01]));
    let of_size = |unit: &Vec<u8>, size: usize| unit.repeat(size / unit.len());
    let everywhere = of_size(&damaged, 3_000_000);
    let clean_between = [of_size(&damaged, 300_000), of_size(&clean, 2_400_000), of_size(&damaged, 300_000)].concat();
    for (what, blob) in [("damaged everywhere", everywhere), ("clean between", clean_between)] {
        let one_pass = report(&decoder, &blob, 1, CheckFormat::Text);
        let (causes, damaged) = (held_back(&one_pass, "likely cause"), held_back(&one_pass, "failed to decode"));
        assert!(causes > 0 && causes < damaged / 2, "{what}: the budget ran out: {causes} causes, {damaged} units");
        assert_same_in(&decoder, &blob, what, 2..=3, CheckFormat::Text);
    }
}

/// How many problems alike the report held back, whose words begin with `words`.
fn held_back(report: &str, words: &str) -> usize {
    let line = report.lines().find(|l| l.contains(&format!("more like the above: {words}"))).expect(words);
    let count = line.split(": ").find_map(|part| part.strip_suffix(" more like the above")).expect("a count");
    count.parse().expect("a number")
}

#[test]
fn a_top_level_run_of_small_messages_reads_the_same_in_parts() {
    let schema = std::sync::Arc::clone(decoder().schema());
    let decoder = Decoder::new(std::sync::Arc::clone(&schema), schema.pool.get_message_by_name("sample.virt.x86.Msrs"));
    // MSR entries, each under a one-byte tag and length (the scan steps over such a run
    // without reading each anew), broken by an entry too long for a one-byte length and
    // by an unknown top-level field; entries out of range late on name their indices,
    // which count every entry before them, in every part.
    let mut blob = Vec::new();
    for k in 0..20_000u64 {
        let mut entry = Vec::new();
        varint_field(&mut entry, 1, if k % 5_000 == 4_999 { 1 << 33 } else { 0xc000_0080 + k % 4096 });
        varint_field(&mut entry, 2, (0xfee0_0000 << 20) + k * 7919);
        if k == 7_000 {
            varint_field(&mut entry, 3, 1);
            entry.extend(std::iter::repeat_n(0x01, 130).flat_map(|v| [0x18, v]));
        }
        blob.push(0x0a);
        statescope::write_varint(&mut blob, entry.len() as u64);
        blob.extend_from_slice(&entry);
        if k == 12_000 {
            varint_field(&mut blob, 9, 1);
        }
    }
    let one_pass = report(&decoder, &blob, 1, CheckFormat::Text);
    assert!(one_pass.contains("entries[19999]"), "{one_pass}");
    assert_same_in_parts(&decoder, &blob, "20,000 small entries");
}

#[test]
fn top_level_runs_of_values_read_the_same_in_parts() {
    // A part after runs of values numbers its own on from all of theirs, not one per run,
    // whether its values are out of range or of the wrong count.
    let decoder = common::sample_decoder_rooted_at("sample.virt.x86.Apic");
    let blob = common::apic_of_runs(&mut common::Dice(0x0dd5));
    assert_same_in_parts(&decoder, &blob, "runs of a fixed array at the top level");
    let one_pass = report(&decoder, &blob, 1, CheckFormat::Text);
    assert!(one_pass.contains("registers[3212]: byte 17320: error: wrong packed array length"), "{one_pass}");
}

#[test]
fn a_run_of_values_out_of_range_counted_in_a_part_reads_the_same_in_parts() {
    // A unit whose packed run holds 5,000 values out of range, among healthy units: past
    // the first few, its problems are counted rather than kept, in whichever part it is.
    let mut run = Vec::new();
    for i in 0..5_000u64 {
        statescope::write_varint(&mut run, (1 << 33) + i);
    }
    let mut state = vec![0x12];
    statescope::write_varint(&mut state, run.len() as u64);
    state.extend_from_slice(&run);
    let bad = samples::unit_field(b"pci", b"type.googleapis.com/sample.pci.cfg_space_emu.SavedState", &state);
    let blob = [samples::large_vm(300_000), bad, samples::large_vm(300_000)].concat();
    let decoder = decoder();
    let one_pass = report(&decoder, &blob, 1, CheckFormat::Text);
    assert_eq!(held_back(&one_pass, "saved state is invalid"), 4_990, "{one_pass}");
    assert_same_in_parts(&decoder, &blob, "a long run of values out of range among healthy units");
}
