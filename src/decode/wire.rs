//! Protobuf wire primitives: varints, tags and one-field-at-a-time scanning with exact spans.
//!
//! Every function here is total: malformed input yields a [`WireError`] with the byte offset
//! where it was found, never a panic, and nothing is allocated from a length read in the input.

mod short_runs;

use std::fmt;

/// Longest legal varint, in bytes.
pub const MAX_VARINT_LEN: usize = 10;
/// Largest field number protobuf allows.
pub const MAX_FIELD_NUMBER: u64 = (1 << 29) - 1;

/// The six wire types that protobuf defines (6 and 7 are invalid and reported as errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum WireType {
    /// 0: a base-128 varint.
    Varint = 0,
    /// 1: eight little-endian bytes.
    Fixed64 = 1,
    /// 2: a varint length, then that many bytes.
    Len = 2,
    /// 3: start of a group, ended by a matching `EndGroup` tag.
    StartGroup = 3,
    /// 4: end of a group.
    EndGroup = 4,
    /// 5: four little-endian bytes.
    Fixed32 = 5,
}

impl WireType {
    /// The wire type for a tag's low three bits, if it is one protobuf defines.
    pub fn from_bits(bits: u8) -> Option<Self> {
        Some(match bits {
            0 => Self::Varint,
            1 => Self::Fixed64,
            2 => Self::Len,
            3 => Self::StartGroup,
            4 => Self::EndGroup,
            5 => Self::Fixed32,
            _ => return None,
        })
    }

    /// The short name used in diagnostics (`varint`, `i64`, `len`, `sgroup`, `egroup`, `i32`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Varint => "varint",
            Self::Fixed64 => "i64",
            Self::Len => "len",
            Self::StartGroup => "sgroup",
            Self::EndGroup => "egroup",
            Self::Fixed32 => "i32",
        }
    }
}

impl fmt::Display for WireType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a run of bytes is not valid protobuf wire format, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    /// Absolute byte offset of the offending byte.
    pub offset: usize,
    /// What is wrong there.
    pub reason: WireErrorKind,
}

/// The ways wire bytes can be malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireErrorKind {
    /// A varint whose continuation bit runs past the end of its span.
    #[error("eof parsing a varint: the input ends before its last byte")]
    TruncatedVarint,
    /// A varint longer than ten bytes, or whose tenth byte overflows 64 bits.
    #[error("varint too big: longer than 10 bytes or overflows 64 bits")]
    OverlongVarint,
    /// A tag with field number 0.
    #[error("field number 0 is not allowed")]
    FieldNumberZero,
    /// A tag whose field number exceeds 2^29-1.
    #[error("field number {0} is larger than the maximum 536870911")]
    FieldNumberTooLarge(u64),
    /// Wire type 6 or 7.
    #[error("unknown wire type {0}: only 0-5 are defined")]
    InvalidWireType(u8),
    /// A fixed-width value cut short.
    #[error("eof parsing a {}: the value needs {need} bytes but only {have} remain", if *wire == WireType::Fixed32 { "fixed32" } else { "fixed64" })]
    TruncatedFixed {
        /// `i32` or `i64`.
        wire: WireType,
        /// Bytes the value needs.
        need: usize,
        /// Bytes left in the enclosing span.
        have: usize,
    },
    /// A length prefix that points past the end of the enclosing span.
    #[error("eof parsing a byte array: length {len} runs past the end: only {have} bytes remain")]
    LengthPastEnd {
        /// The length the prefix declares.
        len: u64,
        /// Bytes left in the enclosing span.
        have: usize,
    },
    /// A start-group tag with no matching end-group tag.
    #[error("group for field {0} is never closed")]
    UnterminatedGroup(u32),
    /// An end-group tag with no open group, or closing a different field's group.
    #[error("end-group tag for field {0} has no matching start-group")]
    UnmatchedEndGroup(u32),
    /// Groups nested deeper than any reader accepts.
    #[error("groups nested more than {MAX_GROUP_NESTING} levels deep")]
    GroupsTooDeep,
}

/// Deepest group nesting the scanner follows to find where a group ends. protoc and prost
/// refuse nesting past 100; this bound only keeps the scan's memory small on hostile input
/// while leaving room for any `--max-depth` a user may choose.
pub const MAX_GROUP_NESTING: usize = 1 << 16;

/// One field's tag, as read from the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag {
    /// Field number, 1..=2^29-1.
    pub field_number: u32,
    /// Wire type from the tag's low bits.
    pub wire_type: WireType,
}

/// Reads a varint at `pos`, not reading at or beyond `end`. Returns the value and its length.
#[inline(always)]
pub fn read_varint(buf: &[u8], pos: usize, end: usize) -> Result<(u64, usize), WireError> {
    // The fast path, where it is called: one byte (most tags, lengths and small values).
    let end = end.min(buf.len());
    if pos < end && buf[pos] < 0x80 {
        return Ok((u64::from(buf[pos]), 1));
    }
    read_longer_varint(buf, pos, end)
}

/// [`read_varint`] with a second fast path, for two bytes: for a run of values (a packed
/// field), where values of 128 to 16383 are common and each would otherwise be a call.
#[inline(always)]
pub fn read_short_varint(buf: &[u8], pos: usize, end: usize) -> Result<(u64, usize), WireError> {
    let end = end.min(buf.len());
    if pos + 1 < end && buf[pos + 1] < 0x80 {
        if buf[pos] < 0x80 {
            return Ok((u64::from(buf[pos]), 1));
        }
        return Ok((u64::from(buf[pos] & 0x7f) | u64::from(buf[pos + 1]) << 7, 2));
    }
    read_varint(buf, pos, end)
}

/// [`read_varint`] of a varint longer than one byte: where eight bytes are in the buffer
/// (whether or not they are all before `end`: the last field of a message ends at its
/// end), one of up to eight bytes is read as a word (its end found and its 7-bit groups
/// gathered with a few masks and shifts) and then held to `end`; a longer one with ten
/// bytes surely before `end` is read a byte at a time without bounds checks.
fn read_longer_varint(buf: &[u8], pos: usize, end: usize) -> Result<(u64, usize), WireError> {
    read_longer_varint_inline(buf, pos, end)
}

/// [`read_longer_varint`], inlined where it is called.
#[inline(always)]
fn read_longer_varint_inline(buf: &[u8], pos: usize, end: usize) -> Result<(u64, usize), WireError> {
    let Some(first_eight) = buf.get(pos..pos.saturating_add(8)) else { return read_varint_near_end(buf, pos, end) };
    let word = u64::from_le_bytes(first_eight.try_into().expect("eight bytes"));
    let Some(len) = varint_len_in_word(word) else { return read_nine_or_ten(buf, pos, end) };
    if pos + len > end {
        return read_varint_near_end(buf, pos, end);
    }
    Ok((varint_in_word(word, len), len))
}

/// The value of the varint of `len` bytes (1 to 8) that starts `word` (little-endian):
/// its 7-bit groups gathered with a few masks and shifts.
#[inline(always)]
fn varint_in_word(word: u64, len: usize) -> u64 {
    let kept = if len == 8 { word } else { word & ((1u64 << (len * 8)) - 1) };
    let groups = kept & 0x7f7f_7f7f_7f7f_7f7f;
    let pairs = (groups & 0x007f_007f_007f_007f) | ((groups & 0x7f00_7f00_7f00_7f00) >> 1);
    let quads = (pairs & 0x0000_3fff_0000_3fff) | ((pairs & 0x3fff_0000_3fff_0000) >> 2);
    (quads & 0x0000_0000_0fff_ffff) | ((quads & 0x0fff_ffff_0000_0000) >> 4)
}

/// The length of the varint whose first eight bytes are `word` (little-endian): the high
/// bit clear marks its last byte. `None` when all eight go on.
#[inline(always)]
pub fn varint_len_in_word(word: u64) -> Option<usize> {
    let last_bytes = !word & 0x8080_8080_8080_8080;
    (last_bytes != 0).then(|| (last_bytes.trailing_zeros() as usize >> 3) + 1)
}

/// Whether `tag` is a whole tag of one byte, of a length-delimited field: the tag of the
/// fields [`short_len_field_end`] reads.
#[inline(always)]
pub fn is_short_len_tag(tag: u8) -> bool {
    tag < 0x80 && tag & 7 == WireType::Len as u8
}

/// The end of the length-delimited field at `pos` whose tag is the one byte `tag` and whose
/// length is one byte, read from those two bytes: a run of small messages is mostly such
/// fields. `None` for any other field there, or one past `end`.
#[inline(always)]
pub fn short_len_field_end(buf: &[u8], pos: usize, end: usize, tag: u8) -> Option<usize> {
    let &[at, len] = buf.get(pos..pos.checked_add(2)?)? else { return None };
    // A byte with the high bit set starts a longer tag or length.
    let next = pos + 2 + usize::from(len);
    (at == tag && is_short_len_tag(tag) && len < 0x80 && next <= end).then_some(next)
}

/// Steps over the fields from `pos` while each is one [`short_len_field_end`] reads with
/// tag `tag` (a run of small messages), at most `most` of them and none starting at or past
/// `until`: where the run stops, and how many fields it stepped over.
///
/// Most runs are short, or cut short by `most`: a first stretch is walked one field at a
/// time, and each stretch after it, twice as long as the one before, on several walks at
/// once ([`short_runs`]).
#[inline]
pub fn step_over_short_run(buf: &[u8], pos: usize, until: usize, end: usize, tag: u8, most: u32) -> (usize, u32) {
    const LONGEST_STRETCH: usize = 64 << 20;
    let (mut at, mut met, mut stretch) = (pos, 0, short_runs::LANES_FROM);
    loop {
        let to = until.min(at.saturating_add(stretch));
        let walk = match to.saturating_sub(at) >= short_runs::LANES_FROM && stretch > short_runs::LANES_FROM {
            true => short_runs::walk_in_lanes,
            false => short_runs::one_walk,
        };
        let (stopped, more) = walk(buf, at, to, end, tag, most - met);
        (at, met) = (stopped, met + more);
        // Stopped by the run's end, by `most` or by `until`; else on into the next stretch.
        if met == most || at < to || to == until {
            return (at, met);
        }
        stretch = (stretch * 2).min(LONGEST_STRETCH);
    }
}

/// [`read_longer_varint`] of a varint whose first eight bytes all go on: with ten bytes
/// surely before `end`, read a byte at a time without bounds checks.
#[cold]
#[inline(never)]
fn read_nine_or_ten(buf: &[u8], pos: usize, end: usize) -> Result<(u64, usize), WireError> {
    let Some(window) = buf.get(pos..pos + MAX_VARINT_LEN).filter(|_| pos + MAX_VARINT_LEN <= end) else {
        return read_varint_near_end(buf, pos, end);
    };
    let mut value: u64 = 0;
    for (i, &byte) in window.iter().enumerate() {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            if i == MAX_VARINT_LEN - 1 && byte > 1 {
                break;
            }
            return Ok((value, i + 1));
        }
    }
    Err(WireError { offset: pos, reason: WireErrorKind::OverlongVarint })
}

/// [`read_varint`] for a varint that may run into `end`, checking each byte.
#[cold]
#[inline(never)]
fn read_varint_near_end(buf: &[u8], pos: usize, end: usize) -> Result<(u64, usize), WireError> {
    let mut value: u64 = 0;
    for i in 0..MAX_VARINT_LEN {
        let at = pos + i;
        if at >= end {
            return Err(WireError { offset: pos, reason: WireErrorKind::TruncatedVarint });
        }
        let byte = buf[at];
        if i == MAX_VARINT_LEN - 1 && byte > 1 {
            return Err(WireError { offset: pos, reason: WireErrorKind::OverlongVarint });
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    Err(WireError { offset: pos, reason: WireErrorKind::OverlongVarint })
}

/// One value of a packed run, read from the run's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackedValue {
    /// Its first byte.
    pub offset: usize,
    /// Its length in bytes.
    pub len: usize,
    /// The varint or little-endian fixed value.
    pub raw: u64,
}

/// Which varints [`PackedRun::skip_plain`] steps over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plain {
    /// Those any varint range holds: below 2^28.
    InAnyRange,
    /// Those of a `bool`: 0 or 1.
    Bools,
    /// Every value that reads: no range is checked for them (they are only counted, or
    /// were checked when their run was decoded).
    Unchecked,
}

/// Where a reading of a packed run of `wire`-typed values is: every reader of a run (the
/// decoder, the skim, the top-level scan, the renderers) reads it through one, so they
/// agree on what reads. Holds no bytes: each step is handed the buffer, so the decoder
/// may build nodes between steps.
#[derive(Debug, Clone)]
pub struct PackedRun {
    pos: usize,
    end: usize,
    /// The width of a fixed-width value; `None` for varints.
    width: Option<usize>,
    /// A fixed-width run whose length is no multiple of the width: said first.
    cut_short: Option<WireError>,
}

impl PackedRun {
    /// The run of `wire`-typed values in `span`.
    pub fn new(span: std::ops::Range<usize>, wire: WireType) -> Self {
        let width = match wire {
            WireType::Fixed32 => Some(4),
            WireType::Fixed64 => Some(8),
            _ => None,
        };
        let (start, end) = (span.start, span.end.max(span.start));
        let cut_short =
            width.map(|need| (need, (end - start) % need)).filter(|&(_, have)| have > 0).map(|(need, have)| {
                WireError { offset: end - have, reason: WireErrorKind::TruncatedFixed { wire, need, have } }
            });
        PackedRun { pos: start, end, width, cut_short }
    }

    /// Steps over at most `most` values that surely read and that `plain` lets pass,
    /// without reading them one by one: for varints, eight bytes at a time up to the last
    /// value ending in them (each at most eight bytes, so each reads); fixed-width values
    /// all (no range applies to them). How many it stepped over: [`Self::next_in`] reads
    /// on from there.
    pub fn skip_plain(&mut self, buf: &[u8], most: u32, plain: Plain) -> u32 {
        const HIGH: u64 = 0x8080_8080_8080_8080;
        if self.cut_short.is_some() {
            return 0;
        }
        if let Some(width) = self.width {
            let n = ((self.end - self.pos) / width).min(most as usize);
            self.pos += n * width;
            return n as u32;
        }
        let mut met = 0u32;
        while let Some(bytes) = buf.get(self.pos..self.pos + 8).filter(|_| self.pos + 8 <= self.end) {
            let word = u64::from_le_bytes(bytes.try_into().expect("eight bytes"));
            let ends = !word & HIGH;
            if ends == 0 {
                break;
            }
            let take = (63 - ends.leading_zeros() as usize) / 8 + 1;
            let kept = if take == 8 { u64::MAX } else { (1u64 << (take * 8)) - 1 };
            let goes_on = word & HIGH & kept;
            let fits = match plain {
                Plain::Bools => word & kept & !0x0101_0101_0101_0101 == 0,
                // Four bytes in a row that go on would make a value of five or more.
                Plain::InAnyRange => goes_on & (goes_on >> 8) & (goes_on >> 16) & (goes_on >> 24) == 0,
                Plain::Unchecked => true,
            };
            let count = ends.count_ones();
            if !fits || met + count > most {
                break;
            }
            self.pos += take;
            met += count;
        }
        met
    }

    /// The value `n` values on (0: the next), read past those before it; `None` where the
    /// run ends first or does not read.
    pub fn nth_in(&mut self, buf: &[u8], n: usize) -> Option<PackedValue> {
        for _ in 0..n {
            self.next_in(buf)?.ok()?;
        }
        self.next_in(buf)?.ok()
    }

    /// The next value of the run in `buf`; `None` at its end, or after the first place it
    /// does not read (a fixed-width run cut short says so before any value).
    #[inline]
    pub fn next_in(&mut self, buf: &[u8]) -> Option<Result<PackedValue, WireError>> {
        if let Some(error) = self.cut_short.take() {
            self.pos = self.end;
            return Some(Err(error));
        }
        if self.pos >= self.end {
            return None;
        }
        let read = match self.width {
            Some(w) => buf.get(self.pos..self.pos + w).map(|bytes| {
                let mut raw = [0u8; 8];
                raw[..w].copy_from_slice(bytes);
                (u64::from_le_bytes(raw), w)
            }),
            None => match read_short_varint(buf, self.pos, self.end) {
                Ok(read) => Some(read),
                Err(error) => {
                    self.pos = self.end;
                    return Some(Err(error));
                }
            },
        };
        let Some((raw, len)) = read else {
            self.pos = self.end;
            return None;
        };
        let value = PackedValue { offset: self.pos, len, raw };
        self.pos += len;
        Some(Ok(value))
    }

    /// How many values the run holds, when all of it reads (`None` where some of it does
    /// not): stepped over a word at a time where it can be.
    pub fn count_if_whole(mut self, buf: &[u8]) -> Option<u32> {
        let mut count = 0u32;
        loop {
            count = count.saturating_add(self.skip_plain(buf, u32::MAX - count, Plain::Unchecked));
            match self.next_in(buf) {
                None => return Some(count),
                Some(Ok(_)) => count = count.saturating_add(1),
                Some(Err(_)) => return None,
            }
        }
    }

    /// The run's values in `buf`, up to the first place it does not read.
    pub fn values(mut self, buf: &[u8]) -> impl Iterator<Item = Result<PackedValue, WireError>> + '_ {
        std::iter::from_fn(move || self.next_in(buf))
    }
}

/// Where the first value of `span`, a run of `wire`-typed values that reads whole, starts
/// at or after `at`: where a value ends (a varint at a byte with its high bit clear, a
/// fixed-width value at a multiple of its width from the run's start); the run's end past
/// its last. A run cut for the cores at such places reads the same values in each piece.
pub fn packed_value_start_from(buf: &[u8], span: std::ops::Range<usize>, wire: WireType, at: usize) -> usize {
    let width = match wire {
        WireType::Fixed32 => 4,
        WireType::Fixed64 => 8,
        _ if at <= span.start => return span.start,
        // The byte before a value's start ends the value before it.
        _ => {
            let from = (at - 1).min(span.end);
            let ends = buf[from..span.end].iter().position(|&b| b < 0x80);
            return ends.map_or(span.end, |i| from + i + 1);
        }
    };
    let into = at.saturating_sub(span.start).div_ceil(width) * width;
    span.start.saturating_add(into).min(span.end)
}

/// How many `wire`-typed values lie in `range` of a run that reads whole, from where one
/// starts to where one starts ([`packed_value_start_from`]).
pub fn packed_values_within(buf: &[u8], range: std::ops::Range<usize>, wire: WireType) -> usize {
    match wire {
        WireType::Fixed32 => range.len() / 4,
        WireType::Fixed64 => range.len() / 8,
        _ => buf[range].iter().filter(|&&b| b < 0x80).count(),
    }
}

/// Appends `value` as a minimal varint.
pub fn write_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Bytes `value` takes as a minimal varint.
pub fn varint_len(value: u64) -> usize {
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

/// Reads a tag at `pos`. Returns the tag and its encoded length.
pub fn read_tag(buf: &[u8], pos: usize, end: usize) -> Result<(Tag, usize), WireError> {
    read_tag_inline(buf, pos, end)
}

/// [`read_tag`] compiled into its caller, a tag of two bytes (field numbers 16 to 2047)
/// read without a call.
#[inline(always)]
fn read_tag_inline(buf: &[u8], pos: usize, end: usize) -> Result<(Tag, usize), WireError> {
    let (raw, len) = read_short_varint(buf, pos, end)?;
    let number = raw >> 3;
    let bits = (raw & 7) as u8;
    if number == 0 {
        return Err(WireError { offset: pos, reason: WireErrorKind::FieldNumberZero });
    }
    if number > MAX_FIELD_NUMBER {
        return Err(WireError { offset: pos, reason: WireErrorKind::FieldNumberTooLarge(number) });
    }
    let wire_type =
        WireType::from_bits(bits).ok_or(WireError { offset: pos, reason: WireErrorKind::InvalidWireType(bits) })?;
    Ok((Tag { field_number: number as u32, wire_type }, len))
}

/// One field as laid out on the wire, with every span absolute in the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawField {
    /// The field's tag.
    pub tag: Tag,
    /// Offset of the first tag byte.
    pub start: usize,
    /// Bytes in the tag.
    pub tag_len: u8,
    /// Bytes in the length prefix (0 unless the wire type is `len`).
    pub len_len: u8,
    /// Offset of the first value byte (for groups: the first byte inside the group).
    pub value_start: usize,
    /// Offset just past the value (for groups: the first byte of the end-group tag).
    pub value_end: usize,
    /// Offset just past the whole field (for groups: past the end-group tag).
    pub end: usize,
    /// The varint or fixed value, for those wire types (0 otherwise).
    pub scalar: u64,
}

/// Where groups end, learned while looking for one: the scan that finds a group's end-group
/// tag passes every group nested in it and remembers the ends of those the decoder will
/// descend into (no deeper than `levels` below the scanned one), so it never scans their
/// bytes again. Keyed by the offset of a group's first content byte.
#[derive(Debug)]
pub struct GroupEnds {
    ends: std::collections::HashMap<usize, (usize, usize)>,
    levels: usize,
}

impl GroupEnds {
    /// Remembers the ends of groups nested up to `levels` deep in a scanned group.
    pub fn new(levels: usize) -> Self {
        GroupEnds { ends: std::collections::HashMap::new(), levels }
    }
}

/// Reads the field that starts at `pos`, within `[pos, end)`.
///
/// A `len` field whose length runs past `end` is an error; callers that want to show the
/// truncated remainder use [`WireErrorKind::LengthPastEnd`] to decide.
pub fn read_field(buf: &[u8], pos: usize, end: usize) -> Result<RawField, WireError> {
    read_field_with(buf, pos, end, None)
}

/// [`read_field`], remembering and reusing group ends in `groups`, so that decoding nested
/// groups costs time linear in the input rather than in input size times nesting depth.
/// Compiled into its caller, the walk's step, for the reason [`read_field_inline`] is.
#[inline(always)]
pub fn read_field_remembering(
    buf: &[u8],
    pos: usize,
    end: usize,
    groups: &mut GroupEnds,
) -> Result<RawField, WireError> {
    read_field_with(buf, pos, end, Some(groups))
}

/// [`read_field`] compiled into its caller, for the tightest loops (the skim): there the
/// field stays in registers, where handing it back through memory would cost more than
/// reading it.
#[inline(always)]
pub fn read_field_inline(buf: &[u8], pos: usize, end: usize) -> Result<RawField, WireError> {
    read_field_with(buf, pos, end, None)
}

#[inline(always)]
fn read_field_with(buf: &[u8], pos: usize, end: usize, groups: Option<&mut GroupEnds>) -> Result<RawField, WireError> {
    let end = end.min(buf.len());
    let (tag, tag_len) = read_tag_inline(buf, pos, end)?;
    let value_start = pos + tag_len;
    let mut field = RawField {
        tag,
        start: pos,
        tag_len: tag_len as u8,
        len_len: 0,
        value_start,
        value_end: value_start,
        end: value_start,
        scalar: 0,
    };
    match tag.wire_type {
        WireType::Varint => {
            let (value, len) = if value_start < end && buf[value_start] < 0x80 {
                (u64::from(buf[value_start]), 1)
            } else {
                read_longer_varint_inline(buf, value_start, end)?
            };
            field.scalar = value;
            field.value_end = value_start + len;
        }
        WireType::Fixed64 | WireType::Fixed32 => {
            let need = if tag.wire_type == WireType::Fixed64 { 8 } else { 4 };
            let have = end - value_start;
            if have < need {
                return Err(WireError {
                    offset: value_start,
                    reason: WireErrorKind::TruncatedFixed { wire: tag.wire_type, need, have },
                });
            }
            let mut raw = [0u8; 8];
            raw[..need].copy_from_slice(&buf[value_start..value_start + need]);
            field.scalar = u64::from_le_bytes(raw);
            field.value_end = value_start + need;
        }
        WireType::Len => {
            let (len, len_len) = read_varint(buf, value_start, end)?;
            let data_start = value_start + len_len;
            let have = end - data_start;
            if len > have as u64 {
                return Err(WireError { offset: value_start, reason: WireErrorKind::LengthPastEnd { len, have } });
            }
            field.len_len = len_len as u8;
            field.value_start = data_start;
            field.value_end = data_start + len as usize;
        }
        WireType::StartGroup => {
            let close = find_group_end(buf, value_start, end, tag.field_number, groups)?;
            field.value_end = close.0;
            field.end = close.1;
            return Ok(field);
        }
        WireType::EndGroup => {
            return Err(WireError { offset: pos, reason: WireErrorKind::UnmatchedEndGroup(tag.field_number) });
        }
    }
    field.end = field.value_end;
    Ok(field)
}

/// The field number at `pos` and where the field ends, for a scan that only counts fields:
/// as [`read_field`] reads them, but `None` for anything other than a varint, fixed or
/// `len` field that reads whole (a group, an error), which [`read_field`] then reads. It
/// costs a few byte compares where most fields are small.
#[inline(always)]
pub fn skim_field(buf: &[u8], pos: usize, end: usize) -> Option<(u32, usize)> {
    let end = end.min(buf.len());
    if let Some(skimmed) = skim_varint_field_in_word(buf, pos, end) {
        return Some(skimmed);
    }
    let first = *buf.get(pos).filter(|_| pos < end)?;
    let (tag, at) = if first < 0x80 {
        (u64::from(first), pos + 1)
    } else {
        // Read here, not called for: many distinct unknown fields all have longer tags.
        let (tag, len) = read_longer_varint_inline(buf, pos, end).ok()?;
        (tag, pos + len)
    };
    let number = tag >> 3;
    if number == 0 || number > MAX_FIELD_NUMBER {
        return None;
    }
    let next = match tag & 7 {
        0 => {
            let window = buf.get(at..end.min(at + MAX_VARINT_LEN))?;
            let len = window.iter().position(|&b| b < 0x80)? + 1;
            if len == MAX_VARINT_LEN && window[MAX_VARINT_LEN - 1] > 1 {
                return None;
            }
            at + len
        }
        1 => at + 8,
        5 => at + 4,
        2 => {
            let (len, len_len) = read_varint(buf, at, end).ok()?;
            (at + len_len).checked_add(usize::try_from(len).ok()?)?
        }
        _ => return None,
    };
    (next <= end).then_some((number as u32, next))
}

/// [`skim_field`] of a varint field whose tag and value are in the eight bytes at `pos`
/// (a million distinct unknown numbers, say): both ends found in one word, the varint's
/// last byte being one with its high bit clear. `None` for any other field, which
/// [`skim_field`] then reads as usual.
#[inline(always)]
fn skim_varint_field_in_word(buf: &[u8], pos: usize, end: usize) -> Option<(u32, usize)> {
    let word = u64::from_le_bytes(buf.get(pos..pos.checked_add(8)?)?.try_into().expect("eight bytes"));
    let last_bytes = !word & 0x8080_8080_8080_8080;
    let tag_len = (last_bytes.trailing_zeros() as usize >> 3) + 1;
    // The value's last byte: the first after the tag's.
    let value_last = last_bytes & last_bytes.wrapping_sub(1);
    if value_last == 0 || word & 7 != WireType::Varint as u64 {
        return None;
    }
    let number = varint_in_word(word, tag_len) >> 3;
    let next = pos + (value_last.trailing_zeros() as usize >> 3) + 1;
    (number != 0 && number <= MAX_FIELD_NUMBER && next <= end).then_some((number as u32, next))
}

/// A `len` field at `pos` whose own length runs past `end`, taken as what remains: its value
/// is `[value start, end)`. `None` unless that is what is at `pos` (a tag or length that
/// cannot be read, another wire type, or a length that fits).
pub fn read_truncated_field(buf: &[u8], pos: usize, end: usize) -> Option<RawField> {
    let (tag, tag_len) = read_tag(buf, pos, end).ok()?;
    if tag.wire_type != WireType::Len {
        return None;
    }
    let (len, len_len) = read_varint(buf, pos + tag_len, end).ok()?;
    if len <= (end - (pos + tag_len + len_len)) as u64 {
        return None;
    }
    Some(RawField {
        tag,
        start: pos,
        tag_len: tag_len as u8,
        len_len: len_len as u8,
        value_start: pos + tag_len + len_len,
        value_end: end,
        end,
        scalar: 0,
    })
}

/// Finds the end-group tag closing group `field_number` whose contents start at `start`.
/// Returns the offset of that tag and the offset just past it. Iterative: nested groups are
/// tracked on a stack of (field number, content start) bounded by the input size, and
/// with `groups` every nested group's end is remembered on the way.
fn find_group_end(
    buf: &[u8],
    start: usize,
    end: usize,
    field_number: u32,
    mut groups: Option<&mut GroupEnds>,
) -> Result<(usize, usize), WireError> {
    if let Some(&close) = groups.as_ref().and_then(|g| g.ends.get(&start)).filter(|close| close.1 <= end) {
        return Ok(close);
    }
    let mut open: Vec<(u32, usize)> = vec![(field_number, start)];
    let mut pos = start;
    while pos < end {
        let (tag, tag_len) = read_tag(buf, pos, end)?;
        match tag.wire_type {
            WireType::StartGroup => {
                if open.len() >= MAX_GROUP_NESTING {
                    return Err(WireError { offset: pos, reason: WireErrorKind::GroupsTooDeep });
                }
                open.push((tag.field_number, pos + tag_len));
                pos += tag_len;
            }
            WireType::EndGroup => {
                let Some((number, content)) = open.pop().filter(|(number, _)| *number == tag.field_number) else {
                    return Err(WireError { offset: pos, reason: WireErrorKind::UnmatchedEndGroup(tag.field_number) });
                };
                debug_assert_eq!(number, tag.field_number);
                let close = (pos, pos + tag_len);
                if let Some(groups) = groups.as_deref_mut().filter(|g| open.len() <= g.levels) {
                    groups.ends.insert(content, close);
                }
                if open.is_empty() {
                    return Ok(close);
                }
                pos += tag_len;
            }
            _ => pos = read_field(buf, pos, end)?.end,
        }
    }
    Err(WireError { offset: pos.min(end), reason: WireErrorKind::UnterminatedGroup(field_number) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(bytes: &[u8]) -> Result<RawField, WireError> {
        read_field(bytes, 0, bytes.len())
    }

    proptest::proptest! {
        /// Stepping over plain values ends where reading them one by one does, after as
        /// many, each of which reads and is in range.
        #[test]
        fn skipping_plain_values_agrees_with_reading_them(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
            small in proptest::prelude::any::<bool>(),
            most in 0u32..40,
            plain in 0usize..3,
            wire in 0usize..3,
        ) {
            // Mostly small bytes, so that runs of plain values are common.
            let bytes: Vec<u8> = bytes.iter().map(|&b| if small { b % 3 } else { b }).collect();
            let wire = [WireType::Varint, WireType::Fixed32, WireType::Fixed64][wire];
            let mut skipped = PackedRun::new(0..bytes.len(), wire);
            let plain = [Plain::InAnyRange, Plain::Bools, Plain::Unchecked][plain];
            let n = skipped.skip_plain(&bytes, most, plain);
            proptest::prop_assert!(n <= most);
            let mut read = PackedRun::new(0..bytes.len(), wire);
            for _ in 0..n {
                let value = read.next_in(&bytes).expect("a value").expect("that reads");
                if wire == WireType::Varint {
                    let bound = match plain {
                        Plain::Bools => 2,
                        Plain::InAnyRange => 1 << 28,
                        Plain::Unchecked => u64::MAX,
                    };
                    proptest::prop_assert!(value.raw < bound || bound == u64::MAX, "{} stepped over", value.raw);
                }
            }
            proptest::prop_assert_eq!(skipped.next_in(&bytes), read.next_in(&bytes));
        }

        /// A run that reads whole, cut anywhere for the cores, is cut where its values
        /// start, and the values counted in the pieces are those read one by one.
        #[test]
        fn a_run_cut_anywhere_is_cut_where_values_start(
            values in proptest::collection::vec(proptest::prelude::any::<u64>(), 0..30),
            shift in 0u32..64,
            wire in 0usize..3,
            lead in 0usize..3,
        ) {
            let wire = [WireType::Varint, WireType::Fixed32, WireType::Fixed64][wire];
            // Bytes before and after the run, which a cut must never reach.
            let mut buf = vec![0x80; lead];
            for v in &values {
                match wire {
                    WireType::Fixed32 => buf.extend_from_slice(&((v >> shift) as u32).to_le_bytes()),
                    WireType::Fixed64 => buf.extend_from_slice(&(v >> shift).to_le_bytes()),
                    _ => write_varint(&mut buf, v >> shift),
                }
            }
            let span = lead..buf.len();
            buf.push(0x80);
            let starts: Vec<usize> = PackedRun::new(span.clone(), wire).values(&buf).map(|v| v.unwrap().offset).collect();
            proptest::prop_assert_eq!(starts.len(), values.len());
            for at in 0..buf.len() + 2 {
                let start = packed_value_start_from(&buf, span.clone(), wire, at);
                let first = starts.iter().copied().find(|&s| s >= at).unwrap_or(span.end);
                proptest::prop_assert_eq!(start, first, "at {}", at);
                proptest::prop_assert_eq!(
                    packed_values_within(&buf, span.start..start, wire),
                    starts.iter().filter(|&&s| s < start).count()
                );
            }
        }

        #[test]
        fn skimming_a_field_agrees_with_reading_it(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..24), cut in 0usize..24) {
            let end = cut.min(bytes.len());
            if let Some((number, next)) = skim_field(&bytes, 0, end) {
                let read = read_field(&bytes, 0, end).expect("what skims also reads");
                proptest::prop_assert_eq!((number, next), (read.tag.field_number, read.end));
            }
        }

        #[test]
        fn a_varint_read_fast_is_the_one_read_with_every_byte_checked(
            value in proptest::prelude::any::<u64>(),
            shift in 0u32..64,
            tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..12),
            noise in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..12),
        ) {
            // Any length of value, written properly and followed by anything, and plain
            // noise (continuation bits, overlong runs, zero bytes).
            let mut bytes = Vec::new();
            write_varint(&mut bytes, value >> shift);
            bytes.extend_from_slice(&tail);
            for bytes in [&bytes[..], &noise[..]] {
                let checked = read_varint_near_end(bytes, 0, bytes.len());
                proptest::prop_assert_eq!(read_varint(bytes, 0, bytes.len()), checked.clone());
                proptest::prop_assert_eq!(read_short_varint(bytes, 0, bytes.len()), checked);
                // Cut short by `end`, as inside a field, with the buffer going on past it.
                for end in 0..bytes.len() {
                    let checked = read_varint_near_end(bytes, 0, end);
                    proptest::prop_assert_eq!(read_varint(bytes, 0, end), checked.clone());
                    proptest::prop_assert_eq!(read_short_varint(bytes, 0, end), checked);
                }
            }
        }
    }

    #[test]
    fn a_packed_run_reads_its_values_in_place_and_stops_where_it_does_not_read() {
        let values = |bytes: &[u8], span: std::ops::Range<usize>, wire| {
            PackedRun::new(span, wire).values(bytes).collect::<Vec<_>>()
        };
        let value = |offset, len, raw| Ok(PackedValue { offset, len, raw });
        // Varints, the run inside a larger buffer: offsets are the buffer's.
        let bytes = [0xff, 0x05, 0x96, 0x01, 0x00, 0xff];
        assert_eq!(values(&bytes, 1..5, WireType::Varint), [value(1, 1, 5), value(2, 2, 150), value(4, 1, 0)]);
        // A varint cut by the run's end, though the buffer goes on: the values before it, then why.
        let cut = values(&bytes, 1..3, WireType::Varint);
        assert_eq!(cut[0], value(1, 1, 5));
        assert!(matches!(cut[1], Err(WireError { offset: 2, reason: WireErrorKind::TruncatedVarint })), "{cut:?}");
        assert_eq!(cut.len(), 2);
        // Fixed widths, little-endian; a run that is no multiple of the width says so
        // first, at its last, partial value, with no value before it.
        let fixed = [1, 0, 0, 0, 2, 0, 0, 0, 9, 9];
        assert_eq!(values(&fixed, 0..8, WireType::Fixed32), [value(0, 4, 1), value(4, 4, 2)]);
        assert_eq!(values(&fixed, 0..8, WireType::Fixed64), [value(0, 8, 1 | 2 << 32)]);
        let short = values(&fixed, 0..10, WireType::Fixed32);
        let need_have = |e: &Result<PackedValue, WireError>| match e {
            Err(WireError { offset, reason: WireErrorKind::TruncatedFixed { need, have, .. } }) => {
                Some((*offset, *need, *have))
            }
            _ => None,
        };
        assert_eq!(short.iter().map(need_have).collect::<Vec<_>>(), [Some((8, 4, 2))]);
        assert_eq!(values(&fixed, 3..3, WireType::Fixed64), []);
    }

    #[test]
    fn skimming_reads_the_usual_small_fields() {
        for bytes in [
            &[0x08, 0x96, 0x01][..],
            &[0x12, 0x02, b'h', b'i'],
            &[0x1d, 1, 2, 3, 4],
            &[0x21, 0, 0, 0, 0, 0, 0, 0, 0],
            &[0xc0, 0x3e, 0x01],                   // field 1000, a varint: a two-byte tag
            &[0xf8, 0xff, 0xff, 0xff, 0x0f, 0x01], // the largest field number
            &[0x88, 0x00, 0x01],                   // field 1 with its tag written overlong, as read_field reads it
        ] {
            let read = field(bytes).unwrap();
            assert_eq!(skim_field(bytes, 0, bytes.len()), Some((read.tag.field_number, bytes.len())));
            // With more bytes after it (a varint's tag and value then read in one word).
            let padded = [bytes, &[0xff; 8]].concat();
            assert_eq!(skim_field(&padded, 0, bytes.len()), Some((read.tag.field_number, bytes.len())));
            assert_eq!(skim_field(&padded, 0, bytes.len() - 1), None, "{bytes:x?} cut short");
        }
        assert_eq!(skim_field(&[0x12, 0x05, b'h'], 0, 3), None, "a length past the end is read_field's to report");
        assert_eq!(skim_field(&[0x0b, 0x0c], 0, 2), None, "groups are read_field's");
        assert_eq!(skim_field(&[0x80, 0x00, 0x01], 0, 3), None, "field 0 is read_field's to report");
    }

    #[test]
    fn varint_roundtrip_and_length() {
        for v in [0u64, 1, 127, 128, 300, u32::MAX as u64, u64::MAX] {
            let mut out = Vec::new();
            write_varint(&mut out, v);
            assert_eq!(out.len(), varint_len(v));
            assert_eq!(read_varint(&out, 0, out.len()).unwrap(), (v, out.len()));
        }
    }

    #[test]
    fn overlong_but_legal_varint_keeps_its_length() {
        // 1 written in 3 bytes: non-canonical, still valid.
        assert_eq!(read_varint(&[0x81, 0x80, 0x00], 0, 3).unwrap(), (1, 3));
    }

    #[test]
    fn varint_errors() {
        assert_eq!(read_varint(&[0x80, 0x80], 0, 2).unwrap_err().reason, WireErrorKind::TruncatedVarint);
        assert_eq!(read_varint(&[0xff; 11], 0, 11).unwrap_err().reason, WireErrorKind::OverlongVarint);
        let mut ten = [0xffu8; 10];
        ten[9] = 0x02;
        assert_eq!(read_varint(&ten, 0, 10).unwrap_err().reason, WireErrorKind::OverlongVarint);
        ten[9] = 0x01;
        assert_eq!(read_varint(&ten, 0, 10).unwrap().0, u64::MAX);
    }

    #[test]
    fn tag_errors() {
        assert_eq!(field(&[0x00, 0x01]).unwrap_err().reason, WireErrorKind::FieldNumberZero);
        assert_eq!(field(&[0x0e, 0x01]).unwrap_err().reason, WireErrorKind::InvalidWireType(6));
        assert_eq!(field(&[0x0f, 0x01]).unwrap_err().reason, WireErrorKind::InvalidWireType(7));
        let big = [0xf8, 0xff, 0xff, 0xff, 0x7f, 0x00];
        assert!(matches!(field(&big).unwrap_err().reason, WireErrorKind::FieldNumberTooLarge(_)));
    }

    #[test]
    fn every_wire_type_spans() {
        let f = field(&[0x08, 0x96, 0x01]).unwrap();
        assert_eq!((f.tag.field_number, f.scalar, f.value_start, f.end), (1, 150, 1, 3));
        let f = field(&[0x0d, 1, 0, 0, 0]).unwrap();
        assert_eq!((f.tag.wire_type, f.scalar, f.end), (WireType::Fixed32, 1, 5));
        let f = field(&[0x09, 2, 0, 0, 0, 0, 0, 0, 0]).unwrap();
        assert_eq!((f.tag.wire_type, f.scalar, f.end), (WireType::Fixed64, 2, 9));
        let f = field(&[0x12, 0x02, b'h', b'i']).unwrap();
        assert_eq!((f.len_len, f.value_start, f.value_end), (1, 2, 4));
        // group 1 { field 2 = 1 } end-group 1
        let f = field(&[0x0b, 0x10, 0x01, 0x0c]).unwrap();
        assert_eq!((f.value_start, f.value_end, f.end), (1, 3, 4));
    }

    #[test]
    fn truncation_and_lies() {
        assert!(matches!(
            field(&[0x0d, 1, 0]).unwrap_err().reason,
            WireErrorKind::TruncatedFixed { need: 4, have: 2, .. }
        ));
        assert!(matches!(
            field(&[0x09, 1]).unwrap_err().reason,
            WireErrorKind::TruncatedFixed { need: 8, have: 1, .. }
        ));
        let e = field(&[0x12, 0x05, b'h']).unwrap_err();
        assert_eq!((e.offset, e.reason.clone()), (1, WireErrorKind::LengthPastEnd { len: 5, have: 1 }));
        assert_eq!(field(&[0x12]).unwrap_err().reason, WireErrorKind::TruncatedVarint);
        assert_eq!(field(&[0x08]).unwrap_err().reason, WireErrorKind::TruncatedVarint);
        // A length of 2^63 must not be trusted.
        let huge = [0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f];
        assert!(matches!(field(&huge).unwrap_err().reason, WireErrorKind::LengthPastEnd { .. }));
    }

    #[test]
    fn unbalanced_groups() {
        assert_eq!(field(&[0x0b, 0x10, 0x01]).unwrap_err().reason, WireErrorKind::UnterminatedGroup(1));
        assert_eq!(field(&[0x0c]).unwrap_err().reason, WireErrorKind::UnmatchedEndGroup(1));
        // group 1 closed by end-group 2
        assert_eq!(field(&[0x0b, 0x14]).unwrap_err().reason, WireErrorKind::UnmatchedEndGroup(2));
        // nested groups: 1 { 2 { } }
        assert_eq!(field(&[0x0b, 0x13, 0x14, 0x0c]).unwrap().end, 4);
    }
}
