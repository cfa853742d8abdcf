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
    // An index past the end: how many there are, for a unit and for a packed run's values.
    for (path, there) in [
        ("units[99].name", "there: units[0..8]"),
        ("units[2].state.redirection_entries[99]", "there: @type, index, redirection_entries[0..24]"),
    ] {
        let out = statescope(&["get", "samples/vm.state.bin", path], None);
        assert_eq!(out.status.code(), Some(2));
        let err = stderr(&out);
        assert!(err.ends_with(&format!("{there}\n")) && !err.contains("did you mean"), "{path}: {err}");
    }
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
    let scratch = common::scratch_dir("cli");
    let dir = scratch.path();
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
    let scratch = common::scratch_dir("badproto");
    let dir = scratch.path();
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

/// The sample with `edit` applied to its bytes, written to file `name` in `dir`.
fn sample_variant(dir: &std::path::Path, name: &str, edit: impl FnOnce(&mut Vec<u8>)) -> std::path::PathBuf {
    let mut bytes = statescope::samples::VM_STATE.to_vec();
    edit(&mut bytes);
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn the_vmm_restore_rules_fail_what_the_vmm_would() {
    let scratch = common::scratch_dir("rules");
    let check = |path: &std::path::Path| {
        let out = statescope(&["check", path.to_str().unwrap(), "--type", statescope::samples::ROOT_TYPE], None);
        (out.status.code(), stdout(&out))
    };
    // The whole type URL is compared: another host fails the restore.
    let typo = sample_variant(scratch.path(), "typo", |b| {
        let at = b.windows(5).position(|w| w == b"type.").unwrap();
        b[at..at + 4].copy_from_slice(b"typo");
    });
    let (code, out) = check(&typo);
    assert_eq!(code, Some(1));
    assert!(
        out.contains("units[0].state: byte 14: error: protobuf type mismatch, expected type.googleapis.com/sample.vmtime.SavedState, got typo.googleapis.com/sample.vmtime.SavedState"),
        "{out}"
    );
    // Units are matched by name: one given twice fails.
    let twice = sample_variant(scratch.path(), "twice", |b| {
        let unit_end = 2 + b[1] as usize;
        let first = b[..unit_end].to_vec();
        b.extend(first);
    });
    let (code, out) = check(&twice);
    assert_eq!(code, Some(1));
    assert!(out.contains("units[8]: byte 1798: error: restore failed: {vmtime: duplicate unit name}"), "{out}");
    // Nothing at all restores nothing.
    let empty = sample_variant(scratch.path(), "empty", Vec::clear);
    let (code, out) = check(&empty);
    assert_eq!(code, Some(1));
    assert!(out.contains("(root): byte 0: error: saved state holds no units"), "{out}");
}

#[test]
fn a_hint_never_asks_to_load_a_schema_that_is_loaded() {
    let Some(openvmm) = common::openvmm() else { return };
    // A field the loaded schema lacks: units[0].state (vmtime) with field 9 added.
    let mut blob = std::fs::read(openvmm.join("state.bin")).unwrap();
    let out = statescope(&["check", "-", "--proto-dir", openvmm.join("protos").to_str().unwrap()], Some(&blob));
    assert!(out.status.success(), "the real state is clean");
    blob.extend_from_slice(&[0x48, 0x01]); // field 9 at the root
    let out = statescope(&["check", "-", "--proto-dir", openvmm.join("protos").to_str().unwrap()], Some(&blob));
    let text = stdout(&out);
    assert!(text.contains("field not in openvmm.SavedState as loaded: written by a newer release"), "{text}");
    assert!(!text.contains("--proto-dir"), "no advice to load what is loaded: {text}");
}

#[test]
fn a_tree_of_unknown_fields_gives_the_advice_once_after_it_on_stderr() {
    // Thirty fields sample.virt.x86.Apic lacks, each a warning line of its own.
    let mut blob = Vec::new();
    for number in 100u64..130 {
        common::varint_field(&mut blob, number, 1);
    }
    let advice = "statescope: fields or Any types marked above are not in the registered schemas: \
                  load the VMM's schema folder with --proto-dir\n";
    for args in [&["show", "-"][..], &["show", "-", "--offsets"], &["show", "-", "--path", "#100"]] {
        let out = statescope(&[args, &["--type", "sample.virt.x86.Apic"]].concat(), Some(&blob));
        let (tree, said) = (stdout(&out), String::from_utf8_lossy(&out.stderr));
        let warnings = tree.lines().filter(|l| l.contains("?? warning at byte")).collect::<Vec<_>>();
        assert_eq!(warnings.len(), if args.len() > 2 && args[2] == "--path" { 1 } else { 30 }, "{args:?}: {tree}");
        for line in warnings {
            assert!(line.ends_with(": field not in sample.virt.x86.Apic: written by a newer release?"), "{line}");
        }
        assert_eq!(said, advice, "{args:?}");
    }
    let clean = statescope(&["show", "-", "--type", "sample.virt.x86.Apic"], Some(&[0x08, 0x05]));
    assert!(clean.status.success() && clean.stderr.is_empty(), "{:?}", String::from_utf8_lossy(&clean.stderr));
}

/// One fault made in a blob's bytes.
type Fault = fn(&mut Vec<u8>);

/// The repair a report suggests: the edit between the first pair of backquotes after
/// "likely cause".
fn suggested_fix(report: &str) -> Option<String> {
    let after = &report[report.find("likely cause: ")?..];
    let start = after.find("the edit `")? + "the edit `".len();
    Some(after[start..start + after[start..].find('`')?].to_owned())
}

/// Applies `fix` to `broken` with `patch` and returns the bytes.
fn repaired(broken: &[u8], fix: &str, extra: &[&str]) -> Vec<u8> {
    let dir = common::scratch_dir("repair");
    let (input, script, output) = (dir.path().join("in.bin"), dir.path().join("fix.edits"), dir.path().join("out.bin"));
    std::fs::write(&input, broken).unwrap();
    std::fs::write(&script, format!("{fix}\n")).unwrap();
    let mut args = vec!["patch", input.to_str().unwrap(), "--script", script.to_str().unwrap()];
    args.extend(["-o", output.to_str().unwrap()]);
    args.extend_from_slice(extra);
    let out = statescope(&args, None);
    assert!(out.status.success(), "{fix}: {}", String::from_utf8_lossy(&out.stderr));
    std::fs::read(&output).unwrap()
}

#[test]
fn a_single_fault_is_named_at_its_byte_with_an_edit_that_repairs_it() {
    let ty = ["--type", statescope::samples::ROOT_TYPE];
    let original = statescope::samples::VM_STATE;
    let cases: [(&str, Fault, &str); 9] = [
        // One bit of units[1]'s type URL (`pit` → `pht`, byte 116): one byte from a
        // declared URL.
        (
            "units[1].state: byte 116: error: likely cause: byte 116 of the type URL is 0x68 where \
             `type.googleapis.com/sample.chipset.pit.SavedState` has `i`",
            |b| b[116] ^= 0x01,
            "replace-raw @116+1 69",
        ),
        // A byte inserted inside units[4] (at byte 740): what follows is one byte out of step.
        (
            "units[4]: byte 740: error: likely cause: a byte was inserted at byte 740 (0x55)",
            |b| b.insert(740, 0x55),
            "remove-byte 740",
        ),
        // The byte at 740 (a tag, 0x20) dropped: found by trying the one-byte tags, and of
        // the values that decode, one that does not write a singular field twice.
        (
            "units[4]: byte 740: error: likely cause: a byte was dropped before byte 740",
            |b| {
                b.remove(740);
            },
            "insert-byte 740 0x20",
        ),
        // The last byte of units[7]'s nested type URL (byte 1752, `e`) dropped: the next
        // tag is pulled into the URL, one byte from a declared URL, but writing that byte
        // leaves the Any broken; the byte dropped is the cause (found by the fuzzer).
        (
            "units[7]: byte 1752: error: likely cause: a byte was dropped before byte 1752",
            |b| {
                b.remove(1752);
            },
            "insert-byte 1752 0x65",
        ),
        // A byte inserted between units[0] and units[1] (at byte 69): units[0] is whole and
        // clean, the top level reads in step one byte later (found by the fuzzer, which had
        // the search settle for a byte inside units[0] that left a value wrong).
        (
            "byte 69: error: likely cause: a byte was inserted at byte 69 (0xfa)",
            |b| b.insert(69, 0xfa),
            "remove-byte 69",
        ),
        // units[3].state.cmos's tag (byte 407) read as a varint: parsing fails bytes later.
        (
            "units[3]: byte 407: error: likely cause: the tag of units[3].state.cmos says wire type 0",
            |b| b[407] &= !0x07,
            "replace-raw @407+1 12",
        ),
        // units[4].state.lcr's tag (byte 736) with its wire type bits hit.
        (
            "units[4]: byte 736: error: likely cause: the tag of units[4].state.lcr says wire type 4",
            |b| b[736] ^= 0x04,
            "replace-raw @736+1 10",
        ),
        // units[4].state.tx_buffer's length (byte 751) with one bit flipped: a nested
        // length that claims more than its content.
        (
            "units[4]: byte 751: error: likely cause: the length prefix at byte 751 says 23, its content is 7",
            |b| b[751] ^= 0x10,
            "replace-raw @751+1 07",
        ),
        // units[4]'s own length prefix (byte 667) claiming 20 bytes more than it holds.
        (
            "units[4]: byte 667: error: likely cause: the length prefix of units[4] says 118, its content is 98",
            |b| b[667] += 20,
            "set-length units[4] 98",
        ),
    ];
    for (said, fault, fix) in cases {
        let mut broken = original.to_vec();
        fault(&mut broken);
        let out = statescope(&[&["check", "-"][..], &ty].concat(), Some(&broken));
        let report = stdout(&out);
        assert_eq!(out.status.code(), Some(1));
        assert!(report.contains(said), "{report}");
        assert_eq!(suggested_fix(&report).as_deref(), Some(fix), "{report}");
        // The edit applies to the damaged blob as it is, and gives back the original.
        assert_eq!(repaired(&broken, fix, &ty), original, "{fix}");
    }
}

#[test]
fn what_decoded_before_a_fault_stays_decoded() {
    // units[3].state.cmos's tag (byte 407) read as a varint: `addr`, before it, is still a
    // decoded field, and the damaged field is shown raw with the VMM's words.
    let mut broken = statescope::samples::VM_STATE.to_vec();
    broken[407] &= !0x07;
    let out = statescope(&["show", "-", "--type", statescope::samples::ROOT_TYPE], Some(&broken));
    let text = stdout(&out);
    let unit = &text[text.find("  units[3]:").unwrap()..text.find("  units[4]:").unwrap()];
    assert!(unit.contains("      addr: uint32 = 12 (0xc)\n      cmos: varint = 256 (0x100)\n"), "{unit}");
    assert!(unit.contains("error at byte 407: failed to decode protobuf: expected a byte array"), "{unit}");
}

#[test]
fn a_byte_shifted_inside_an_opaque_value_is_placed_in_that_value() {
    // A byte inserted inside units[3].state.cmos (256 opaque bytes): the unit itself
    // decodes, the top level reads out of step after it; any byte of cmos could be the one.
    let ty = ["--type", statescope::samples::ROOT_TYPE];
    let mut broken = statescope::samples::VM_STATE.to_vec();
    broken.insert(420, 0x55);
    let report = stdout(&statescope(&[&["check", "-"][..], &ty].concat(), Some(&broken)));
    assert!(
        report.contains(
            "likely cause: a byte was inserted in units[3].state.cmos (bytes 410..667; which byte cannot be told"
        ),
        "{report}"
    );
    let fix = suggested_fix(&report).unwrap();
    let repaired = repaired(&broken, &fix, &ty);
    assert_eq!(repaired.len(), statescope::samples::VM_STATE.len());
    let out = statescope(&[&["check", "-"][..], &ty].concat(), Some(&repaired));
    assert!(out.status.success(), "the repair decodes cleanly: {}", stdout(&out));
}

#[test]
fn the_real_state_with_single_faults_names_each_cause() {
    let Some(openvmm) = common::openvmm() else { return };
    let original = std::fs::read(openvmm.join("state.bin")).unwrap();
    let protos = openvmm.join("protos");
    let schema = ["--proto-dir", protos.to_str().unwrap()];
    let cases: [(&str, Fault); 3] = [
        // issue 8's table: the cmos tag of units[4] (byte 502) changed to a varint.
        ("units[4]: byte 502: error: likely cause: the tag of units[4].state.cmos says wire type 0", |b| {
            b[502] &= !0x07
        }),
        // units[8]'s length prefix (byte 1157, three bytes) made 128 bytes too long: a6 98 01 → a6 99 01.
        (
            "units[8]: byte 1157: error: likely cause: the length prefix of units[8] says 19622, its content is 19494",
            |b| b[1158] += 1,
        ),
        // One bit of a tag inside units[6] (com1's lcr, byte 943) flipped.
        ("units[6]: byte 943: error: likely cause: the tag of units[6].state.lcr says wire type 1", |b| b[943] ^= 0x01),
    ];
    for (said, fault) in cases {
        let mut broken = original.clone();
        fault(&mut broken);
        let out = statescope(&[&["check", "-"][..], &schema].concat(), Some(&broken));
        let report = stdout(&out);
        assert!(report.contains(said), "{report}");
        let fix = suggested_fix(&report).expect("a fix is suggested");
        assert_eq!(repaired(&broken, &fix, &schema), original, "{fix}");
    }
    // In the cmos case, `addr` stays decoded: only `cmos` and what follows are raw.
    let mut broken = original.clone();
    broken[502] &= !0x07;
    let text = stdout(&statescope(&[&["show", "-"][..], &schema].concat(), Some(&broken)));
    let unit = &text[text.find("  units[4]:").unwrap()..text.find("  units[5]:").unwrap()];
    assert!(unit.contains("      addr: uint32 = 60 (0x3c)\n      cmos: varint = 256 (0x100)\n"), "{unit}");
}

#[test]
fn text_format_streamed_a_unit_at_a_time_is_what_the_whole_document_writes() {
    use std::sync::Arc;
    let schema = Arc::new(statescope::Schema::load(&statescope::SchemaSources::default()).unwrap());
    // A many-unit VM, and a packed run with a value that does not fit its type.
    let mut bad_run = vec![0x12, 0x07, 0x07];
    statescope::write_varint(&mut bad_run, 1 << 33);
    bad_run.push(0x09);
    let blobs = [
        (statescope::samples::large_vm(200_000), statescope::samples::ROOT_TYPE),
        (bad_run, "sample.pci.cfg_space_emu.SavedState"),
    ];
    for (blob, ty) in blobs {
        let decoder = statescope::Decoder::new(Arc::clone(&schema), schema.pool.get_message_by_name(ty));
        let doc = decoder.decode(statescope::Source::new(blob.clone()));
        let mut whole = Vec::new();
        let options = statescope::TextOptions { expand_any: true };
        statescope::write_text(&doc, statescope::NodeId::ROOT, options, &mut whole).unwrap();
        let streamed = statescope(&["show", "-", "--format", "text", "--type", ty], Some(&blob));
        assert_eq!(stdout(&streamed), String::from_utf8(whole).unwrap(), "{ty}");
    }
}

#[test]
fn the_real_state_repeated_is_detected_as_one_copy_is() {
    let Some(openvmm) = common::openvmm() else { return };
    let one = std::fs::read(openvmm.join("state.bin")).unwrap();
    let many = one.repeat(200);
    let protos = openvmm.join("protos");
    // With the VMM's schema and with the built-in one: a flat type must not outscore the
    // real root on a large blob by reading further into it.
    for schema in [vec!["--proto-dir", protos.to_str().unwrap()], vec![]] {
        let note = |blob: &[u8]| {
            let out = statescope(&[&["check", "-"][..], &schema].concat(), Some(blob));
            let text = stderr(&out);
            text.lines().find(|l| l.contains("no --type given")).unwrap_or_default().replace("-: ", "")
        };
        let (small, large) = (note(&one), note(&many));
        assert!(small.contains("decoding as"), "{small}");
        assert_eq!(small, large, "{schema:?}");
    }
}

#[test]
fn a_units_state_cut_out_on_its_own_is_detected_as_an_any() {
    // Its two fields fit other types too (the vmtime unit's fit google.protobuf.Type
    // better), but only an Any has its URL name the type its payload then fits.
    let schema = std::sync::Arc::new(statescope::Schema::load(&statescope::SchemaSources::default()).unwrap());
    let root = schema.pool.get_message_by_name(statescope::samples::ROOT_TYPE);
    let doc =
        statescope::Decoder::new(schema, root).decode(statescope::Source::new(statescope::samples::VM_STATE.to_vec()));
    for unit in 0..8 {
        let state = doc.value_bytes(doc.resolve(&format!("units[{unit}].state")).unwrap());
        let shown = statescope(&["show", "-"], Some(state));
        let said = stderr(&shown);
        assert!(said.contains("decoding as google.protobuf.Any (best fit)"), "unit {unit}: {said}");
        assert!(stdout(&shown).starts_with("google.protobuf.Any ("), "unit {unit}");
    }
}
