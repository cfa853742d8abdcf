//! `statescope compat`: a blob read with another release's schema, and two schemas
//! compared, on copies of the sample and real OpenVMM schema folders changed the way a next
//! release might (a package renamed, a field removed, a type changed, a required fixed
//! array added).

mod common;

use std::path::Path;

use common::{statescope, stdout};

/// A copy of `from` (a schema folder) with `edits` (file, old text, new text) made.
fn next_release(from: &Path, edits: &[(&str, &str, &str)]) -> tempfile::TempDir {
    let dir = common::scratch_dir("next-release");
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "proto") {
            std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    for (file, old, new) in edits {
        let path = dir.path().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(old), "{file} holds `{old}`");
        std::fs::write(&path, text.replacen(old, new, 1)).unwrap();
    }
    dir
}

/// The sample schema's next release: vmtime's package renamed, cmos removed, the uart's
/// lcr made sint32, a required fixed array added to the uart.
fn sample_next() -> tempfile::TempDir {
    next_release(
        &common::root().join("samples/schema"),
        &[
            ("sample.vmtime.proto", "package sample.vmtime;", "package sample.vmtime.v2;"),
            ("sample.chipset.cmos_rtc.proto", "  bytes cmos = 2;\n", ""),
            ("sample.serial.uart16550.proto", "  uint32 lcr = 2;", "  sint32 lcr = 2;"),
            (
                "sample.serial.uart16550.proto",
                "  uint32 ier = 1;",
                "  uint32 ier = 1;\n  repeated uint32 fifo = 40; // packed repr only",
            ),
        ],
    )
}

#[test]
fn a_blob_read_by_the_next_release_names_each_affected_path_and_value() {
    let next = sample_next();
    let to = next.path().to_str().unwrap();
    let out = statescope(
        &["compat", "-", "--to-proto-dir", to, "--type", statescope::samples::ROOT_TYPE],
        Some(statescope::samples::VM_STATE),
    );
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    common::assert_contains_all(
        &text,
        &[
            "standard input: units[0].state: byte 14: fails restore: unknown saved state type \
             `type.googleapis.com/sample.vmtime.SavedState`",
            "it declares sample.vmtime.v2.SavedState: renamed?",
            "standard input: units[3].state.cmos: byte 407: data lost: the other release's \
             sample.chipset.cmos_rtc.SavedState has no such field: dropped on restore (value here: [256 bytes]",
            "standard input: units[4].state: byte 734: fails restore: missing required field `fifo` in \
             sample.serial.uart16550.SavedState",
            "standard input: units[4].state.lcr: byte 737: reads differently: the other release declares it sint32 \
             (here uint32): it reads -2 (value here: 3)",
            "standard input: 4 finding(s): 2 fail restore, 1 lose data, 1 read differently",
        ],
    );
    // The same release reads it as this one does.
    let same = common::root().join("samples/schema");
    let out = statescope(
        &["compat", "-", "--to-proto-dir", same.to_str().unwrap(), "--type", statescope::samples::ROOT_TYPE],
        Some(statescope::samples::VM_STATE),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("the other release reads this blob as this one does"));
}

#[test]
fn two_schemas_compared_name_every_change_both_ways_and_an_allowlist_accepts_them() {
    let next = sample_next();
    let old = common::root().join("samples/schema");
    let args = ["compat", "--schema", old.to_str().unwrap(), next.path().to_str().unwrap()];
    let out = statescope(&args, None);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let keys: Vec<&str> = text.lines().filter_map(|l| Some(&l[l.find('[')? + 1..l.find(']')?])).collect();
    assert_eq!(
        keys,
        [
            "field-removed sample.chipset.cmos_rtc.SavedState.2",
            "field-type sample.serial.uart16550.SavedState.2",
            "field-added sample.serial.uart16550.SavedState.40",
            "message-renamed sample.vmtime.SavedState",
        ],
        "{text}"
    );
    assert!(text.contains("old blobs: breaks, new blobs: loses data: required fixed array"), "{text}");
    let allow = common::scratch_dir("allow");
    let list = allow.path().join("accepted.txt");
    std::fs::write(&list, keys.iter().map(|k| format!("{k}  # known\n")).collect::<String>()).unwrap();
    let out = statescope(&[&args[..], &["--allow", list.to_str().unwrap()]].concat(), None);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("4 change(s), 0 that break or lose data and are not allowed"));
}

#[test]
fn the_real_state_read_by_a_changed_release() {
    let Some(openvmm) = common::openvmm() else { return };
    let protos = openvmm.join("protos");
    let next = next_release(
        &protos,
        &[
            ("vmtime.proto", "package vmtime;", "package vmtime.v2;"),
            ("chipset.cmos_rtc.proto", "  bytes cmos = 2;\n", ""),
            ("chipset.pic.proto", "  uint32 icw2 = 2;", "  sint32 icw2 = 2;"),
            (
                "chipset.pic.proto",
                "  .chipset.pic.SavedPic secondary = 2;",
                "  .chipset.pic.SavedPic secondary = 2;\n  repeated uint32 irr = 3; // packed repr only",
            ),
        ],
    );
    let args =
        ["compat", "-", "--proto-dir", protos.to_str().unwrap(), "--to-proto-dir", next.path().to_str().unwrap()];
    let out = statescope(&args, Some(&std::fs::read(openvmm.join("state.bin")).unwrap()));
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    common::assert_contains_all(
        &text,
        &[
            "units[0].state: byte 14: fails restore: unknown saved state type `type.googleapis.com/vmtime.SavedState`",
            "units[1].state: byte 116: fails restore: missing required field `irr` in chipset.pic.SavedState",
            "units[1].state.primary.icw2: byte 123: reads differently: the other release declares it sint32 (here \
             uint32): it reads 24 (value here: 48)",
            "units[1].state.secondary.icw2: byte 143: reads differently",
            "units[4].state.cmos: byte 502: data lost",
            "5 finding(s): 2 fail restore, 1 lose data, 2 read differently",
        ],
    );
    let out = statescope(&["compat", "--schema", protos.to_str().unwrap(), next.path().to_str().unwrap()], None);
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 5, "four changes and the summary:\n{text}");
}

#[test]
fn the_other_releases_verdict_shows_on_the_rows_it_concerns() {
    let next = sample_next();
    let dir = common::scratch_dir("compat-view");
    std::fs::write(dir.path().join("vm.bin"), statescope::samples::VM_STATE).unwrap();
    let exe = env!("CARGO_BIN_EXE_statescope");
    let script = format!(
        "{exe} compat vm.bin --to-proto-dir {} --type {} --view; echo \"EXITED $?\"; sleep 30",
        next.path().display(),
        statescope::samples::ROOT_TYPE
    );
    let mut term = common::terminal::Terminal::start(&script, dir.path(), 140, 40);
    term.wait_for("4 difference(s)");
    term.keys(&["}"]);
    let screen = term.wait_for("Δ fails restore: byte 14: unknown saved state type");
    assert!(screen.contains("Δ state: Any → sample.vmtime.SavedState"), "{screen}");
    term.keys(&["q"]);
    term.wait_for("EXITED 0");
}

#[test]
fn an_enum_value_the_other_release_removed() {
    let dir = common::scratch_dir("compat-enum");
    let old =
        "syntax = \"proto3\";\npackage en;\nenum Mode { OFF = 0; ON = 1; TURBO = 2; }\nmessage S { Mode mode = 1; }\n";
    std::fs::create_dir_all(dir.path().join("new")).unwrap();
    std::fs::write(dir.path().join("e.proto"), old).unwrap();
    std::fs::write(dir.path().join("new/e.proto"), old.replace(" TURBO = 2;", "")).unwrap();
    let (a, b) = (dir.path().join("e.proto"), dir.path().join("new/e.proto"));
    let args = ["compat", "-", "--proto", a.to_str().unwrap(), "--type", "en.S", "--to-proto", b.to_str().unwrap()];
    let out = statescope(&args, Some(&[0x08, 0x02]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains(
            "mode: byte 1: fails restore: the other release's enum en.Mode declares no value 2 (value here: TURBO)"
        ),
        "{}",
        stdout(&out)
    );
    let out = statescope(&["compat", "--schema", a.to_str().unwrap(), b.to_str().unwrap()], None);
    assert!(
        stdout(&out).starts_with("[enum-value-removed en.Mode.2] old blobs: breaks, new blobs: info"),
        "{}",
        stdout(&out)
    );
}
