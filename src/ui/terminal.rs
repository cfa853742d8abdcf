//! Entering and leaving the terminal's raw mode and alternate screen, so that every way
//! out (normal exit, error, panic) leaves the terminal as it was found.

use std::io::{self, Stdout, Write};

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::DisableMouseCapture;
use ratatui::crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode};
use ratatui::crossterm::{cursor, execute};

/// The terminal in browser mode; restored when dropped.
pub struct TerminalGuard {
    /// The ratatui terminal drawing to standard output.
    pub terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl TerminalGuard {
    /// Enters raw mode, the alternate screen and mouse capture, and makes panics restore
    /// the terminal before their message is printed.
    pub fn enter() -> io::Result<Self> {
        enable_raw_mode()?;
        let entered = match MOUSE.get().copied().unwrap_or(true) {
            true => execute!(io::stdout(), EnterAlternateScreen, ClickCapture),
            false => execute!(io::stdout(), EnterAlternateScreen),
        };
        if let Err(e) = entered {
            restore();
            return Err(e);
        }
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
        match Terminal::new(CrosstermBackend::new(io::stdout())) {
            Ok(terminal) => Ok(TerminalGuard { terminal }),
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }

    /// Writes raw bytes (an OSC 52 sequence) to the terminal.
    pub fn write_raw(&mut self, text: &str) -> io::Result<()> {
        let out = self.terminal.backend_mut();
        out.write_all(text.as_bytes())?;
        out.flush()
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
        let _ = std::panic::take_hook();
    }
}

/// Whether the browser takes the mouse (`--no-mouse` leaves it to the terminal); set once
/// by the command line before any browser opens.
static MOUSE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// Sets whether the browser takes the mouse.
pub fn use_mouse(mouse: bool) {
    let _ = MOUSE.set(mouse);
}

/// Mouse reporting of clicks and the wheel only (X10/normal tracking, SGR coordinates),
/// not of every motion: the terminal's own text selection then still works with Shift,
/// and moving the mouse sends nothing.
struct ClickCapture;

impl ratatui::crossterm::Command for ClickCapture {
    fn write_ansi(&self, f: &mut impl std::fmt::Write) -> std::fmt::Result {
        f.write_str("\x1b[?1000h\x1b[?1006h")
    }
}

/// Leaves every mode the browser entered; harmless when called twice.
fn restore() {
    let _ = execute!(io::stdout(), DisableMouseCapture, LeaveAlternateScreen, cursor::Show);
    let _ = disable_raw_mode();
}
