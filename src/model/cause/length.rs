//! Length prefixes that lie: a unit's own, claiming more than its content, and the
//! nested ones around the first anomaly, claiming more than theirs.

use super::Trial;
use crate::decode::wire;
use crate::model::cause::{Cause, Damage};

/// The shorter lengths a nested length prefix that lies is tried with.
const NESTED_LENGTHS: usize = 64;

/// How many nested length prefixes are suspected at most.
pub const LENGTHS_TRIED: usize = 8;

/// A length prefix inside a damaged field that may claim more than its content.
#[derive(Debug, Clone, Copy)]
pub struct LengthSuspect {
    /// Where the prefix is.
    pub at: usize,
    /// Whether its content is opaque (bytes, a string): its true end is then any byte,
    /// not a field boundary.
    pub opaque: bool,
}

/// A length prefix inside the field that claims more than its content, so that it runs
/// past its enclosing field or swallows what follows it: a shorter length (a field
/// boundary of a message's content, any length of an opaque one), largest first, with which
/// the whole field decodes cleanly. Only lengths written in as many bytes are tried, so the
/// repair moves nothing else.
pub(super) fn nested_length<'t>(damage: &Damage<'_>, clean: &impl Fn(Vec<u8>) -> Option<Trial<'t>>) -> Option<Cause> {
    let (bytes, end) = (damage.bytes, damage.field.end);
    for suspect in &damage.lengths {
        let at = suspect.at;
        let Ok((claimed, width)) = wire::read_varint(bytes, at, end) else { continue };
        let content = at + width;
        let lengths: Vec<u64> = if suspect.opaque {
            (claimed.saturating_sub(NESTED_LENGTHS as u64)..claimed).rev().collect()
        } else {
            let mut boundaries = vec![content];
            while let Some(&last) = boundaries.last() {
                match wire::read_field(bytes, last, end) {
                    Ok(field) if boundaries.len() < NESTED_LENGTHS => boundaries.push(field.end),
                    _ => break,
                }
            }
            boundaries.into_iter().rev().map(|b| (b - content) as u64).filter(|&len| len < claimed).collect()
        };
        // Of the lengths that decode cleanly, the first for a message's content; for opaque
        // content (where every shorter length may decode, the rest read as fields) the one
        // that leaves the most fields decoded rather than swallowed.
        let mut best: Option<(usize, Vec<u8>, u64)> = None;
        for len in lengths {
            let mut encoded = Vec::new();
            wire::write_varint(&mut encoded, len);
            if encoded.len() != width {
                continue;
            }
            let mut trial = bytes[damage.value_start..end].to_vec();
            trial[at - damage.value_start..content - damage.value_start].copy_from_slice(&encoded);
            let Some(doc) = clean(trial) else { continue };
            let fields = doc.node_count();
            if best.as_ref().is_none_or(|(most, ..)| fields > *most) {
                best = Some((fields, encoded, len));
            }
            if !suspect.opaque {
                break;
            }
        }
        if let Some((_, encoded, len)) = best {
            let what = format!("the length prefix at byte {at} says {claimed}, its content is {len}");
            let fix = format!("replace-raw @{at}+{width} {}", crate::model::value::hex(&encoded));
            return Some(Cause { offset: at, what, fix, span: at..content });
        }
    }
    None
}

/// The field's own length prefix claiming more than its value: a shorter length with which
/// the value decodes cleanly and what then follows at the top level does too.
pub(super) fn own_length<'t>(
    damage: &Damage<'_>,
    clean: &impl Fn(Vec<u8>) -> Option<Trial<'t>>,
    resyncs: &impl Fn(usize) -> bool,
) -> Option<Cause> {
    let bytes = damage.bytes;
    let mut end = damage.value_start;
    while end < damage.field.end {
        end = wire::read_field(bytes, end, damage.field.end).ok()?.end;
        if end < damage.field.end && resyncs(end) && clean(bytes[damage.value_start..end].to_vec()).is_some() {
            let len = end - damage.value_start;
            // The fault is in the length prefix, just after the tag.
            let (_, tag_len) = wire::read_tag(bytes, damage.field.start, damage.field.end).ok()?;
            let offset = damage.field.start + tag_len;
            let claimed = damage.field.end - damage.value_start;
            let what = format!("the length prefix of {} says {claimed}, its content is {len}", damage.path);
            let span = offset..damage.value_start;
            return Some(Cause { offset, what, fix: format!("set-length {} {len}", damage.path), span });
        }
    }
    None
}
