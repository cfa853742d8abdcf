//! Which rows a search can pass over without writing their labels: the row of a number
//! (a scalar, or a value of a packed run, that reads clean) shows only its field's name
//! and type, an index, and the characters its kind's values are written with, so a query
//! with a character none of those can hold (a word looked for among a gigabyte of
//! registers) matches none of that field's rows. A message's row shows only its field's
//! name, an index and its type's name: a run of such rows and their leaves may be passed
//! over whole.

use crate::decode::schema::{FieldClass, FieldInfo, TypeInfo};
use crate::model::hash::KeyMap;
use prost_reflect::Kind;

/// What every number's row may show besides its field's name and type and its value:
/// digits, an index's brackets, and the label's `: ` and ` = `.
const EVERY_NUMBER_ROW: &str = "0123456789[]: =";

/// What every message's row may show besides its field's name and its type's: digits, an
/// index's brackets and the label's `: `.
const EVERY_MESSAGE_ROW: &str = "0123456789[]: ";

/// The query's characters (lowered, as rows are when searched), and for each field met,
/// whether its number rows can hold them all.
pub(super) struct Sifter {
    /// Bytes of the query, a bit each.
    query: [u64; 4],
    /// By the field's address in the document's schema tables (stable while it is searched).
    fields: KeyMap<usize, bool>,
    /// Of each message type met (by address, as fields), whether a row of any of its
    /// fields may hold the query.
    types: KeyMap<usize, bool>,
}

impl Sifter {
    /// A sifter for rows searched for `needle` (lowered).
    pub(super) fn new(needle: &[u8]) -> Sifter {
        Sifter { query: bits_of([needle]), fields: KeyMap::default(), types: KeyMap::default() }
    }

    /// Whether a row of `field` that reads clean (no problem marked on it) may hold the
    /// query: `false` only when it surely cannot (a field that is not a number's is never
    /// passed over).
    pub(super) fn may_match(&mut self, field: &FieldInfo) -> bool {
        let key = std::ptr::from_ref(field) as usize;
        let query = self.query;
        *self.fields.entry(key).or_insert_with(|| number_row(field).is_none_or(|row| holds(query, row)))
    }

    /// Whether a clean row of any field of message type `info` may hold the query
    /// ([`Sifter::may_match`]).
    pub(super) fn may_match_a_field(&mut self, info: &TypeInfo) -> bool {
        let key = std::ptr::from_ref(info) as usize;
        if let Some(&may) = self.types.get(&key) {
            return may;
        }
        let may = info.fields.iter().any(|field| self.may_match(field));
        self.types.insert(key, may);
        may
    }

    /// Whether the row of a message of `field`, of the type named `type_name`, may hold
    /// the query: its label is the field's name, an index and the type's name.
    pub(super) fn may_match_message(&self, field: &FieldInfo, type_name: &str) -> bool {
        holds(self.query, bits_of([field.name.as_bytes(), type_name.as_bytes(), EVERY_MESSAGE_ROW.as_bytes()]))
    }
}

/// The characters any number row of `field` that reads clean can show (lowered), or
/// `None` for a field whose rows are not numbers. Its value is written as
/// [`crate::model::value::push_scalar_display`] writes it: an integer of 10 or more with
/// its hex (`16 (0x10)`), a float in decimals or `inf`/`nan`, an enum value by name and
/// number or as `(not a declared value)`.
fn number_row(field: &FieldInfo) -> Option<[u64; 4]> {
    if !matches!(field.class, FieldClass::Scalar(_)) {
        return None;
    }
    let value: &str = match &field.kind {
        Kind::Bool => "truefalse",
        Kind::Float | Kind::Double => "-.infa",
        Kind::Enum(_) => "-()not a declared value",
        Kind::Uint32 | Kind::Uint64 | Kind::Fixed32 | Kind::Fixed64 => "abcdefx()",
        Kind::Int32 | Kind::Int64 | Kind::Sint32 | Kind::Sint64 | Kind::Sfixed32 | Kind::Sfixed64 => "-abcdefx()",
        Kind::String | Kind::Bytes | Kind::Message(_) => return None,
    };
    let texts = [field.name.as_str(), field.type_name.as_str(), EVERY_NUMBER_ROW, value];
    let mut row = bits_of(texts.iter().map(|text| text.as_bytes()));
    if let Kind::Enum(enumeration) = &field.kind {
        for name in enumeration.values().map(|value| bits_of([value.name().as_bytes()])) {
            row.iter_mut().zip(name).for_each(|(r, n)| *r |= n);
        }
    }
    Some(row)
}

/// Whether a row of the characters `row` can hold every character of `query`.
fn holds(query: [u64; 4], row: [u64; 4]) -> bool {
    query.iter().zip(row).all(|(q, r)| q & !r == 0)
}

/// The bytes of `texts`, lowered, a bit each.
fn bits_of<'a>(texts: impl IntoIterator<Item = &'a [u8]>) -> [u64; 4] {
    let mut bits = [0u64; 4];
    for byte in texts.into_iter().flatten().map(u8::to_ascii_lowercase) {
        bits[usize::from(byte >> 6)] |= 1 << (byte & 63);
    }
    bits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::registry::SchemaSources;
    use crate::decode::schema::Schema;

    fn field(schema: &Schema, message: &str, name: &str) -> FieldInfo {
        let desc = schema.pool.get_message_by_name(message).expect("a sample type");
        let number = desc.get_field_by_name(name).expect("a field").number();
        schema.type_info(desc).field(number).expect("declared").clone()
    }

    #[test]
    fn a_number_row_is_passed_over_only_for_a_character_it_cannot_show() {
        let schema = Schema::load(&SchemaSources::default()).unwrap();
        let vmtime = field(&schema, "sample.vmtime.SavedState", "vmtime");
        for (query, may) in [
            ("nonexistent-needle", false),
            ("vmtime", true),
            ("uint64", true),
            ("0x2a", true),
            ("[3]: uint64 = 42 (0x2a)", true),
            ("VMTIME", true), // case aside, as rows are searched
            ("-1", false),    // unsigned
            ("true", false),
            ("zzz", false),
        ] {
            assert_eq!(Sifter::new(query.as_bytes()).may_match(&vmtime), may, "{query}");
        }
        let offset = field(&schema, "sample.vmtime.SavedState", "offset_from_host");
        assert!(Sifter::new(b"-12").may_match(&offset), "a signed number may be negative");
        let gate = field(&schema, "sample.chipset.pit.SavedTimerState", "gate");
        for (query, may) in [("gate: bool = false", true), ("true", true), ("0x", false)] {
            assert_eq!(Sifter::new(query.as_bytes()).may_match(&gate), may, "{query}");
        }
        let name = field(&schema, "sample.state_unit.SavedStateUnit", "name");
        assert!(Sifter::new(b"zzz").may_match(&name), "a string's row may show anything");
    }

    #[test]
    fn no_number_row_that_holds_a_query_is_passed_over() {
        // Every clean number row of the sample, and every piece of one to three characters
        // of any of them as a query: a row holding the piece is never passed over.
        let schema = std::sync::Arc::new(Schema::load(&SchemaSources::default()).unwrap());
        let root = schema.pool.get_message_by_name(crate::samples::ROOT_TYPE);
        let source = crate::model::source::Source::new(crate::samples::VM_STATE.to_vec());
        let doc = crate::model::Decoder::new(schema, root).decode(source);
        let mut rows = Vec::new();
        for id in crate::model::NodeId::ROOT.up_to(doc.end()) {
            let node = doc.node(id);
            let number = matches!(node.kind, crate::model::NodeKind::Scalar | crate::model::NodeKind::Element);
            if let Some(field) = doc.field_info_of(&node).filter(|_| number && !node.has_problem()) {
                let mut line = String::new();
                crate::render::tree::label(&doc, id, &node, &mut line);
                rows.push((field, line.to_ascii_lowercase()));
            }
        }
        assert!(rows.len() > 100, "the sample has many number rows");
        let mut queries = std::collections::BTreeSet::new();
        for (_, line) in &rows {
            for len in 1..=3 {
                queries.extend(line.as_bytes().windows(len).map(<[u8]>::to_vec));
            }
        }
        let mut passed_over = 0;
        for query in &queries {
            let mut sifter = Sifter::new(query);
            for (field, line) in &rows {
                let holds = line.as_bytes().windows(query.len()).any(|w| w == &query[..]);
                let may = sifter.may_match(field);
                assert!(may || !holds, "{line:?} holds {:?} but was passed over", String::from_utf8_lossy(query));
                passed_over += usize::from(!may);
            }
        }
        assert!(passed_over > 0, "some rows are passed over");
    }

    #[test]
    fn no_message_row_that_holds_a_query_is_passed_over() {
        // Every message row of the sample and of a dense list of entries, and every piece
        // of one to three characters of one as a query.
        let schema = std::sync::Arc::new(Schema::load(&SchemaSources::default()).unwrap());
        let mut rows = Vec::new();
        for (root, bytes) in [
            (crate::samples::ROOT_TYPE, crate::samples::VM_STATE.to_vec()),
            ("sample.virt.x86.Msrs", crate::samples::msr_entries(4_000)),
        ] {
            let root = schema.pool.get_message_by_name(root);
            let source = crate::model::source::Source::new(bytes);
            let doc = crate::model::Decoder::new(std::sync::Arc::clone(&schema), root).decode(source);
            for id in crate::model::NodeId::ROOT.up_to(doc.end()) {
                let node = doc.node(id);
                let (Some(field), Some(ty)) = (doc.field_info_of(&node), doc.message_type_of(&node)) else { continue };
                if node.kind == crate::model::NodeKind::Message {
                    let mut line = String::new();
                    crate::render::tree::label(&doc, id, &node, &mut line);
                    rows.push((field.clone(), ty.full_name().to_owned(), line.to_ascii_lowercase()));
                }
            }
        }
        assert!(rows.len() > 250, "{} message rows", rows.len());
        let mut queries = std::collections::BTreeSet::new();
        for (_, _, line) in &rows {
            for len in 1..=3 {
                queries.extend(line.as_bytes().windows(len).map(<[u8]>::to_vec));
            }
        }
        let mut passed_over = 0;
        for query in &queries {
            let sifter = Sifter::new(query);
            for (field, type_name, line) in &rows {
                let holds = line.as_bytes().windows(query.len()).any(|w| w == &query[..]);
                let may = sifter.may_match_message(field, type_name);
                assert!(may || !holds, "{line:?} holds {:?} but was passed over", String::from_utf8_lossy(query));
                passed_over += usize::from(!may);
            }
        }
        assert!(passed_over > 0, "some rows are passed over");
    }
}
