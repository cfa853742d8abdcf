//! End to end in a real terminal: the real binary runs on a pseudo-terminal, is driven by
//! typing into it and read through a terminal emulator, and must leave the terminal as it
//! found it. No tmux needed.

mod common;

use std::process::Command;

use common::terminal::{Terminal, key};

#[test]
fn browse_to_a_lun_search_and_quit_with_the_terminal_intact() {
    let exe = env!("CARGO_BIN_EXE_statescope");
    let script = format!(
        "{exe} samples/vm.state.bin --type sample.openvmm.SavedState; echo \"EXITED $?\"; stty -a | tr ' ' '\\n' | grep -x -- '-\\?icanon'; sleep 30"
    );
    let mut term = Terminal::start(&script, &common::root(), 140, 40);
    term.wait_for("units[7]: sample.state_unit.SavedStateUnit");

    // Down through both Any layers: select the storage unit, open it level by level.
    term.keys(&["g"]);
    for _ in 0..8 {
        term.keys(&["j"]);
    }
    term.keys(&["l", "j", "j", "l", "j", "j", "l", "j", "j", "j", "l", "j", "l", "j"]);
    let screen = term.wait_for("lun: uint32 = 2");
    assert!(screen.contains("state: Any → sample.vmbus.SimpleSavedState"), "{screen}");
    assert!(screen.contains("channel: Any → sample.storage.storvsp.SavedState"), "{screen}");
    let screen = term.wait_for("units[7].state.channel.drives[0].path.lun");
    assert!(screen.contains("1766..1768"), "the detail pane shows the byte span:\n{screen}");

    // Search for a value and see its span in the hex pane.
    term.keys(&["/"]);
    term.type_text("12345678901234");
    term.keys(&[key::ENTER]);
    let screen = term.wait_for("units[1].state.last");
    assert!(screen.contains("tag length value"), "{screen}");

    term.keys(&["q"]);
    term.wait_for("EXITED 0");
    let screen = term.wait_for("icanon");
    term.with_screen(|screen| {
        assert!(!screen.alternate_screen(), "the alternate screen was left");
        assert!(!screen.hide_cursor(), "the cursor is shown again");
        assert_eq!(screen.mouse_protocol_mode(), vt100::MouseProtocolMode::None, "mouse reporting is off again");
    });
    assert!(screen.lines().any(|l| l.trim() == "icanon"), "raw mode was left (icanon is back):\n{screen}");
    assert!(!screen.contains("sample.openvmm.SavedState (1796 bytes)"), "the alternate screen was left:\n{screen}");
}

#[test]
fn edit_a_lun_and_a_register_save_and_replay() {
    let exe = env!("CARGO_BIN_EXE_statescope");
    let scratch = common::scratch_dir("e2e-edit");
    let dir = scratch.path();
    let input = dir.join("vm.bin");
    std::fs::write(&input, statescope::samples::VM_STATE).unwrap();
    let script = format!("{exe} {} --type sample.openvmm.SavedState; echo \"EXITED $?\"; sleep 30", input.display());
    let mut term = Terminal::start(&script, dir, 140, 40);
    term.wait_for("units[7]: sample.state_unit.SavedStateUnit");

    let mut go_and_set = |path: &str, old_len: usize, value: &str, edits: usize| {
        term.keys(&[":"]);
        term.keys(&[key::CTRL_U]);
        for _ in 0..80 {
            term.keys(&[key::BACKSPACE]);
        }
        term.type_text(path);
        term.keys(&[key::ENTER]);
        term.wait_for(&format!("at {path}"));
        term.keys(&["e"]);
        term.wait_for("new value: ");
        for _ in 0..old_len {
            term.keys(&[key::BACKSPACE]);
        }
        term.type_text(value);
        term.keys(&[key::ENTER]);
        term.wait_for(&format!("{edits} edit(s), unsaved"));
    };
    go_and_set("units[7].state.channel.drives[0].path.lun", 1, "7", 1);
    go_and_set("units[6].state.vps[0].data.registers.rip", 20, "18446744071578845248", 2);
    term.keys(&["w"]);
    term.wait_for("save as: ");
    term.keys(&[key::ENTER]);
    term.wait_for("saved ");
    term.keys(&["q"]);
    term.wait_for("EXITED 0");

    let saved_path = dir.join("vm.edited.bin");
    let saved = std::fs::read(&saved_path).expect("w saved beside the input");
    let original = statescope::samples::VM_STATE;
    assert_eq!(std::fs::read(&input).unwrap(), original, "the input is untouched");
    let changed: Vec<usize> = (0..original.len()).filter(|&i| original[i] != saved[i]).collect();
    assert_eq!(
        (saved.len(), changed.len()),
        (original.len(), 2),
        "only the LUN's and rip's bytes changed: {changed:?}"
    );

    // The script saved beside it replays to the same bytes.
    let replayed = dir.join("replayed.bin");
    let out = Command::new(exe)
        .args(["patch", input.to_str().unwrap(), "--script"])
        .arg(dir.join("vm.edited.bin.edits"))
        .arg("-o")
        .arg(&replayed)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read(&replayed).unwrap(), saved);
}

#[test]
fn diff_view_marks_the_differences_and_jumps_between_them() {
    let exe = env!("CARGO_BIN_EXE_statescope");
    let dir = common::scratch_dir("e2e-diff");
    let (a, b) = (dir.path().join("a.bin"), dir.path().join("b.bin"));
    std::fs::write(&a, statescope::samples::VM_STATE).unwrap();
    let set = common::statescope(
        &["set", a.to_str().unwrap(), "units[7].state.channel.drives[0].path.lun=3", "-o", b.to_str().unwrap()],
        None,
    );
    assert!(set.status.success());
    let script =
        format!("{exe} diff a.bin b.bin --view --type sample.openvmm.SavedState; echo \"EXITED $?\"; sleep 30");
    let mut term = Terminal::start(&script, dir.path(), 140, 40);
    let screen = term.wait_for("1 difference(s): } and { jump between them");
    assert!(screen.contains("a.bin → b.bin"), "{screen}");
    term.keys(&["}"]);
    let screen = term.wait_for("Δ lun: uint32 = 3");
    assert!(screen.contains("Δ changed 2 → 3 (A bytes 1766..1768, B bytes 1766..1768)"), "the old value:\n{screen}");
    term.keys(&["q"]);
    term.wait_for("EXITED 0");
}

#[test]
fn the_mouse_is_taken_for_clicks_only_and_left_alone_with_no_mouse() {
    let exe = env!("CARGO_BIN_EXE_statescope");
    for (flag, expected) in
        [("", vt100::MouseProtocolMode::PressRelease), ("--no-mouse", vt100::MouseProtocolMode::None)]
    {
        let script =
            format!("{exe} samples/vm.state.bin {flag} --type sample.openvmm.SavedState; echo \"EXITED $?\"; sleep 30");
        let mut term = Terminal::start(&script, &common::root(), 100, 30);
        term.wait_for("units[7]: sample.state_unit.SavedStateUnit");
        term.with_screen(|screen| assert_eq!(screen.mouse_protocol_mode(), expected, "{flag}: no motion reports"));
        term.keys(&["q"]);
        term.wait_for("EXITED 0");
    }
}
