//! The problem report of `statescope check`: one line per problem with its path, byte
//! offset and what is wrong, in the words of the VMM's restore errors. It runs on the
//! streaming decoder, so memory stays bounded by the largest top-level field.

use std::io::{self, Write};
use std::mem::{Discriminant, discriminant};

use crate::model::hash::KeyMap;
use crate::model::node::{NodeId, NodeKind};
use crate::model::path::{FieldPath, path_of};
use crate::model::problem::{Problem, ProblemKind, Severity};
use crate::model::source::Source;
use crate::model::value::{self, terminal_safe};
use crate::model::{Decoder, Document};

/// How a check's findings are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CheckFormat {
    /// One line per problem (alike ones counted after ten), then a summary line.
    #[default]
    Text,
    /// One JSON object per problem, then one summary object for the file.
    Json,
}

/// Counts of what a check found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckSummary {
    /// Problems of each kind, by code (`wire-type-mismatch`).
    pub codes: std::collections::BTreeMap<&'static str, usize>,
    /// Problems the restore would fail on.
    pub errors: usize,
    /// Problems worth a look.
    pub warnings: usize,
    /// Fields decoded.
    pub fields: usize,
}

/// Problems of one kind at one place in the structure (the same path but for its indices,
/// like `units[*].name`) that are printed in full; the rest are counted and said in one
/// line at the end. A blob of a million unknown fields, or ten thousand units with the same
/// defect, gets a readable report, and the report's cost follows the blob's shape, not the
/// number of identical findings.
const SHOWN_ALIKE: usize = 10;

/// Decodes `source` with `decoder`, a top-level field at a time, and writes one line per
/// problem, prefixed with `label` (the file name), then a summary line. With `parts` above
/// one, the top level is decoded in that many parts on as many threads
/// ([`crate::model::parts`]); the report is the same.
pub fn check_streaming(
    decoder: &Decoder,
    source: Source,
    label: &str,
    format: CheckFormat,
    parts: usize,
    out: &mut impl Write,
) -> io::Result<CheckSummary> {
    let mut report = Report { label, out, format, summary: CheckSummary::default(), alike: KeyMap::default() };
    let mut hook = |doc: &Document, top: NodeId| {
        report.summary.fields += fields(doc, top);
        let from = doc.problems().partition_point(|p| p.node < top);
        report.write(doc, &doc.problems()[from..])
    };
    let (doc, clean_fields) = if parts > 1 {
        crate::model::parts::decode_streaming_in_parts(decoder, source, parts, &fields, &mut hook)?
    } else {
        (decoder.decode_streaming(source, &mut hook)?, 0)
    };
    report.summary.fields += clean_fields;
    report.write(&doc, doc.problems())?;
    report.say_held_back(&doc)?;
    let Report { summary, out, .. } = report;
    if format == CheckFormat::Json {
        let object = serde_json::json!({
            "file": label,
            "summary": { "errors": summary.errors, "warnings": summary.warnings, "fields": summary.fields,
                         "bytes": doc.bytes().len(), "codes": summary.codes },
        });
        writeln!(out, "{object}")?;
        return Ok(summary);
    }
    match (summary.errors, summary.warnings) {
        (0, 0) => {
            writeln!(out, "{}: ok ({} bytes, {} fields)", terminal_safe(label), doc.bytes().len(), summary.fields)?
        }
        (e, w) => writeln!(out, "{}: {e} error(s), {w} warning(s)", terminal_safe(label))?,
    }
    Ok(summary)
}

/// The report being written: its counts, and the problems held back because many alike
/// were already printed.
struct Report<'a, W> {
    label: &'a str,
    out: &'a mut W,
    format: CheckFormat,
    summary: CheckSummary,
    alike: KeyMap<(u64, Discriminant<ProblemKind>), Alike>,
}

/// Problems of one kind at one place in the structure.
struct Alike {
    seen: usize,
    /// The first one held back, with its path as a pattern (`units[*].name`), to describe
    /// them all once the subtree it was in is gone.
    first: Option<(Problem, String)>,
}

/// A node's place in the structure, indices aside: the field numbers (and the types they
/// are read in) from the root down, folded into one number. Fields the schema does not
/// declare all share one place per message (`#*`), however many numbers they use.
fn place(doc: &Document, id: NodeId) -> u64 {
    let mut place = 0xcbf2_9ce4_8422_2325u64;
    let mut at = Some(id);
    while let Some(here) = at {
        let node = doc.node(here);
        let ty = node.parent.and_then(|p| doc.node(p).ty).map_or(0, |t| t.index() as u64 + 1);
        let number = if doc.field_info(here).is_some() { u64::from(node.field_number) } else { 0 };
        place = (place ^ (number << 32 | ty)).wrapping_mul(0x100_0000_01b3);
        at = node.parent;
    }
    place
}

/// Fields under (and including) `top`: its nodes, with the values of packed runs counted
/// one each although a streamed document gives them no nodes.
fn fields(doc: &Document, top: NodeId) -> usize {
    let end = doc.node(top).next;
    top.up_to(end)
        .map(|id| match doc.node(id) {
            node if node.kind == NodeKind::Packed && node.next == id + 1 => 1 + value::packed_values(doc, id).count(),
            _ => 1,
        })
        .sum()
}

/// The path a problem is reported at: its node's, or for a value of a packed run that has
/// no node of its own (a streamed document), the value's.
fn problem_path(doc: &Document, at: NodeId, offset: u64) -> FieldPath {
    let path = path_of(doc, at);
    let node = doc.node(at);
    if node.kind != NodeKind::Packed || node.next != at + 1 {
        return path;
    }
    match value::packed_values(doc, at).position(|v| v.offset as u64 == offset) {
        Some(k) => path.element(node.index + k as u32),
        None => path,
    }
}

impl<W: Write> Report<'_, W> {
    fn write(&mut self, doc: &Document, problems: &[Problem]) -> io::Result<()> {
        for problem in problems {
            let node = doc.node(problem.node);
            // An unscannable span has no path of its own: it is reported where it lies.
            let at = node.parent.filter(|_| node.kind == NodeKind::Error).unwrap_or(problem.node);
            let severity = match problem.kind.severity() {
                Severity::Error => {
                    self.summary.errors += 1;
                    "error"
                }
                Severity::Warning => {
                    self.summary.warnings += 1;
                    "warning"
                }
            };
            *self.summary.codes.entry(problem.kind.code()).or_default() += 1;
            if self.format == CheckFormat::Json {
                // Every finding, for machines: nothing is held back.
                let object = serde_json::json!({
                    "file": self.label,
                    "path": problem_path(doc, at, problem.offset).label(),
                    "offset": problem.offset,
                    "severity": severity,
                    "code": problem.kind.code(),
                    "message": problem.kind.describe(doc),
                });
                writeln!(self.out, "{object}")?;
                continue;
            }
            let key = (place(doc, at), discriminant(&problem.kind));
            let alike = self.alike.entry(key).or_insert(Alike { seen: 0, first: None });
            alike.seen += 1;
            if alike.seen > SHOWN_ALIKE {
                alike.first.get_or_insert_with(|| (problem.clone(), path_of(doc, at).pattern()));
                continue;
            }
            let path = problem_path(doc, at, problem.offset).label();
            // One problem, one line: a URL or a file name cannot break it or act on the terminal.
            let line =
                format!("{}: {path}: byte {}: {severity}: {}", self.label, problem.offset, problem.kind.describe(doc));
            writeln!(self.out, "{}", terminal_safe(&line))?;
        }
        Ok(())
    }

    /// Says, in one line each, how many problems were held back, and where.
    fn say_held_back(&mut self, doc: &Document) -> io::Result<()> {
        let mut held: Vec<(usize, Problem, String)> = self
            .alike
            .drain()
            .filter_map(|(_, alike)| alike.first.map(|(first, pattern)| (alike.seen - SHOWN_ALIKE, first, pattern)))
            .collect();
        held.sort_by_key(|(_, first, _)| first.offset);
        for (more, first, pattern) in held {
            let line = format!(
                "{}: {pattern}: from byte {}: {more} more like the above: {}",
                self.label,
                first.offset,
                first.kind.describe(doc)
            );
            writeln!(self.out, "{}", terminal_safe(&line))?;
        }
        Ok(())
    }
}
