//! Splices: the only way bytes change. An edit is a set of non-overlapping splices on the
//! old bytes (the edited span plus the length prefixes of its ancestors); everything else
//! is copied verbatim. Applying a change yields its exact inverse, so undo restores bytes.

use crate::decode::wire::{self, write_varint};
use crate::model::Document;
use crate::model::node::{NodeId, NodeKind};
use crate::model::source::Splicing;

/// Replace `removed.len()` bytes at `offset` with `inserted`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Splice {
    /// Where, in the bytes the change applies to.
    pub offset: usize,
    /// The bytes there now (kept for undo and for checking).
    pub removed: Vec<u8>,
    /// The bytes to put there.
    pub inserted: Vec<u8>,
    /// Whether this is a length prefix rewritten to follow the edit, not the edit itself.
    pub fixup: bool,
}

impl Splice {
    /// A splice that is the edit itself.
    pub fn edit(offset: usize, removed: Vec<u8>, inserted: Vec<u8>) -> Self {
        Splice { offset, removed, inserted, fixup: false }
    }
}

/// A set of non-overlapping splices on one version of the bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Change {
    /// The splices, in any order; they must not overlap.
    pub splices: Vec<Splice>,
}

impl Change {
    /// A change of one splice.
    pub fn one(splice: Splice) -> Self {
        Change { splices: vec![splice] }
    }

    /// Whether applying the change would leave the bytes as they are.
    pub fn changes_nothing(&self) -> bool {
        self.splices.iter().all(|s| s.removed == s.inserted)
    }

    /// Applies the change and returns its inverse (which applies to the result).
    pub fn apply(mut self, bytes: &mut impl Splicing) -> Change {
        self.splices.sort_by_key(|s| s.offset);
        let mut inverse = Vec::with_capacity(self.splices.len());
        let mut shift: isize = 0;
        for s in &self.splices {
            inverse.push(Splice {
                offset: (s.offset as isize + shift) as usize,
                removed: s.inserted.clone(),
                inserted: s.removed.clone(),
                fixup: s.fixup,
            });
            shift += s.inserted.len() as isize - s.removed.len() as isize;
        }
        for s in self.splices.into_iter().rev() {
            debug_assert_eq!(&bytes[s.offset..s.offset + s.removed.len()], &s.removed[..]);
            bytes.replace(s.offset..s.offset + s.removed.len(), &s.inserted);
        }
        Change { splices: inverse }
    }
}

/// A varint for `value` in at least `width` bytes (padded with continuation bytes, which
/// protobuf readers accept), so that an over-long prefix stays as long as it was.
pub fn varint_at_least(value: u64, width: usize) -> Vec<u8> {
    let mut out = Vec::new();
    write_varint(&mut out, value);
    if out.len() < width {
        let last = out.len() - 1;
        out[last] |= 0x80;
        out.resize(width, 0x80);
        let end = out.len() - 1;
        out[end] = 0;
    }
    out
}

/// The width a rewritten varint keeps: its old width when that was over-long (the file's
/// own encoding habit), otherwise the minimal width for the new value.
pub fn kept_width(old: &[u8], new_value: u64) -> usize {
    let old_value = wire::read_varint(old, 0, old.len()).map_or(0, |v| v.0);
    if old.len() > wire::varint_len(old_value) { old.len() } else { wire::varint_len(new_value) }
}

/// Builds the change that replaces `span` of the bytes (which lies inside the value of
/// `container`) with `inserted`, and rewrites the length prefix of `container` and of each
/// length-delimited ancestor to match.
pub fn replace_within(doc: &Document, container: NodeId, span: std::ops::Range<usize>, inserted: Vec<u8>) -> Change {
    let bytes = doc.bytes();
    let mut delta = inserted.len() as isize - span.len() as isize;
    let mut splices = vec![Splice::edit(span.start, bytes[span.clone()].to_vec(), inserted)];
    let mut at = Some(container);
    while let Some(id) = at.filter(|_| delta != 0) {
        let node = doc.node(id);
        if has_length_prefix(doc, id) {
            let prefix = node.len_prefix();
            let old = &bytes[prefix.start as usize..prefix.end as usize];
            let new_len = ((node.value_end - node.value_start()) as isize + delta) as u64;
            let encoded = varint_at_least(new_len, kept_width(old, new_len));
            delta += encoded.len() as isize - old.len() as isize;
            splices.push(Splice {
                offset: prefix.start as usize,
                removed: old.to_vec(),
                inserted: encoded,
                fixup: true,
            });
        }
        at = node.parent;
    }
    Change { splices }
}

/// Whether a node's value is preceded by a length prefix that must track its size.
pub fn has_length_prefix(doc: &Document, id: NodeId) -> bool {
    let node = doc.node(id);
    node.wire == Some(wire::WireType::Len) && node.kind != NodeKind::Root && node.kind != NodeKind::Element
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_varints_read_back() {
        for (value, width) in [(0u64, 1), (5, 3), (300, 2), (300, 5), (u64::MAX, 10)] {
            let v = varint_at_least(value, width);
            assert_eq!(v.len(), width.max(wire::varint_len(value)));
            assert_eq!(wire::read_varint(&v, 0, v.len()).unwrap(), (value, v.len()));
        }
    }

    #[test]
    fn apply_then_inverse_restores() {
        let original = b"0123456789".to_vec();
        let mut bytes = original.clone();
        let change = Change {
            splices: vec![
                Splice::edit(7, b"78".to_vec(), b"xyzw".to_vec()),
                Splice::edit(1, b"12".to_vec(), b"".to_vec()),
            ],
        };
        let inverse = change.apply(&mut bytes);
        assert_eq!(bytes, b"03456xyzw9");
        inverse.apply(&mut bytes);
        assert_eq!(bytes, original);
    }
}
