//! The annotated tree `statescope show` prints: one line per field with name, type and
//! value, Any payloads expanded in place, problems under the node they concern.

use std::io::{self, Write};

use crate::model::node::{NodeId, NodeKind};
use crate::model::path::{path_of, segment_name};
use crate::model::problem::Severity;
use crate::model::{Document, value};

/// Options for [`write_tree`].
#[derive(Debug, Clone, Copy, Default)]
pub struct TreeOptions {
    /// Prefix each line with the node's byte offset and length.
    pub offsets: bool,
}

/// Longest string or bytes preview on one line.
const PREVIEW_LIMIT: usize = 96;

/// Writes the subtree under `top` (0 for the whole document).
pub fn write_tree(
    doc: &Document,
    top: NodeId,
    options: TreeOptions,
    out: &mut impl Write,
) -> io::Result<()> {
    let mut depth_of = Vec::new();
    let base = top;
    let end = doc.node(top).next;
    let mut line = String::new();
    for id in top..end {
        let node = doc.node(id);
        let depth = if id == base {
            0
        } else {
            let parent = node.parent;
            let parent_depth = depth_of[(parent - base) as usize];
            if doc.node(parent).kind == NodeKind::AnyPayload {
                parent_depth
            } else {
                parent_depth + 1
            }
        };
        depth_of.push(depth);
        if node.kind == NodeKind::AnyPayload && id != base {
            write_problems(doc, id, depth, options, out)?;
            continue;
        }
        line.clear();
        if options.offsets {
            use std::fmt::Write as _;
            let _ = write!(line, "{:>9}+{:<7}", node.start, node.end() - node.start);
        }
        for _ in 0..depth {
            line.push_str("  ");
        }
        label(doc, id, &mut line);
        line.push('\n');
        out.write_all(line.as_bytes())?;
        write_problems(doc, id, depth, options, out)?;
    }
    Ok(())
}

fn write_problems(
    doc: &Document,
    id: NodeId,
    depth: usize,
    options: TreeOptions,
    out: &mut impl Write,
) -> io::Result<()> {
    for problem in doc.problems_of(id) {
        let pad = if options.offsets { 17 } else { 0 } + depth * 2 + 2;
        let mark = match problem.kind.severity() {
            Severity::Error => "!! error",
            Severity::Warning => "?? warning",
        };
        writeln!(
            out,
            "{:pad$}{mark} at byte {}: {}",
            "",
            problem.offset,
            problem.kind.describe()
        )?;
    }
    Ok(())
}

/// The one-line label of a node: `name[i]: type = value`.
pub fn label(doc: &Document, id: NodeId, line: &mut String) {
    use std::fmt::Write as _;
    let node = doc.node(id);
    if node.kind == NodeKind::Root {
        let name = doc.root_type().map_or("(no schema)", |m| m.full_name());
        let _ = write!(line, "{name} ({} bytes)", node.value_end);
        return;
    }
    match segment_name(doc, id) {
        Some(name) => line.push_str(&name),
        None if node.kind == NodeKind::Element => {}
        None => line.push_str(&path_of(doc, id)),
    }
    if node.kind == NodeKind::Element
        || (node.index > 0 || doc.field(id).is_some_and(|f| f.is_list()))
            && node.kind != NodeKind::Packed
    {
        let _ = write!(line, "[{}]", node.index);
    }
    line.push_str(": ");
    type_name(doc, id, line);
    let preview = value::preview(doc, id, PREVIEW_LIMIT);
    if !preview.is_empty() {
        line.push_str(" = ");
        line.push_str(&preview);
    }
}

/// The type column: declared type, `Any → T`, or the wire type of an unknown field.
pub fn type_name(doc: &Document, id: NodeId, line: &mut String) {
    let node = doc.node(id);
    match node.kind {
        NodeKind::Any | NodeKind::AnyPayload => {
            line.push_str("Any → ");
            match doc.any_payload(id).and_then(|p| doc.message_type(p)) {
                Some(m) => line.push_str(m.full_name()),
                None => line.push_str(
                    doc.any_type_url(id)
                        .as_deref()
                        .map_or("(empty)", |u| u.rsplit('/').next().unwrap_or(u)),
                ),
            }
            return;
        }
        NodeKind::Error => {
            line.push_str("unreadable");
            return;
        }
        _ => {}
    }
    if let Some(m) = (node.kind == NodeKind::Message)
        .then(|| doc.message_type(id))
        .flatten()
    {
        line.push_str(m.full_name());
        return;
    }
    match doc.field(id) {
        Some(f) if !node.has_problem || node.kind == NodeKind::String => {
            let kind = crate::decode::overlay::kind_name(&f.kind());
            if node.kind == NodeKind::Packed {
                line.push_str("packed ");
            }
            line.push_str(&kind);
        }
        _ => line.push_str(node.wire.map_or("element", |w| w.name())),
    }
}
