//! Root type detection: when no `--type` is given, picks the registered message type the
//! bytes fit best, by scoring the same bounded prefix of the bytes against each candidate.

use std::collections::HashMap;

use prost_reflect::{Kind, MessageDescriptor};

use crate::decode::schema::scalar_wire;
use crate::decode::schema::{ANY_TYPE, Schema};
use crate::decode::wire::{self, RawField, WireError, WireErrorKind, WireType};

/// The bytes scored: fields that start past them are not read, at any level. Every
/// candidate is scored on the same bytes (a budget of fields would let a flat type read
/// further into a large blob than a deep one, and outscore it), and detection stays cheap
/// on any input size. More than a whole real saved state.
const SCORED_PREFIX: usize = 32 << 10;
/// The bytes every candidate is scored on first: only those that fit them at all (score
/// above zero) are scored on the whole [`SCORED_PREFIX`]. A blob of tiny fields no type
/// declares then costs each candidate a few hundred fields, not thousands.
const FIRST_LOOK: usize = 4 << 10;
/// Levels scored below the root.
const SCORE_DEPTH: u32 = 3;

/// The chosen root type and its score.
#[derive(Debug, Clone)]
pub struct Detection {
    /// The type chosen.
    pub message: MessageDescriptor,
    /// Its fit score (higher is better).
    pub score: i64,
    /// The runner-up, if any scored above zero.
    pub runner_up: Option<(String, i64)>,
    /// Whether a top-level field in the scored prefix does not read (the blob is damaged
    /// or cut there): the type fits the part that parses.
    pub damaged: bool,
}

/// Picks the best-fitting type for `buf`, or `None` when nothing fits at all.
pub fn detect(buf: &[u8], schema: &Schema) -> Option<Detection> {
    let mut scorer = Scorer::new(buf, schema, SCORED_PREFIX);
    let candidates = schema.pool.all_messages().filter(|m| !m.is_map_entry() && schema.is_root_candidate(m));
    let mut scored = scorer.fitting(candidates.collect(), FIRST_LOOK);
    if buf.len() > FIRST_LOOK {
        scored = scorer.fitting(scored.into_iter().map(|(_, m)| m).collect(), SCORED_PREFIX);
    }
    // Highest score first; among equals prefer types outside google.*, then top-level
    // types named like a saved-state root, then the shorter name.
    scored.sort_by_key(|(s, m)| {
        (
            -s,
            m.full_name().starts_with("google."),
            m.parent_message().is_some(),
            !m.name().ends_with("SavedState"),
            m.full_name().len(),
        )
    });
    let mut iter = scored.into_iter();
    let (score, message) = iter.next()?;
    let runner_up = iter.next().map(|(s, m)| (m.full_name().to_owned(), s));
    let damaged = !scorer.reads_whole(0, buf.len());
    Some(Detection { message, score, runner_up, damaged })
}

/// What `desc` declares of the top-level field `numbers`, in words, with whether it is an
/// Any (whose root adds its type URL's evidence). Its score on the top level depends on
/// nothing else: each field is scored by how its number is declared (a message field by
/// the message type's own declarations, the same for every candidate declaring it).
fn declarations(desc: &MessageDescriptor, numbers: &[u32]) -> Vec<(u32, String)> {
    let declared = desc.fields().filter(|field| numbers.binary_search(&field.number()).is_ok());
    let mut said: Vec<(u32, String)> = declared
        .map(|field| {
            let kind = match field.kind() {
                Kind::Message(m) => format!("message {}", m.full_name()),
                Kind::String => "string".to_owned(),
                Kind::Bytes => "bytes".to_owned(),
                kind => format!("{:?} list {}", scalar_wire(&kind), field.is_list()),
            };
            (field.number(), kind)
        })
        .collect();
    said.sort_unstable();
    if desc.full_name() == ANY_TYPE {
        said.push((0, ANY_TYPE.to_owned()));
    }
    said
}

/// Scores candidates on the fields of `buf` that start before `limit`.
struct Scorer<'a> {
    buf: &'a [u8],
    schema: &'a Schema,
    limit: usize,
    /// Each group read so far, by its start and the end it was read within: every
    /// candidate reads the same bytes, and a group's end may take a long scan to find (or
    /// not find), which is then done once, not once per candidate.
    groups: HashMap<(usize, usize), Result<RawField, WireError>>,
    /// The top level's fields before the limit, read once for every candidate (each
    /// candidate scores them all, and a blob of tiny fields holds a thousand in 4 KiB),
    /// with the limit they were read to.
    top_level: Option<(usize, Vec<Scored>)>,
    /// The type URL resolved last, where it is, and the type it names: a blob of units
    /// names a few types again and again, each of its Any fields read for each candidate.
    last_url: Option<(std::ops::Range<usize>, Option<MessageDescriptor>)>,
}

/// A field as [`Scorer::score`] reads it: whole, or cut by the input's end (`true`);
/// `None` for one that does not read, where scoring stops.
type Scored = Option<(RawField, bool)>;

impl<'a> Scorer<'a> {
    /// A scorer of the fields of `buf` that start before `limit`, with nothing read yet.
    fn new(buf: &'a [u8], schema: &'a Schema, limit: usize) -> Self {
        Scorer { buf, schema, limit, groups: HashMap::new(), top_level: None, last_url: None }
    }

    /// The field at `pos`, within `[pos, end)`.
    fn read(&mut self, pos: usize, end: usize) -> Result<RawField, WireError> {
        let is_group = self.buf.get(pos).is_some_and(|&byte| byte & 7 == WireType::StartGroup as u8);
        if !is_group {
            return wire::read_field(self.buf, pos, end);
        }
        let buf = self.buf;
        self.groups.entry((pos, end)).or_insert_with(|| wire::read_field(buf, pos, end)).clone()
    }

    /// Whether the fields in `[start, end)` that start before the limit all read.
    fn reads_whole(&mut self, start: usize, end: usize) -> bool {
        let mut pos = start;
        while pos < end.min(self.limit) {
            match self.read(pos, end) {
                Ok(field) => pos = field.end,
                Err(_) => return false,
            }
        }
        true
    }

    /// How well `[start, end)` fits `desc`, scored `depth` levels down.
    fn score(&mut self, start: usize, end: usize, desc: &MessageDescriptor, depth: u32) -> i64 {
        // Numbers past the highest declared are told unknown without a lookup: a blob of
        // many distinct unknown fields costs each candidate a compare per field.
        let highest = desc.fields().map(|f| f.number()).max().unwrap_or(0);
        let desc = (desc, highest);
        if start == 0 && end == self.buf.len() {
            let fields = self.top_level_fields();
            let total = fields.iter().map(|&field| self.score_field(field, desc, depth)).try_fold(0, add_or_stop);
            self.top_level = Some((self.limit, fields));
            let total = total.unwrap_or_else(|total| total);
            // A root that is an Any has the evidence an Any field has, its type URL, and
            // fits as well as its payload fits the type the URL names.
            let payload = if desc.0.full_name() == ANY_TYPE { self.any_root_score(end, depth) } else { 0 };
            return total + payload;
        }
        let mut total = 0i64;
        let mut pos = start;
        while pos < end.min(self.limit) {
            let field = self.scored_field(pos, end);
            total = match add_or_stop(total, self.score_field(field, desc, depth)) {
                Ok(total) => total,
                Err(total) => return total,
            };
            pos = field.map_or(end, |(f, _)| f.end);
        }
        total
    }

    /// The candidates that fit the fields before `limit` at all, with their scores, in the
    /// order given. Candidates that declare the top level's numbers alike score alike:
    /// the first of them is scored for all (a blob of small units fits dozens, each
    /// scored on thousands of fields).
    fn fitting(&mut self, candidates: Vec<MessageDescriptor>, limit: usize) -> Vec<(i64, MessageDescriptor)> {
        self.limit = limit;
        let numbers = self.top_level_numbers();
        let mut alike: HashMap<Vec<(u32, String)>, i64> = HashMap::new();
        let scored = candidates.into_iter().map(|m| {
            let score = *alike
                .entry(declarations(&m, &numbers))
                .or_insert_with(|| self.score(0, self.buf.len(), &m, SCORE_DEPTH));
            (score, m)
        });
        scored.filter(|(s, _)| *s > 0).collect()
    }

    /// The field numbers of the top level's fields before the limit, sorted, each once.
    fn top_level_numbers(&mut self) -> Vec<u32> {
        let fields = self.top_level_fields();
        let mut numbers: Vec<u32> = fields.iter().flatten().map(|(field, _)| field.tag.field_number).collect();
        self.top_level = Some((self.limit, fields));
        numbers.sort_unstable();
        numbers.dedup();
        numbers
    }

    /// The top level's fields before the limit, as [`Self::scored_field`] reads them, up
    /// to and with the first that does not read: read once for each limit.
    fn top_level_fields(&mut self) -> Vec<Scored> {
        match self.top_level.take() {
            Some((limit, fields)) if limit == self.limit => fields,
            _ => {
                let (mut fields, mut pos) = (Vec::new(), 0);
                while pos < self.buf.len().min(self.limit) {
                    let field = self.scored_field(pos, self.buf.len());
                    fields.push(field);
                    let Some((f, _)) = field else { break };
                    pos = f.end;
                }
                fields
            }
        }
    }

    /// The field at `pos` within `[pos, end)`, or, where the input ends inside it, as
    /// much of it as is there (a cut blob is scored as the decoder will show it, so a
    /// damaged dump still finds the type of its prefix).
    fn scored_field(&mut self, pos: usize, end: usize) -> Scored {
        match self.read(pos, end) {
            Ok(f) => Some((f, false)),
            Err(e) if matches!(e.reason, WireErrorKind::LengthPastEnd { .. }) && end == self.buf.len() => {
                wire::read_truncated_field(self.buf, pos, end).map(|f| (f, true))
            }
            Err(_) => None,
        }
    }

    /// How well one field fits `desc`, whose highest field number is `highest`; `None`
    /// for one that does not read, which ends the message's score with [`UNREADABLE`].
    fn score_field(&mut self, field: Scored, (desc, highest): (&MessageDescriptor, u32), depth: u32) -> Option<i64> {
        let (f, cut) = field?;
        let declared = (f.tag.field_number <= highest).then(|| desc.get_field(f.tag.field_number)).flatten();
        let Some(declared) = declared else {
            return Some(-4);
        };
        let (content_start, content_end) = (f.value_start, f.value_end);
        Some(match (declared.kind(), f.tag.wire_type) {
            (Kind::Message(m), WireType::Len) => {
                // A cut message is scored as far as it goes (its last field is cut too).
                if !cut && !self.reads_whole(content_start, content_end) {
                    -4
                } else if m.full_name() == ANY_TYPE {
                    3 + self.any_score(content_start, content_end)
                } else if depth > 0 {
                    2 + self.score(content_start, content_end, &m, depth - 1)
                } else {
                    2
                }
            }
            (Kind::String, WireType::Len) if self.reads_as_text(content_start, content_end) => 2,
            (Kind::Bytes, WireType::Len) => 1,
            (kind, WireType::Len) if declared.is_list() && scalar_wire(&kind).is_some() => 1,
            (kind, wire) if scalar_wire(&kind) == Some(wire) => 2,
            _ => -4,
        })
    }

    /// Whether `[start, end)` is UTF-8 as far as the limit (a long string is not read whole
    /// for each candidate; a character the limit cuts counts as whole).
    fn reads_as_text(&self, start: usize, end: usize) -> bool {
        let seen_end = end.min(self.limit.max(start));
        match std::str::from_utf8(&self.buf[start..seen_end]) {
            Ok(_) => true,
            Err(e) => e.error_len().is_none() && seen_end < end,
        }
    }

    /// The type the URL at `url` names, if one is registered.
    fn resolved(&mut self, url: std::ops::Range<usize>) -> Option<MessageDescriptor> {
        if let Some((last, ty)) = &self.last_url
            && self.buf[last.clone()] == self.buf[url.clone()]
        {
            return ty.clone();
        }
        let ty = self.schema.resolve_type_url(&String::from_utf8_lossy(&self.buf[url.clone()]));
        self.last_url = Some((url, ty.clone()));
        ty
    }

    /// An Any whose type URL names a registered type is strong evidence.
    fn any_score(&mut self, start: usize, end: usize) -> i64 {
        if self.any_parts(start, end).0.is_some() { 4 } else { 0 }
    }

    /// [`Self::any_score`] of a root that is an Any (`[0, end)`), with its payload scored
    /// `depth` levels down as the type its URL names.
    fn any_root_score(&mut self, end: usize, depth: u32) -> i64 {
        match self.any_parts(0, end) {
            (Some(ty), Some(payload)) => 4 + self.score(payload.start, payload.end, &ty, depth.saturating_sub(1)),
            (Some(_), None) => 4,
            (None, _) => 0,
        }
    }

    /// Of the Any in `[start, end)`, the type its URL names (when registered) and its
    /// payload's bytes, as far as the limit reads them. A URL the limit cuts resolves to
    /// nothing, as no type's URL is that long.
    fn any_parts(&mut self, start: usize, end: usize) -> (Option<MessageDescriptor>, Option<std::ops::Range<usize>>) {
        let (mut ty, mut payload, mut pos) = (None, None, start);
        while pos < self.limit
            && let Ok(f) = self.read(pos, end)
        {
            match (f.tag.field_number, f.tag.wire_type) {
                (1, WireType::Len) if f.value_end <= self.limit => ty = self.resolved(f.value_start..f.value_end),
                (2, WireType::Len) => payload = Some(f.value_start..f.value_end),
                _ => {}
            }
            pos = f.end;
        }
        (ty, payload)
    }
}

/// What a field that does not read costs a message's score: scoring stops there.
const UNREADABLE: i64 = -20;

/// `total` with a field's score added, or, at a field that does not read, the final total
/// (`Err`).
fn add_or_stop(total: i64, field: Option<i64>) -> Result<i64, i64> {
    field.map(|score| total + score).ok_or(total + UNREADABLE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::registry::SchemaSources;

    #[test]
    fn the_sample_is_detected_whole_and_from_an_intact_prefix() {
        let schema = Schema::load(&SchemaSources::default()).unwrap();
        let bytes = include_bytes!("../../samples/vm.state.bin");
        for cut in [bytes.len(), bytes.len() * 3 / 5, 200, 40] {
            let found = detect(&bytes[..cut], &schema).map(|d| d.message.full_name().to_owned());
            assert_eq!(found.as_deref(), Some("sample.openvmm.SavedState"), "first {cut} bytes");
        }
    }

    #[test]
    fn a_large_blob_is_detected_as_its_prefix_and_damage_past_the_prefix_is_left_to_the_decode() {
        let schema = Schema::load(&SchemaSources::default()).unwrap();
        let small = include_bytes!("../../samples/vm.state.bin");
        // Its units again and again, past the scored prefix: more units of the same root.
        let large = small.repeat((1 << 20) / small.len());
        for bytes in [&small[..], &large[..], &large[..large.len() - 1]] {
            let found = detect(bytes, &schema).unwrap();
            assert_eq!(found.message.full_name(), "sample.openvmm.SavedState", "{} bytes", bytes.len());
            assert!(!found.damaged, "{} bytes: intact where it was scored", bytes.len());
        }
        let cut = &small[..small.len() * 3 / 5];
        assert!(detect(cut, &schema).unwrap().damaged, "cut inside the scored prefix");
    }

    #[test]
    fn candidates_scored_alike_have_the_scores_each_gets_alone() {
        let schema = Schema::load(&SchemaSources::default()).unwrap();
        let small = include_bytes!("../../samples/vm.state.bin");
        // A unit `u` whose Any's payload is cut inside a varint: units (1) { name (1) "u",
        // state (2) { type_url (1), value (2) 08 01 10 } }.
        let url = b"type.googleapis.com/sample.vmtime.SavedState";
        let unit = [&[0x0a, 56, 0x0a, 1, b'u', 0x12, 51, 0x0a, 44][..], url, &[0x12, 3, 8, 1, 16]].concat();
        assert_eq!(unit.len(), 58);
        let mut distinct = Vec::new();
        for number in 1000..9000u64 {
            wire::write_varint(&mut distinct, number << 3);
            distinct.push(1);
        }
        // Whether something fits each: the units do, and so does a run of 0x0a (field 1,
        // ten bytes long, again and again); distinct unknown numbers fit nothing.
        let blobs = [(small.repeat(20), true), (unit.repeat(2000), true), (distinct, false), (vec![0x0a; 300], true)];
        let all: Vec<_> =
            schema.pool.all_messages().filter(|m| !m.is_map_entry() && schema.is_root_candidate(m)).collect();
        for (buf, fits) in &blobs {
            let mut scorer = Scorer::new(buf, &schema, SCORED_PREFIX);
            for limit in [FIRST_LOOK, SCORED_PREFIX] {
                let names = |scored: Vec<(i64, MessageDescriptor)>| {
                    scored.into_iter().map(|(s, m)| (m.full_name().to_owned(), s)).collect::<Vec<_>>()
                };
                let grouped = names(scorer.fitting(all.clone(), limit));
                let alone = all
                    .iter()
                    .map(|m| (Scorer::new(buf, &schema, limit).score(0, buf.len(), m, SCORE_DEPTH), m.clone()));
                let alone = names(alone.filter(|(s, _)| *s > 0).collect());
                assert_eq!(!alone.is_empty(), *fits, "{} bytes", buf.len());
                assert_eq!(grouped, alone, "{} bytes, limit {limit}", buf.len());
            }
        }
    }

    #[test]
    fn nothing_fits_an_empty_or_garbage_blob() {
        let schema = Schema::load(&SchemaSources::default()).unwrap();
        assert!(detect(&[], &schema).is_none());
        assert!(detect(&[0xff; 64], &schema).is_none());
    }
}
