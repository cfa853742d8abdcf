//! `statescope explain`: restore logs written in OpenVMM's formats, pointed into damaged
//! copies of the sample state and of the real OpenVMM state.

mod common;

use common::{statescope, stdout};

/// Writes `log` beside the test's other files and runs `explain` on `blob` (from stdin).
fn explain(blob: &[u8], log: &str, extra: &[&str]) -> (Option<i32>, String) {
    let dir = common::scratch_dir("explain");
    let path = dir.path().join("vmm.log");
    std::fs::write(&path, log).unwrap();
    let out = statescope(&[&["explain", "-", "--log", path.to_str().unwrap()][..], extra].concat(), Some(blob));
    (out.status.code(), stdout(&out))
}

const SAMPLE_TYPE: [&str; 2] = ["--type", statescope::samples::ROOT_TYPE];

/// The sample with units[3].state.cmos's tag (byte 407) read as a varint.
fn sample_with_cmos_fault() -> Vec<u8> {
    let mut blob = statescope::samples::VM_STATE.to_vec();
    blob[407] &= !0x07;
    blob
}

#[test]
fn a_unit_failure_points_at_the_field_the_cause_names_and_its_likely_cause() {
    let log = "\
2026-11-29T03:59:58.120Z  INFO openvmm: restoring saved state
2026-11-29T03:59:58.131Z ERROR openvmm: restore failed: {rtc: failed to decode protobuf: decoding failed in \
chipset::cmos_rtc::save_restore::state::SavedState: expected a byte array}
2026-11-29T03:59:58.132Z  INFO openvmm: shutting down
";
    let (code, out) = explain(&sample_with_cmos_fault(), log, &SAMPLE_TYPE);
    assert_eq!(code, Some(0), "{out}");
    common::assert_contains_all(
        &out,
        &[
            "standard input: rtc (log line 2): failed to decode protobuf: decoding failed in chipset::cmos_rtc",
            "  unit:         units[3] \"rtc\", bytes ",
            "  type:         chipset::cmos_rtc::save_restore::state::SavedState = sample.chipset.cmos_rtc.SavedState",
            "  at:           units[3].state.cmos, byte 407: failed to decode protobuf: expected a byte array",
            "  likely cause: the tag of units[3].state.cmos says wire type 0, its type is written with 2; the edit \
             `replace-raw @407+1 12` repairs it",
            "addr: uint32 = 12 (0xc)",
            "1 failure(s) in the log, 1 pointed into standard input; 0 line(s) not understood",
        ],
    );
}

#[test]
fn several_units_a_bare_decode_line_and_lines_not_understood() {
    let mut blob = statescope::samples::VM_STATE.to_vec();
    // The pit unit's type URL host changed (`type.` → `typo.`) ...
    let url = blob.windows(42).position(|w| w == b"type.googleapis.com/sample.chipset.pit.Sav").unwrap();
    blob[url + 3] = b'o';
    // ... and the vmtime unit given twice.
    let vmtime_len = 2 + blob[1] as usize;
    blob.extend_from_within(..vmtime_len);
    let log = "\
restore failed: {pit: protobuf type mismatch, expected type.googleapis.com/chipset.pit.SavedState, got \
typo.googleapis.com/sample.chipset.pit.SavedState, vmtime: duplicate unit name, floppy: unknown unit name}
[ 12.5] decoding failed in chipset::cmos_rtc::save_restore::state::SavedState: expected a byte array
ERROR restore failed: the saved state was truncated in transit
";
    let (code, out) = explain(&blob, log, &SAMPLE_TYPE);
    assert_eq!(code, Some(1), "a unit the blob lacks and a line not understood: {out}");
    common::assert_contains_all(
        &out,
        &[
            "standard input: pit (log line 1): protobuf type mismatch, expected type.googleapis.com/chipset.pit.SavedState, got typo.",
            "  at:           units[1].state, byte ",
            "standard input: vmtime (log line 1): duplicate unit name",
            &format!("  unit:         units[8] \"vmtime\", bytes {}..", statescope::samples::VM_STATE.len()),
            "standard input: floppy (log line 1): unknown unit name",
            "  not found:    the blob has no unit named `floppy`",
            // The blob's rtc unit is whole here: a bare line is matched by type, and nothing fits.
            "standard input: (no unit named) (log line 2): decoding failed in chipset::cmos_rtc",
            "  unit:         units[3] \"rtc\", bytes ",
            "  not found:    the unit's bytes decode cleanly as the loaded schema reads them",
            "log line 3: not understood: ERROR restore failed: the saved state was truncated in transit",
            "4 failure(s) in the log, 2 pointed into standard input; 1 line(s) not understood",
        ],
    );
}

#[test]
fn a_log_with_no_failure_says_what_was_looked_for() {
    let (code, out) = explain(statescope::samples::VM_STATE, "INFO all is well\n", &SAMPLE_TYPE);
    assert_eq!(code, Some(1));
    assert!(out.contains("no restore failure in the log: looked for OpenVMM's `restore failed: {unit: …}`"), "{out}");
}

#[test]
fn the_blob_and_the_log_cannot_both_be_standard_input() {
    let out = statescope(&["explain", "-", "--log", "-"], Some(b""));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot both be standard input"));
}

#[test]
fn a_restore_log_for_a_damaged_real_state_points_at_the_damaged_field() {
    let Some(openvmm) = common::openvmm() else { return };
    let protos = openvmm.join("protos");
    let schema = ["--proto-dir", protos.to_str().unwrap()];
    let mut blob = std::fs::read(openvmm.join("state.bin")).unwrap();
    // issue 8's table: the cmos tag of units[4] (byte 502) changed to a varint.
    blob[502] &= !0x07;
    let log = "restore failed: {rtc: failed to decode protobuf: decoding failed in \
               chipset::cmos_rtc::save_restore::state::SavedState: expected a byte array}\n";
    let (code, out) = explain(&blob, log, &schema);
    assert_eq!(code, Some(0), "{out}");
    common::assert_contains_all(
        &out,
        &[
            "  unit:         units[4] \"rtc\"",
            "  type:         chipset::cmos_rtc::save_restore::state::SavedState = chipset.cmos_rtc.SavedState",
            "  at:           units[4].state.cmos, byte 502: failed to decode protobuf: expected a byte array",
            "the edit `replace-raw @502+1 12` repairs it",
        ],
    );
}
