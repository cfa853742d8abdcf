//! The names of the state units a decode meets, for the rule that no two units share one
//! (the VMM matches units by name): those one walk met, and those a scan of the top level
//! met for the parts decoded beside it. A name is kept by where it is in the walk's bytes,
//! or in one arena the scan's names share, never in an allocation of its own: a top level
//! of a hundred thousand units, each named anew, made two hundred thousand of them.

use std::hash::BuildHasher;
use std::ops::Range;
use std::sync::{Arc, PoisonError, RwLock};

use hashbrown::HashTable;

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

/// The unit names one walk met, each kept by where it is in the walk's bytes.
#[derive(Debug, Default)]
pub(crate) struct UnitNames {
    table: HashTable<WalkName>,
    keys: RandomKeys,
}

/// A name one walk met: where it first was, and its text once a later unit has taken it
/// again (made then, and shared by every unit that takes it after).
#[derive(Debug)]
struct WalkName {
    at: Range<usize>,
    hash: u64,
    text: Option<Arc<str>>,
}

impl UnitNames {
    /// Records the name of a unit, at `at` in `bytes` (the walk's own, where every name it
    /// records is); its text if an earlier unit had it, here or before the part (`earlier`).
    pub(crate) fn taken(&mut self, bytes: &[u8], at: Range<usize>, earlier: Option<&EarlierNames>) -> Option<Arc<str>> {
        let name = &bytes[at.clone()];
        let hash = self.keys.hash_one(name);
        if let Some(met) = self.table.find_mut(hash, |met| bytes[met.at.clone()] == *name) {
            return Some(met.text.get_or_insert_with(|| text_of(name)).clone());
        }
        let taken = earlier.is_some_and(|e| e.met.among_first(name, e.before));
        let text = taken.then(|| text_of(name));
        self.table.insert_unique(hash, WalkName { at, hash, text: text.clone() }, |met| met.hash);
        text
    }
}

/// A name as the report words it.
fn text_of(name: &[u8]) -> Arc<str> {
    String::from_utf8_lossy(name).into()
}

/// The unit names a scan of the top level met, each with the order it was first met in,
/// shared by the parts decoded beside the scan: a part asks whether a name was met before
/// it, rather than be given a copy of every name before it.
#[derive(Debug, Default)]
pub(crate) struct NamesMet {
    order: RwLock<InOrder>,
}

/// The names met, their bytes one after another in one arena.
#[derive(Debug, Default)]
struct InOrder {
    arena: Vec<u8>,
    table: HashTable<FirstMet>,
    keys: RandomKeys,
}

/// A name as first met: where its bytes are in the arena, and its place in the order.
#[derive(Debug)]
struct FirstMet {
    at: Range<usize>,
    hash: u64,
    order: usize,
}

impl InOrder {
    /// `name` as first met, found by its `hash`.
    fn find(&self, name: &[u8], hash: u64) -> Option<&FirstMet> {
        self.table.find(hash, |first| self.arena[first.at.clone()] == *name)
    }
}

impl NamesMet {
    /// Records names met, in order; each keeps the order it was first met in.
    pub(crate) fn met<'n>(&self, names: impl IntoIterator<Item = &'n [u8]>) {
        let mut in_order = self.order.write().unwrap_or_else(PoisonError::into_inner);
        for name in names {
            let hash = in_order.keys.hash_one(name);
            if in_order.find(name, hash).is_some() {
                continue;
            }
            let InOrder { arena, table, .. } = &mut *in_order;
            let (at, order) = (arena.len()..arena.len() + name.len(), table.len());
            arena.extend_from_slice(name);
            table.insert_unique(hash, FirstMet { at, hash, order }, |first| first.hash);
        }
    }

    /// How many distinct names were met so far.
    pub(crate) fn count(&self) -> usize {
        self.order.read().unwrap_or_else(PoisonError::into_inner).table.len()
    }

    /// Whether `name` was among the first `before` distinct names met.
    fn among_first(&self, name: &[u8], before: usize) -> bool {
        let in_order = self.order.read().unwrap_or_else(PoisonError::into_inner);
        in_order.find(name, in_order.keys.hash_one(name)).is_some_and(|first| first.order < before)
    }
}

/// The unit names met before a part: the first `before` of those a scan met.
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
        scan.met([&b"hpet"[..]]);
        assert_eq!(scan.count(), 3, "uart given again is met once");
        // Only the first two the scan met came before the part: hpet came after it.
        let earlier = EarlierNames { met: Arc::new(scan), before: 2 };
        let mut names = UnitNames::default();
        let taken: Vec<Option<String>> = [0..3, 4..7, 8..11, 12..16, 17..20]
            .into_iter()
            .map(|at| names.taken(bytes, at, Some(&earlier)).map(|t| t.to_string()))
            .collect();
        assert_eq!(taken, [None, None, Some("pit".into()), Some("com1".into()), Some("rtc".into())]);
        assert!(UnitNames::default().taken(b"hpet", 0..4, Some(&earlier)).is_none(), "met after the part");
    }

    #[test]
    fn names_that_differ_only_past_a_word_or_in_length_are_told_apart() {
        // Names alike in their first words, and runs of zeros of every length up to 39.
        let names: Vec<Vec<u8>> = (0..2000u32)
            .flat_map(|i| [format!("unit-name-{:08}", i % 700).into_bytes(), vec![0; (i % 40) as usize]])
            .collect();
        let bytes = names.concat();
        let (scan, mut walk, mut distinct, mut at) = (NamesMet::default(), UnitNames::default(), Vec::new(), 0);
        for name in &names {
            let first = distinct.iter().position(|d| d == name);
            // Met before exactly when it was, and kept at the place it was first met in.
            assert_eq!(scan.among_first(name, scan.count()), first.is_some(), "{name:?}");
            if let Some(first) = first {
                assert!(
                    scan.among_first(name, first + 1) && !scan.among_first(name, first),
                    "{name:?} first at {first}"
                );
            }
            scan.met([name.as_slice()]);
            let taken = walk.taken(&bytes, at..at + name.len(), None);
            assert_eq!(taken.is_some(), first.is_some(), "{name:?}");
            if first.is_none() {
                distinct.push(name.clone());
            }
            at += name.len();
        }
        assert_eq!((scan.count(), distinct.len()), (740, 740));
    }
}
