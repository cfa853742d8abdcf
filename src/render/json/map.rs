//! A map field's entries as canonical JSON keys them: the key as text (`"7"`, `"true"`,
//! the string itself), a missing key or value being its type's default.

use prost_reflect::Kind;

use super::nodes::Child;
use crate::decode::schema::FieldInfo;
use crate::model::Document;
use crate::model::node::{NodeId, NodeKind};
use crate::model::value::{self, Scalar};

/// One entry of a map: its node, and the nodes of its key and value, if given.
pub(super) struct Entry {
    entry: NodeId,
    /// The key's node.
    pub key: Option<NodeId>,
    /// The value's node.
    pub value: Option<NodeId>,
    /// Whether the key and the value were each given at most once.
    once: bool,
}

impl Entry {
    /// The key and value of map entry `entry` (the last of each, if given more than once).
    pub fn of(doc: &Document, entry: NodeId) -> Entry {
        let (mut key, mut value, mut once) = (None, None, true);
        for child in doc.children(entry) {
            let slot = match doc.node(child).field_number {
                1 => &mut key,
                2 => &mut value,
                _ => continue,
            };
            once &= slot.replace(child).is_none();
        }
        Entry { entry, key, value, once }
    }

    /// The declaration of the entry's field `number` (1 the key, 2 the value).
    fn field<'d>(&self, doc: &'d Document, number: u32) -> Option<&'d FieldInfo> {
        doc.type_info_of(self.entry)?.field(number)
    }

    /// The declaration of the entry's value.
    pub fn value_field<'d>(&self, doc: &'d Document) -> Option<&'d FieldInfo> {
        self.field(doc, 2)
    }

    /// The kind of the entry's value.
    pub fn value_kind(&self, doc: &Document) -> Option<Kind> {
        self.value_field(doc).map(|f| f.kind.clone())
    }

    /// The key as JSON names it: a string as it is, a number in decimal, a bool as a word.
    pub fn key_text(&self, doc: &Document) -> String {
        let kind = self.field(doc, 1).map(|f| &f.kind);
        match (kind, self.key) {
            (Some(Kind::String), Some(key)) => String::from_utf8_lossy(doc.value_bytes(key)).into_owned(),
            (Some(Kind::String), None) => String::new(),
            (Some(kind), key) => {
                let raw = key.and_then(|key| value::raw_scalar(doc, key)).unwrap_or(0);
                match value::interpret(kind, raw) {
                    Scalar::Signed(n) => n.to_string(),
                    Scalar::Unsigned(n) => n.to_string(),
                    other => other.to_string(),
                }
            }
            (None, _) => String::new(),
        }
    }
}

/// Whether a run of map entries is written as it is: each entry gives its key and its
/// value at most once, and no key comes twice (prost-reflect keeps the last of those).
pub(super) fn keys_once(doc: &Document, run: &[Child]) -> bool {
    let mut keys = Vec::with_capacity(run.len());
    for &(_, entry, node) in run {
        let parts = Entry::of(doc, entry);
        if !parts.once || node.kind != NodeKind::Message {
            return false;
        }
        keys.push(parts.key_text(doc));
    }
    keys.sort_unstable();
    keys.windows(2).all(|w| w[0] != w[1])
}
