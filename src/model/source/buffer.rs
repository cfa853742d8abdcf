//! Bytes in memory with room before them, so that a splice that changes their length
//! moves whichever side of it is shorter: an edit near the start of a gigabyte moves the
//! few bytes before it, not the whole file after it.

use std::ops::{Deref, Range};

/// Bytes that a splice can replace a range of.
pub trait Splicing: Deref<Target = [u8]> {
    /// Replaces the bytes of `range` by `with`.
    fn replace(&mut self, range: Range<usize>, with: &[u8]);
}

impl Splicing for Vec<u8> {
    fn replace(&mut self, range: Range<usize>, with: &[u8]) {
        self.splice(range, with.iter().copied());
    }
}

/// Bytes held from `begin` on in a vector, the room before them free.
#[derive(Debug, Default)]
pub struct Buffer {
    vec: Vec<u8>,
    begin: usize,
}

impl Buffer {
    /// Bytes with `room` free bytes before them, for a file of about `capacity` bytes
    /// to be read into with [`Buffer::read_into`].
    pub fn with_room(room: usize, capacity: usize) -> Buffer {
        let mut vec = Vec::with_capacity(room.saturating_add(capacity));
        vec.resize(room, 0);
        Buffer { vec, begin: room }
    }

    /// The vector the bytes are read into: they are what follows the room in it.
    pub fn read_into(&mut self) -> &mut Vec<u8> {
        &mut self.vec
    }

    /// The bytes as a vector of their own (moved to its start if room was before them).
    pub fn into_vec(mut self) -> Vec<u8> {
        self.vec.drain(..self.begin);
        self.vec
    }
}

impl From<Vec<u8>> for Buffer {
    fn from(vec: Vec<u8>) -> Buffer {
        Buffer { vec, begin: 0 }
    }
}

impl Deref for Buffer {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        &self.vec[self.begin..]
    }
}

impl Splicing for Buffer {
    /// Replaces the bytes of `range` by `with`: in place when as long; otherwise the bytes
    /// before the range move when they are fewer than those after it and there is room
    /// for them (a splice that shrinks the bytes makes its own), else those after it.
    fn replace(&mut self, range: Range<usize>, with: &[u8]) {
        let len = self.len();
        assert!(range.start <= range.end && range.end <= len, "a splice inside the bytes");
        let (at, end) = (self.begin + range.start, self.begin + range.end);
        let grows = with.len().saturating_sub(range.len());
        if with.len() == range.len() {
            self.vec[at..end].copy_from_slice(with);
        } else if range.start < len - range.end && grows <= self.begin {
            let begin = self.begin + range.len() - with.len();
            self.vec.copy_within(self.begin..at, begin);
            self.begin = begin;
            let at = begin + range.start;
            self.vec[at..at + with.len()].copy_from_slice(with);
        } else {
            self.vec.splice(at..end, with.iter().copied());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splices_read_as_those_of_a_plain_vector_whichever_side_moves() {
        let original: Vec<u8> = (0..=255).collect();
        let mut plain = original.clone();
        let mut buffer = Buffer::with_room(6, original.len());
        buffer.read_into().extend_from_slice(&original);
        // Near the start and the end, growing past the room and shrinking to make more,
        // keeping the length, empty ranges and empty insertions.
        let splices: [(Range<usize>, &[u8]); 11] = [
            (100..103, b"abc"),
            (2..2, b""),
            (3..7, b"ab"),
            (0..0, b"0123456789"),
            (1..2, b""),
            (200..210, b"xyz"),
            (5..5, b"long insertion past the room left"),
            (0..4, b"wxyz"),
            (10..60, b""),
            (2..3, b"1234567"),
            (0..1, b"q"),
        ];
        for (range, with) in splices {
            plain.replace(range.clone(), with);
            buffer.replace(range.clone(), with);
            assert_eq!(&*buffer, &plain[..], "after {range:?}");
        }
        assert_eq!(buffer.into_vec(), plain);
    }
}
