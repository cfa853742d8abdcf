//! The names of the state units a decode meets, for the rule that no two units share one
//! (the VMM matches units by name): those one walk met, and those a scan of the top level
//! met for the parts decoded beside it. A name is kept by where it is in the walk's bytes,
//! or in one arena the scan's names share, never in an allocation of its own: a top level
//! of a hundred thousand units, each named anew, made two hundred thousand of them.

use std::hash::BuildHasher;
use std::ops::Range;
use std::sync::{Arc, PoisonError, RwLock};

use hashbrown::HashTable;
use hashbrown::hash_table::Entry;

use crate::decode::wire::{self, WireType};
use crate::model::hash::RandomKeys;

/// The name of the state unit in the value `start..end` of a top-level unit field, as the
/// walk finds it: its first field 1 written length-delimited, among the fields read before
/// any that does not read. `None` when the walk finds none.
pub(crate) fn unit_name(bytes: &[u8], start: usize, end: usize) -> Option<&[u8]> {
    unit_name_at(bytes, start, end).map(|at| &bytes[at])
}

/// The unit name of top-level `field` of `bytes` when it is a unit, its number one of
/// `units` (the root's fields of units).
pub(crate) fn unit_name_of<'b>(bytes: &'b [u8], field: &wire::RawField, units: &[u32]) -> Option<&'b [u8]> {
    let is_unit = field.tag.wire_type == WireType::Len && units.contains(&field.tag.field_number);
    is_unit.then(|| unit_name(bytes, field.value_start, field.value_end)).flatten()
}

/// The hash a name is kept by in the tables of names: every `RandomKeys` of the process
/// hashes alike.
pub(crate) fn hash_of(name: &[u8]) -> u64 {
    RandomKeys::default().hash_one(name)
}

/// Where in `bytes` the name [`unit_name`] finds is.
pub(crate) fn unit_name_at(bytes: &[u8], start: usize, end: usize) -> Option<Range<usize>> {
    let mut pos = start;
    while pos < end {
        let field = wire::read_field(bytes, pos, end).ok()?;
        if field.tag.field_number == 1 && field.tag.wire_type == WireType::Len {
            return Some(field.value_start..field.value_end);
        }
        pos = field.end;
    }
    None
}

/// The unit names one walk met, each kept by where it is in the walk's bytes, in sixteen
/// bytes: a top level of a hundred thousand units, each named anew, fills a table of as
/// many, and the pages it grows into cost more than the names' hashing (at forty bytes an
/// entry, a fifth of such a `check` went to faulting them in).
#[derive(Debug, Default)]
pub(crate) struct UnitNames {
    table: HashTable<WalkName>,
    keys: RandomKeys,
}

/// A name one walk met: where it first was.
#[derive(Debug)]
struct WalkName {
    start: u64,
    len: u32,
}

impl WalkName {
    fn name<'b>(&self, bytes: &'b [u8]) -> &'b [u8] {
        &bytes[self.start as usize..][..self.len as usize]
    }
}

impl UnitNames {
    /// Makes room for `names` names at once: a table grown as they come fills twice the
    /// pages, and moves every name it holds each time it grows. Names already kept are in
    /// `bytes`, the walk's own.
    pub(crate) fn make_room(&mut self, bytes: &[u8], names: usize) {
        let UnitNames { table, keys, .. } = self;
        table.reserve(names, |met| keys.hash_one(met.name(bytes)));
    }

    /// Records the name of a unit, at `at` in `bytes` (the walk's own, where every name it
    /// records is); whether an earlier unit had it, here or before the part (`earlier`).
    /// A name of 4 GiB or more is not kept (an entry holds its length in four bytes): only
    /// a blob of 8 GiB or more can give one twice.
    pub(crate) fn taken(&mut self, bytes: &[u8], at: Range<usize>, earlier: Option<&EarlierNames>) -> bool {
        let name = &bytes[at.clone()];
        let Ok(len) = u32::try_from(name.len()) else { return false };
        let UnitNames { table, keys } = self;
        let hash = keys.hash_one(name);
        // One probe finds the name or the slot for it.
        match table.entry(hash, |met| met.name(bytes) == name, |met| keys.hash_one(met.name(bytes))) {
            Entry::Occupied(_) => true,
            Entry::Vacant(slot) => {
                // Every `RandomKeys` of the process hashes alike: the scan's table takes this hash.
                let taken = earlier.is_some_and(|e| e.met.met_before(name, hash, e.before));
                slot.insert(WalkName { start: at.start as u64, len });
                taken
            }
        }
    }
}

/// The unit names a scan of the top level met, in the order first met, shared by the
/// parts decoded beside the scan: a part asks whether a name was met before it, rather
/// than be given a copy of every name before it.
#[derive(Debug, Default)]
pub(crate) struct NamesMet {
    order: RwLock<InOrder>,
}

/// The names met, their bytes one after another in one arena, each followed by a byte
/// of its own: where a name starts there tells the order it was first met in, an empty
/// name included.
#[derive(Debug, Default)]
struct InOrder {
    arena: Vec<u8>,
    table: HashTable<FirstMet>,
    keys: RandomKeys,
}

/// A name as first met: where its bytes are in the arena (sixteen bytes an entry, as
/// [`UnitNames`] keeps them).
#[derive(Debug)]
struct FirstMet {
    start: u64,
    len: u32,
}

impl FirstMet {
    fn name<'a>(&self, arena: &'a [u8]) -> &'a [u8] {
        &arena[self.start as usize..][..self.len as usize]
    }
}

impl InOrder {
    /// `name` as first met, found by its `hash`.
    fn find(&self, name: &[u8], hash: u64) -> Option<&FirstMet> {
        self.table.find(hash, |first| first.name(&self.arena) == name)
    }
}

impl NamesMet {
    /// Records names met, in order; each keeps the place it was first met in. A name of 4
    /// GiB or more is not kept ([`UnitNames::taken`]).
    pub(crate) fn met<'n>(&self, names: impl IntoIterator<Item = &'n [u8]>) {
        self.met_hashed(names.into_iter().map(|name| (name, hash_of(name))));
    }

    /// [`Self::met`] with each name's hash ([`hash_of`]) made already: by the scan, while
    /// the name's bytes were at hand, rather than here, after a scan of megabytes.
    pub(crate) fn met_hashed<'n>(&self, names: impl IntoIterator<Item = (&'n [u8], u64)>) {
        let mut in_order = self.order.write().unwrap_or_else(PoisonError::into_inner);
        let InOrder { arena, table, keys } = &mut *in_order;
        for (name, hash) in names {
            let Ok(len) = u32::try_from(name.len()) else { continue };
            // One probe finds the name or the slot for it.
            let entry = table.entry(hash, |first| first.name(arena) == name, |first| keys.hash_one(first.name(arena)));
            let Entry::Vacant(slot) = entry else { continue };
            let start = arena.len() as u64;
            arena.extend_from_slice(name);
            arena.push(0);
            slot.insert(FirstMet { start, len });
        }
    }

    /// Makes room for `names` more names of `bytes` bytes in all (each name's length and
    /// one), so that recording them grows no table.
    pub(crate) fn reserve(&self, names: usize, bytes: usize) {
        let mut in_order = self.order.write().unwrap_or_else(PoisonError::into_inner);
        let InOrder { arena, table, keys } = &mut *in_order;
        arena.reserve(bytes);
        let arena = &*arena;
        table.reserve(names, |first| keys.hash_one(first.name(arena)));
    }

    /// Where the record stands: a mark that grows with each distinct name met, for
    /// asking later whether a name was met before it ([`EarlierNames::before`]); 0 while
    /// none has been.
    pub(crate) fn mark(&self) -> usize {
        self.order.read().unwrap_or_else(PoisonError::into_inner).arena.len()
    }

    /// Whether `name`, of `hash` ([`RandomKeys`]), was first met before the record stood
    /// at `mark`.
    fn met_before(&self, name: &[u8], hash: u64, mark: usize) -> bool {
        let in_order = self.order.read().unwrap_or_else(PoisonError::into_inner);
        in_order.find(name, hash).is_some_and(|first| first.start < mark as u64)
    }
}

/// The unit names met before a part: those a scan met before its record stood at
/// `before` ([`NamesMet::mark`]).
#[derive(Debug, Clone)]
pub(crate) struct EarlierNames {
    pub(crate) met: Arc<NamesMet>,
    pub(crate) before: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_walk_tells_a_name_given_again_here_or_before_its_part() {
        let bytes = b"pit rtc pit com1 rtc";
        let scan = NamesMet::default();
        scan.met([&b"uart"[..], b"com1", b"uart"]);
        let before = scan.mark();
        assert_eq!(before, "uart com1 ".len(), "uart given again is met once");
        scan.met([&b"hpet"[..]]);
        // Only the first two the scan met came before the part: hpet came after it.
        let earlier = EarlierNames { met: Arc::new(scan), before };
        let mut names = UnitNames::default();
        let taken: Vec<bool> =
            [0..3, 4..7, 8..11, 12..16, 17..20].into_iter().map(|at| names.taken(bytes, at, Some(&earlier))).collect();
        // pit and rtc given again here, com1 given before the part.
        assert_eq!(taken, [false, false, true, true, true]);
        assert!(!UnitNames::default().taken(b"hpet", 0..4, Some(&earlier)), "met after the part");
    }

    #[test]
    fn a_name_that_is_not_utf8_is_told_by_its_bytes() {
        let bytes = b"\xff\xfegast\xc3\xa4-\xc3 \xff\xfegast\xc3\xa4-\xc3 \xff\xfegast\xc3\xa4-\xc4";
        let mut names = UnitNames::default();
        assert!(!names.taken(bytes, 0..10, None));
        assert!(names.taken(bytes, 11..21, None), "given again");
        assert!(!names.taken(bytes, 22..32, None), "its last byte differs");
    }

    #[test]
    fn names_that_differ_only_past_a_word_or_in_length_are_told_apart() {
        // Names alike in their first words, and runs of zeros of every length up to 39.
        let names: Vec<Vec<u8>> = (0..2000u32)
            .flat_map(|i| [format!("unit-name-{:08}", i % 700).into_bytes(), vec![0; (i % 40) as usize]])
            .collect();
        let bytes = names.concat();
        let (scan, mut walk, mut distinct, mut at) = (NamesMet::default(), UnitNames::default(), Vec::new(), 0);
        // Where the scan's record stood as each distinct name was first met.
        let mut marks = Vec::new();
        for name in &names {
            let first = distinct.iter().position(|d| d == name);
            let hash = RandomKeys::default().hash_one(name);
            // Met before exactly when it was, and kept at the place it was first met in.
            assert_eq!(scan.met_before(name, hash, scan.mark()), first.is_some(), "{name:?}");
            if let Some(first) = first {
                let mark = marks[first];
                assert!(
                    scan.met_before(name, hash, mark + 1) && !scan.met_before(name, hash, mark),
                    "{name:?} first at {first}"
                );
            }
            let mark = scan.mark();
            scan.met([name.as_slice()]);
            let taken = walk.taken(&bytes, at..at + name.len(), None);
            assert_eq!(taken, first.is_some(), "{name:?}");
            if first.is_none() {
                distinct.push(name.clone());
                marks.push(mark);
            }
            at += name.len();
        }
        // The empty name among them, each name in the record once.
        assert_eq!(distinct.len(), 740);
        assert_eq!(scan.mark(), distinct.iter().map(|d| d.len() + 1).sum::<usize>());
    }
}
