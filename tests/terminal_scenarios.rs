//! What a person does in the browser, done in a real terminal at 80×24 and at 140×45: the
//! real binary on a pseudo-terminal, driven by keys, its screen snapshotted once settled,
//! and the files it writes checked byte by byte.

mod common;

use std::path::{Path, PathBuf};

use common::terminal::{Terminal, key};

/// The terminal sizes every scenario runs at: the smallest anyone uses, and a roomy one.
const SIZES: [(u16, u16); 2] = [(80, 24), (140, 45)];

/// A scratch folder holding a copy of the built-in sample as `vm.bin`.
fn folder_with_sample(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = common::scratch_dir(name);
    let input = dir.path().join("vm.bin");
    std::fs::write(&input, statescope::samples::VM_STATE).unwrap();
    (dir, input)
}

/// The browser on `file` (relative to `dir`) in a terminal of `size`, up and showing the units.
fn browse(dir: &Path, file: &str, size: (u16, u16)) -> Terminal {
    let exe = env!("CARGO_BIN_EXE_statescope");
    let script = format!("{exe} {file} --type sample.openvmm.SavedState; echo \"EXITED $?\"; sleep 30");
    let term = Terminal::start(&script, dir, size.0, size.1);
    term.wait_for("units[7]");
    term
}

/// Opens the `:` prompt, clears what it offers with Ctrl-U, and jumps to `path`.
fn go_to(term: &mut Terminal, path: &str) {
    term.keys(&[":", key::CTRL_U]);
    term.type_text(path);
    term.keys(&[key::ENTER]);
}

fn snapshot(name: &str, size: (u16, u16), term: &Terminal) {
    insta::assert_snapshot!(format!("{name}-{}x{}", size.0, size.1), term.settled());
}

fn quit(term: &mut Terminal) -> String {
    term.keys(&["q"]);
    term.wait_for("EXITED 0")
}

#[test]
fn typing_a_value_replaces_the_one_offered() {
    for size in SIZES {
        let (dir, _) = folder_with_sample("scenario-replace");
        let mut term = browse(dir.path(), "vm.bin", size);
        go_to(&mut term, "units[1].state.timers.field1[0].cr");
        term.keys(&["e"]);
        term.wait_for("new value: 11932");
        term.type_text("70000");
        term.keys(&[key::ENTER]);
        let screen = term.wait_for_words("edited: set units[1].state.timers.field1[0].cr 70000");
        assert!(screen.contains("cr: uint32 = 70000"), "the typed value, not 1193270000:\n{screen}");
        snapshot("replace-value", size, &term);
    }
}

#[test]
fn ctrl_u_clears_the_offered_path_and_the_jump_lands() {
    for size in SIZES {
        let mut term = browse(&common::root(), "samples/vm.state.bin", size);
        term.keys(&["j", "j", "j"]);
        go_to(&mut term, "units[4].state.lcr");
        term.wait_for("at units[4].state.lcr");
        assert!(term.screen().contains("lcr: uint32"), "{}", term.screen());
        snapshot("jump-path", size, &term);
    }
}

#[test]
fn a_byte_offset_jump_selects_its_field_and_puts_the_cursor_on_it() {
    for size in SIZES {
        let mut term = browse(&common::root(), "samples/vm.state.bin", size);
        go_to(&mut term, "@0x6e7");
        term.wait_for_words("byte 1767 (0x6e7) is in the value of units[7].state.channel.drives[0].path.lun");
        snapshot("jump-offset", size, &term);
    }
}

#[test]
fn one_byte_overwritten_in_the_hex_pane_is_the_only_byte_saved_different() {
    for size in SIZES {
        let (dir, input) = folder_with_sample("scenario-hex");
        let mut term = browse(dir.path(), "vm.bin", size);
        go_to(&mut term, "@1767");
        term.wait_for_words("byte 1767 (0x6e7)");
        term.keys(&[key::TAB]);
        term.wait_for("hex @1767 (0x6e7)");
        term.keys(&["0", "7"]);
        term.wait_for_words("edited: set-byte 1767 0x07");
        snapshot("hex-overwrite", size, &term);
        term.keys(&["w"]);
        term.wait_for("save as: ");
        term.keys(&[key::ENTER]);
        term.wait_for("saved ");
        quit(&mut term);

        let saved = std::fs::read(dir.path().join("vm.edited.bin")).expect("w saved beside the input");
        let original = std::fs::read(&input).unwrap();
        assert_eq!(original, statescope::samples::VM_STATE, "the input is untouched");
        let changed: Vec<usize> = (0..original.len()).filter(|&i| original[i] != saved[i]).collect();
        assert_eq!((saved.len(), changed, saved[1767]), (original.len(), vec![1767], 7));
        let script = std::fs::read_to_string(dir.path().join("vm.edited.bin.edits")).unwrap();
        assert!(script.lines().any(|l| l == "set-byte 1767 0x07"), "{script}");
    }
}

#[test]
fn ascii_text_deep_inside_a_bytes_value_is_found() {
    for size in SIZES {
        let mut term = browse(&common::root(), "samples/vm.state.bin", size);
        // 64 bytes into the CMOS RAM: the row shows only its first bytes.
        term.keys(&["/"]);
        term.type_text("SCOPE-DEMO");
        term.keys(&[key::ENTER]);
        let screen = term.wait_for("/SCOPE-DEMO: match 1 of 1");
        assert!(screen.contains("units[3].state.cmos"), "the detail pane names it:\n{screen}");
        snapshot("find-ascii", size, &term);
    }
}

#[test]
fn the_problems_of_a_broken_state_are_stepped_through_k_of_n() {
    for size in SIZES {
        // Three names made invalid UTF-8: three errors, in three units.
        let (dir, input) = folder_with_sample("scenario-problems");
        let broken = dir.path().join("broken.bin");
        // `set` takes only valid values, so the corruption goes through a raw edit script.
        let script = dir.path().join("corrupt.edits");
        std::fs::write(&script, "set-raw units[0].name ff\nset-raw units[2].name fe\nset-raw units[5].name c0\n")
            .unwrap();
        let patched = common::statescope(
            &[
                "patch",
                input.to_str().unwrap(),
                "--script",
                script.to_str().unwrap(),
                "-o",
                broken.to_str().unwrap(),
                "--type",
                "sample.openvmm.SavedState",
            ],
            None,
        );
        assert!(patched.status.success(), "{}", String::from_utf8_lossy(&patched.stderr));
        let mut term = browse(dir.path(), "broken.bin", size);
        term.wait_for("✗ 3 error(s)");
        term.keys(&["]"]);
        term.wait_for_words("problem 1 of 3: byte");
        term.keys(&["]"]);
        term.wait_for_words("problem 2 of 3: byte");
        snapshot("problems-k-of-n", size, &term);
        term.keys(&["]", "]"]);
        term.wait_for_words("problem 1 of 3 (from the first again)");
    }
}

#[test]
fn what_y_copies_pasted_into_set_gives_the_same_bytes() {
    for size in SIZES {
        let (dir, input) = folder_with_sample("scenario-copy");
        let mut term = browse(dir.path(), "vm.bin", size);
        let path = "units[6].state.vps[0].data.registers.rip";
        go_to(&mut term, path);
        term.wait_for(&format!("at {path}"));
        term.keys(&["Y"]);
        term.wait_for("copied: ");
        snapshot("copy-value", size, &term);
        // Copies are printed on leaving, for terminals with no clipboard.
        let screen = quit(&mut term);
        let lines: Vec<&str> = screen.lines().collect();
        let exited = lines.iter().position(|l| l.contains("EXITED 0")).unwrap();
        let copied = lines[exited - 1].trim();
        assert_eq!(copied, "18446744071578845184", "the value as set takes it:\n{screen}");

        let out = dir.path().join("set.bin");
        let set = common::statescope(
            &[
                "set",
                input.to_str().unwrap(),
                &format!("{path}={copied}"),
                "-o",
                out.to_str().unwrap(),
                "--type",
                "sample.openvmm.SavedState",
            ],
            None,
        );
        assert!(set.status.success(), "{}", String::from_utf8_lossy(&set.stderr));
        assert_eq!(std::fs::read(&out).unwrap(), statescope::samples::VM_STATE, "the same bytes");
    }
}

#[test]
fn help_at_80_by_24_shows_every_binding_whole() {
    let size = (80, 24);
    let mut term = browse(&common::root(), "samples/vm.state.bin", size);
    term.keys(&["?"]);
    let screen = term.wait_for("keys (any key closes)");
    for (keys, help) in statescope::browser::help_lines() {
        assert!(screen.contains(help), "`{help}` ({keys}) is whole at 80x24:\n{screen}");
    }
    snapshot("help", size, &term);
    term.keys(&["x"]);
    term.wait_for("units[7]");
    assert!(!term.screen().contains("keys (any key closes)"), "any key closes it");
}

#[test]
fn on_the_real_openvmm_state_hidden_cmos_text_is_found_and_one_byte_of_it_rewritten() {
    let Some(openvmm) = common::openvmm() else { return };
    let (dir, _) = folder_with_sample("scenario-openvmm");
    let input = dir.path().join("state.bin");
    std::fs::copy(openvmm.join("state.bin"), &input).unwrap();
    let exe = env!("CARGO_BIN_EXE_statescope");
    // No --type: the detected type is said once, whole, and kept on the root.
    let protos = openvmm.join("protos");
    let script = format!("{exe} state.bin --proto-dir {}; echo \"EXITED $?\"; sleep 30", protos.display());
    let mut term = Terminal::start(&script, dir.path(), 140, 45);
    term.wait_for_words("no --type given; decoding as");
    term.keys(&["/"]);
    term.type_text("HIDDEN");
    term.keys(&[key::ENTER]);
    let screen = term.wait_for("/HIDDEN: match 1 of 1");
    assert!(screen.contains("cmos"), "{screen}");
    // The byte of the first `H`: found by search, overwritten with `h` in the hex pane.
    let original = std::fs::read(&input).unwrap();
    let at = original.windows(6).position(|w| w == b"HIDDEN").unwrap();
    go_to(&mut term, &format!("@{at}"));
    term.wait_for_words(&format!("byte {at} ({at:#x}) is in the value of"));
    term.keys(&[key::TAB, "6", "8"]);
    term.wait_for_words(&format!("edited: set-byte {at} 0x68"));
    term.keys(&["w"]);
    term.wait_for("save as: ");
    term.keys(&[key::ENTER]);
    term.wait_for("saved ");
    quit(&mut term);
    let saved = std::fs::read(dir.path().join("state.edited.bin")).unwrap();
    let changed: Vec<usize> = (0..original.len()).filter(|&i| original[i] != saved[i]).collect();
    assert_eq!((saved.len(), changed), (original.len(), vec![at]));
    assert_eq!(&saved[at..at + 6], b"hIDDEN");
}
