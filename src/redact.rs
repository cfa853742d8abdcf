//! Redaction for sharing dumps: every value a policy marks is overwritten in place with a
//! replacement of the same length, so byte offsets quoted in a ticket stay valid and the
//! blob decodes to the same paths and problems. Replacements are keyed: the same value
//! always gets the same replacement (within a file, and across files with one key), and
//! without the key they cannot be reversed. Unit names and type URLs are kept, so the dump
//! still says which device is which; unknown fields and bytes that do not decode are
//! redacted, as their meaning is unknown.

use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};

use crate::compare::glob::Glob;
use crate::model::problem::ProblemKind;
use crate::model::{Document, NodeId, NodeKind};

/// What to do with a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Leave it.
    Keep,
    /// Replace it.
    Redact,
}

/// One line of a policy: a selector and what to do with what it selects.
#[derive(Debug, Clone)]
struct Rule {
    action: Action,
    selector: Selector,
}

#[derive(Debug, Clone)]
enum Selector {
    /// A path pattern (`units[*].state.cmos`).
    Path(Glob),
    /// Fields of this name, anywhere.
    Field(String),
    /// Fields inside messages of this type (full name).
    Type(String),
    /// Fields inside Any payloads of this type (full name).
    Any(String),
}

/// A redaction policy: rules tried in order, the first that matches decides; then the
/// default (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct Policy {
    rules: Vec<Rule>,
}

/// The policy file's format, for `--help` and errors.
pub const POLICY_FORMAT: &str = "one rule a line, `keep` or `redact` then a selector: a path pattern \
(`units[*].state.cmos`, `*` for a step, `[*]` for an index), `field:NAME`, `type:MESSAGE` (fields of that \
message) or `any:MESSAGE` (everything in Any payloads of that type); `#` starts a comment";

impl Policy {
    /// Reads a policy file's text.
    pub fn parse(text: &str) -> Result<Policy, String> {
        let mut rules = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let (action, selector) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            let action = match action {
                "keep" => Action::Keep,
                "redact" => Action::Redact,
                _ => return Err(format!("line {}: `{line}`: expected {POLICY_FORMAT}", n + 1)),
            };
            let selector = selector.trim();
            let selector = if let Some(name) = selector.strip_prefix("field:") {
                Selector::Field(name.to_owned())
            } else if let Some(name) = selector.strip_prefix("type:") {
                Selector::Type(name.to_owned())
            } else if let Some(name) = selector.strip_prefix("any:") {
                Selector::Any(name.to_owned())
            } else if !selector.is_empty() {
                Selector::Path(Glob::new(selector))
            } else {
                return Err(format!("line {}: `{line}`: a selector is missing", n + 1));
            };
            rules.push(Rule { action, selector });
        }
        Ok(Policy { rules })
    }

    /// What the policy does with leaf `id` of `doc`.
    fn action(&self, doc: &Document, id: NodeId) -> Action {
        let path = doc.path_of(id).label();
        for rule in &self.rules {
            let matches = match &rule.selector {
                Selector::Path(glob) => glob.covers(&path),
                Selector::Field(name) => doc.field_info(id).is_some_and(|f| f.name == *name),
                Selector::Type(name) => {
                    doc.parent(id).and_then(|p| doc.message_type(p)).is_some_and(|m| m.full_name() == name)
                }
                Selector::Any(name) => ancestors(doc, id).any(|a| {
                    doc.node(a).kind == NodeKind::AnyPayload
                        && doc.message_type(a).is_some_and(|m| m.full_name() == name)
                }),
            };
            if matches {
                return rule.action;
            }
        }
        default_action(doc, id)
    }
}

/// The default for VM state: unit names, type URLs and numbers stay; strings, byte arrays
/// longer than a few bytes (guest memory, CMOS, buffers), GUID- and MAC-sized values,
/// unknown fields and whatever does not decode are redacted.
fn default_action(doc: &Document, id: NodeId) -> Action {
    let node = doc.node(id);
    let known = doc.field_info(id).is_some();
    let is_unit_name = doc.parent(id).is_some_and(|p| doc.parent(p) == Some(NodeId::ROOT)) && node.field_number == 1;
    let is_type_url = doc.parent(id).is_some_and(|p| doc.is_any(p)) && node.field_number == 1;
    let len = node.value_end - node.value_start();
    let in_guid = doc.parent(id).and_then(|p| doc.message_type(p)).is_some_and(|m| m.name() == "Guid");
    match node.kind {
        NodeKind::String | NodeKind::Bytes | NodeKind::Scalar if in_guid => Action::Redact,
        NodeKind::String if is_unit_name || is_type_url => Action::Keep,
        NodeKind::String => Action::Redact,
        NodeKind::Bytes if !known || node.has_problem() => Action::Redact,
        NodeKind::Bytes if len > 4 => Action::Redact,
        NodeKind::Error => Action::Redact,
        NodeKind::Scalar if !known => Action::Redact,
        _ => Action::Keep,
    }
}

fn ancestors(doc: &Document, id: NodeId) -> impl Iterator<Item = NodeId> + '_ {
    std::iter::successors(doc.parent(id), move |&p| doc.parent(p))
}

/// What a redaction did.
#[derive(Debug, Default)]
pub struct Report {
    /// Values redacted per path pattern (`units[*].state.cmos`), in path order.
    pub redacted: BTreeMap<String, usize>,
    /// Bytes overwritten.
    pub bytes: usize,
}

/// The redacted bytes of `doc` (the same length), and what was redacted. `key` makes the
/// replacements the same across files; without one they are consistent within the file.
pub fn redact(doc: &Document, policy: &Policy, key: &[u8]) -> (Vec<u8>, Report) {
    let mut out = doc.bytes().to_vec();
    let mut report = Report::default();
    for id in NodeId::ROOT.up_to(doc.end()) {
        let node = doc.node(id);
        let leaf = matches!(node.kind, NodeKind::String | NodeKind::Bytes | NodeKind::Error | NodeKind::Scalar);
        // A bytes node inside a resolved Any is its payload's raw form; an element of a run
        // is redacted with its run.
        if !leaf || doc.is_transparent(id) || policy.action(doc, id) == Action::Keep {
            continue;
        }
        let span = node.value_start() as usize..node.value_end as usize;
        if span.is_empty() {
            continue;
        }
        let value = &doc.bytes()[span.clone()];
        let replacement = match node.kind {
            NodeKind::String => pseudonym(doc, id, value, key),
            NodeKind::Scalar => match node.wire {
                Some(crate::decode::wire::WireType::Varint) => keyed_varint(value, key, doc.field_info(id)),
                _ => fill(value, key),
            },
            _ => fill(value, key),
        };
        out[span].copy_from_slice(&replacement);
        report.bytes += replacement.len();
        *report.redacted.entry(doc.path_of(id).pattern()).or_default() += 1;
    }
    (out, report)
}

/// A readable pseudonym of a string's length (`name-3f2a9c…`): its first characters are the
/// field name, the rest a keyed digest of the value. A string that is not UTF-8 stays so at
/// the same byte (its valid start replaced, the rest 0xff), so it checks the same.
fn pseudonym(doc: &Document, id: NodeId, value: &[u8], key: &[u8]) -> Vec<u8> {
    let valid = match doc.problems_of(id).iter().any(|p| matches!(p.kind, ProblemKind::InvalidUtf8)) {
        true => std::str::from_utf8(value).err().map_or(value.len(), |e| e.valid_up_to()),
        false => value.len(),
    };
    let name = doc.field_info(id).map_or("value", |f| f.name.as_str());
    let digest: String =
        keyed_stream(value, key).take(valid).map(|b| char::from(b"0123456789abcdef"[usize::from(b & 15)])).collect();
    let mut text = format!("{name}-{digest}").into_bytes();
    if valid < name.len() + 3 {
        text = digest.into_bytes();
    }
    text.truncate(valid);
    text.resize(value.len(), 0xff);
    text
}

/// A keyed fill of the same length: equal values get equal fill.
fn fill(value: &[u8], key: &[u8]) -> Vec<u8> {
    keyed_stream(value, key).take(value.len()).collect()
}

/// A keyed varint as long as `value` (a varint), within what the field's type holds, so
/// the blob checks the same; zero (continuation bits kept) when no such number fits.
fn keyed_varint(value: &[u8], key: &[u8], field: Option<&crate::decode::schema::FieldInfo>) -> Vec<u8> {
    let len = value.len();
    let zero = || {
        let mut zero = vec![0x80; len];
        zero[len - 1] = 0;
        zero
    };
    let max = match field.map(|f| f.range) {
        Some(Some(crate::decode::schema::VarintRange::Bool)) => 1,
        Some(Some(_)) => u64::from(u32::MAX),
        _ => u64::MAX,
    };
    let lo = if len <= 1 { 0 } else { 1u64.checked_shl(7 * (len as u32 - 1)).unwrap_or(u64::MAX) };
    let hi = 1u64.checked_shl(7 * len as u32).map_or(max, |h| (h - 1).min(max));
    if lo > hi || len > 10 {
        return zero();
    }
    let random = u64::from_le_bytes(keyed_stream(value, key).take(8).collect::<Vec<u8>>().try_into().unwrap_or([0; 8]));
    let number = lo + random % (hi - lo).saturating_add(1).max(1);
    let mut out = Vec::with_capacity(len);
    crate::decode::wire::write_varint(&mut out, number);
    if out.len() == len { out } else { zero() }
}

/// Bytes drawn from SipHash keyed with `key` over `value` and a block counter: the same
/// value and key give the same stream; another key, another stream.
fn keyed_stream<'a>(value: &'a [u8], key: &'a [u8]) -> impl Iterator<Item = u8> + 'a {
    (0u64..).flat_map(move |block| {
        let mut hasher =
            std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().build_hasher();
        hasher.write(key);
        hasher.write_u64(block);
        hasher.write(value);
        hasher.finish().to_le_bytes()
    })
}
