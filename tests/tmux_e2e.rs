//! End to end in a real terminal: the real binary runs in tmux, is driven with send-keys
//! and read with capture-pane, and must leave the terminal as it found it.

use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(command: &str) -> Tmux {
        let socket = format!("statescope-e2e-{}", std::process::id());
        let tmux = Tmux { socket };
        let status = tmux
            .cmd(&["new-session", "-d", "-s", "e2e", "-x", "140", "-y", "40", command])
            .status()
            .expect("tmux is installed (apt-get install tmux)");
        assert!(status.success());
        tmux
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.args(["-L", &self.socket, "-f", "/dev/null"]).args(args);
        cmd
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "e2e"];
        args.extend_from_slice(keys);
        assert!(self.cmd(&args).status().unwrap().success());
    }

    fn literal(&self, text: &str) {
        assert!(self.cmd(&["send-keys", "-t", "e2e", "-l", text]).status().unwrap().success());
    }

    fn screen(&self) -> String {
        let out = self.cmd(&["capture-pane", "-p", "-t", "e2e"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen shows `text` (the binary runs at its own pace).
    fn wait_for(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(start.elapsed() < Duration::from_secs(20), "screen never showed `{text}`:\n{screen}");
            sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]).status();
    }
}

#[test]
fn browse_to_a_lun_search_and_quit_with_the_terminal_intact() {
    let exe = env!("CARGO_BIN_EXE_statescope");
    let dir = env!("CARGO_MANIFEST_DIR");
    let script = format!(
        "cd {dir} && {exe} samples/vm.state.bin --type openvmm.SavedState; echo \"EXITED $?\"; stty -a | tr ' ' '\\n' | grep -x -- '-\\?icanon'; sleep 30"
    );
    let tmux = Tmux::start(&script);
    tmux.wait_for("units[7]: state_unit.SavedStateUnit");

    // Down through both Any layers: select the storage unit, open it level by level.
    tmux.keys(&["g"]);
    for _ in 0..8 {
        tmux.keys(&["j"]);
    }
    tmux.keys(&["l", "j", "j", "l", "j", "j", "l", "j", "j", "j", "l", "j", "l", "j"]);
    let screen = tmux.wait_for("lun: uint32 = 2");
    assert!(screen.contains("state: Any → vmbus.SimpleSavedState"), "{screen}");
    assert!(screen.contains("channel: Any → storage.storvsp.SavedState"), "{screen}");
    let screen = tmux.wait_for("units[7].state.channel.drives[0].path.lun");
    assert!(screen.contains("1674..1676"), "the detail pane shows the byte span:\n{screen}");

    // Search for a value and see its span in the hex pane.
    tmux.keys(&["/"]);
    tmux.literal("12345678901234");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("units[1].state.last");
    assert!(screen.contains("tag length value"), "{screen}");

    tmux.keys(&["q"]);
    tmux.wait_for("EXITED 0");
    let screen = tmux.wait_for("icanon");
    assert!(screen.lines().any(|l| l.trim() == "icanon"), "raw mode was left (icanon is back):\n{screen}");
    assert!(!screen.contains("openvmm.SavedState (1704 bytes)"), "the alternate screen was left:\n{screen}");
}

#[test]
fn edit_a_lun_and_a_register_save_and_replay() {
    let exe = env!("CARGO_BIN_EXE_statescope");
    let dir = std::env::temp_dir().join(format!("statescope-e2e-edit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("vm.bin");
    std::fs::write(&input, statescope::samples::VM_STATE).unwrap();
    let script = format!("{exe} {} --type openvmm.SavedState; echo \"EXITED $?\"; sleep 30", input.display());
    let tmux = Tmux { socket: format!("statescope-e2e-edit-{}", std::process::id()) };
    assert!(
        tmux.cmd(&["new-session", "-d", "-s", "e2e", "-x", "140", "-y", "40", &script]).status().unwrap().success()
    );
    tmux.wait_for("units[7]: state_unit.SavedStateUnit");

    let go_and_set = |path: &str, old_len: usize, value: &str, edits: usize| {
        tmux.keys(&[":"]);
        tmux.keys(&["C-u"]);
        for _ in 0..80 {
            tmux.keys(&["BSpace"]);
        }
        tmux.literal(path);
        tmux.keys(&["Enter"]);
        tmux.wait_for(&format!("at {path}"));
        tmux.keys(&["e"]);
        tmux.wait_for("new value: ");
        for _ in 0..old_len {
            tmux.keys(&["BSpace"]);
        }
        tmux.literal(value);
        tmux.keys(&["Enter"]);
        tmux.wait_for(&format!("{edits} edit(s), unsaved"));
    };
    go_and_set("units[7].state.channel.drives[0].path.lun", 1, "7", 1);
    go_and_set("units[6].state.vps[0].data.registers.rip", 20, "18446744071578845248", 2);
    tmux.keys(&["w"]);
    tmux.wait_for("save as: ");
    tmux.keys(&["Enter"]);
    tmux.wait_for("saved ");
    tmux.keys(&["q"]);
    tmux.wait_for("EXITED 0");

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
