//! Output for the command line: the annotated tree, protobuf text format, JSON and the
//! problem report. Each renderer only reads the document.

pub mod check;
pub mod json;
pub mod text;
pub mod tree;

use prost_reflect::{FieldDescriptor, MessageDescriptor};

use crate::decode::wire::{self, RawField};

/// Whether the top level of `bytes` reads as a streaming writer prints it, a top-level
/// field at a time: every field reads, those declared by `root` come in field-number
/// order, and every field passes `also` (given the field, its declaration if `root` has
/// one, and whether it has the number of the field before it).
pub(crate) fn top_level_in_order(
    bytes: &[u8],
    root: &MessageDescriptor,
    mut also: impl FnMut(&RawField, Option<&FieldDescriptor>, bool) -> bool,
) -> bool {
    let (mut pos, mut last, mut last_declared) = (0, 0, 0);
    // The declaration of the number met last: a top level is mostly long runs of one.
    let mut declared: Option<FieldDescriptor> = None;
    while pos < bytes.len() {
        let Ok(field) = wire::read_field(bytes, pos, bytes.len()) else { return false };
        let number = field.tag.field_number;
        if number != last {
            declared = root.get_field(number);
        }
        if declared.is_some() && number < last_declared || !also(&field, declared.as_ref(), number == last) {
            return false;
        }
        if declared.is_some() {
            last_declared = number;
        }
        (pos, last) = (field.end, number);
    }
    true
}

/// The spaces that indent a line `depth` levels (two a level), in as few pieces as can be:
/// writing them two at a time was a tenth of the tree's time on deeply nested state.
pub(crate) fn indent_pieces(depth: usize) -> impl Iterator<Item = &'static str> {
    const SPACES: &str = "                                                                ";
    let whole = depth * 2;
    (0..whole).step_by(SPACES.len()).map(move |from| &SPACES[..(whole - from).min(SPACES.len())])
}

/// The lines a part of the output writes, decoded ahead of its turn, held until then:
/// no more than [`LinesHeld::MOST`] bytes of them, so a part of huge top-level fields is
/// not held whole in memory (it is then written again in order, as it is read). Writing
/// past the bound fails, and lets go of what was held. The room of a part written out
/// goes to the next part made, so thousands of parts do not each grow a buffer anew.
#[derive(Debug)]
pub(crate) struct LinesHeld {
    lines: Vec<u8>,
    too_many: bool,
}

/// The room of parts written out, for the next parts made: as many as are held at once.
static SPARE_ROOM: std::sync::Mutex<Vec<Vec<u8>>> = std::sync::Mutex::new(Vec::new());

impl Default for LinesHeld {
    fn default() -> Self {
        let spare = SPARE_ROOM.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop();
        LinesHeld { lines: spare.unwrap_or_default(), too_many: false }
    }
}

impl Drop for LinesHeld {
    fn drop(&mut self) {
        let mut lines = std::mem::take(&mut self.lines);
        let mut spare = SPARE_ROOM.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let room: usize = spare.iter().map(Vec::capacity).sum();
        if lines.capacity() > 0 && room + lines.capacity() <= LinesHeld::SPARE_ROOM_MOST {
            lines.clear();
            spare.push(lines);
        }
    }
}

impl LinesHeld {
    /// The most bytes of lines held for a part.
    const MOST: usize = 8 << 20;

    /// The most room kept for parts to come, in all: what stays held after the output is
    /// written (in the browser, for as long as it runs). Any part's room is kept within
    /// it: when only those of up to 2 MiB were, a part of 65,000 distinct unknown fields
    /// (2.1 MB of lines) had its room made anew each time, and the fresh pages and the
    /// copies as it grew were a tenth of `show`'s time there.
    const SPARE_ROOM_MOST: usize = 16 << 20;

    /// Whether every line of the part is held.
    pub(crate) fn whole(&self) -> bool {
        !self.too_many
    }

    /// The lines held.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.lines
    }
}

impl std::io::Write for LinesHeld {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.write_all(buf).map(|()| buf.len())
    }

    #[inline]
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if self.too_many || self.lines.len() + buf.len() > Self::MOST {
            self.too_many = true;
            self.lines = Vec::new();
            return Err(std::io::Error::other("more lines than a part holds"));
        }
        self.lines.extend_from_slice(buf);
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn indent_pieces_make_two_spaces_a_level_at_any_depth() {
        for depth in 0..200 {
            assert_eq!(super::indent_pieces(depth).collect::<String>(), " ".repeat(2 * depth), "{depth}");
        }
    }
}
