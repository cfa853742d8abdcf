//! A real terminal for end-to-end tests, with no tmux: the program runs on a
//! pseudo-terminal (`portable-pty`), and what it writes is fed to a terminal emulator
//! (`vt100`), whose screen the test reads as a person would.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::thread::sleep;
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, PtySize, native_pty_system};

/// How long a test waits for the screen to show something before failing.
const PATIENCE: Duration = Duration::from_secs(30);

/// A program running in a pseudo-terminal of a fixed size.
pub struct Terminal {
    screen: Arc<Mutex<vt100::Parser>>,
    keyboard: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
}

impl Terminal {
    /// Runs `sh -c script` in a `cols` × `rows` terminal, in `dir`.
    pub fn start(script: &str, dir: &std::path::Path, cols: u16, rows: u16) -> Terminal {
        let pty = native_pty_system()
            .openpty(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 })
            .expect("a pseudo-terminal opens");
        let mut command = CommandBuilder::new("sh");
        command.args(["-c", script]);
        command.cwd(dir);
        command.env("TERM", "xterm-256color");
        command.env("NO_COLOR", "1");
        let child = pty.slave.spawn_command(command).expect("the program starts in the terminal");
        drop(pty.slave);
        let mut output = pty.master.try_clone_reader().expect("the terminal can be read");
        let keyboard = pty.master.take_writer().expect("the terminal can be written");
        let size = |n: u16| std::num::NonZeroU16::new(n).expect("a terminal has rows and columns");
        let screen = Arc::new(Mutex::new(vt100::Parser::new(size(rows), size(cols), 0)));
        let feed = Arc::clone(&screen);
        std::thread::spawn(move || {
            let _master = pty.master; // kept open for as long as the program writes
            let mut buf = [0u8; 8192];
            while let Ok(n @ 1..) = output.read(&mut buf) {
                feed.lock().expect("screen lock").process(&buf[..n]);
            }
        });
        Terminal { screen, keyboard, child }
    }

    /// Types `text` as it is (control characters included: `"\r"` is Enter).
    pub fn type_text(&mut self, text: &str) {
        self.keyboard.write_all(text.as_bytes()).expect("keys reach the program");
        self.keyboard.flush().expect("keys reach the program");
        // One key at a time, as a person types: crossterm reads an escape sequence whole
        // only when it arrives together.
        sleep(Duration::from_millis(15));
    }

    /// Types each key in turn (each a character or a control sequence).
    pub fn keys(&mut self, keys: &[&str]) {
        for key in keys {
            self.type_text(key);
        }
    }

    /// The screen's text, one line per row.
    pub fn screen(&self) -> String {
        self.screen.lock().expect("screen lock").screen().contents()
    }

    /// Runs `check` on the emulated screen (cursor, modes).
    pub fn with_screen<T>(&self, check: impl FnOnce(&vt100::Screen) -> T) -> T {
        check(self.screen.lock().expect("screen lock").screen())
    }

    /// Waits until the screen shows `text` with its words in order, wherever the screen
    /// wrapped them (a message on two lines at 80 columns, one at 140); returns the screen.
    pub fn wait_for_words(&self, text: &str) -> String {
        let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        let wanted = words(text);
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if words(&screen).contains(&wanted) {
                return screen;
            }
            assert!(start.elapsed() < PATIENCE, "the screen never showed `{text}`:\n{screen}");
            sleep(Duration::from_millis(30));
        }
    }

    /// The screen once it has stopped changing for a moment, each row's trailing blanks
    /// cut: what a snapshot compares.
    pub fn settled(&self) -> String {
        let mut last = self.screen();
        loop {
            sleep(Duration::from_millis(150));
            let now = self.screen();
            if now == last {
                return now.lines().map(str::trim_end).collect::<Vec<_>>().join("\n");
            }
            last = now;
        }
    }

    /// Waits until the screen shows `text` (the program runs at its own pace).
    pub fn wait_for(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(start.elapsed() < PATIENCE, "the screen never showed `{text}`:\n{screen}");
            sleep(Duration::from_millis(30));
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// Keys as a terminal sends them.
pub mod key {
    /// Enter.
    pub const ENTER: &str = "\r";
    /// Backspace.
    pub const BACKSPACE: &str = "\x7f";
    /// Control-U.
    pub const CTRL_U: &str = "\x15";
    /// Tab.
    pub const TAB: &str = "\t";
}
