//! A field-level diff of two decoded documents, Any payloads compared decoded. Units are
//! matched by name (the VMM restores by name), other repeated fields by index or by a key
//! field; a changed type URL is a type change; bytes values say which ranges differ.

use std::ops::Range;

use crate::compare::glob::Glob;
use crate::model::value::{PackedValue, interpret, packed_values};
use crate::model::{Document, NodeId, NodeKind};

/// What kind of difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The value differs.
    Changed,
    /// Only in B.
    Added,
    /// Only in A.
    Removed,
    /// An Any's type URL differs: the payloads are different types and not compared.
    TypeChanged,
}

impl Change {
    /// The word for it.
    pub fn word(self) -> &'static str {
        match self {
            Change::Changed => "changed",
            Change::Added => "added",
            Change::Removed => "removed",
            Change::TypeChanged => "type changed",
        }
    }
}

/// One difference between A and B.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// Where: B's path (A's for a removal).
    pub path: String,
    /// What kind.
    pub change: Change,
    /// A's value, shown.
    pub old: Option<String>,
    /// B's value, shown.
    pub new: Option<String>,
    /// The field's bytes in A.
    pub a: Option<Range<u64>>,
    /// The field's bytes in B.
    pub b: Option<Range<u64>>,
    /// For bytes and strings: the differing ranges within the value (A's, then B's).
    pub ranges: Vec<(Range<usize>, Range<usize>)>,
}

impl Difference {
    /// What it is, without the path: `changed OLD → NEW (A bytes s..e, B bytes s..e; value
    /// bytes 3..5 differ)`.
    pub fn describe(&self) -> String {
        let value = match (self.change, &self.old, &self.new) {
            (Change::Added, _, Some(new)) => new.clone(),
            (Change::Removed, Some(old), _) => old.clone(),
            (_, old, new) => format!("{} → {}", old.as_deref().unwrap_or("?"), new.as_deref().unwrap_or("?")),
        };
        let spans: Vec<String> = [("A", &self.a), ("B", &self.b)]
            .into_iter()
            .filter_map(|(side, span)| span.as_ref().map(|r| format!("{side} bytes {}..{}", r.start, r.end)))
            .collect();
        let mut text = format!("{} {value} ({}", self.change.word(), spans.join(", "));
        if !self.ranges.is_empty() {
            let ranges: Vec<String> = self
                .ranges
                .iter()
                .map(|(x, y)| match x == y {
                    true => format!("{}..{}", x.start, x.end),
                    false => format!("{}..{} → {}..{}", x.start, x.end, y.start, y.end),
                })
                .collect();
            text.push_str(&format!("; value bytes {} differ", ranges.join(", ")));
        }
        text.push(')');
        text
    }
}

/// How elements are matched and what is left out.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Repeated fields matched by a key field: (the field's path pattern, like `units` or
    /// `units[*].state.drives`, and the key field's name).
    pub keys: Vec<(String, String)>,
    /// Paths left out, with `*` and `[*]`; a path leaves out everything under it.
    pub ignore: Vec<String>,
}

/// Differing byte ranges listed at most, for one bytes value.
const RANGES_SHOWN: usize = 8;

/// Longest value shown in a difference.
const PREVIEW_LIMIT: usize = 96;

fn preview(doc: &Document, id: NodeId) -> String {
    crate::model::value::preview(doc, id, PREVIEW_LIMIT)
}

/// The differences between `a` and `b`, in B's order.
pub fn diff(a: &Document, b: &Document, options: &Options) -> Vec<Difference> {
    let ignore: Vec<Glob> = options.ignore.iter().map(|p| Glob::new(p)).collect();
    let mut found = Vec::new();
    let mut stack = vec![(NodeId::ROOT, NodeId::ROOT)];
    while let Some((x, y)) = stack.pop() {
        compare_pair(a, b, x, y, options, &mut found, &mut stack);
    }
    found.retain(|d| !ignore.iter().any(|g| g.covers(&d.path)));
    // In B's byte order; what only A has, where A has it.
    found.sort_by_key(|d| d.b.as_ref().or(d.a.as_ref()).map(|r| r.start));
    found
}

/// Compares two nodes found at the same place: leaves by value, containers by their
/// children (pushed on `stack`).
fn compare_pair(
    a: &Document,
    b: &Document,
    x: NodeId,
    y: NodeId,
    options: &Options,
    found: &mut Vec<Difference>,
    stack: &mut Vec<(NodeId, NodeId)>,
) {
    let (nx, ny) = (a.node(x), b.node(y));
    if a.is_any(x) && b.is_any(y) {
        let (ux, uy) = (a.any_type_url(x), b.any_type_url(y));
        if ux != uy {
            let mut d = changed(a, b, x, y, Change::TypeChanged);
            d.path = join(&b.path_of(y).label(), "@type");
            (d.old, d.new) = (ux, uy);
            found.push(d);
            return;
        }
        match (a.any_payload(x), b.any_payload(y)) {
            (Some(px), Some(py)) => stack.push((px, py)),
            _ if a.value_bytes(x) != b.value_bytes(y) => found.push(changed(a, b, x, y, Change::Changed)),
            _ => {}
        }
        return;
    }
    let containers =
        nx.is_container() && ny.is_container() && nx.kind != NodeKind::Packed && ny.kind != NodeKind::Packed;
    if !containers {
        compare_leaves(a, b, x, y, found);
        return;
    }
    for (xs, ys) in by_field(a, b, x, y) {
        let key =
            xs.first().map(|&c| (a, c)).or(ys.first().map(|&c| (b, c))).and_then(|(doc, c)| key_field(doc, c, options));
        let pairs = match key {
            Some(field) => match_by_key(a, b, &xs, &ys, &field),
            None => match_by_index(&xs, &ys),
        };
        for pair in pairs.into_iter().rev() {
            match pair {
                (Some(cx), Some(cy)) => stack.push((cx, cy)),
                (Some(cx), None) => found.push(one_side(a, cx, Change::Removed)),
                (None, Some(cy)) => found.push(one_side(b, cy, Change::Added)),
                (None, None) => {}
            }
        }
    }
}

/// The children of two containers grouped by field number (A's, B's), in B's order of
/// first appearance (then A's for numbers only A has).
fn by_field(a: &Document, b: &Document, x: NodeId, y: NodeId) -> Vec<(Vec<NodeId>, Vec<NodeId>)> {
    let mut groups: Vec<(u32, Vec<NodeId>, Vec<NodeId>)> = Vec::new();
    let mut place = |number: u32| match groups.iter().position(|(n, ..)| *n == number) {
        Some(i) => i,
        None => {
            groups.push((number, Vec::new(), Vec::new()));
            groups.len() - 1
        }
    };
    let ys: Vec<NodeId> = b.children(y).collect();
    let xs: Vec<NodeId> = a.children(x).collect();
    let mut placed = Vec::new();
    for &c in &ys {
        placed.push((place(b.node(c).field_number), false, c));
    }
    for &c in &xs {
        placed.push((place(a.node(c).field_number), true, c));
    }
    for (i, in_a, c) in placed {
        if in_a { groups[i].1.push(c) } else { groups[i].2.push(c) }
    }
    groups.into_iter().map(|(_, xs, ys)| (xs, ys)).collect()
}

/// The key field elements of `element`'s field are matched by, if one applies: a `--key`,
/// or by default `name` for the root's units.
fn key_field(doc: &Document, element: NodeId, options: &Options) -> Option<String> {
    let pattern = doc.path_of(element).pattern();
    let field = pattern.strip_suffix("[*]")?;
    let given = options.keys.iter().find(|(p, _)| p == field).map(|(_, k)| k.clone());
    let default =
        (doc.parent(element) == Some(NodeId::ROOT) && doc.unit_name(element).is_some()).then(|| "name".to_owned());
    given.or(default)
}

/// Pairs elements by position.
fn match_by_index(xs: &[NodeId], ys: &[NodeId]) -> Vec<(Option<NodeId>, Option<NodeId>)> {
    (0..xs.len().max(ys.len())).map(|i| (xs.get(i).copied(), ys.get(i).copied())).collect()
}

/// Pairs elements by the value of their `field` child (in order among equal keys); B's
/// order, then A's elements B lacks.
fn match_by_key(
    a: &Document,
    b: &Document,
    xs: &[NodeId],
    ys: &[NodeId],
    field: &str,
) -> Vec<(Option<NodeId>, Option<NodeId>)> {
    let key = |doc: &Document, id: NodeId| {
        doc.children(id)
            .find(|&c| doc.field_info(c).is_some_and(|f| f.name == field))
            .map(|c| doc.value_bytes(c).to_vec())
    };
    let mut left: Vec<(Option<Vec<u8>>, NodeId)> = xs.iter().map(|&x| (key(a, x), x)).collect();
    let mut pairs = Vec::new();
    for &y in ys {
        let k = key(b, y);
        match left.iter().position(|(kx, _)| *kx == k) {
            Some(i) => pairs.push((Some(left.remove(i).1), Some(y))),
            None => pairs.push((None, Some(y))),
        }
    }
    pairs.extend(left.into_iter().map(|(_, x)| (Some(x), None)));
    pairs
}

/// Compares two leaves (or a leaf and a container): scalars by value, packed runs value by
/// value, everything else by its bytes.
fn compare_leaves(a: &Document, b: &Document, x: NodeId, y: NodeId, found: &mut Vec<Difference>) {
    let (nx, ny) = (a.node(x), b.node(y));
    if nx.kind == NodeKind::Packed && ny.kind == NodeKind::Packed {
        let vx: Vec<_> = packed_values(a, x).collect();
        let vy: Vec<_> = packed_values(b, y).collect();
        for i in 0..vx.len().max(vy.len()) {
            let (ex, ey) = (vx.get(i), vy.get(i));
            if ex.map(|v| &a.bytes()[v.offset..v.offset + v.len]) == ey.map(|v| &b.bytes()[v.offset..v.offset + v.len])
            {
                continue;
            }
            let path = a.path_of(x).element(nx.index + i as u32).label();
            let span = |v: Option<&PackedValue>| v.map(|v| v.offset as u64..(v.offset + v.len) as u64);
            let kind = a.field_info(x).map(|f| f.kind.clone());
            let show = |v: Option<&PackedValue>| {
                v.map(|v| kind.as_ref().map_or(v.raw.to_string(), |k| interpret(k, v.raw).to_string()))
            };
            let change = match (ex, ey) {
                (Some(_), Some(_)) => Change::Changed,
                (None, _) => Change::Added,
                (_, None) => Change::Removed,
            };
            let (old, new) = (show(ex), show(ey));
            found.push(Difference { path, change, old, new, a: span(ex), b: span(ey), ranges: Vec::new() });
        }
        return;
    }
    let same = match (a.scalar(x), b.scalar(y)) {
        (Some(sx), Some(sy)) => sx == sy && nx.kind == ny.kind,
        _ => nx.kind == ny.kind && a.value_bytes(x) == b.value_bytes(y),
    };
    if !same {
        let mut d = changed(a, b, x, y, Change::Changed);
        if matches!(nx.kind, NodeKind::Bytes | NodeKind::String) && nx.kind == ny.kind {
            d.ranges = differing_ranges(a.value_bytes(x), b.value_bytes(y));
        }
        found.push(d);
    }
}

/// A difference between two nodes at the same place.
fn changed(a: &Document, b: &Document, x: NodeId, y: NodeId, change: Change) -> Difference {
    Difference {
        path: b.path_of(y).label(),
        change,
        old: Some(preview(a, x)),
        new: Some(preview(b, y)),
        a: Some(span(a, x)),
        b: Some(span(b, y)),
        ranges: Vec::new(),
    }
}

/// A node present on one side only.
fn one_side(doc: &Document, id: NodeId, change: Change) -> Difference {
    let (value, at) = (Some(preview(doc, id)), Some(span(doc, id)));
    let path = doc.path_of(id).label();
    match change {
        Change::Removed => Difference { path, change, old: value, new: None, a: at, b: None, ranges: Vec::new() },
        _ => Difference { path, change, old: None, new: value, a: None, b: at, ranges: Vec::new() },
    }
}

fn span(doc: &Document, id: NodeId) -> Range<u64> {
    let node = doc.node(id);
    node.start..node.end()
}

fn join(path: &str, step: &str) -> String {
    if path == crate::model::path::ROOT_LABEL { step.to_owned() } else { format!("{path}.{step}") }
}

/// The ranges in which two byte strings differ: runs of differing bytes when they are as
/// long as each other, else what lies between their common start and common end.
fn differing_ranges(x: &[u8], y: &[u8]) -> Vec<(Range<usize>, Range<usize>)> {
    if x.len() != y.len() {
        let prefix = x.iter().zip(y).take_while(|(p, q)| p == q).count();
        let suffix = x[prefix..].iter().rev().zip(y[prefix..].iter().rev()).take_while(|(p, q)| p == q).count();
        return vec![(prefix..x.len() - suffix, prefix..y.len() - suffix)];
    }
    let mut ranges: Vec<(Range<usize>, Range<usize>)> = Vec::new();
    for i in (0..x.len()).filter(|&i| x[i] != y[i]) {
        let full = ranges.len() == RANGES_SHOWN;
        match ranges.last_mut() {
            Some((r, s)) if r.end == i => {
                r.end = i + 1;
                s.end = i + 1;
            }
            _ if full => break,
            _ => ranges.push((i..i + 1, i..i + 1)),
        }
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differing_ranges_are_runs_or_the_middle() {
        assert_eq!(differing_ranges(b"abcdef", b"abXdYY"), [(2..3, 2..3), (4..6, 4..6)]);
        assert_eq!(differing_ranges(b"abcdef", b"abXXXdef"), [(2..3, 2..5)]);
        assert!(differing_ranges(b"same", b"same").is_empty());
    }
}
