//! `check` skims a clean top-level message (counts its fields, builds no node) and builds
//! only those that may hold a problem: its report is byte for byte that of a full decode,
//! on healthy and broken samples, repeated unit names, the real OpenVMM state and hundreds
//! of mutants, in one pass and in parts.

mod common;

use statescope::{CheckFormat, Decoder, Document, NodeId, Source, samples, write_varint};

use common::{check_report as report, sample_decoder};

/// The skimming check reports what the full one does, in both formats, in 1 and 2 parts.
fn assert_skims_the_same(decoder: &Decoder, bytes: &[u8], what: &str) {
    assert_skims_the_same_in(decoder, bytes, what, &[CheckFormat::Text, CheckFormat::Json]);
}

fn assert_skims_the_same_in(decoder: &Decoder, bytes: &[u8], what: &str, formats: &[CheckFormat]) {
    let skimming = decoder.clone().skimming_clean_fields();
    for &format in formats {
        for parts in [1, 2] {
            let full = report(decoder, bytes, parts, format);
            assert_eq!(report(&skimming, bytes, parts, format), full, "{what}, {format:?}, {parts} part(s)");
        }
    }
}

/// The top-level nodes a skimming decode hands over: how many are skimmed (each a clean
/// field, or the last of a run of them), and how many were built.
fn skimmed(decoder: &Decoder, bytes: &[u8]) -> (usize, usize) {
    let (mut skimmed, mut built) = (0, 0);
    let mut hook = |doc: &Document, top: NodeId| {
        for id in (top.index()..doc.node_count()).map(NodeId::from_index) {
            if doc.parent(id) != Some(NodeId::ROOT) {
                continue;
            }
            // The skimmed node is the one from which on skimmed fields are counted, and
            // from the next on none (each skimmed field here holds some).
            match doc.fields_skimmed_under(id) > 0 && doc.fields_skimmed_under(id + 1) == 0 {
                true => skimmed += 1,
                false => built += 1,
            }
        }
        Ok(())
    };
    decoder.clone().skimming_clean_fields().decode_streaming(Source::new(bytes.to_vec()), &mut hook).unwrap();
    (skimmed, built)
}

#[test]
fn healthy_units_are_skimmed_and_broken_ones_built_with_the_same_report() {
    let decoder = sample_decoder();
    let healthy = samples::large_vm(200_000);
    let (skimmed, built) = skimmed(&decoder, &healthy);
    assert!(skimmed > 0 && built == 0, "every healthy unit is skimmed: {skimmed} skimmed, {built} built");
    assert_skims_the_same(&decoder, &healthy, "a large healthy VM");
    assert_skims_the_same(&decoder, samples::VM_STATE, "the sample");
    let twice = [samples::VM_STATE, samples::VM_STATE].concat();
    assert!(report(&decoder, &twice, 1, CheckFormat::Text).contains("duplicate unit name"));
    let (_, built_once) = self::skimmed(&decoder, samples::VM_STATE);
    let (_, built_twice) = self::skimmed(&decoder, &twice);
    assert_eq!(built_twice, 2 * built_once, "a clean unit whose name is taken is skimmed");
    assert_skims_the_same(&decoder, &twice, "the sample twice: every name taken");
    for (name, path) in common::sample_blobs() {
        assert_skims_the_same(&decoder, &std::fs::read(&path).unwrap(), &name);
    }
}

#[test]
fn mutants_read_the_same_skimmed() {
    let decoder = sample_decoder();
    let mutants = common::sample_mutants(&decoder, 0x5c17, 160);
    for (what, bytes) in &mutants {
        let (_, built) = skimmed(&decoder, bytes);
        // A mutant skimmed whole has no problem but, at most, a unit name given twice.
        let problems = report(&decoder, bytes, 1, CheckFormat::Text);
        let only_names = problems.lines().filter(|l| l.contains(": byte ")).all(|l| l.contains("duplicate unit name"));
        assert!(built > 0 || only_names, "{what}: {problems}");
        // Text only: the JSON report is the same findings, and the samples check it.
        assert_skims_the_same_in(&decoder, bytes, what, &[CheckFormat::Text]);
    }
    assert!(mutants.len() > 100, "only {} mutants were made", mutants.len());
}

#[test]
fn the_real_openvmm_state_reads_the_same_skimmed() {
    let Some(openvmm) = common::openvmm() else { return };
    let decoder = common::openvmm_decoder(&openvmm);
    let state = std::fs::read(openvmm.join("state.bin")).unwrap();
    let (skimmed, built) = skimmed(&decoder, &state);
    assert!(skimmed > 0, "units of the real state are skimmed: {skimmed}, and {built} built");
    assert_skims_the_same(&decoder, &state, "the real state");
    assert_skims_the_same(&decoder, &state.repeat(3), "the real state three times");
}

/// `sample.virt.x86.Msrs` of `n` entries, the `k`th written by `entry` (index, value).
fn msrs(n: u64, entry: impl Fn(u64, &mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::new();
    let mut bytes = Vec::new();
    for k in 0..n {
        bytes.clear();
        entry(k, &mut bytes);
        out.push(0x0a);
        write_varint(&mut out, bytes.len() as u64);
        out.extend_from_slice(&bytes);
    }
    out
}

fn msr(k: u64, out: &mut Vec<u8>) {
    out.push(0x08);
    write_varint(out, 0xc000_0080 + k % 4096);
    out.push(0x10);
    write_varint(out, (0xfee0_0000 << 20) + k * 7919);
}

#[test]
fn a_run_of_small_clean_top_level_fields_is_handed_over_as_one_and_reads_the_same() {
    let schema = std::sync::Arc::clone(sample_decoder().schema());
    let decoder = Decoder::new(std::sync::Arc::clone(&schema), schema.pool.get_message_by_name("sample.virt.x86.Msrs"));
    let clean = msrs(4000, msr);
    assert_eq!(skimmed(&decoder, &clean), (1, 0), "one run, one node");
    assert!(report(&decoder, &clean, 1, CheckFormat::Text).contains(": ok ("), "clean");
    assert_skims_the_same(&decoder, &clean, "clean entries");
    let at = |k: u64, odd: &'static dyn Fn(&mut Vec<u8>)| {
        move |i: u64, out: &mut Vec<u8>| if i == k { odd(out) } else { msr(i, out) }
    };
    let damaged: [(&str, Vec<u8>); 4] = [
        (
            "an index out of uint32 range",
            msrs(4000, at(1500, &|out| out.extend_from_slice(&[0x08, 0x80, 0x80, 0x80, 0x80, 0x20]))),
        ),
        ("an unknown field in one entry", msrs(4000, at(2500, &|out| out.extend_from_slice(&[0x18, 0x01])))),
        (
            "a value of the wrong wire type",
            msrs(4000, at(3000, &|out| out.extend_from_slice(&[0x11, 0, 0, 0, 0, 0, 0, 0, 0]))),
        ),
        (
            "a length past its entry's end",
            msrs(4000, at(2000, &|out| out.extend_from_slice(&[0x08, 0x01, 0x12, 0x09, 0x01]))),
        ),
    ];
    for (what, bytes) in &damaged {
        assert!(!report(&decoder, bytes, 1, CheckFormat::Text).contains(": ok ("), "{what} is a problem");
        assert_skims_the_same(&decoder, bytes, what);
    }
    assert_skims_the_same(&decoder, &msrs(4000, at(10, &|_| {})), "an empty entry among them");
    let nodes = skimmed(&decoder, &damaged[0].1);
    assert_eq!(nodes, (2, 1), "a run, the entry with a problem built, then the run after it");
    // A top-level field of its own among the runs, and the last entry cut short.
    assert_eq!(clean.len() % 4000, 0, "entries of one size");
    let mut between = clean.clone();
    let boundary = clean.len() / 4000 * 1700;
    between.splice(boundary..boundary, [0x28, 0x07]);
    assert_skims_the_same(&decoder, &between, "an unknown top-level field between runs");
    assert_skims_the_same(&decoder, &clean[..clean.len() - 3], "the last entry cut short");
}

#[test]
fn after_many_units_that_do_not_skim_clean_ones_are_skimmed_again_with_the_same_report() {
    let decoder = sample_decoder();
    // Units whose names are not UTF-8 (each built for its problem) in runs long enough
    // that skims are no longer tried for a while, between runs of clean units.
    let url = b"type.googleapis.com/sample.vmtime.SavedState";
    let bad = |k: u32| samples::unit_field(&[0xff, 0xfe, k as u8], url, &[0x08, 0x01]);
    let clean = |k: u32| samples::unit_field(format!("u{k}").as_bytes(), url, &[0x08, 0x01]);
    let mut blob = Vec::new();
    for (k, run) in [(0, 300), (300, 5), (305, 40), (345, 200), (545, 3), (548, 100)].into_iter().enumerate() {
        let (first, len) = run;
        for i in first..first + len {
            blob.extend(if k % 2 == 0 { bad(i) } else { clean(i) });
        }
    }
    assert_skims_the_same(&decoder, &blob, "runs of units that do not skim between clean ones");
    // Every unit that does not skim is built, and of the clean ones only those met while
    // skims are not tried (some, and at most 64 after each run that does not skim).
    let (skimmed_runs, built) = skimmed(&decoder, &blob);
    let (bad_units, clean_units) = (300 + 40 + 3, 5 + 200 + 100);
    assert!((bad_units + 1..bad_units + 3 * 64).contains(&built), "{built} built of {bad_units} that do not skim");
    assert!(skimmed_runs >= 2 && built + skimmed_runs < bad_units + clean_units, "{skimmed_runs} skimmed runs");
}

/// A packed run's values that get no node (a streaming decode, as `check`'s) are stepped
/// over a word at a time while they surely read in range: the values out of range, too
/// long or not reading, wherever they sit in a long run, are found as a whole decode finds
/// them.
#[test]
fn values_stepped_over_in_a_long_packed_run_keep_their_problems() {
    let schema = std::sync::Arc::new(statescope::Schema::load(&statescope::SchemaSources::default()).unwrap());
    let apic = schema.pool.get_message_by_name("sample.virt.x86.Apic").expect("the sample's Apic");
    let decoder = Decoder::new(std::sync::Arc::clone(&schema), Some(apic));
    let odd: [&[u8]; 4] = [
        &[0x80, 0x80, 0x80, 0x80, 0x10],                               // 2^32: out of range
        &[0xff, 0xff, 0xff, 0xff, 0x0f],                               // u32::MAX, five bytes: fine
        &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // ten bytes
        &[0xff; 11],                                                   // does not read
    ];
    for (k, odd) in odd.iter().enumerate() {
        for at in [0, 1, 7, 8, 9, 61, 199] {
            let mut run = Vec::new();
            for i in 0..200u64 {
                if i == at {
                    run.extend_from_slice(odd);
                }
                write_varint(&mut run, [5, 300, 70_000, 2_000_000][((i + k as u64) % 4) as usize]);
            }
            let mut blob = vec![0x12];
            write_varint(&mut blob, run.len() as u64);
            blob.extend_from_slice(&run);
            let problems = |doc: &Document, from: NodeId| -> Vec<String> {
                doc.problems().iter().filter(|p| p.node >= from).map(|p| format!("{} {:?}", p.offset, p.kind)).collect()
            };
            let whole = problems(&decoder.decode(Source::new(blob.clone())), NodeId::ROOT);
            assert_eq!(whole.is_empty(), k == 1, "value {k} at {at}: only u32::MAX is in range");
            let mut streamed = Vec::new();
            let mut hook = |doc: &Document, top: NodeId| {
                streamed.extend(problems(doc, top));
                Ok(())
            };
            let root_problems = decoder.decode_streaming(Source::new(blob.clone()), &mut hook).unwrap();
            streamed.extend(problems(&root_problems, NodeId::ROOT));
            streamed.dedup();
            assert_eq!(streamed, whole, "value {k} at {at}");
        }
    }
}

#[test]
fn a_blob_no_type_fits_reads_the_same_skimmed() {
    // No root type: every top-level field is unknown, and is read in runs.
    let raw = common::raw_decoder();
    let mut blob = Vec::new();
    for i in 0..3000u64 {
        // Distinct numbers, then the same ones again; now and then a group and a bytes field.
        write_varint(&mut blob, (1000 + i % 2500) << 3);
        write_varint(&mut blob, i);
        if i % 700 == 3 {
            blob.extend_from_slice(&[0x0b, 0x08, 0x01, 0x0c]);
        }
        if i % 500 == 7 {
            blob.extend_from_slice(&[0x12, 0x02, 0x08, 0x01]);
        }
    }
    assert_skims_the_same(&raw, &blob, "unknown fields, no type");
    // None of them has a problem: each run between groups is counted, its last field's
    // node standing for it, not built a node a field.
    let groups = (0..3000).filter(|i| i % 700 == 3).count();
    let (runs, built) = skimmed(&raw, &blob);
    assert!(runs <= groups + 1 && built <= groups + runs, "{runs} runs counted, {built} nodes built");
    let cut = [blob.as_slice(), &[0x12, 0x09, 0x01]].concat();
    assert!(report(&raw, &cut, 1, CheckFormat::Text).contains("error"), "a length past the end is found");
    assert_skims_the_same(&raw, &cut, "unknown fields, no type, the last cut short");
    for (what, bytes) in &common::sample_mutants(&sample_decoder(), 0x7a3, 40) {
        assert_skims_the_same_in(&raw, bytes, what, &[CheckFormat::Text]);
    }
}

#[test]
fn runs_of_unknown_top_level_fields_of_a_typed_root_read_the_same_skimmed() {
    // A check counts a message's unknown fields past the first few ("more like the
    // above"); a skimming one reads a run of them at the top level in a loop of its own,
    // which counts each on the last kept without comparing. Runs broken every way: by a
    // unit, a group, a field given again, a bytes field, and the end.
    let decoder = sample_decoder();
    let mut blob = samples::VM_STATE.to_vec();
    for i in 0..6000u64 {
        match i % 1500 {
            100 => blob.extend_from_slice(samples::VM_STATE),
            400 => blob.extend_from_slice(&[0xbb, 0x3e, 0x08, 0x01, 0xbc, 0x3e]),
            700 => common::len_field(&mut blob, 2001, b"unknown bytes"),
            _ => {}
        }
        // Distinct numbers, some met again further on.
        common::varint_field(&mut blob, 3000 + (i * 7) % 5000, i);
    }
    let report = report(&decoder, &blob, 1, CheckFormat::Text);
    assert!(report.contains("more like the above: field not in sample.openvmm.SavedState"), "{report}");
    assert_skims_the_same(&decoder, &blob, "runs of unknown top-level fields");
    // Once their warnings are counted, the fields of a run are counted, not built.
    let (runs, built) = skimmed(&decoder.clone().counting_alike_past(10), &blob);
    assert!(runs > 0 && built < 1000, "{runs} runs counted, {built} nodes built for 6,000 unknown fields");
    assert_skims_the_same(&decoder, &blob[..blob.len() - 1], "runs of unknown top-level fields, the last cut short");
}
