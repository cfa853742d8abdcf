//! The command line as a user meets it: standard input, exit codes, one-line errors,
//! global options anywhere, schema loading and its errors.

mod common;

use common::{statescope, stdout};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn reads_standard_input_with_a_dash() {
    let out = statescope(&["show", "-"], Some(statescope::samples::VM_STATE));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("name: string = \"vmtime\""));
    let out = statescope(&["check", "-"], Some(statescope::samples::VM_STATE));
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).starts_with("standard input: ok"));
}

#[test]
fn check_exit_codes() {
    assert_eq!(statescope(&["check", "samples/vm.state.bin"], None).status.code(), Some(0));
    let out = statescope(&["check", "samples/vm.state.bin", "samples/broken/truncated.bin"], None);
    assert_eq!(out.status.code(), Some(1), "problems found");
    assert!(stdout(&out).contains("samples/vm.state.bin: ok"));
    // An unreadable file is reported, the others are still checked, and the exit is 2.
    let out = statescope(&["check", "no/such/file.bin", "samples/vm.state.bin"], None);
    assert_eq!(out.status.code(), Some(2), "I/O error");
    assert!(stdout(&out).contains("samples/vm.state.bin: ok"), "the file after the missing one is checked");
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().filter(|l| !l.contains("no --type given")).collect();
    assert_eq!(
        lines,
        [
            "statescope: error: cannot read no/such/file.bin: No such file or directory (os error 2)",
            "statescope: 1 of 2 file(s) could not be read"
        ],
        "each I/O error once, on one line"
    );
    assert_eq!(statescope(&["check"], None).status.code(), Some(2), "usage error");
}

#[test]
fn global_options_go_before_or_after_the_command() {
    let before = statescope(&["--type", "sample.openvmm.SavedState", "show", "samples/vm.state.bin"], None);
    let after = statescope(&["show", "samples/vm.state.bin", "--type", "sample.openvmm.SavedState"], None);
    assert!(before.status.success() && after.status.success());
    assert_eq!(stdout(&before), stdout(&after));
    assert!(stderr(&before).is_empty(), "no detection note when --type is given");
}

#[test]
fn unknown_type_and_path_say_what_exists() {
    let out = statescope(&["show", "--type", "SavedStat", "samples/vm.state.bin"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("did you mean"), "{}", stderr(&out));
    let out = statescope(&["show", "--path", "units[2].state.nope", "samples/vm.state.bin"], None);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("no `nope` under `units[2].state`") && err.contains("redirection_entries"), "{err}");
}

#[test]
fn garbage_never_crashes() {
    let mut bytes = Vec::new();
    let mut x: u32 = 0x9e37_79b9;
    for _ in 0..65536 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        bytes.push(x as u8);
    }
    for args in
        [&["show", "-"][..], &["check", "-"], &["show", "--format", "text", "-"], &["show", "--format", "json", "-"]]
    {
        let out = statescope(args, Some(&bytes));
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(matches!(out.status.code(), Some(0..=2)), "{args:?}: {:?}", out.status);
    }
}

#[test]
fn a_protoc_descriptor_set_decodes_with_no_schema_flags() {
    let dir = std::env::temp_dir().join(format!("statescope-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let set = dir.join("samples.binpb");
    let protos = common::root().join("samples/schema");
    let mut args = vec![format!("-I{}", protos.display()), format!("-I{}", common::protoc_include().display())];
    args.extend([format!("-o{}", set.display()), "--include_imports".to_owned()]);
    args.push(protos.join("sample.openvmm.proto").display().to_string());
    common::protoc(&args.iter().map(String::as_str).collect::<Vec<_>>(), b"");
    let out = statescope(&["show", "--type", "google.protobuf.FileDescriptorSet", set.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("name: string = \"sample.state_unit.proto\""), "{}", &text[..text.len().min(2000)]);
    assert!(text.contains("package: string = \"sample.openvmm\""));
}

#[test]
fn a_flat_vmm_schema_folder_loads() {
    let Some(openvmm) = common::openvmm() else { return };
    let out = statescope(&["types", "--proto-dir", openvmm.join("protos").to_str().unwrap()], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let types = stdout(&out);
    assert!(types.contains("storage.storvsp.SavedState\n") && types.contains("virt.x86.VpSavedState\n"));
}

#[test]
fn a_broken_schema_names_file_and_line() {
    let dir = std::env::temp_dir().join(format!("statescope-badproto-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("bad.proto"), "syntax = \"proto3\";\npackage bad;\nmessage A {\n  uint32 x = 1\n}\n")
        .unwrap();
    let out = statescope(&["types", "--proto-dir", dir.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("bad.proto:5:1") || err.contains("bad.proto:4:"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn text_format_of_a_broken_blob_says_what_it_left_out() {
    let out = statescope(&["show", "--format", "text", "samples/broken/wrong-wire-type.bin"], None);
    assert!(out.status.success());
    assert!(stdout(&out).contains("# statescope: omitted field at byte"));
    assert!(stderr(&out).contains("appear only as # comments"));
}

#[test]
fn json_is_canonical_with_type_urls() {
    let out = statescope(&["show", "--format", "json", "samples/vm.state.bin"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(json["units"][1]["state"]["@type"], "type.googleapis.com/sample.chipset.pit.SavedState");
    assert_eq!(json["units"][1]["state"]["last"], "12345678901234", "64-bit integers are strings");
    let out = statescope(&["show", "--format", "json", "samples/broken/truncated.bin"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("problem(s) JSON cannot show"));
}
