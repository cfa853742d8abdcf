//! The names of the state units a decode meets, for the rule that no two units share one
//! (the VMM matches units by name): those one walk met, and those a scan of the top level
//! met for the parts decoded beside it. A name is kept by where it is in the walk's bytes,
//! or in an arena of each stretch the scan met, never in an allocation of its own: a top level
//! of a hundred thousand units, each named anew, made two hundred thousand of them.

use std::hash::BuildHasher;
use std::ops::Range;
use std::sync::Arc;

use hashbrown::HashTable;
use hashbrown::hash_table::Entry;

use crate::decode::wire::{self, WireType};
use crate::model::hash::RandomKeys;
use crate::model::value::c_escape;

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
    /// The text of each name taken again, made once for every unit that takes it.
    texts: Vec<Arc<str>>,
    keys: RandomKeys,
}

/// A name one walk met: where it first was, and which of the texts is its own once a
/// later unit has taken it again ([`NO_TEXT`] until then).
#[derive(Debug)]
struct WalkName {
    start: u64,
    len: u32,
    text: u32,
}

/// A name's text not yet made.
const NO_TEXT: u32 = u32::MAX;

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
    /// records is); its text if an earlier unit had it, here or before the part (`earlier`).
    /// A name of 4 GiB or more is not kept (an entry holds its length in four bytes): only
    /// a blob of 8 GiB or more can give one twice.
    pub(crate) fn taken(&mut self, bytes: &[u8], at: Range<usize>, earlier: Option<&EarlierNames>) -> Option<Arc<str>> {
        let name = &bytes[at.clone()];
        let len = u32::try_from(name.len()).ok()?;
        let UnitNames { table, texts, keys } = self;
        let hash = keys.hash_one(name);
        // One probe finds the name or the slot for it.
        let met = match table.entry(hash, |met| met.name(bytes) == name, |met| keys.hash_one(met.name(bytes))) {
            Entry::Occupied(met) => met.into_mut(),
            Entry::Vacant(slot) => {
                // Every `RandomKeys` of the process hashes alike: the scan's table takes this hash.
                let taken = earlier.is_some_and(|e| e.met_before(name, hash));
                slot.insert(WalkName { start: at.start as u64, len, text: NO_TEXT });
                return taken.then(|| text_of(name));
            }
        };
        if let Some(text) = texts.get(met.text as usize) {
            return Some(Arc::clone(text));
        }
        let text = text_of(name);
        // Past four billion texts, each is made anew.
        if let Ok(index) = u32::try_from(texts.len())
            && index < NO_TEXT
        {
            met.text = index;
            texts.push(Arc::clone(&text));
        }
        Some(text)
    }
}

/// A name as the report words it: as written where it is UTF-8, and its other bytes
/// escaped as protoc escapes them (`\377`), where a replacement character would hide them.
fn text_of(name: &[u8]) -> Arc<str> {
    let mut text = String::with_capacity(name.len());
    for chunk in name.utf8_chunks() {
        text.push_str(chunk.valid());
        c_escape(chunk.invalid(), &mut text);
    }
    text.into()
}

/// The unit names a scan of one stretch of the top level met, each once: made by the
/// thread that cuts the parts, then only read, by the parts after the stretch, with no
/// lock to take (a read lock taken per name, on a line both threads wrote, was a fifth
/// of a walk's recording of its names).
#[derive(Debug, Default)]
pub(crate) struct NamesMet {
    /// The names' bytes, one after another.
    arena: Vec<u8>,
    table: HashTable<FirstMet>,
    keys: RandomKeys,
}

/// A name met: where its bytes are in the arena (sixteen bytes an entry, as
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

impl NamesMet {
    /// Room for `names` names of `bytes` bytes in all, so that recording them grows no
    /// table.
    pub(crate) fn with_room(names: usize, bytes: usize) -> NamesMet {
        NamesMet {
            arena: Vec::with_capacity(bytes),
            table: HashTable::with_capacity(names),
            keys: RandomKeys::default(),
        }
    }

    /// Records names met. A name of 4 GiB or more is not kept ([`UnitNames::taken`]).
    pub(crate) fn met<'n>(&mut self, names: impl IntoIterator<Item = &'n [u8]>) {
        self.met_hashed(names.into_iter().map(|name| (name, hash_of(name))));
    }

    /// [`Self::met`] with each name's hash ([`hash_of`]) made already: by the scan, while
    /// the name's bytes were at hand (read again here, from a scan of megabytes, a third
    /// of recording them went to loading them).
    pub(crate) fn met_hashed<'n>(&mut self, names: impl IntoIterator<Item = (&'n [u8], u64)>) {
        let NamesMet { arena, table, keys } = self;
        for (name, hash) in names {
            let Ok(len) = u32::try_from(name.len()) else { continue };
            // One probe finds the name or the slot for it.
            let entry = table.entry(hash, |first| first.name(arena) == name, |first| keys.hash_one(first.name(arena)));
            let Entry::Vacant(slot) = entry else { continue };
            let start = arena.len() as u64;
            arena.extend_from_slice(name);
            slot.insert(FirstMet { start, len });
        }
    }

    /// Whether no name was met.
    pub(crate) fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Whether `name`, of `hash` ([`hash_of`]), was met.
    fn has(&self, name: &[u8], hash: u64) -> bool {
        self.table.find(hash, |first| first.name(&self.arena) == name).is_some()
    }
}

/// The unit names met before a part: those the scan met in each stretch of the top level
/// before it (one per part cut, so a few).
#[derive(Debug, Clone, Default)]
pub(crate) struct EarlierNames {
    stretches: Vec<Arc<NamesMet>>,
}

impl EarlierNames {
    /// These and the names of the stretch after them.
    pub(crate) fn push(&mut self, stretch: NamesMet) {
        if !stretch.is_empty() {
            self.stretches.push(Arc::new(stretch));
        }
    }

    /// These, or `None` when there are none to ask of.
    pub(crate) fn any(&self) -> Option<EarlierNames> {
        (!self.stretches.is_empty()).then(|| self.clone())
    }

    /// Whether `name`, of `hash` ([`hash_of`]), was met before.
    fn met_before(&self, name: &[u8], hash: u64) -> bool {
        self.stretches.iter().any(|stretch| stretch.has(name, hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_walk_tells_a_name_given_again_here_or_before_its_part() {
        let bytes = b"pit rtc pit com1 rtc hpet";
        let mut first = NamesMet::default();
        first.met([&b"uart"[..], b"com1", b"uart"]);
        let mut earlier = EarlierNames::default();
        earlier.push(first);
        let mut names = UnitNames::default();
        let mut taken =
            |at: Range<usize>, earlier: &EarlierNames| names.taken(bytes, at, Some(earlier)).map(|t| t.to_string());
        let found: Vec<Option<String>> =
            [0..3, 4..7, 8..11, 12..16, 17..20].into_iter().map(|at| taken(at, &earlier)).collect();
        assert_eq!(found, [None, None, Some("pit".into()), Some("com1".into()), Some("rtc".into())]);
        // Every stretch before the part is asked of, not only the first.
        let mut second = NamesMet::default();
        second.met([&b"hpet"[..]]);
        let mut both = earlier.clone();
        both.push(second);
        assert!(UnitNames::default().taken(bytes, 21..25, Some(&earlier)).is_none(), "met in no stretch before");
        assert_eq!(taken(21..25, &both).as_deref(), Some("hpet"));
        assert!(EarlierNames::default().any().is_none() && both.any().is_some());
    }

    #[test]
    fn a_name_that_is_not_utf8_is_worded_with_its_bytes_escaped() {
        let bytes = b"\xff\xfegast\xc3\xa4-\xc3 \xff\xfegast\xc3\xa4-\xc3";
        let mut names = UnitNames::default();
        assert!(names.taken(bytes, 0..10, None).is_none());
        let text = names.taken(bytes, 11..21, None).expect("given again");
        assert_eq!(&*text, "\\377\\376gast\u{e4}-\\303");
    }

    #[test]
    fn names_that_differ_only_past_a_word_or_in_length_are_told_apart() {
        // Names alike in their first words, and runs of zeros of every length up to 39.
        let names: Vec<Vec<u8>> = (0..2000u32)
            .flat_map(|i| [format!("unit-name-{:08}", i % 700).into_bytes(), vec![0; (i % 40) as usize]])
            .collect();
        let bytes = names.concat();
        let (mut scan, mut walk, mut distinct, mut at) = (NamesMet::default(), UnitNames::default(), Vec::new(), 0);
        for name in &names {
            let first = distinct.iter().position(|d| d == name);
            // Met before exactly when it was, by the scan and by the walk.
            assert_eq!(scan.has(name, hash_of(name)), first.is_some(), "{name:?}");
            scan.met([name.as_slice()]);
            let taken = walk.taken(&bytes, at..at + name.len(), None);
            assert_eq!(taken.is_some(), first.is_some(), "{name:?}");
            if first.is_none() {
                distinct.push(name.clone());
            }
            at += name.len();
        }
        // The empty name among them, each name in the record once.
        assert_eq!(distinct.len(), 740);
        assert_eq!((scan.table.len(), scan.arena.len()), (740, distinct.iter().map(Vec::len).sum::<usize>()));
    }
}
