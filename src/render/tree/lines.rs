//! The tree's lines as they are made: each made in place at the end of a block of lines,
//! escaped where it must be, and the block written out when full, not a line at a time
//! (a copy and a write a line were 6% of a dense tree's time, measured as wall time).

use std::borrow::Cow;
use std::io::{self, Write};

use crate::model::value::terminal_safe;

/// Lines made in a block (`block`, kept by the caller from one subtree to the next) and
/// written to `out` a block at a time. What is not written by [`Lines::finish`] is lost.
pub(super) struct Lines<'b, W: Write> {
    block: &'b mut String,
    out: &'b mut W,
    /// Where the line being made starts in the block.
    start: usize,
}

/// Whether a line needs its text checked for what would act on the terminal.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Escape {
    /// Names, URLs and values from the blob or the schema: check, and escape.
    Check,
    /// Known printable ASCII (a kept row start and a number).
    Printable,
}

impl<'b, W: Write> Lines<'b, W> {
    /// The most bytes held before they are written out.
    const BLOCK: usize = 32 << 10;

    /// Lines written to `out`, made in `block` (emptied first).
    pub(super) fn new(block: &'b mut String, out: &'b mut W) -> Self {
        block.clear();
        Lines { block, out, start: 0 }
    }

    /// Starts a line: the text pushed onto what this returns, up to [`Lines::end_line`],
    /// is the line. Only push onto it, or cut it back to a length it had since.
    pub(super) fn start_line(&mut self) -> &mut String {
        self.start = self.block.len();
        self.block
    }

    /// Ends the line started last with its newline, escaped as `escape` says: whatever in
    /// it could act on the terminal or break the line.
    pub(super) fn end_line(&mut self, escape: Escape) -> io::Result<()> {
        if escape == Escape::Check
            && let Cow::Owned(escaped) = terminal_safe(&self.block[self.start..])
        {
            self.block.truncate(self.start);
            self.block.push_str(&escaped);
        }
        self.block.push('\n');
        if self.block.len() >= Self::BLOCK {
            self.out.write_all(self.block.as_bytes())?;
            self.block.clear();
        }
        Ok(())
    }

    /// Writes `made`, whole lines made elsewhere (escaped as they had to be), after the
    /// lines made here so far.
    pub(super) fn write_made(&mut self, made: &[u8]) -> io::Result<()> {
        self.out.write_all(self.block.as_bytes())?;
        self.block.clear();
        self.out.write_all(made)
    }

    /// Writes out the lines not written yet.
    pub(super) fn finish(self) -> io::Result<()> {
        self.out.write_all(self.block.as_bytes())?;
        self.block.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{Escape, Lines};

    #[test]
    fn lines_come_out_in_order_escaped_across_blocks() {
        let (mut block, mut out) = (String::from("left over"), Vec::new());
        let mut lines = Lines::new(&mut block, &mut out);
        let mut expected = String::new();
        for k in 0..20_000 {
            let line = lines.start_line();
            line.push_str(&format!("row {k}"));
            let escape = if k % 7 == 0 {
                line.push('\u{1b}');
                expected.push_str(&format!("row {k}\\x1b\n"));
                Escape::Check
            } else {
                expected.push_str(&format!("row {k}\n"));
                Escape::Printable
            };
            lines.end_line(escape).unwrap();
        }
        lines.finish().unwrap();
        assert!(expected.len() > 2 * Lines::<Vec<u8>>::BLOCK, "spans blocks");
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }
}
