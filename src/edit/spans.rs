//! Where each part of edited bytes came from: a span of the bytes first read, or an edit.
//! A save writes what edits wrote from memory and copies the rest from the file the bytes
//! were read from, in the kernel, rather than writing a gigabyte from memory for one byte.

use std::fs::File;

use crate::edit::splice::Change;
use crate::files::Extent;

/// The edited bytes as consecutive parts, each either a span of the bytes first read or
/// bytes an edit wrote.
#[derive(Debug, Clone)]
pub struct Spans {
    parts: Vec<Part>,
}

/// `len` bytes: read from offset `from` of the first bytes, or (`None`) written by an edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Part {
    len: usize,
    from: Option<usize>,
}

impl Part {
    /// `len` bytes of this part from `offset` in it.
    fn cut(self, offset: usize, len: usize) -> Part {
        Part { len, from: self.from.map(|from| from + offset) }
    }
}

/// The most parts followed: past it (a script of thousands of scattered edits), every byte
/// is written from memory, so following a change never costs more than a few thousand steps.
const MOST_PARTS: usize = 4096;

impl Spans {
    /// `len` bytes as first read.
    pub fn new(len: usize) -> Spans {
        Spans { parts: vec![Part { len, from: Some(0) }] }
    }

    /// Follows `change`, whose splices are on the bytes as they are now.
    pub fn apply(&mut self, change: &Change) {
        let mut splices: Vec<_> = change.splices.iter().collect();
        // From the last: a splice leaves the offsets before it as they were.
        splices.sort_by_key(|s| std::cmp::Reverse(s.offset));
        for splice in splices {
            self.replace(splice.offset, splice.removed.len(), splice.inserted.len());
        }
        if self.parts.len() > MOST_PARTS {
            let len = self.parts.iter().map(|p| p.len).sum();
            self.parts = vec![Part { len, from: None }];
        }
    }

    /// Bytes `at..at + removed` replaced by `inserted` bytes of an edit.
    fn replace(&mut self, at: usize, removed: usize, inserted: usize) {
        let end = at + removed;
        let mut before = Vec::with_capacity(self.parts.len() + 2);
        let mut after = Vec::new();
        let mut pos = 0;
        for &part in &self.parts {
            let (start, stop) = (pos, pos + part.len);
            pos = stop;
            if start < at {
                before.push(part.cut(0, stop.min(at) - start));
            }
            if stop > end {
                let from = start.max(end);
                after.push(part.cut(from - start, stop - from));
            }
        }
        self.parts.clear();
        let edit = Part { len: inserted, from: None };
        for part in before.into_iter().chain([edit]).chain(after) {
            self.push(part);
        }
    }

    /// Adds a part at the end, joined to the last one where they continue each other.
    fn push(&mut self, part: Part) {
        if part.len == 0 {
            return;
        }
        if let Some(last) = self.parts.last_mut() {
            let continues = match (last.from, part.from) {
                (None, None) => true,
                (Some(a), Some(b)) => a + last.len == b,
                _ => false,
            };
            if continues {
                last.len += part.len;
                return;
            }
        }
        self.parts.push(part);
    }

    /// The extents to write for `bytes`, the bytes now: the spans still as first read are
    /// marked as held by `file` (which the caller has made sure still holds them), to be
    /// copied from there.
    pub fn extents<'a>(&self, bytes: &'a [u8], file: Option<&'a File>) -> Vec<Extent<'a>> {
        let followed = self.parts.iter().map(|p| p.len).sum::<usize>() == bytes.len();
        debug_assert!(followed, "every change to the bytes was followed");
        let Some(file) = file.filter(|_| followed) else { return vec![Extent::bytes(bytes)] };
        let mut pos = 0;
        self.parts
            .iter()
            .map(|part| {
                let extent = Extent {
                    bytes: &bytes[pos..pos + part.len],
                    copied_from: part.from.map(|from| (file, from as u64)),
                };
                pos += part.len;
                extent
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edit::splice::Splice;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn every_span_marked_as_read_holds_the_bytes_read_there(
            first in proptest::collection::vec(any::<u8>(), 1..200),
            edits in proptest::collection::vec((any::<u16>(), 0usize..9, proptest::collection::vec(any::<u8>(), 0..9)), 1..12),
        ) {
            // Random replacements, one or two splices at a time, followed on the bytes and
            // on the spans: each extent copied from the file is the bytes there, and the
            // extents make the bytes.
            let mut file = tempfile::tempfile().unwrap();
            std::io::Write::write_all(&mut file, &first).unwrap();
            let (mut bytes, mut spans) = (first.clone(), Spans::new(first.len()));
            for (k, (at, removed, inserted)) in edits.iter().enumerate() {
                let at = usize::from(*at) % (bytes.len() + 1);
                let removed = (*removed).min(bytes.len() - at);
                let mut splices = vec![Splice::edit(at, bytes[at..at + removed].to_vec(), inserted.clone())];
                // Every other change also rewrites the first byte, as a length prefix would.
                if k % 2 == 1 && at > 0 {
                    splices.push(Splice { offset: 0, removed: vec![bytes[0]], inserted: vec![bytes[0] ^ 0x80], fixup: true });
                }
                let change = Change { splices };
                spans.apply(&change);
                change.apply(&mut bytes);
                let extents = spans.extents(&bytes, Some(&file));
                let joined: Vec<u8> = extents.iter().flat_map(|p| p.bytes).copied().collect();
                prop_assert_eq!(&joined, &bytes);
                for extent in &extents {
                    if let Some((_, from)) = extent.copied_from {
                        let from = from as usize;
                        prop_assert_eq!(extent.bytes, &first[from..from + extent.bytes.len()]);
                    }
                }
            }
        }
    }
}
