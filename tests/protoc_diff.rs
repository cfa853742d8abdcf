//! Differential tests against the real protoc on the same bytes: our text format without
//! Any expansion is exactly what `protoc --decode` prints, and our expanded text format is
//! accepted by `protoc --encode` and gives back the same message.

mod common;

use common::{protoc, sample_descriptor_sets, statescope, stdout};

fn check_against_protoc(blob: &std::path::Path, type_name: &str, schema_args: &[&str], descriptor_set_in: &str) {
    let bytes = std::fs::read(blob).unwrap();
    let blob = blob.to_str().unwrap();
    let mut args = vec!["show", "--format", "text", "--raw-any", "--type", type_name, blob];
    args.extend_from_slice(schema_args);
    let ours = statescope(&args, None);
    assert!(ours.status.success(), "{}", String::from_utf8_lossy(&ours.stderr));
    let theirs =
        protoc(&[&format!("--decode={type_name}"), &format!("--descriptor_set_in={descriptor_set_in}")], &bytes);
    assert_eq!(stdout(&ours), String::from_utf8(theirs).unwrap(), "show --format text disagrees with protoc --decode");

    // Expanded text goes through protoc --encode and decodes to the same message.
    let mut args = vec!["show", "--format", "text", "--type", type_name, blob];
    args.extend_from_slice(schema_args);
    let expanded = stdout(&statescope(&args, None));
    assert!(expanded.contains("[type.googleapis.com/"), "Any payloads are expanded");
    let encoded = protoc(
        &[&format!("--encode={type_name}"), &format!("--descriptor_set_in={descriptor_set_in}")],
        expanded.as_bytes(),
    );
    let scratch = common::scratch_dir("protoc-diff");
    let dir = scratch.path();
    let re = dir.join("re.bin");
    std::fs::write(&re, &encoded).unwrap();
    let mut args = vec!["show", "--format", "text", "--type", type_name, re.to_str().unwrap()];
    args.extend_from_slice(schema_args);
    assert_eq!(stdout(&statescope(&args, None)), expanded, "protoc --encode of our text is the same message");
}

#[test]
fn healthy_sample_matches_protoc() {
    check_against_protoc(
        &common::root().join("samples/vm.state.bin"),
        statescope::samples::ROOT_TYPE,
        &[],
        &sample_descriptor_sets(),
    );
}

#[test]
fn real_openvmm_state_matches_protoc() {
    let Some(openvmm) = common::openvmm() else { return };
    let scratch = common::scratch_dir("protoc-diff");
    let dir = scratch.path();
    let set = common::openvmm_descriptor_set(&openvmm, dir);
    let set = set.to_str().unwrap();
    check_against_protoc(&openvmm.join("state.bin"), "openvmm.SavedState", &["--descriptor-set", set], set);
}

#[test]
fn every_any_payload_decodes_to_device_fields() {
    // protoc cannot expand Any in --decode; statescope must, on every unit of the real state.
    let Some(openvmm) = common::openvmm() else { return };
    let (protos, state) = (openvmm.join("protos"), openvmm.join("state.bin"));
    let out = statescope(&["show", "--proto-dir", protos.to_str().unwrap(), state.to_str().unwrap()], None);
    let text = stdout(&out);
    assert_eq!(text.matches("state: Any → ").count(), 10, "ten units, each resolved:\n{text}");
    assert!(!text.contains("!!"), "no problems in the real state");
    assert!(text.contains("cr: uint32 = 11932"));
    assert!(text.contains("last: uint64 = 12345678901234"));
    assert!(text.contains("rip: uint64 = 18446744071578845184 (0xffffffff81000000)"));
    assert!(text.contains("Any → pci.caps.msi.SavedState"), "the MSI capability nested Any resolves");
}

/// Fields given out of number order, at the top and in a nested message, with fields the
/// schema does not declare among them: text format prints declared ones by number, then
/// the others, as protoc does.
#[test]
fn fields_out_of_order_print_in_number_order_as_protoc_prints_them() {
    let scratch = common::scratch_dir("protoc-diff");
    let dir = scratch.path();
    let set = dir.join("kinds.binpb");
    let (data, include) = (common::root().join("tests/data"), common::protoc_include());
    protoc(
        &[
            &format!("-I{}", data.display()),
            &format!("-I{}", include.display()),
            "--include_imports",
            &format!("-o{}", set.display()),
            "json_kinds.proto",
        ],
        &[],
    );
    let varint = |v: u64| {
        let mut out = Vec::new();
        statescope::write_varint(&mut out, v);
        out
    };
    let field = |out: &mut Vec<u8>, number: u64, wire: u64, value: &[u8]| {
        out.extend(varint(number << 3 | wire));
        out.extend_from_slice(value);
    };
    let mut inner = Vec::new();
    field(&mut inner, 3, 0, &varint(5)); // deltas: -3
    field(&mut inner, 99, 0, &varint(5)); // not declared
    field(&mut inner, 1, 0, &varint(7)); // id
    field(&mut inner, 3, 0, &varint(24)); // deltas: 12
    let mut blob = Vec::new();
    field(&mut blob, 17, 2, &[varint(inner.len() as u64), inner].concat());
    for (number, value) in [(19, 1), (16, 2), (99, 5), (13, 1), (1, u64::MAX - 4), (22, 1), (22, 9), (19, 200)] {
        field(&mut blob, number, 0, &varint(value));
    }
    field(&mut blob, 12, 1, &1.5f64.to_le_bytes());
    let file = dir.join("out-of-order.bin");
    std::fs::write(&file, &blob).unwrap();
    let set_arg = set.to_str().unwrap();
    let args =
        ["show", "--format", "text", "--type", "jsonkinds.Kinds", file.to_str().unwrap(), "--descriptor-set", set_arg];
    let ours = statescope(&args, None);
    let theirs = protoc(&["--decode=jsonkinds.Kinds", &format!("--descriptor_set_in={set_arg}")], &blob);
    assert_eq!(stdout(&ours), String::from_utf8(theirs).unwrap(), "show --format text disagrees with protoc --decode");
    assert!(stdout(&ours).starts_with("i32: -5\nreal64: 1.5\nflag: true\n"), "{}", stdout(&ours));
}
