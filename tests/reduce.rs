//! `statescope reduce`: a damaged blob shrinks to a few hundred bytes that still show the
//! damage; the same run gives the same bytes; the edit script replays to them; and for
//! random predicates the output always satisfies its predicate.

mod common;

use std::path::Path;

use common::{statescope, stdout};

const EXE: &str = env!("CARGO_BIN_EXE_statescope");

/// Runs `reduce` on `blob` with `test` (its `{}` is the candidate) and extra flags; returns
/// the smallest blob and the script beside it.
fn reduce(dir: &Path, blob: &[u8], test: &str, extra: &[&str]) -> (Vec<u8>, String) {
    let (input, output) = (dir.join("in.bin"), dir.join("min.bin"));
    std::fs::write(&input, blob).unwrap();
    let out = statescope(
        &[&["reduce", input.to_str().unwrap(), "--test", test, "-o", output.to_str().unwrap()][..], extra].concat(),
        None,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (std::fs::read(&output).unwrap(), std::fs::read_to_string(dir.join("min.edits")).unwrap())
}

/// Whether `test` succeeds on `blob`.
fn holds(dir: &Path, test: &str, blob: &[u8]) -> bool {
    let path = dir.join("check.bin");
    std::fs::write(&path, blob).unwrap();
    std::process::Command::new("sh")
        .arg("-c")
        .arg(test.replace("{}", path.to_str().unwrap()))
        .status()
        .unwrap()
        .success()
}

#[test]
fn a_damaged_sample_shrinks_to_its_damage_the_same_way_every_time() {
    let dir = common::scratch_dir("reduce");
    let mut blob = statescope::samples::VM_STATE.to_vec();
    blob[407] &= !0x07; // units[3].state.cmos's tag read as a varint
    let ty = ["--type", statescope::samples::ROOT_TYPE];
    let test = format!(
        "{EXE} check {{}} --type {} | grep -q 'state.cmos: byte [0-9]*: error: failed to decode protobuf: expected a byte array'",
        statescope::samples::ROOT_TYPE
    );
    let (small, script) = reduce(dir.path(), &blob, &test, &ty);
    assert!(small.len() < 400, "{} bytes", small.len());
    assert!(holds(dir.path(), &test, &small), "the test still holds");
    // The same run gives the same bytes; the script replays to them.
    let again = common::scratch_dir("reduce-again");
    assert_eq!(reduce(again.path(), &blob, &test, &ty).0, small);
    let script_file = dir.path().join("min.edits");
    let input = dir.path().join("in.bin");
    let replayed = dir.path().join("replayed.bin");
    let out = statescope(
        &[
            &["patch", input.to_str().unwrap(), "--script", script_file.to_str().unwrap()][..],
            &["-o", replayed.to_str().unwrap()],
            &ty,
        ]
        .concat(),
        None,
    );
    assert!(out.status.success(), "{script}");
    assert_eq!(std::fs::read(&replayed).unwrap(), small);
}

#[test]
fn the_output_always_satisfies_its_predicate() {
    // Predicates on random values of the sample: the value must still be there.
    let dir = common::scratch_dir("reduce-property");
    let mut rng = statescope::Rng::new(5);
    let paths = [
        "units[1].state.last",
        "units[7].state.channel.drives[0].path.lun",
        "units[0].name",
        "units[6].state.vps[0].data.registers.rip",
        "units[4].state.tx_buffer",
    ];
    for _ in 0..3 {
        let path = paths[rng.below(paths.len())];
        let value = stdout(&statescope(
            &["get", "-", path, "--type", statescope::samples::ROOT_TYPE],
            Some(statescope::samples::VM_STATE),
        ));
        let test =
            format!("{EXE} get {{}} '{path}' --type {} | grep -qxF '{}'", statescope::samples::ROOT_TYPE, value.trim());
        let (small, _) = reduce(dir.path(), statescope::samples::VM_STATE, &test, &[]);
        assert!(small.len() < statescope::samples::VM_STATE.len() / 2, "{path}: {} bytes", small.len());
        assert!(holds(dir.path(), &test, &small), "{path}");
    }
}

#[test]
fn a_test_that_fails_on_the_input_is_refused() {
    let dir = common::scratch_dir("reduce-refused");
    let input = dir.path().join("in.bin");
    std::fs::write(&input, statescope::samples::VM_STATE).unwrap();
    let out = statescope(&["reduce", input.to_str().unwrap(), "--test", "false", "-o", "-"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the test does not succeed on"));
}

#[test]
fn a_damaged_real_state_shrinks_to_a_few_hundred_bytes() {
    let Some(openvmm) = common::openvmm() else { return };
    let dir = common::scratch_dir("reduce-real");
    let mut blob = std::fs::read(openvmm.join("state.bin")).unwrap();
    blob[502] &= !0x07; // issue 8's cmos case
    let protos = openvmm.join("protos");
    let schema = ["--proto-dir", protos.to_str().unwrap(), "--type", "openvmm.SavedState"];
    let test = format!(
        "{EXE} check {{}} {} | grep -q 'state.cmos: byte [0-9]*: error: failed to decode protobuf: expected a byte array'",
        schema.join(" ")
    );
    let (small, _) = reduce(dir.path(), &blob, &test, &schema);
    assert!(small.len() <= 400, "{} bytes", small.len());
    assert!(holds(dir.path(), &test, &small));
}
