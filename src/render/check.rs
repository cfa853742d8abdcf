//! The problem report of `statescope check`: one line per problem with its path, byte
//! offset and what is wrong, in the words of the VMM's restore errors. It runs on the
//! streaming decoder, so memory stays bounded by the largest top-level field.

use std::io::{self, Write};

use crate::model::node::{NodeId, NodeKind};
use crate::model::path::path_of;
use crate::model::problem::{Problem, Severity};
use crate::model::source::Source;
use crate::model::value::terminal_safe;
use crate::model::{Decoder, Document};

/// Counts of what a check found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckSummary {
    /// Problems the restore would fail on.
    pub errors: usize,
    /// Problems worth a look.
    pub warnings: usize,
    /// Fields decoded.
    pub fields: usize,
}

/// Decodes `source` with `decoder`, a top-level field at a time, and writes one line per
/// problem, prefixed with `label` (the file name), then a summary line.
pub fn check_streaming(
    decoder: &Decoder,
    source: Source,
    label: &str,
    out: &mut impl Write,
) -> io::Result<CheckSummary> {
    let mut summary = CheckSummary::default();
    let mut hook = |doc: &Document, top: NodeId| {
        summary.fields += (doc.node(top).next - top) as usize;
        let from = doc.problems().partition_point(|p| p.node < top);
        write_problems(doc, &doc.problems()[from..], label, &mut summary, out)
    };
    let doc = decoder.decode_streaming(source, &mut hook)?;
    write_problems(&doc, doc.problems(), label, &mut summary, out)?;
    match (summary.errors, summary.warnings) {
        (0, 0) => {
            writeln!(out, "{}: ok ({} bytes, {} fields)", terminal_safe(label), doc.bytes().len(), summary.fields)?
        }
        (e, w) => writeln!(out, "{}: {e} error(s), {w} warning(s)", terminal_safe(label))?,
    }
    Ok(summary)
}

fn write_problems(
    doc: &Document,
    problems: &[Problem],
    label: &str,
    summary: &mut CheckSummary,
    out: &mut impl Write,
) -> io::Result<()> {
    for problem in problems {
        let node = doc.node(problem.node);
        // An unscannable span has no path of its own: it is reported where it lies.
        let at = node.parent.filter(|_| node.kind == NodeKind::Error).unwrap_or(problem.node);
        let path = path_of(doc, at).label();
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
        // One problem, one line: a URL or a file name cannot break it or act on the terminal.
        let line = format!("{label}: {path}: byte {}: {severity}: {}", problem.offset, problem.kind.describe());
        writeln!(out, "{}", terminal_safe(&line))?;
    }
    Ok(())
}
