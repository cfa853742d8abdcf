//! How many values of each field number a message has met, for `[i]` indices and the
//! checks of required fields: cheap for the usual handful of fields, and near-linear with
//! good memory locality for a hostile million distinct numbers in any order.

use crate::model::hash::KeyMap;

/// How many values of each field number a frame has met. A short inline list while it is
/// short (the usual message has a handful of fields, and a frame then costs no allocation);
/// past that, numbers met in ascending order (as encoders write them) are appended to a
/// sorted list, and only those met out of order go to a map. Once many are out of order,
/// or the list is long, a bitmap of the numbers met once takes them all, and a map only
/// those met again: a million distinct numbers, scattered or not, then cost a bit each in
/// a compact bitmap, not a search of the list and a random access into a large map, nor
/// eight bytes each in the list (which a top level cut in parts copies).
#[derive(Debug, Clone)]
pub(crate) enum FieldCounts {
    /// `ascending` while every number was met after the numbers below it.
    Few {
        len: usize,
        ascending: bool,
        entries: [(u32, u32); FieldCounts::FEW],
    },
    Many {
        ascending: Vec<(u32, u32)>,
        out_of_order: KeyMap<u32, u32>,
    },
    Scattered {
        once: Bitmap,
        counts: KeyMap<u32, u32>,
    },
}

impl Default for FieldCounts {
    fn default() -> Self {
        FieldCounts::Few { len: 0, ascending: true, entries: [(0, 0); FieldCounts::FEW] }
    }
}

impl FieldCounts {
    /// Entries looked through one by one before a sorted list is worth keeping.
    const FEW: usize = 16;
    /// Numbers out of order past which the bitmap takes all.
    const SCATTERED: usize = 1024;
    /// Numbers in order past which the bitmap takes all: far more fields than any
    /// message declares.
    const LONG: usize = 8192;

    /// Forgets every count, keeping the room of a short list (a frame reused for the next
    /// message costs no copy of it).
    pub(crate) fn clear(&mut self) {
        match self {
            FieldCounts::Few { len, ascending, .. } => (*len, *ascending) = (0, true),
            _ => *self = FieldCounts::default(),
        }
    }

    /// Counts `values` more of field `number`; returns how many came before them.
    /// Inlined for a number met first among many scattered ones, one bit to set: a top
    /// level of a million distinct numbers asks this of each, twice (the scan that cuts it
    /// in parts, then the walk).
    #[inline]
    pub(crate) fn bump(&mut self, number: u32, values: u32) -> u32 {
        if let FieldCounts::Scattered { once, .. } = self
            && values == 1
            && !once.set(number)
        {
            return 0;
        }
        self.bump_any(number, values)
    }

    /// [`Self::bump`] of every other case.
    fn bump_any(&mut self, number: u32, values: u32) -> u32 {
        let count = match self {
            FieldCounts::Few { len, ascending, entries } => match Self::few_at(&entries[..*len], *ascending, number) {
                Some(at) => &mut entries[at].1,
                None if *len < Self::FEW => {
                    *ascending &= entries[..*len].last().is_none_or(|last| last.0 < number);
                    entries[*len] = (number, 0);
                    *len += 1;
                    &mut entries[*len - 1].1
                }
                None => {
                    let mut ascending = entries.to_vec();
                    ascending.sort_unstable();
                    *self = FieldCounts::Many { ascending, out_of_order: KeyMap::default() };
                    return self.bump(number, values);
                }
            },
            FieldCounts::Many { ascending, out_of_order }
                if out_of_order.len() > Self::SCATTERED || ascending.len() > Self::LONG =>
            {
                let mut scattered = FieldCounts::Scattered { once: Bitmap::default(), counts: KeyMap::default() };
                for (n, c) in ascending.iter().copied().chain(out_of_order.iter().map(|(&n, &c)| (n, c))) {
                    scattered.bump(n, c);
                }
                *self = scattered;
                return self.bump(number, values);
            }
            // A number met once, one value, is one bit; any other count is in the map.
            FieldCounts::Scattered { once, counts } => {
                let met = once.set(number);
                if !met && values == 1 {
                    return 0;
                }
                let before = counts.get(&number).copied().unwrap_or(u32::from(met));
                counts.insert(number, before + values);
                return before;
            }
            // Every number out of order is below the last ascending one, so a number past
            // it is new to both.
            FieldCounts::Many { ascending, out_of_order } => match ascending.last() {
                Some(&(last, _)) if number <= last => match ascending.binary_search_by_key(&number, |e| e.0) {
                    Ok(at) => &mut ascending[at].1,
                    Err(_) => out_of_order.entry(number).or_insert(0),
                },
                _ => {
                    ascending.push((number, 0));
                    &mut ascending.last_mut().expect("just pushed").1
                }
            },
        };
        *count += values;
        *count - values
    }

    /// Where `number` is among the few `met`, which are `ascending` or not. Encoders write
    /// fields in number order: a run of one number is the last met, and past the last of
    /// ascending numbers a number is new; only the rest is searched.
    fn few_at(met: &[(u32, u32)], ascending: bool, number: u32) -> Option<usize> {
        match met.last() {
            Some(last) if last.0 == number => Some(met.len() - 1),
            Some(last) if ascending && last.0 < number => None,
            _ => met.iter().position(|e| e.0 == number),
        }
    }

    /// How many values of field `number` were met.
    pub(crate) fn count(&self, number: u32) -> u32 {
        match self {
            FieldCounts::Few { len, entries, .. } => entries[..*len].iter().find(|e| e.0 == number).map_or(0, |e| e.1),
            FieldCounts::Many { ascending, out_of_order } => match ascending.binary_search_by_key(&number, |e| e.0) {
                Ok(at) => ascending[at].1,
                Err(_) => out_of_order.get(&number).copied().unwrap_or(0),
            },
            FieldCounts::Scattered { once, counts } => {
                counts.get(&number).copied().unwrap_or_else(|| u32::from(once.get(number)))
            }
        }
    }

    /// Whether field `number` was met.
    pub(crate) fn contains(&self, number: u32) -> bool {
        match self {
            FieldCounts::Few { len, entries, .. } => entries[..*len].iter().any(|e| e.0 == number),
            FieldCounts::Many { ascending, out_of_order } => {
                ascending.binary_search_by_key(&number, |e| e.0).is_ok() || out_of_order.contains_key(&number)
            }
            FieldCounts::Scattered { once, counts } => once.get(number) || counts.contains_key(&number),
        }
    }

    /// Each number met with its count.
    pub(crate) fn entries(&self) -> Box<dyn Iterator<Item = (u32, u32)> + '_> {
        match self {
            FieldCounts::Few { len, entries, .. } => Box::new(entries[..*len].iter().copied()),
            FieldCounts::Many { ascending, out_of_order } => {
                Box::new(ascending.iter().copied().chain(out_of_order.iter().map(|(&n, &c)| (n, c))))
            }
            FieldCounts::Scattered { once, counts } => Box::new(
                once.iter()
                    .filter(|n| !counts.contains_key(n))
                    .map(|n| (n, 1))
                    .chain(counts.iter().map(|(&n, &c)| (n, c))),
            ),
        }
    }

    /// About how many bytes of memory the counts take beyond their own size.
    pub(crate) fn bytes(&self) -> usize {
        match self {
            FieldCounts::Few { .. } => 0,
            FieldCounts::Many { ascending, out_of_order } => ascending.len() * 8 + out_of_order.len() * 16,
            FieldCounts::Scattered { once, counts } => once.bytes() + counts.len() * 16,
        }
    }

    /// Each number met.
    pub(crate) fn numbers(&self) -> impl Iterator<Item = u32> + '_ {
        self.entries().map(|(number, _)| number)
    }
}

/// A set of field numbers as bits, in pages of 4096 allocated where numbers fall.
#[derive(Debug, Clone, Default)]
pub(crate) struct Bitmap {
    pages: Vec<Option<Box<[u64; 64]>>>,
}

impl Bitmap {
    /// Adds `n`; whether it was there already.
    #[inline]
    fn set(&mut self, n: u32) -> bool {
        let page = (n >> 12) as usize;
        let bits = match self.pages.get_mut(page) {
            Some(Some(bits)) => bits,
            _ => self.new_page(page),
        };
        let (word, bit) = (((n >> 6) & 63) as usize, n & 63);
        let was = bits[word] >> bit & 1 == 1;
        bits[word] |= 1 << bit;
        was
    }

    /// The page of bits `page`, made (with the pages before it) where there is none yet.
    #[cold]
    fn new_page(&mut self, page: usize) -> &mut [u64; 64] {
        if self.pages.len() <= page {
            self.pages.resize_with(page + 1, || None);
        }
        self.pages[page].get_or_insert_with(|| Box::new([0; 64]))
    }

    /// About how many bytes of memory the pages take.
    fn bytes(&self) -> usize {
        self.pages.iter().map(|page| 8 + page.as_ref().map_or(0, |_| 512)).sum()
    }

    fn get(&self, n: u32) -> bool {
        let (word, bit) = (((n >> 6) & 63) as usize, n & 63);
        self.pages.get((n >> 12) as usize).and_then(Option::as_ref).is_some_and(|bits| bits[word] >> bit & 1 == 1)
    }

    fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.pages.iter().enumerate().filter_map(|(p, bits)| bits.as_ref().map(|b| (p, b))).flat_map(|(p, bits)| {
            (0..4096u32)
                .filter(move |i| bits[(i >> 6) as usize] >> (i & 63) & 1 == 1)
                .map(move |i| ((p as u32) << 12) | i)
        })
    }
}

/// The counts of the frames open in a walk, innermost last. A frame's slot is cleared when
/// it closes and kept for the next frame at its depth: opening a frame, once a message per
/// message, then costs two stores, not a copy of an empty inline list (5% of `check` on a
/// blob of small units, each built).
#[derive(Debug, Default)]
pub(crate) struct FrameCounts {
    /// One slot per depth reached so far; those from `open` on are clear.
    slots: Vec<FieldCounts>,
    open: usize,
}

impl FrameCounts {
    /// Opens the counts of a new innermost frame, empty; gives its place.
    pub(crate) fn open(&mut self) -> usize {
        if self.open == self.slots.len() {
            self.slots.push(FieldCounts::default());
        }
        self.open += 1;
        self.open - 1
    }

    /// Closes the frames from place `at` on, innermost included.
    pub(crate) fn close_from(&mut self, at: usize) {
        for slot in self.slots.get_mut(at..self.open).into_iter().flatten() {
            slot.clear();
        }
        self.open = self.open.min(at);
    }
}

impl std::ops::Index<usize> for FrameCounts {
    type Output = FieldCounts;

    fn index(&self, at: usize) -> &FieldCounts {
        &self.slots[..self.open][at]
    }
}

impl std::ops::IndexMut<usize> for FrameCounts {
    fn index_mut(&mut self, at: usize) -> &mut FieldCounts {
        &mut self.slots[..self.open][at]
    }
}

#[cfg(test)]
mod tests {
    use super::{FieldCounts, FrameCounts};

    #[test]
    fn a_frame_opened_where_one_closed_counts_from_nothing() {
        // Two levels deep, the inner one with enough numbers to leave the inline list;
        // both closed, then two more opened in their places: each starts empty.
        let mut frames = FrameCounts::default();
        let (outer, inner) = (frames.open(), frames.open());
        frames[outer].bump(1, 3);
        (0..40).rev().for_each(|n| _ = frames[inner].bump(n, 1));
        frames.close_from(outer);
        let (outer, inner) = (frames.open(), frames.open());
        assert_eq!((outer, inner), (0, 1));
        assert_eq!((frames[outer].count(1), frames[inner].count(7)), (0, 0));
        assert!(matches!(frames[inner], FieldCounts::Few { len: 0, .. }));
        frames.close_from(inner);
        assert_eq!(frames.open(), 1, "the inner place is opened again");
    }

    #[test]
    fn a_few_numbers_met_again_after_ascending_ones_are_found() {
        let mut counts = FieldCounts::default();
        let met: Vec<u32> = [1, 2, 3, 3, 2, 4, 1, 9, 5, 9, 5].into_iter().map(|n| counts.bump(n, 1)).collect();
        assert_eq!(met, [0, 0, 0, 1, 1, 0, 1, 0, 0, 1, 1]);
        assert!(matches!(counts, FieldCounts::Few { len: 6, .. }));
    }

    proptest::proptest! {
        /// Whatever order field numbers come in (ascending, as encoders write them, or
        /// any other, enough to be scattered), and however many values each brings, each
        /// count is the number of values that came before.
        #[test]
        fn field_counts_count_like_a_map(
            numbers in proptest::collection::vec((proptest::prop_oneof![0u32..64, 0u32..5000], 1u32..3), 0..3000),
            ascending_first in proptest::prop_oneof![0usize..100, 8000usize..9000],
        ) {
            // A long run in order first (past `LONG`, at times) takes the bitmap.
            let mut all: Vec<(u32, u32)> = (1000..1000 + ascending_first as u32).map(|n| (n, 1)).collect();
            all.extend(numbers);
            let mut counts = FieldCounts::default();
            let mut reference = std::collections::HashMap::new();
            for (number, values) in all {
                let before = reference.entry(number).or_insert(0u32);
                proptest::prop_assert_eq!(counts.bump(number, values), *before);
                *before += values;
            }
            for number in 0..10_000 {
                proptest::prop_assert_eq!(counts.contains(number), reference.contains_key(&number));
            }
            let mut entries: Vec<(u32, u32)> = counts.entries().collect();
            entries.sort_unstable();
            let mut expected: Vec<(u32, u32)> = reference.into_iter().collect();
            expected.sort_unstable();
            proptest::prop_assert_eq!(entries, expected);
        }
    }
}
