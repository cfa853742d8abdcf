//! Golden files for `show` and `check` on every sample and on the real OpenVMM state.
//! Each snapshot names its input and options. Update with `cargo insta review` (or
//! `INSTA_UPDATE=always cargo test --test golden`) after a deliberate change.

mod common;

use common::{sample_blobs, statescope, stdout};

fn golden(name: &str, args: &[&str]) {
    let out = statescope(args, None);
    let text = format!(
        "$ statescope {}\nexit: {}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        out.status.code().unwrap_or(-1),
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    insta::assert_snapshot!(name, text);
}

#[test]
fn show_every_sample() {
    for (name, path) in sample_blobs() {
        let rel = path.strip_prefix(common::root()).unwrap().to_str().unwrap().to_owned();
        golden(&format!("show-{name}"), &["show", &rel]);
    }
}

#[test]
fn check_every_sample() {
    for (name, path) in sample_blobs() {
        let rel = path.strip_prefix(common::root()).unwrap().to_str().unwrap().to_owned();
        golden(&format!("check-{name}"), &["check", &rel]);
    }
}

#[test]
fn show_with_offsets_and_path() {
    golden("show-offsets-storvsp", &["show", "--offsets", "--path", "units[7].state", "samples/vm.state.bin"]);
}

#[test]
fn real_openvmm_state() {
    if common::openvmm().is_none() {
        return;
    }
    golden(
        "show-openvmm",
        &[
            "show",
            "--proto-dir",
            "../shared/openvmm/protos",
            "--type",
            "openvmm.SavedState",
            "../shared/openvmm/state.bin",
        ],
    );
    golden("check-openvmm", &["check", "--proto-dir", "../shared/openvmm/protos", "../shared/openvmm/state.bin"]);
}

/// Numbers given twice or unpacked, of every kind of label a number's row has: each row
/// names its field with its `[i]` where it has one, its type, and its value, as a number
/// row the tree writes from lines kept per field must.
#[test]
fn numbers_given_twice_or_unpacked_show_their_index_type_and_value() {
    let field = |out: &mut Vec<u8>, number: u64, wire: u64, value: &[u8]| {
        statescope::write_varint(out, number << 3 | wire);
        out.extend_from_slice(value);
    };
    let varint = |v: u64| {
        let mut out = Vec::new();
        statescope::write_varint(&mut out, v);
        out
    };
    let zigzag = |v: i64| varint(((v << 1) ^ (v >> 63)) as u64);
    let mut inner = Vec::new();
    field(&mut inner, 1, 0, &varint(7));
    field(&mut inner, 1, 0, &varint(8));
    field(&mut inner, 3, 0, &zigzag(-3));
    field(&mut inner, 3, 0, &zigzag(12));
    let mut blob = Vec::new();
    field(&mut blob, 17, 2, &[varint(inner.len() as u64), inner].concat());
    for (number, value) in [(19, 1), (19, 200), (16, 2), (22, 1), (22, 9), (13, 1), (1, u64::MAX - 4), (3, 1 << 33)] {
        field(&mut blob, number, 0, &varint(value));
    }
    field(&mut blob, 12, 1, &1.5f64.to_le_bytes());
    let out =
        statescope(&["show", "-", "--proto", "tests/data/json_kinds.proto", "--type", "jsonkinds.Kinds"], Some(&blob));
    let expected = "\
jsonkinds.Kinds (55 bytes)
  inner: jsonkinds.Inner
    id: uint32 = 7
    id[1]: uint32 = 8
    deltas[0]: sint64 = -3
    deltas[1]: sint64 = 12 (0xc)
  many_i32[0]: int32 = 1
  many_i32[1]: int32 = 200 (0xc8)
  mode: jsonkinds.Mode = MODE_AUTO (2)
  many_modes[0]: jsonkinds.Mode = MODE_ON (1)
  many_modes[1]: jsonkinds.Mode = 9 (not a declared value)
  flag: bool = true
  i32: int32 = -5
  u32: varint = 8589934592 (0x200000000)
    !! error at byte 41: saved state is invalid: 8589934592 does not fit a 32-bit unsigned field
  real64: double = 1.5
";
    assert_eq!(stdout(&out), expected);
}
