//! `check` skims a clean top-level message (counts its fields, builds no node) and builds
//! only those that may hold a problem: its report is byte for byte that of a full decode,
//! on healthy and broken samples, repeated unit names, the real OpenVMM state and hundreds
//! of mutants, in one pass and in parts.

mod common;

use statescope::{CheckFormat, Decoder, Document, NodeId, Source, samples};

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

/// How many top-level fields a skimming decode hands over skimmed, of how many.
fn skimmed(decoder: &Decoder, bytes: &[u8]) -> (usize, usize) {
    let (mut skimmed, mut all) = (0, 0);
    let mut hook = |doc: &Document, top: NodeId| {
        skimmed += usize::from(doc.fields_skimmed_under(top) > 0);
        all += 1;
        Ok(())
    };
    decoder.clone().skimming_clean_fields().decode_streaming(Source::new(bytes.to_vec()), &mut hook).unwrap();
    (skimmed, all)
}

#[test]
fn healthy_units_are_skimmed_and_broken_ones_built_with_the_same_report() {
    let decoder = sample_decoder();
    let healthy = samples::large_vm(200_000);
    let (skimmed, all) = skimmed(&decoder, &healthy);
    assert_eq!(skimmed, all, "every healthy unit is skimmed");
    assert_skims_the_same(&decoder, &healthy, "a large healthy VM");
    assert_skims_the_same(&decoder, samples::VM_STATE, "the sample");
    let twice = [samples::VM_STATE, samples::VM_STATE].concat();
    assert!(report(&decoder, &twice, 1, CheckFormat::Text).contains("duplicate unit name"));
    let (skimmed_once, all_once) = self::skimmed(&decoder, samples::VM_STATE);
    let (skimmed_twice, all_twice) = self::skimmed(&decoder, &twice);
    assert_eq!(
        (skimmed_twice, all_twice),
        (2 * skimmed_once, 2 * all_once),
        "a clean unit whose name is taken is skimmed"
    );
    assert_skims_the_same(&decoder, &twice, "the sample twice: every name taken");
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/broken")).unwrap() {
        let path = entry.unwrap().path();
        assert_skims_the_same(&decoder, &std::fs::read(&path).unwrap(), &path.display().to_string());
    }
}

#[test]
fn mutants_read_the_same_skimmed() {
    let decoder = sample_decoder();
    let mutants = common::sample_mutants(&decoder, 0x5c17, 160);
    for (what, bytes) in &mutants {
        let (skimmed, all) = skimmed(&decoder, bytes);
        // A mutant skimmed whole has no problem but, at most, a unit name given twice.
        let problems = report(&decoder, bytes, 1, CheckFormat::Text);
        let only_names = problems.lines().filter(|l| l.contains(": byte ")).all(|l| l.contains("duplicate unit name"));
        assert!(skimmed < all || only_names, "{what}: {problems}");
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
    let (skimmed, all) = skimmed(&decoder, &state);
    assert!(skimmed > 0, "units of the real state are skimmed: {skimmed} of {all}");
    assert_skims_the_same(&decoder, &state, "the real state");
    assert_skims_the_same(&decoder, &state.repeat(3), "the real state three times");
}
