//! Root type detection: when no `--type` is given, picks the registered message type the
//! bytes fit best, by scoring the same bounded prefix of the bytes against each candidate.

use prost_reflect::{Kind, MessageDescriptor};

use crate::decode::schema::scalar_wire;
use crate::decode::schema::{ANY_TYPE, Schema};
use crate::decode::wire::{self, WireErrorKind, WireType};

/// The bytes scored: fields that start past them are not read, at any level. Every
/// candidate is scored on the same bytes (a budget of fields would let a flat type read
/// further into a large blob than a deep one, and outscore it), and detection stays cheap
/// on any input size. More than a whole real saved state.
const SCORED_PREFIX: usize = 32 << 10;
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
    let mut scored: Vec<(i64, MessageDescriptor)> = schema
        .pool
        .all_messages()
        .filter(|m| !m.is_map_entry() && schema.is_root_candidate(m))
        .map(|m| (score(buf, 0, buf.len(), &m, schema, SCORE_DEPTH), m))
        .filter(|(s, _)| *s > 0)
        .collect();
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
    let damaged = !reads_whole(buf, 0, buf.len());
    Some(Detection { message, score, runner_up, damaged })
}

/// Whether the fields in `[start, end)` that start in the scored prefix all read.
fn reads_whole(buf: &[u8], start: usize, end: usize) -> bool {
    let mut pos = start;
    while pos < end.min(SCORED_PREFIX) {
        match wire::read_field(buf, pos, end) {
            Ok(field) => pos = field.end,
            Err(_) => return false,
        }
    }
    true
}

fn score(buf: &[u8], start: usize, end: usize, desc: &MessageDescriptor, schema: &Schema, depth: u32) -> i64 {
    let mut total = 0i64;
    let mut pos = start;
    while pos < end.min(SCORED_PREFIX) {
        let (f, cut) = match wire::read_field(buf, pos, end) {
            Ok(f) => (f, false),
            // The input ends inside this field (a cut blob): score what is there, as the
            // decoder will show it, so a damaged dump still finds the type of its prefix.
            Err(e) if matches!(e.reason, WireErrorKind::LengthPastEnd { .. }) && end == buf.len() => {
                match wire::read_truncated_field(buf, pos, end) {
                    Some(f) => (f, true),
                    None => return total - 20,
                }
            }
            Err(_) => return total - 20,
        };
        pos = f.end;
        let Some(field) = desc.get_field(f.tag.field_number) else {
            total -= 4;
            continue;
        };
        let (content_start, content_end) = (f.value_start, f.value_end);
        total += match (field.kind(), f.tag.wire_type) {
            (Kind::Message(m), WireType::Len) => {
                // A cut message is scored as far as it goes (its last field is cut too).
                if !cut && !reads_whole(buf, content_start, content_end) {
                    -4
                } else if m.full_name() == ANY_TYPE {
                    3 + any_score(buf, content_start, content_end, schema)
                } else if depth > 0 {
                    2 + score(buf, content_start, content_end, &m, schema, depth - 1)
                } else {
                    2
                }
            }
            (Kind::String, WireType::Len) if std::str::from_utf8(&buf[content_start..content_end]).is_ok() => 2,
            (Kind::Bytes, WireType::Len) => 1,
            (kind, WireType::Len) if field.is_list() && scalar_wire(&kind).is_some() => 1,
            (kind, wire) if scalar_wire(&kind) == Some(wire) => 2,
            _ => -4,
        };
    }
    total
}

/// An Any whose type URL names a registered type is strong evidence.
fn any_score(buf: &[u8], start: usize, end: usize, schema: &Schema) -> i64 {
    let mut pos = start;
    while pos < SCORED_PREFIX
        && let Ok(f) = wire::read_field(buf, pos, end)
    {
        if f.tag.field_number == 1 && f.tag.wire_type == WireType::Len {
            let url = String::from_utf8_lossy(&buf[f.value_start..f.value_end]);
            return if schema.resolve_type_url(&url).is_some() { 4 } else { 0 };
        }
        pos = f.end;
    }
    0
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
        let large = crate::samples::large_vm(1 << 20);
        for bytes in [&small[..], &large[..], &large[..large.len() - 1]] {
            let found = detect(bytes, &schema).unwrap();
            assert_eq!(found.message.full_name(), "sample.openvmm.SavedState", "{} bytes", bytes.len());
            assert!(!found.damaged, "{} bytes: intact where it was scored", bytes.len());
        }
        let cut = &small[..small.len() * 3 / 5];
        assert!(detect(cut, &schema).unwrap().damaged, "cut inside the scored prefix");
    }

    #[test]
    fn nothing_fits_an_empty_or_garbage_blob() {
        let schema = Schema::load(&SchemaSources::default()).unwrap();
        assert!(detect(&[], &schema).is_none());
        assert!(detect(&[0xff; 64], &schema).is_none());
    }
}
