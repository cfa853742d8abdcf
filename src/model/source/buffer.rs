//! Values in memory with room before them, so that a splice that changes their length
//! moves whichever side of it is shorter: an edit near the start of a gigabyte moves the
//! few bytes (or stored nodes) before it, not the whole file after it.

use std::ops::{Deref, DerefMut, Range};

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

/// Values held from `begin` on in a vector, the room before them free: bytes of a file,
/// or the stored nodes of a document.
#[derive(Debug, Clone)]
pub struct Buffer<T = u8> {
    vec: Vec<T>,
    begin: usize,
}

impl<T> Default for Buffer<T> {
    fn default() -> Self {
        Buffer { vec: Vec::new(), begin: 0 }
    }
}

impl Buffer<u8> {
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
}

impl<T: Copy> Buffer<T> {
    /// The values as a vector of their own (moved to its start if room was before them).
    pub fn into_vec(mut self) -> Vec<T> {
        self.vec.drain(..self.begin);
        self.vec
    }

    /// Adds a value at the end.
    #[inline]
    pub fn push(&mut self, value: T) {
        self.vec.push(value);
    }

    /// Keeps the first `len` values.
    pub fn truncate(&mut self, len: usize) {
        self.vec.truncate(self.begin + len);
    }

    /// Takes out the first `count` values (at most all): the room before grows.
    pub fn drop_first(&mut self, count: usize) {
        self.begin += count.min(self.len());
    }

    /// Replaces the values of `range` by `with`: in place when as long; otherwise the
    /// values before the range move when they are fewer than those after it and there is
    /// room for them (a splice that shrinks them makes its own), else those after it.
    pub fn replace(&mut self, range: Range<usize>, with: &[T]) {
        let len = self.len();
        assert!(range.start <= range.end && range.end <= len, "a splice inside the values");
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

impl<T> From<Vec<T>> for Buffer<T> {
    fn from(vec: Vec<T>) -> Buffer<T> {
        Buffer { vec, begin: 0 }
    }
}

impl<T> Deref for Buffer<T> {
    type Target = [T];
    #[inline]
    fn deref(&self) -> &[T] {
        &self.vec[self.begin..]
    }
}

impl<T> DerefMut for Buffer<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.vec[self.begin..]
    }
}

impl Splicing for Buffer<u8> {
    fn replace(&mut self, range: Range<usize>, with: &[u8]) {
        Buffer::replace(self, range, with);
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

    #[test]
    fn stored_values_pushed_cut_and_spliced_read_as_a_plain_vector() {
        // As a document's stored nodes are: pushed, cut back, the first taken out, values
        // changed in place, and spliced near the start (the room before grows) and after.
        let mut plain: Vec<u64> = Vec::new();
        let mut buffer: Buffer<u64> = Buffer::default();
        for v in 0..300 {
            plain.push(v);
            buffer.push(v);
        }
        plain.truncate(250);
        buffer.truncate(250);
        plain.drain(..1);
        buffer.drop_first(1);
        plain[7] = 1000;
        buffer[7] = 1000;
        let splices: [(Range<usize>, &[u64]); 6] =
            [(3..9, &[1, 2]), (0..4, &[]), (2..2, &[5, 6, 7]), (200..240, &[9]), (1..3, &[8, 8]), (10..10, &[4; 9])];
        for (range, with) in splices {
            plain.splice(range.clone(), with.iter().copied());
            buffer.replace(range.clone(), with);
            assert_eq!(&*buffer, &plain[..], "after {range:?}");
        }
        assert_eq!(buffer.into_vec(), plain);
    }
}
