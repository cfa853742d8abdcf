//! `statescope explain FILE --log LOG`: each restore failure of the log, pointed into the
//! blob: the unit, the proto types of the Rust type paths, the field or byte that fits the
//! VMM's cause, the likely cause, and the subtree around it.

use std::io::Write;
use std::path::Path;

use anyhow::{Result, bail};

use crate::cli::Outcome;
use crate::explain::locate::{self, Explanation, Finding};
use crate::explain::log;
use crate::model::value::terminal_safe;
use crate::model::{Document, NodeId};
use crate::open::{SchemaArgs, display_name, read_named};
use crate::render::tree;

/// Lines of subtree shown under an explanation.
const SUBTREE_LINES: usize = 24;

/// Reads the log, decodes the blob and writes an explanation of each failure. Exit 1 when
/// a failure could not be pointed into the blob, a failure line was not understood, or
/// the log holds no failure.
pub fn explain(schema_args: &SchemaArgs, file: &Path, log_path: &Path, out: &mut impl Write) -> Result<Outcome> {
    if file == Path::new("-") && log_path == Path::new("-") {
        bail!("the blob and the log cannot both be standard input: give one of them as a file");
    }
    // A log cut mid-character still reads: bytes that are not UTF-8 are replaced.
    let text = String::from_utf8_lossy(&read_named(log_path, "the log")?).into_owned();
    let schema = schema_args.load_schema()?;
    let label = display_name(file);
    let (doc, note) = schema_args.open(&schema, schema_args.read(file)?)?;
    if let Some(note) = note {
        eprintln!("statescope: {label}: {note}");
    }
    let names: Vec<String> = locate::unit_names(&doc).into_iter().map(|(_, name)| name).collect();
    let read = log::parse(&text, &names);
    let mut located = 0;
    for failure in &read.failures {
        let explanation = locate::explain(&doc, failure);
        located += usize::from(explanation.is_located());
        write_explanation(&doc, &explanation, &label, out)?;
    }
    for (line, text) in &read.not_understood {
        writeln!(out, "{}", terminal_safe(&format!("log line {line}: not understood: {}", text.trim())))?;
    }
    let total = read.failures.len();
    if total == 0 && read.not_understood.is_empty() {
        writeln!(
            out,
            "no restore failure in the log: looked for OpenVMM's `restore failed: {{unit: …}}` and `decoding failed \
             in …` lines"
        )?;
        return Ok(Outcome::ProblemsFound);
    }
    writeln!(
        out,
        "{total} failure(s) in the log, {located} pointed into {}; {} line(s) not understood",
        terminal_safe(&label),
        read.not_understood.len()
    )?;
    Ok(if located == total && read.not_understood.is_empty() { Outcome::Success } else { Outcome::ProblemsFound })
}

fn write_explanation(doc: &Document, e: &Explanation<'_>, label: &str, out: &mut impl Write) -> Result<()> {
    let failure = e.failure;
    let who = failure.unit.as_deref().unwrap_or("(no unit named)");
    let mut lines = vec![format!("{label}: {who} (log line {}): {}", failure.line, failure.chain)];
    if let Some(unit) = e.unit {
        let node = doc.node(unit);
        let name = doc.unit_name(unit).map(|n| format!(" \"{n}\"")).unwrap_or_default();
        lines.push(format!("  unit:         {}{name}, bytes {}..{}", doc.path_of(unit), node.start, node.end()));
    }
    for (rust, proto) in &e.types {
        let proto = proto.as_deref().unwrap_or("(no message of that name in the loaded schema)");
        lines.push(format!("  type:         {rust} = {proto}"));
    }
    match &e.finding {
        Finding::Fits(p) => lines.push(format!("  at:           {}", problem_line(doc, p))),
        Finding::First(p) => {
            lines.push(format!(
                "  at:           nothing here is `{}` as such; the unit's first problem: {}",
                failure.cause,
                problem_line(doc, p)
            ));
        }
        Finding::Field(node, why) => {
            let n = doc.node(*node);
            lines.push(format!("  at:           {}, bytes {}..{}: {why}", doc.path_of(*node), n.start, n.end()));
        }
        Finding::Nothing(why) => lines.push(format!("  not found:    {why}")),
    }
    if let Some(crate::model::problem::ProblemKind::LikelyCause(cause)) = e.likely_cause.as_ref().map(|p| &p.kind) {
        lines.push(format!("  likely cause: {}; the edit `{}` repairs it", cause.what, cause.fix));
    }
    for line in lines {
        writeln!(out, "{}", terminal_safe(&line))?;
    }
    if let Some(node) = e.node() {
        write_subtree(doc, around(doc, node), out)?;
    }
    Ok(())
}

/// A problem's place and words: `units[4].state.cmos, byte 502: …`.
fn problem_line(doc: &Document, p: &crate::model::problem::Problem) -> String {
    let node = doc.node(p.node);
    let at = node.parent.filter(|_| node.kind == crate::model::NodeKind::Error).unwrap_or(p.node);
    format!("{}, byte {}: {}", doc.path_of(at), p.offset, p.kind.describe(doc))
}

/// What to show around a node: its message (a leaf's parent), so its neighbours show too.
fn around(doc: &Document, node: NodeId) -> NodeId {
    let mut top = node;
    while !doc.node(top).is_container() || doc.is_transparent(top) {
        match doc.parent(top) {
            Some(parent) if parent != NodeId::ROOT => top = parent,
            _ => break,
        }
    }
    top
}

/// The subtree at `top`, indented, at most [`SUBTREE_LINES`] lines.
fn write_subtree(doc: &Document, top: NodeId, out: &mut impl Write) -> Result<()> {
    let mut tree = Vec::new();
    let written = tree::write_tree(doc, top, tree::TreeOptions { offsets: true }, &mut tree)?;
    let tree = String::from_utf8_lossy(&tree);
    writeln!(out, "  subtree:")?;
    let total = tree.lines().count();
    for line in tree.lines().take(SUBTREE_LINES) {
        writeln!(out, "    {line}")?;
    }
    if total > SUBTREE_LINES {
        writeln!(
            out,
            "    … {} more line(s): statescope show FILE --path {}",
            total - SUBTREE_LINES,
            doc.path_of(top)
        )?;
    }
    if let Some(advice) = written.advice() {
        writeln!(out, "    ({advice})")?;
    }
    Ok(())
}
