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
