//! Which rows a search can pass over without writing their labels: the row of a number
//! (a scalar, or a value of a packed run, that reads clean) shows only its field's name
//! and type, an index, and the characters its kind's values are written with, so a query
//! with a character none of those can hold (a word looked for among a gigabyte of
//! registers) matches none of that field's rows. A message's row shows only its field's
//! name, an index and its type's name: a run of such rows and their leaves may be passed
//! over whole. And where no fixed part of such a row can hold the query, nor begin or end
//! it, only the parts that vary (a value, an index) are written and looked at.

use crate::decode::schema::{FieldClass, FieldInfo, TypeIndex, TypeInfo};
use crate::model::Document;
use crate::model::hash::KeyMap;
use crate::model::node::{Node, NodeKind};
use prost_reflect::Kind;

/// What every number's row may show besides its field's name and type and its value:
/// digits, an index's brackets, and the label's `: ` and ` = `.
const EVERY_NUMBER_ROW: &str = "0123456789[]: =";

/// What every message's row may show besides its field's name and its type's: digits, an
/// index's brackets and the label's `: `.
const EVERY_MESSAGE_ROW: &str = "0123456789[]: ";

/// How a search looks at a clean row, judged from its field (and type) alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Look {
    /// No such row can hold the query: it is passed over.
    Never,
    /// Only the parts of the row that differ from one row of its field to the next can: a
    /// singular number's value, a list's index and value, the index of a message in a
    /// list. Those alone are written.
    Varying,
    /// Its whole label is written and looked through.
    Whole,
}

/// How the rows under a clean message of a type are looked at ([`Sifter::judge`]), in
/// the order of how much must be looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Judged {
    /// None can hold the query: the message is passed over whole.
    Never,
    /// Only what varies can (values, indices, a packed run's count): read from its bytes.
    Varying,
    /// Each row is looked at.
    Rows,
}

impl From<Look> for Judged {
    fn from(look: Look) -> Judged {
        match look {
            Look::Never => Judged::Never,
            Look::Varying => Judged::Varying,
            Look::Whole => Judged::Rows,
        }
    }
}

/// The query (lowered, as rows are when searched) and its characters, and for each field
/// met, how its number rows are looked at.
pub(super) struct Sifter {
    /// Bytes of the query, a bit each.
    query: [u64; 4],
    /// The query, lowered.
    needle: Vec<u8>,
    /// By the field's address in the document's schema tables (stable while it is searched).
    fields: KeyMap<usize, Look>,
    /// Of each message type met (by address, as fields), whether a row of any of its
    /// fields may hold the query.
    types: KeyMap<usize, bool>,
    /// By the document's type index: how the rows under a clean message of that type are
    /// looked at ([`Sifter::judge`]), once judged.
    judged: Vec<Option<Judged>>,
    /// By the field's address: how a message row of it is looked at, and whether the
    /// first of a singular field holds the query ([`Sifter::message_row`]).
    message_rows: KeyMap<usize, (Look, bool)>,
}

impl Sifter {
    /// A sifter for rows searched for `needle`, ASCII case aside.
    pub(super) fn new(needle: &[u8]) -> Sifter {
        Sifter {
            query: bits_of([needle]),
            needle: needle.to_ascii_lowercase(),
            fields: KeyMap::default(),
            types: KeyMap::default(),
            judged: Vec::new(),
            message_rows: KeyMap::default(),
        }
    }

    /// How a row of `field` that reads clean (no problem marked on it) is looked at when it
    /// is a number's: [`Look::Never`] only when it surely cannot hold the query (a field
    /// that is not a number's is never passed over); [`Look::Varying`] when only its value
    /// can, or for a list's (`{name}[{index}]: {type} = {value}`, a packed value's
    /// `[{index}]: {type} = {value}`) its index or its value.
    pub(super) fn number(&mut self, field: &FieldInfo) -> Look {
        let key = std::ptr::from_ref(field) as usize;
        let (query, needle) = (self.query, &self.needle);
        *self.fields.entry(key).or_insert_with(|| {
            let Some(row) = number_row(field) else { return Look::Whole };
            let type_name = &field.type_name;
            let varying = match field.is_list {
                false => only_in_varying(&[&format!("{}: {type_name} = ", field.name), ""], needle),
                true => only_in_varying(&[&format!("{}[", field.name), &format!("]: {type_name} = "), ""], needle),
            };
            match (holds(query, row), varying) {
                (false, _) => Look::Never,
                (true, true) => Look::Varying,
                (true, false) => Look::Whole,
            }
        })
    }

    /// How the row of `node` (of `field`, as [`crate::model::Document::field_info_of`]
    /// finds it) is looked at: a number's that reads clean as [`Sifter::number`] says (by
    /// its value alone only as the first of a singular field), any other's whole.
    pub(super) fn look(&mut self, node: &Node, field: Option<&FieldInfo>) -> Look {
        let clean_number = matches!(node.kind, NodeKind::Scalar | NodeKind::Element) && !node.has_problem();
        let Some(field) = field.filter(|_| clean_number) else { return Look::Whole };
        match self.number(field) {
            Look::Varying if !field.is_list && (node.kind != NodeKind::Scalar || node.index > 0) => Look::Whole,
            look => look,
        }
    }

    /// Whether a row of `field` that reads clean may hold the query ([`Sifter::number`]).
    pub(super) fn may_match(&mut self, field: &FieldInfo) -> bool {
        self.number(field) != Look::Never
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

    /// How the rows under a clean message of type `ty` of `doc` (its own row aside) are
    /// looked at, judged from its fields: [`Judged::Never`] when none can hold the query,
    /// as each field is a number none of whose rows can (nor, for a list, the row of a
    /// packed run of it), or a message (no Any, group or map) whose row cannot, of a type
    /// judged so too (or one no node of `doc` is of); [`Judged::Varying`] when only the
    /// parts that vary can (a value, an index, a packed run's count); else
    /// [`Judged::Rows`]. A type met again while it is judged (a schema that nests itself)
    /// is judged [`Judged::Rows`].
    pub(super) fn judge(&mut self, doc: &Document, ty: TypeIndex) -> Judged {
        let at = ty.index();
        if let Some(&Some(known)) = self.judged.get(at) {
            return known;
        }
        if self.judged.len() <= at {
            self.judged.resize(at + 1, None);
        }
        self.judged[at] = Some(Judged::Rows);
        let info = doc.type_info_at(ty);
        let mut judged = if info.is_any { Judged::Rows } else { Judged::Never };
        for (field_index, field) in info.fields.iter().enumerate() {
            if judged == Judged::Rows {
                break;
            }
            let of_field = match &field.class {
                FieldClass::Scalar(_) => match self.number(field) {
                    Look::Never if field.is_list && holds(self.query, packed_row(field)) => Judged::Varying,
                    look => Judged::from(look),
                },
                FieldClass::Message(desc) if !field.is_group && !field.is_map => {
                    // A singular field's later rows (`name[1]`) are judged where met.
                    let row = match self.message_row(field, desc.full_name(), 0) {
                        Look::Never if !field.is_list && self.message(field, desc.full_name()) != Look::Never => {
                            Judged::Varying
                        }
                        look => Judged::from(look),
                    };
                    let met = doc.met_type(ty, field_index, desc.full_name());
                    let below = met.map_or(Judged::Never, |child| self.judge(doc, child));
                    row.max(below)
                }
                _ => Judged::Rows,
            };
            judged = judged.max(of_field);
        }
        self.judged[at] = Some(judged);
        judged
    }

    /// How the row of message `index` of `field`, of the type named `type_name`, is looked
    /// at ([`Sifter::message`]), where the first of a singular field, in which nothing
    /// varies (`{name}: {type}`), is judged by its text: [`Look::Never`] unless it holds
    /// the query. Kept by field.
    pub(super) fn message_row(&mut self, field: &FieldInfo, type_name: &str, index: u32) -> Look {
        let key = std::ptr::from_ref(field) as usize;
        let (look, first_holds) = match self.message_rows.get(&key) {
            Some(&known) => known,
            None => {
                let first = format!("{}: {type_name}", field.name).to_ascii_lowercase();
                let known =
                    (self.message(field, type_name), memchr::memmem::find(first.as_bytes(), &self.needle).is_some());
                self.message_rows.insert(key, known);
                known
            }
        };
        match look {
            Look::Whole if !field.is_list && index == 0 && !first_holds => Look::Never,
            look => look,
        }
    }

    /// How the row of a message of `field`, of the type named `type_name`, is looked at:
    /// its label is the field's name, an index and the type's name ([`Look::Varying`]: only
    /// the index of one in a list, `{name}[{index}]: {type}`, can hold the query).
    pub(super) fn message(&self, field: &FieldInfo, type_name: &str) -> Look {
        let row = bits_of([field.name.as_bytes(), type_name.as_bytes(), EVERY_MESSAGE_ROW.as_bytes()]);
        if !holds(self.query, row) {
            Look::Never
        } else if field.is_list
            && only_in_varying(&[&format!("{}[", field.name), &format!("]: {type_name}")], &self.needle)
        {
            Look::Varying
        } else {
            Look::Whole
        }
    }
}

/// Whether a row of the text `pieces` with a part that varies from row to row between
/// each two (`{piece}{varying}{piece}…`) can hold `needle` (lowered) only within one of
/// those parts, whatever they are: no piece holds it or all of it, and none ends where a
/// match could begin in it nor starts where a match begun before could end in it.
fn only_in_varying(pieces: &[&str], needle: &[u8]) -> bool {
    let inside = |text: &[u8], what: &[u8]| !what.is_empty() && memchr::memmem::find(text, what).is_some();
    let last = pieces.len().saturating_sub(1);
    !needle.is_empty()
        && pieces.iter().enumerate().all(|(at, piece)| {
            let piece = piece.to_ascii_lowercase();
            let piece = piece.as_bytes();
            let begun_in = at < last && (1..needle.len()).any(|k| piece.ends_with(&needle[..k]));
            let ended_in = at > 0 && (1..needle.len()).any(|k| piece.starts_with(&needle[k..]));
            !inside(piece, needle) && !inside(needle, piece) && !begun_in && !ended_in
        })
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

/// The characters the row of a packed run of `field` that reads clean can show (lowered):
/// `{name}: packed {type} = [{count} elements]`.
fn packed_row(field: &FieldInfo) -> [u64; 4] {
    bits_of([field.name.as_bytes(), field.type_name.as_bytes(), b"packed: =[0123456789 elements]"])
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

    /// Every piece of one to four characters of any of `lines` (lowered), as a query.
    fn pieces<'a>(lines: impl Iterator<Item = &'a String>) -> std::collections::BTreeSet<Vec<u8>> {
        let mut queries = std::collections::BTreeSet::new();
        for line in lines {
            for len in 1..=4 {
                queries.extend(line.as_bytes().windows(len).map(<[u8]>::to_vec));
            }
        }
        queries
    }

    /// Checks that a row `line` looked at as `look` for `query` is passed over only when it
    /// does not hold it, and looked at by its `varying` parts only when they hold it just
    /// as the whole row does; whether it was passed over.
    fn looked_at_rightly(look: Look, line: &str, varying: &[String], query: &[u8]) -> bool {
        let holds = |text: &str| text.as_bytes().windows(query.len()).any(|w| w == query);
        let query_text = String::from_utf8_lossy(query);
        match look {
            Look::Never => assert!(!holds(line), "{line:?} holds {query_text:?} but was passed over"),
            Look::Varying => {
                let by_parts = varying.iter().any(|part| holds(part));
                assert_eq!(by_parts, holds(line), "{line:?} by its parts {varying:?}, for {query_text:?}");
            }
            Look::Whole => {}
        }
        look == Look::Never
    }

    #[test]
    fn no_number_row_that_holds_a_query_is_passed_over_or_missed_in_its_value() {
        // Every clean number row of the sample, and every piece of one to four characters
        // of any of them as a query: a row holding the piece is never passed over, and a
        // row looked at by its value alone holds it there when and only when it does whole.
        let schema = std::sync::Arc::new(Schema::load(&SchemaSources::default()).unwrap());
        let root = schema.pool.get_message_by_name(crate::samples::ROOT_TYPE);
        let source = crate::model::source::Source::new(crate::samples::VM_STATE.to_vec());
        let doc = crate::model::Decoder::new(schema, root).decode(source);
        let mut rows = Vec::new();
        for id in crate::model::NodeId::ROOT.up_to(doc.end()) {
            let node = doc.node(id);
            let number = matches!(node.kind, NodeKind::Scalar | NodeKind::Element);
            if let Some(field) = doc.field_info_of(&node).filter(|_| number && !node.has_problem()) {
                let (mut line, mut value) = (String::new(), String::new());
                crate::render::tree::label(&doc, id, &node, &mut line);
                crate::model::value::push_preview_with(&doc, id, &node, Some(field), 96, &mut value);
                let index = crate::model::path::value_index(&doc, &node).to_string();
                let parts = if field.is_list {
                    vec![index, value.to_ascii_lowercase()]
                } else {
                    vec![value.to_ascii_lowercase()]
                };
                rows.push((node, field, line.to_ascii_lowercase(), parts));
            }
        }
        assert!(rows.len() > 100, "the sample has many number rows");
        let (mut passed_over, mut by_value, mut by_list) = (0, 0, 0);
        for query in &pieces(rows.iter().map(|row| &row.2)) {
            let mut sifter = Sifter::new(query);
            for (node, field, line, parts) in &rows {
                let look = sifter.look(node, Some(field));
                passed_over += usize::from(looked_at_rightly(look, line, parts, query));
                by_value += usize::from(look == Look::Varying);
                by_list += usize::from(look == Look::Varying && field.is_list);
            }
        }
        assert!(
            passed_over > 0 && by_list > 0,
            "{passed_over} rows passed over, {by_value} by value, {by_list} of lists"
        );
    }

    #[test]
    fn no_message_row_that_holds_a_query_is_passed_over_or_missed_in_its_index() {
        // Every message row of the sample and of a dense list of entries, and every piece
        // of one to four characters of one as a query.
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
                if node.kind == NodeKind::Message {
                    let mut line = String::new();
                    crate::render::tree::label(&doc, id, &node, &mut line);
                    let index = vec![node.index.to_string()];
                    rows.push((field.clone(), ty.full_name().to_owned(), line.to_ascii_lowercase(), index));
                }
            }
        }
        assert!(rows.len() > 250, "{} message rows", rows.len());
        let (mut passed_over, mut by_index) = (0, 0);
        for query in &pieces(rows.iter().map(|row| &row.2)) {
            let sifter = Sifter::new(query);
            for (field, type_name, line, index) in &rows {
                let look = sifter.message(field, type_name);
                passed_over += usize::from(looked_at_rightly(look, line, index, query));
                by_index += usize::from(look == Look::Varying);
            }
        }
        assert!(passed_over > 0 && by_index > 0, "{passed_over} rows passed over, {by_index} looked at by index");
    }
}
