//! The problem report of `statescope check`: one line per problem with its path, byte
//! offset and what is wrong, in the words of the VMM's restore errors.

use std::io::{self, Write};

use crate::model::Document;
use crate::model::node::NodeKind;
use crate::model::path::path_of;
use crate::model::problem::Severity;

/// Counts of what a check found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckSummary {
    /// Problems the restore would fail on.
    pub errors: usize,
    /// Problems worth a look.
    pub warnings: usize,
}

/// Writes one line per problem, prefixed with `label` (the file name), and a summary line.
pub fn write_check(doc: &Document, label: &str, out: &mut impl Write) -> io::Result<CheckSummary> {
    let mut summary = CheckSummary::default();
    for problem in &doc.problems {
        let node = doc.node(problem.node);
        let at = if node.kind == NodeKind::Error {
            node.parent
        } else {
            problem.node
        };
        let path = path_of(doc, at);
        let path = if path.is_empty() {
            "(root)".to_owned()
        } else {
            path
        };
        let severity = match problem.kind.severity() {
            Severity::Error => {
                summary.errors += 1;
                "error"
            }
            Severity::Warning => {
                summary.warnings += 1;
                "warning"
            }
        };
        writeln!(
            out,
            "{label}: {path}: byte {}: {severity}: {}",
            problem.offset,
            problem.kind.describe()
        )?;
    }
    match (summary.errors, summary.warnings) {
        (0, 0) => writeln!(
            out,
            "{label}: ok ({} bytes, {} fields)",
            doc.bytes().len(),
            doc.nodes.len() - 1
        )?,
        (e, w) => writeln!(out, "{label}: {e} error(s), {w} warning(s)")?,
    }
    Ok(summary)
}
