//! Faults in one byte: a tag whose wire type changed, a flipped bit, and a type URL one
//! byte away from a declared one.

use crate::decode::schema::Schema;
use crate::decode::wire::{self, WireType};
use std::ops::Range;

use super::Trial;
use crate::model::cause::{Cause, Damage, TRIAL_COST, suspects};
use crate::model::decoder::Decoder;
use crate::model::node::NodeId;
use crate::model::path::path_of;
use crate::model::source::Source;

/// A fault in one byte of the suspects: a changed wire type, or a flipped bit.
pub(super) fn single_byte<'t>(damage: &Damage<'_>, clean: &impl Fn(Vec<u8>) -> Option<Trial<'t>>) -> Option<Cause> {
    let value = damage.value_start..damage.field.end;
    let original = &damage.bytes[value.clone()];
    for p in suspects(damage) {
        if let Some(cause) = wire_type(original, p, clean, damage) {
            return Some(cause);
        }
        for bit in 0..8 {
            let mut fixed = original.to_vec();
            fixed[p] ^= 1 << bit;
            if clean(fixed).is_some() {
                let o = value.start + p;
                return Some(Cause::at(o, format!("bit {bit} of byte {o} is flipped"), format!("flip {o} {bit}")));
            }
        }
    }
    None
}

/// A tag at `p` whose wire type, changed back, makes the field decode.
fn wire_type<'t>(
    original: &[u8],
    p: usize,
    clean: &impl Fn(Vec<u8>) -> Option<Trial<'t>>,
    damage: &Damage<'_>,
) -> Option<Cause> {
    let (tag, tag_len) = wire::read_tag(original, p, original.len()).ok()?;
    for w in [WireType::Varint, WireType::Len, WireType::Fixed32, WireType::Fixed64] {
        if w == tag.wire_type {
            continue;
        }
        let mut fixed = original.to_vec();
        let mut encoded = Vec::new();
        wire::write_varint(&mut encoded, (u64::from(tag.field_number) << 3) | w as u64);
        if encoded.len() != tag_len {
            continue;
        }
        fixed[p..p + tag_len].copy_from_slice(&encoded);
        let Some(doc) = clean(fixed) else { continue };
        // Name the field in the repaired decode, under the damaged field's own path.
        let node = NodeId::ROOT.up_to(doc.end()).find(|&id| doc.node(id).start as usize == p)?;
        let inner = path_of(&doc, node);
        let path = if inner.is_root() { damage.path.clone() } else { format!("{}.{inner}", damage.path) };
        let o = damage.value_start + p;
        let what =
            format!("the tag of {path} says wire type {}, its type is written with {}", tag.wire_type as u8, w as u8);
        // As raw bytes: in the damaged blob the field has no path yet.
        let fix = format!("replace-raw @{o}+{tag_len} {}", crate::model::value::hex(&encoded));
        return Some(Cause { offset: o, what, fix, span: o..o + tag_len });
    }
    None
}

/// Declared type URLs one byte from an unknown one, looked up fast: among the declared URLs
/// of its length ([`Schema::urls_of_len`]), and the verdict on each unknown URL met so far,
/// as a newer release's blob repeats the same unknown URL in unit after unit.
#[derive(Default)]
pub(crate) struct UrlGuesses {
    seen: crate::model::hash::KeyMap<Vec<u8>, Option<String>>,
}

/// Unknown URLs remembered at most (a hostile blob may hold millions of distinct ones).
const URLS_REMEMBERED: usize = 4096;

impl UrlGuesses {
    /// For a type URL that names no type, the one declared URL of the same length it is
    /// one byte away from, if exactly one fits ([`damaged_url_byte`] says which byte).
    pub(crate) fn one_byte_from(&mut self, schema: &Schema, url: &[u8]) -> Option<String> {
        if let Some(verdict) = self.seen.get(url) {
            return verdict.clone();
        }
        let mut fits = schema.urls_of_len(url.len()).iter().filter(|e| one_byte_apart(e.as_bytes(), url));
        let verdict = fits.next().filter(|_| fits.next().is_none()).cloned();
        if self.seen.len() >= URLS_REMEMBERED {
            self.seen.clear();
        }
        self.seen.insert(url.to_vec(), verdict.clone());
        verdict
    }
}

/// Whether two byte strings of one length differ in exactly one byte.
fn one_byte_apart(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).filter(|(x, y)| x != y).take(2).count() == 1
}

/// An Any in the input and its type URL: the bytes of each.
pub(crate) struct AnyUrl<'a> {
    /// The whole input.
    pub bytes: &'a [u8],
    /// The Any's fields.
    pub any: Range<usize>,
    /// Its type URL's value, inside `any`.
    pub url: Range<usize>,
}

/// The byte of the type URL that differs from `expected`, if it is one and writing
/// `expected` there makes the Any decode cleanly, payload and all: a URL one byte off whose
/// Any still fails was damaged some other way (a byte dropped before its end pulls the
/// next tag into it), and that byte does not repair it. The trial is paid from `budget`
/// as the search's are; none is made once it has run out.
pub(crate) fn repaired_url_byte(
    decoder: &Decoder,
    at: &AnyUrl<'_>,
    expected: &str,
    budget: &mut usize,
) -> Option<Cause> {
    let AnyUrl { bytes, any, url } = at;
    let cause = damaged_url_byte(expected.as_bytes(), &bytes[url.clone()], url.start)?;
    *budget = budget.checked_sub(any.len().max(TRIAL_COST))?;
    let mut repaired = bytes[any.clone()].to_vec();
    repaired[url.start - any.start..url.end - any.start].copy_from_slice(expected.as_bytes());
    let any_type = decoder.schema().pool.get_message_by_name("google.protobuf.Any");
    let trial = Decoder::new(decoder.schema().clone(), any_type).with_limits(decoder.limits()).without_causes();
    trial.decode(Source::new(repaired)).problems().is_empty().then_some(cause)
}

/// The one byte in which `url` (at byte `at`) differs from `expected`, if it is one.
fn damaged_url_byte(expected: &[u8], url: &[u8], at: usize) -> Option<Cause> {
    if !one_byte_apart(expected, url) {
        return None;
    }
    let i = (0..url.len()).find(|&i| url[i] != expected[i])?;
    let o = at + i;
    let what = format!(
        "byte {o} of the type URL is {:#04x} where `{}` has `{}`",
        url[i],
        String::from_utf8_lossy(expected),
        char::from(expected[i])
    );
    Some(Cause::at(o, what, format!("replace-raw @{o}+1 {:02x}", expected[i])))
}
