//! The problem report of `statescope check`: one line per problem with its path, byte
//! offset and what is wrong, in the words of the VMM's restore errors. It runs on the
//! streaming decoder, so memory stays bounded by the largest top-level field.

mod findings;

use crate::model::parts::Pieces;
use std::cell::RefCell;
use std::io::{self, Write};

use findings::{Finding, Groups, Held, PartFindings, Places};

use crate::model::node::NodeId;
use crate::model::problem::Problem;
use crate::model::source::Source;
use crate::model::value::terminal_safe;
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
pub(crate) const SHOWN_ALIKE: usize = 10;

/// Decodes `source` with `decoder`, a top-level field at a time, and writes one line per
/// problem, prefixed with `label` (the file name), then a summary line. With more than one
/// thread in `pieces`, the top level is decoded in parts on those threads (the model's
/// `parts` module); the report is the same.
pub fn check_streaming(
    decoder: &Decoder,
    source: Source,
    label: &str,
    format: CheckFormat,
    pieces: Pieces,
    out: &mut impl Write,
) -> io::Result<CheckSummary> {
    let mut report = Report {
        label,
        out,
        format,
        summary: CheckSummary::default(),
        alike: Groups::default(),
        places: Places::default(),
    };
    // The text report shows a few problems alike and counts the rest: a run of values out
    // of range is counted as it is read, not kept a record a value.
    let counting = decoder.clone().counting_alike_past(SHOWN_ALIKE);
    let decoder = if format == CheckFormat::Text { &counting } else { decoder };
    let doc = if pieces.threads > 1 {
        // Parts whose results stand hand their findings over; those read again in order
        // are reported as one pass reports them.
        let every_one = format == CheckFormat::Json;
        let look = move |doc: &Document, top: NodeId, part: &mut PartFindings| part.look(doc, top, every_one);
        let shared = RefCell::new(&mut report);
        let mut take = |part: PartFindings| shared.borrow_mut().take(part);
        let mut hook = |doc: &Document, top: NodeId| shared.borrow_mut().top_level(doc, top);
        crate::model::parts::decode_streaming_in_parts(decoder, source, pieces, &look, &mut take, &mut hook)?
    } else {
        let mut hook = |doc: &Document, top: NodeId| report.top_level(doc, top);
        decoder.decode_streaming(source, &mut hook)?
    };
    report.write(&doc, doc.problems())?;
    report.say_held_back()?;
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
    alike: Groups<Alike>,
    places: Places,
}

/// Problems of one kind at one place in the structure.
#[derive(Default)]
struct Alike {
    seen: usize,
    /// The first one held back, in words, to describe them all once the subtree it was in
    /// is gone.
    first: Option<Held>,
}

impl<W: Write> Report<'_, W> {
    /// Reports the top-level fields handed over from `top` on, decoded in order.
    fn top_level(&mut self, doc: &Document, top: NodeId) -> io::Result<()> {
        self.summary.fields += findings::fields(doc, top);
        let from = doc.problems().partition_point(|p| p.node < top);
        self.write(doc, &doc.problems()[from..])
    }

    /// Reports problems of `doc`, in order: each in full, or held back past
    /// [`SHOWN_ALIKE`] alike (words are found only for those reported).
    fn write(&mut self, doc: &Document, problems: &[Problem]) -> io::Result<()> {
        findings::count(&mut self.summary, problems);
        let mut last = findings::LastPlaces::default();
        for problem in problems {
            let at = findings::reported_at(doc, problem);
            let key = findings::key_of(&mut self.places, doc, &at, problem, &mut last);
            let at = at.id;
            if self.format == CheckFormat::Text
                && let Some(alike) = self.holds_back(key)
            {
                alike.first.get_or_insert_with(|| findings::held(doc, at, problem));
                // Those it stands for, counted and not kept, are held back after it.
                alike.seen += problem.more_alike as usize;
                continue;
            }
            self.print(&findings::finding(doc, key, at, problem, &mut last))?;
        }
        Ok(())
    }

    /// Takes over what a part decoded on its own found, as if its problems were written
    /// here in order.
    fn take(&mut self, part: PartFindings) -> io::Result<()> {
        let PartFindings { summary, kept, mut more, .. } = part;
        self.summary.errors += summary.errors;
        self.summary.warnings += summary.warnings;
        self.summary.fields += summary.fields;
        for (code, n) in summary.codes {
            *self.summary.codes.entry(code).or_default() += n;
        }
        for finding in kept {
            if self.format == CheckFormat::Text
                && let Some(alike) = self.holds_back(finding.key)
            {
                alike.first.get_or_insert(finding.held);
                continue;
            }
            self.print(&finding)?;
        }
        for (key, (_, more, first)) in more.drain() {
            if more > 0 {
                let alike = self.alike.of(key);
                alike.seen += more;
                if alike.first.is_none() {
                    alike.first = first;
                }
            }
        }
        Ok(())
    }

    /// Counts one more problem alike with `key`; its alike ones, when it is past those
    /// shown.
    fn holds_back(&mut self, key: findings::Key) -> Option<&mut Alike> {
        let alike = self.alike.of(key);
        alike.seen += 1;
        (alike.seen > SHOWN_ALIKE).then_some(alike)
    }

    /// One problem, one line (or JSON object): a URL or a file name cannot break it or act
    /// on the terminal.
    fn print(&mut self, f: &Finding) -> io::Result<()> {
        if self.format == CheckFormat::Json {
            let object = serde_json::json!({
                "file": self.label,
                "path": f.path,
                "offset": f.held.offset,
                "severity": f.severity,
                "code": f.code,
                "message": f.held.message,
            });
            return writeln!(self.out, "{object}");
        }
        let line = format!("{}: {}: byte {}: {}: {}", self.label, f.path, f.held.offset, f.severity, f.held.message);
        writeln!(self.out, "{}", terminal_safe(&line))
    }

    /// Says, in one line each, how many problems were held back, and where.
    fn say_held_back(&mut self) -> io::Result<()> {
        let mut held: Vec<(usize, Held)> = self
            .alike
            .drain()
            .filter_map(|(_, alike)| alike.first.map(|first| (alike.seen - SHOWN_ALIKE, first)))
            .collect();
        held.sort_by_key(|(_, first)| first.offset);
        for (more, first) in held {
            let line = format!(
                "{}: {}: from byte {}: {more} more like the above: {}",
                self.label, first.pattern, first.offset, first.message
            );
            writeln!(self.out, "{}", terminal_safe(&line))?;
        }
        Ok(())
    }
}
