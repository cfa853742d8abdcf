//! Stable field paths such as `units[3].state.drives[0].path.lun`: naming a node, and
//! finding the node a path names. Any payloads are passed through as if expanded; an Any's
//! own fields are `@type` and (when unresolved) `@value`; unknown fields are `#N`.

use std::fmt::Write as _;

use crate::decode::schema::FieldInfo;
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

/// One `name[i]` step of a path.
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
    push_name(doc, id, doc.field_info(id), &mut out).then_some(out)
}

/// Appends a node's step: `name`, `name[i]`, or `[i]` for a packed value; nothing for an
/// Any payload passed through. `field` is the node's [`Document::field_info`], which the
/// caller usually has at hand. Returns whether a name was written.
pub fn push_step(doc: &Document, id: NodeId, field: Option<&FieldInfo>, out: &mut String) -> bool {
    let named = push_name(doc, id, field, out);
    if shows_index(doc, id, field) {
        let _ = write!(out, "[{}]", value_index(doc, id));
    }
    named
}

/// Appends a node's step name; false for nodes without one (Any payloads passed through
/// and packed values).
fn push_name(doc: &Document, id: NodeId, field: Option<&FieldInfo>, out: &mut String) -> bool {
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
        _ => match field {
            Some(f) => out.push_str(&f.name),
            None => {
                let _ = write!(out, "#{}", node.field_number);
            }
        },
    }
    true
}

/// Whether a node's step carries `[i]`: always for repeated fields and elements, otherwise
/// only past the first occurrence. A packed run never does: its values are indexed.
fn shows_index(doc: &Document, id: NodeId, field: Option<&FieldInfo>) -> bool {
    let node = doc.node(id);
    match node.kind {
        NodeKind::Element => true,
        NodeKind::Packed => false,
        _ if doc.is_transparent(id) => false,
        _ => node.index > 0 || field.is_some_and(|f| f.is_list),
    }
}

/// The `[i]` of a node: its position among the values of its field in its message, where
/// a packed run contributes one value per element (protobuf merges all occurrences of a
/// repeated field, packed or not, into one list). The decoder stores each occurrence's
/// first value index; an element adds its place in its run.
pub fn value_index(doc: &Document, id: NodeId) -> u32 {
    let node = doc.node(id);
    if node.kind == NodeKind::Element { doc.node(node.parent).index + node.index } else { node.index }
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
    let mut step_text = String::new();
    for &step in chain.iter().rev() {
        if doc.node(step).kind == NodeKind::Root {
            continue;
        }
        step_text.clear();
        if push_step(doc, step, doc.field_info(step), &mut step_text) && !out.is_empty() {
            out.push('.');
        }
        out.push_str(&step_text);
    }
    out
}

/// The children a path step sees under `id`: Any payloads are flattened into their Any.
pub fn visible_children(doc: &Document, id: NodeId) -> impl Iterator<Item = NodeId> + '_ {
    // Transparent nodes come with their subtree right after them in pre-order: stepping
    // into one is moving to the next id, and leaving it is its `next`.
    let end = doc.node(id).next;
    let mut at = id + 1;
    std::iter::from_fn(move || {
        while at < end {
            let here = at;
            if doc.is_transparent(here) {
                at += 1;
                continue;
            }
            at = doc.node(here).next;
            return Some(here);
        }
        None
    })
}

/// Finds the node a path names.
pub fn resolve(doc: &Document, path: &str) -> Result<NodeId, PathError> {
    let mut cur: NodeId = 0;
    for segment in parse(path)? {
        let candidates: Vec<NodeId> = visible_children(doc, cur).collect();
        let named: Vec<NodeId> = candidates
            .iter()
            .copied()
            .filter(|&c| segment_name(doc, c).as_deref() == Some(segment.name.as_str()))
            .collect();
        let found = match segment.indices.as_slice() {
            [] => named.first().copied(),
            &[i] => named.iter().find_map(|&c| {
                let n = doc.node(c);
                match n.kind {
                    NodeKind::Packed => (n.index..n.index + (n.next - c - 1)).contains(&i).then(|| c + 1 + i - n.index),
                    _ => (n.index == i).then_some(c),
                }
            }),
            _ => None,
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
        let shown =
            if count > 1 || shows_index(doc, c, doc.field_info(c)) { format!("{name}[0..{count}]") } else { name };
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
