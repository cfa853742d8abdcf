//! Stable field paths such as `units[3].state.drives[0].path.lun`: naming a node, and
//! finding the node a path names. Any payloads are passed through as if expanded; an Any's
//! own fields are `@type` and (when unresolved) `@value`; unknown fields are `#N`.

use std::fmt::Write as _;

use crate::model::document::Document;
use crate::model::node::{NONE, NodeId, NodeKind};

/// A path that names no node, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The text is not a path.
    #[error("`{path}` is not a path: {reason} (paths look like `units[2].state.lun`)")]
    Syntax {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A segment names nothing at that point.
    #[error("`{path}`: no `{segment}` under `{parent}`; there: {available}")]
    NotFound {
        /// The path as given.
        path: String,
        /// The segment that failed.
        segment: String,
        /// The path resolved so far.
        parent: String,
        /// What does exist there.
        available: String,
    },
}

/// One `name[i][j]` step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Field name, `#N`, `@type` or `@value`.
    pub name: String,
    /// Bracketed indices after the name.
    pub indices: Vec<u32>,
}

/// Splits a path into segments. The empty path (or `.`) names the root.
pub fn parse(path: &str) -> Result<Vec<Segment>, PathError> {
    let syntax = |reason: &str| PathError::Syntax { path: path.to_owned(), reason: reason.to_owned() };
    let trimmed = path.trim();
    if trimmed.is_empty() || trimmed == "." {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for part in trimmed.split('.') {
        let (name, mut rest) = part.split_at(part.find('[').unwrap_or(part.len()));
        if name.is_empty() {
            return Err(syntax("empty field name"));
        }
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '#' | '@')) {
            return Err(syntax(&format!("`{name}` has a character no field name has")));
        }
        let mut indices = Vec::new();
        while let Some(after) = rest.strip_prefix('[') {
            let close = after.find(']').ok_or_else(|| syntax("`[` without `]`"))?;
            let index =
                after[..close].parse().map_err(|_| syntax(&format!("`{}` is not an index", &after[..close])))?;
            indices.push(index);
            rest = &after[close + 1..];
        }
        if !rest.is_empty() {
            return Err(syntax(&format!("unexpected `{rest}`")));
        }
        out.push(Segment { name: name.to_owned(), indices });
    }
    Ok(out)
}

/// The name a node's own step shows (no indices), or `None` for transparent nodes.
pub fn segment_name(doc: &Document, id: NodeId) -> Option<String> {
    let mut out = String::new();
    push_segment_name(doc, id, &mut out).then_some(out)
}

/// Appends a node's step name to `out`; returns false for transparent nodes (Any
/// payloads and packed elements), which have none.
pub fn push_segment_name(doc: &Document, id: NodeId, out: &mut String) -> bool {
    let node = doc.node(id);
    match node.kind {
        NodeKind::Root => {}
        _ if doc.is_transparent(id) => return false,
        NodeKind::Element => return false,
        NodeKind::Error => out.push_str("#error"),
        _ if node.parent != NONE && doc.is_any(node.parent) => match node.field_number {
            1 => out.push_str("@type"),
            2 => out.push_str("@value"),
            n => {
                let _ = write!(out, "#{n}");
            }
        },
        _ => match doc.field_info(id) {
            Some(f) => out.push_str(&f.name),
            None => {
                let _ = write!(out, "#{}", node.field_number);
            }
        },
    }
    true
}

/// Whether a node's step carries `[i]`: always for repeated fields and elements, otherwise
/// only past the first occurrence.
pub fn shows_index(doc: &Document, id: NodeId) -> bool {
    let node = doc.node(id);
    match node.kind {
        NodeKind::Element => true,
        NodeKind::Packed => node.index > 0,
        _ => node.index > 0 || doc.field_info(id).is_some_and(|f| f.is_list),
    }
}

/// The full path of a node (`""` for the root).
pub fn path_of(doc: &Document, id: NodeId) -> String {
    let mut chain = Vec::new();
    let mut cur = id;
    while cur != NONE {
        chain.push(cur);
        cur = doc.node(cur).parent;
    }
    let mut out = String::new();
    for &step in chain.iter().rev() {
        let node = doc.node(step);
        if node.kind == NodeKind::Root {
            continue;
        }
        if let Some(name) = segment_name(doc, step) {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&name);
        }
        if shows_index(doc, step) {
            let _ = write!(out, "[{}]", node.index);
        }
    }
    out
}

/// The children a path step sees under `id`: Any payloads are flattened into their Any.
pub fn visible_children(doc: &Document, id: NodeId) -> Vec<NodeId> {
    let mut out = Vec::new();
    for child in doc.children(id) {
        if doc.is_transparent(child) {
            out.extend(visible_children(doc, child));
        } else {
            out.push(child);
        }
    }
    out
}

/// Finds the node a path names.
pub fn resolve(doc: &Document, path: &str) -> Result<NodeId, PathError> {
    let mut cur: NodeId = 0;
    for segment in parse(path)? {
        let candidates = visible_children(doc, cur);
        let named: Vec<NodeId> = candidates
            .iter()
            .copied()
            .filter(|&c| segment_name(doc, c).as_deref() == Some(segment.name.as_str()))
            .collect();
        let (occurrence, element) = match (named.first().map(|&c| doc.node(c).kind), segment.indices.as_slice()) {
            (Some(NodeKind::Packed), [e]) => (0, Some(*e)),
            (Some(NodeKind::Packed), [o, e]) => (*o, Some(*e)),
            (_, []) => (0, None),
            (_, [o]) => (*o, None),
            _ => (u32::MAX, None),
        };
        let found = named.iter().copied().find(|&c| doc.node(c).index == occurrence);
        let found = match (found, element) {
            (Some(packed), Some(e)) => doc.children(packed).find(|&c| doc.node(c).index == e),
            (found, None) => found,
            (None, Some(_)) => None,
        };
        cur = found.ok_or_else(|| not_found(doc, path, cur, &segment, &candidates))?;
    }
    Ok(cur)
}

fn not_found(doc: &Document, path: &str, parent: NodeId, segment: &Segment, candidates: &[NodeId]) -> PathError {
    let mut names: Vec<String> = Vec::new();
    for &c in candidates {
        let Some(name) = segment_name(doc, c) else {
            continue;
        };
        let count = candidates.iter().filter(|&&o| segment_name(doc, o).as_ref() == Some(&name)).count();
        let shown = if count > 1 || shows_index(doc, c) { format!("{name}[0..{count}]") } else { name };
        if !names.contains(&shown) {
            names.push(shown);
        }
    }
    let mut seg = segment.name.clone();
    for i in &segment.indices {
        let _ = write!(seg, "[{i}]");
    }
    let parent_path = path_of(doc, parent);
    PathError::NotFound {
        path: path.to_owned(),
        segment: seg,
        parent: if parent_path.is_empty() { "the root".to_owned() } else { parent_path },
        available: if names.is_empty() { "nothing".to_owned() } else { names.join(", ") },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_segments() {
        let p = parse("units[3].state.#7[1].@type.regs[0][2]").unwrap();
        assert_eq!(p.len(), 5);
        assert_eq!(p[0], Segment { name: "units".into(), indices: vec![3] });
        assert_eq!(p[2], Segment { name: "#7".into(), indices: vec![1] });
        assert_eq!(p[4].indices, vec![0, 2]);
        assert!(parse("").unwrap().is_empty());
        assert!(parse("a..b").is_err());
        assert!(parse("a[x]").is_err());
        assert!(parse("a[1").is_err());
        assert!(parse("a[1]b").is_err());
    }
}
