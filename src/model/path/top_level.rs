//! Telling that a path's first step names no top-level field, and what the top level
//! holds instead, from a scan of its tags: a mistyped path into a gigabyte is answered
//! without decoding it. The answer is the one the decoded document gives, or none where a
//! field does not read (the decode then says more): then decode. With no root type (raw
//! wire fields, as a blob no registered type fits is shown) only `#N` names a field.

use prost_reflect::MessageDescriptor;

use super::{FieldPath, LISTED, Met, PathError, missing, push_number};
use crate::decode::schema::scalar_wire;
use crate::decode::wire::{self, PackedRun, Plain, WireType};

/// The error a decode of `bytes` as `root` (or as raw wire fields, with none) gives for
/// `path`, when its first step is a plain name `root` does not declare (so nothing at the
/// top level can be it); `None` when the step may name something, or a top-level field
/// does not read.
pub fn absent_at_top_level(bytes: &[u8], root: Option<&MessageDescriptor>, path: &FieldPath) -> Option<PathError> {
    let first = path.segments().first()?;
    let names_nothing = !first.name.starts_with(['#', '@'])
        && root.is_none_or(|root| {
            root.full_name() != "google.protobuf.Any" && root.get_field_by_name(&first.name).is_none()
        });
    if !names_nothing {
        return None;
    }
    let (names, others) = top_level_names(bytes, root)?;
    Some(missing(path, first, "the root".to_owned(), names, others))
}

/// A top-level field number met first, in order: how many values it holds, and, when the
/// root declares it a repeated scalar, the wire type of its values (each packed run of
/// them holds many).
struct Listed {
    number: u32,
    count: usize,
    packable: Option<WireType>,
}

/// What the top level of `bytes` holds, named as the decoded document names it (`root`
/// its type, or raw wire fields with none): the first [`LISTED`] numbers met, each once
/// with how many values it holds, and how many fields of other numbers there are; `None`
/// when a top-level field does not read.
pub(super) fn top_level_names(bytes: &[u8], root: Option<&MessageDescriptor>) -> Option<(Vec<Met>, usize)> {
    let mut listed: Vec<Listed> = Vec::new();
    // A bit for each listed number (its value mod 4096): nearly all others are told apart
    // by it, distinct numbers by the million among them.
    let mut maybe_listed = [0u64; 64];
    let (mut others, mut pos, mut last) = (0, 0, 0);
    while pos < bytes.len() {
        // A run of small messages of the field met last (a gigabyte of them, often) is
        // stepped over in a loop of its own.
        if let Some(entry) = listed.get_mut(last)
            && let Some(&tag) = bytes.get(pos).filter(|&&tag| u32::from(tag >> 3) == entry.number)
            && entry.packable.is_none()
        {
            let (after, run) = wire::step_over_short_run(bytes, pos, bytes.len(), bytes.len(), tag, u32::MAX);
            if run > 0 {
                (entry.count, pos) = (entry.count + run as usize, after);
                continue;
            }
        }
        let (number, next) = match wire::skim_field(bytes, pos, bytes.len()) {
            Some(skimmed) => skimmed,
            None => wire::read_field(bytes, pos, bytes.len()).ok().map(|f| (f.tag.field_number, f.end))?,
        };
        let (word, bit) = ((number / 64 % 64) as usize, 1 << (number % 64));
        // Most top levels are long runs of one field: the one met last is looked at first.
        let at = match listed.get(last) {
            Some(entry) if entry.number == number => Some(last),
            _ if maybe_listed[word] & bit == 0 => None,
            _ => listed.iter().position(|e| e.number == number),
        };
        match at {
            Some(i) => {
                listed[i].count += values_in(bytes, pos, listed[i].packable)?;
                last = i;
            }
            None if listed.len() < LISTED => {
                let declared = root.and_then(|root| root.get_field(number));
                let packable = declared.filter(|d| d.is_list()).and_then(|d| scalar_wire(&d.kind()));
                listed.push(Listed { number, count: values_in(bytes, pos, packable)?, packable });
                maybe_listed[word] |= bit;
                last = listed.len() - 1;
            }
            None => others += 1,
        }
        pos = next;
    }
    Some((listed.into_iter().map(|entry| met(root, &entry)).collect(), others))
}

/// How many values the top-level field at `pos` holds: those of a packed run of
/// `packable`-typed values that reads whole, else one.
fn values_in(bytes: &[u8], pos: usize, packable: Option<WireType>) -> Option<usize> {
    let Some(wire) = packable else { return Some(1) };
    let field = wire::read_field(bytes, pos, bytes.len()).ok()?;
    if field.tag.wire_type != WireType::Len {
        return Some(1);
    }
    let run = &bytes[field.value_start..field.value_end];
    Some(run_values(run, wire).unwrap_or(1))
}

/// How the decoded document names top-level field `entry`, and whether its row shows an
/// index: a repeated field's does (the values of a packed run are named by index too).
fn met(root: Option<&MessageDescriptor>, entry: &Listed) -> Met {
    let Some(declared) = root.and_then(|root| root.get_field(entry.number)) else {
        let mut name = String::new();
        push_number(entry.number, &mut name);
        return Met { name, count: entry.count, indexed: false };
    };
    Met { name: declared.name().to_owned(), count: entry.count, indexed: declared.is_list() || declared.is_map() }
}

/// How many values a packed run of `wire`-typed values holds when it reads whole, as the
/// decoder reads it (a run that does not is shown raw): stepped over a word at a time where
/// they surely read, as a run of a million values is.
fn run_values(run: &[u8], wire: WireType) -> Option<usize> {
    let mut values = PackedRun::new(0..run.len(), wire);
    let mut count = 0;
    loop {
        count += values.skip_plain(run, u32::MAX, Plain::Unchecked) as usize;
        match values.next_in(run) {
            None => return Some(count),
            Some(Ok(_)) => count += 1,
            Some(Err(_)) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, OnceLock};

    use proptest::prelude::*;

    use super::*;
    use crate::decode::registry::SchemaSources;
    use crate::decode::schema::Schema;
    use crate::model::source::Source;
    use crate::model::{Decoder, Document, query};

    fn schema() -> Arc<Schema> {
        static SCHEMA: OnceLock<Arc<Schema>> = OnceLock::new();
        SCHEMA.get_or_init(|| Arc::new(Schema::load(&SchemaSources::default()).unwrap())).clone()
    }

    /// The scan's answer for `path`, and the whole decode's, as `root` (raw wire fields
    /// with none).
    fn both(root: Option<&str>, bytes: &[u8], path: &str) -> (Option<PathError>, PathError) {
        let root = root.map(|root| schema().pool.get_message_by_name(root).unwrap());
        let doc: Document = Decoder::new(schema(), root.clone()).decode(Source::new(bytes.to_vec()));
        let whole = query::select(&doc, path).expect_err("names nothing");
        (absent_at_top_level(bytes, root.as_ref(), &FieldPath::parse(path).unwrap()), whole)
    }

    const IOAPIC: Option<&str> = Some("sample.chipset.ioapic.SavedState");
    const VM: Option<&str> = Some("sample.openvmm.SavedState");
    /// No root type: the blob read as raw wire fields.
    const RAW: Option<&str> = None;

    #[test]
    fn a_first_step_naming_nothing_is_refused_as_the_decoded_document_refuses_it() {
        let vm = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/vm.state.bin")).unwrap();
        // Thirty distinct unknown fields after the units: more than are listed.
        let unknown: Vec<u8> = (100u32..130).flat_map(|n| [(n << 3) as u8 | 0x80, (n >> 4) as u8, 1]).collect();
        let cases: Vec<(Option<&str>, Vec<u8>)> = vec![
            (VM, vm.clone()),
            (VM, [vm.clone(), unknown].concat()),
            // One packed run that reads (a row with no index), one cut short (shown raw,
            // with one), two runs, a value written unpacked.
            (IOAPIC, vec![0x08, 0x07, 0x1a, 0x02, 0x05, 0x06]),
            (IOAPIC, vec![0x1a, 0x02, 0x05, 0x86]),
            (IOAPIC, vec![0x1a, 0x01, 0x05, 0x1a, 0x01, 0x06]),
            (IOAPIC, vec![0x18, 0x05, 0x10, 0x01]),
            (IOAPIC, vec![]),
            (RAW, vm.clone()),
            (RAW, vec![0x08, 0x07, 0x1a, 0x02, 0x05, 0x06, 0x08, 0x01]),
            (RAW, vec![]),
        ];
        for (root, bytes) in &cases {
            for path in ["nosuch", "unit[2].name", "units2", "redirection_entrie[3]"] {
                let (scanned, whole) = both(*root, bytes, path);
                assert_eq!(scanned, Some(whole), "{root:?}, {} bytes, {path}", bytes.len());
            }
        }
        let vm_root = schema().pool.get_message_by_name(VM.unwrap()).unwrap();
        for path in ["units[1].name", "#7", "@type"] {
            let path = FieldPath::parse(path).unwrap();
            assert_eq!(absent_at_top_level(&vm, Some(&vm_root), &path), None, "{path} may name something");
        }
        for path in ["#1", "#7", "@type"] {
            let path = FieldPath::parse(path).unwrap();
            assert_eq!(absent_at_top_level(&vm, None, &path), None, "{path} may name something raw");
        }
        let unreadable = [vm, vec![0x0a, 0xff]].concat();
        for root in [Some(&vm_root), None] {
            let scanned = absent_at_top_level(&unreadable, root, &FieldPath::parse("nosuch").unwrap());
            assert_eq!(scanned, None, "a field that does not read: the decode says more");
        }
    }

    #[test]
    fn a_document_decoded_for_one_top_level_field_says_what_the_top_level_holds_as_a_whole_decode_does() {
        let vm = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/vm.state.bin")).unwrap();
        let cases: Vec<(Option<&str>, Vec<u8>, &str)> = vec![
            (VM, vm.clone(), "units[99].name"),
            (VM, vm, "units[99]"),
            (IOAPIC, vec![0x08, 0x07, 0x1a, 0x02, 0x05, 0x06], "redirection_entries[2]"),
            (IOAPIC, vec![0x1a, 0x01, 0x05, 0x1a, 0x01, 0x06, 0x18, 0x07], "redirection_entries[3]"),
            (IOAPIC, vec![0x1a, 0x02, 0x05, 0x86], "redirection_entries[1]"),
        ];
        for (root, bytes, path) in cases {
            let root = root.map(|root| schema().pool.get_message_by_name(root).unwrap());
            let decoder = Decoder::new(schema(), root.clone());
            let whole = query::select(&decoder.decode(Source::new(bytes.clone())), path).expect_err("names nothing");
            let focus = query::focus(path, root.as_ref()).expect("a top-level field");
            let focused = decoder.with_focus(focus).decode(Source::new(bytes));
            assert_eq!(query::select(&focused, path).expect_err("names nothing"), whole, "{path}");
            assert!(!whole.to_string().contains("nothing"), "{whole}");
        }
    }

    proptest! {
        /// Wherever the scan answers, its answer is the decoded document's, on random top
        /// levels: fields declared, unknown, repeated, of the wrong wire type, packed runs
        /// whole or cut, and bytes that do not read.
        #[test]
        fn the_scan_says_what_the_decode_says(fields in proptest::collection::vec((0u8..8, 0u8..6, any::<u8>()), 0..12)) {
            let mut bytes = Vec::new();
            for (number, wire, value) in fields {
                match wire {
                    0 => bytes.extend([number << 3, value & 0x7f]),
                    1 => bytes.extend([number << 3 | 2, 2, value | 0x80, value & 0x7f]),
                    2 => bytes.extend([number << 3 | 2, 2, value | 0x80, 0x80]),
                    3 => bytes.extend([number << 3 | 5, value, 0, 0, 0]),
                    4 => bytes.extend([number << 3 | 2, 1, value & 0x7f]),
                    _ => bytes.push(value),
                }
            }
            for root in [IOAPIC, RAW] {
                let (scanned, whole) = both(root, &bytes, "nosuch");
                if let Some(scanned) = scanned {
                    prop_assert_eq!(scanned, whole);
                }
            }
        }
    }
}
