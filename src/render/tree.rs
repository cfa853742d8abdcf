//! The annotated tree `statescope show` prints: one line per field with name, type and
//! value, Any payloads expanded in place, problems under the node they concern.

use std::cell::RefCell;
use std::io::{self, Write};
use std::sync::{Arc, Mutex, PoisonError};

use prost_reflect::Kind;

mod clean_rows;
mod lines;
mod row_starts;
mod two_cores;

use self::lines::{Escape, Lines};
use self::row_starts::RowStarts;
use crate::decode::schema::{FieldClass, FieldInfo};
use crate::decode::wire::PackedValue;
use crate::model::listed::ListedMessages;
use crate::model::node::{Node, NodeId, NodeKind};
use crate::model::parts::{Gathered, Pieces, decode_streaming_in_parts};
use crate::model::path::{push_step, value_index};
use crate::model::problem::{LOAD_SCHEMAS, Problem, Severity};
use crate::model::run_problems::{self, RunProblems};
use crate::model::source::Source;
use crate::model::value::terminal_safe;
use crate::model::{Decoder, Document, value};
use crate::render::LinesHeld;

/// Options for [`write_tree`].
#[derive(Debug, Clone, Copy, Default)]
pub struct TreeOptions {
    /// Prefix each line with the node's byte offset and length.
    pub offsets: bool,
}

/// Longest string or bytes preview on one line.
const PREVIEW_LIMIT: usize = 96;

/// What writing a tree leaves its caller to say once, after it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[must_use]
pub struct TreeWritten {
    /// Some problem's line left out the advice to load the VMM's schemas, for the caller
    /// to give once ([`TreeWritten::advice`]): a hostile blob's million unknown fields
    /// repeated it on each line, most of the tree.
    pub schema_advice_left_out: bool,
}

impl TreeWritten {
    /// The advice the tree's lines left out, to give once after it, if any.
    pub fn advice(&self) -> Option<String> {
        self.schema_advice_left_out
            .then(|| format!("fields or Any types marked above are not in the registered schemas: {LOAD_SCHEMAS}"))
    }

    /// Says the advice the tree's lines left out on stderr, after the tree, if any.
    pub fn say_advice(&self) {
        if let Some(advice) = self.advice() {
            eprintln!("statescope: {advice}");
        }
    }
}

/// Writes the subtree under `top` ([`NodeId::ROOT`] for the whole document).
pub fn write_tree(doc: &Document, top: NodeId, options: TreeOptions, out: &mut impl Write) -> io::Result<TreeWritten> {
    let mut scratch = Scratch::default();
    write_subtree(doc, top, 0, options, &mut scratch, out)?;
    Ok(scratch.problems.written())
}

/// Buffers reused from one subtree to the next (a streamed document hands over many).
#[derive(Default)]
struct Scratch {
    /// The block of lines being made ([`Lines`]).
    block: String,
    /// The depth of the children of each node of the subtree being written: one deeper,
    /// or as deep where the node has no row of its own (an Any payload passed through).
    depth_below: Vec<usize>,
    /// The starts of the rows of declared fields, kept ([`RowStarts`]).
    row_starts: RowStarts,
    /// The problems written so far.
    problems: ProblemLines,
    /// Whether a long packed run may have its rows made on two cores ([`two_cores`]):
    /// where no parts of the top level keep both busy.
    values_on_two_cores: bool,
}

/// Where the problems written last end ([`Document::problems_of_after`]), and whether
/// any line left out the advice to load the VMM's schemas.
#[derive(Default)]
struct ProblemLines {
    seen: usize,
    advice_left_out: bool,
}

impl ProblemLines {
    /// What the lines written leave to say once.
    fn written(&self) -> TreeWritten {
        TreeWritten { schema_advice_left_out: self.advice_left_out }
    }
}

/// A part of the tree written ahead of its turn: its lines, and the buffers that
/// make them (taken, at its first look, from those of a part written out before: the row
/// starts made for one part serve the next).
#[derive(Default)]
struct TreePart {
    lines: LinesHeld,
    scratch: Option<Scratch>,
}

impl Gathered for TreePart {
    fn whole(&self) -> bool {
        self.lines.whole()
    }
}

/// Decodes `source` and writes the whole tree as each top-level field completes, so
/// memory stays bounded by the largest top-level field rather than the file. With more
/// than one thread in `pieces`, the top level is decoded and written a part at a time on
/// each, and the parts' lines written out in order: the same lines as one pass.
pub fn write_tree_streaming(
    decoder: &Decoder,
    source: Source,
    options: TreeOptions,
    pieces: Pieces,
    out: &mut impl Write,
) -> io::Result<TreeWritten> {
    let mut line = String::new();
    // The runs of small clean messages are listed from their bytes, not built; and, where
    // the rows show no offsets, any run of clean top-level messages. What each value out
    // of range says is found again from it.
    let decoder = decoder.clone().counting_values_out_of_range();
    let decoder = &if options.offsets { decoder.listing_flat_runs() } else { decoder.listing_clean_messages() };
    let name = decoder.root_type().map_or("(no schema)", |m| m.full_name()).to_owned();
    if options.offsets {
        line.push_str(&format!("{:>9}+{:<7}", 0, source.len()));
    }
    writeln!(out, "{line}{} ({} bytes)", terminal_safe(&name), source.len())?;
    // Parts keep both cores busy; a top-level field too long to cut may use the second.
    let mut scratch = Scratch { values_on_two_cores: pieces.threads > 1, ..Scratch::default() };
    let doc = if pieces.threads > 1 {
        // The buffers of the parts written out, for the parts to come.
        let spare = Arc::new(Mutex::new(Vec::new()));
        let spare_to_take = Arc::clone(&spare);
        let look = move |doc: &Document, top: NodeId, part: &mut TreePart| {
            let TreePart { lines, scratch } = part;
            let scratch = scratch.get_or_insert_with(|| {
                spare_to_take.lock().unwrap_or_else(PoisonError::into_inner).pop().unwrap_or_default()
            });
            // Past the bound, the part stops holding lines; it is then written again.
            for top in doc.top_level_from(top) {
                if !lines.whole() {
                    break;
                }
                let _ = write_subtree(doc, top, 1, options, scratch, lines);
            }
        };
        let shared = RefCell::new(&mut *out);
        let mut take = |part: TreePart| {
            spare.lock().unwrap_or_else(PoisonError::into_inner).extend(part.scratch);
            shared.borrow_mut().write_all(part.lines.bytes())
        };
        let mut hook = |doc: &Document, top: NodeId| {
            let out = &mut *shared.borrow_mut();
            doc.top_level_from(top).try_for_each(|top| write_subtree(doc, top, 1, options, &mut scratch, *out))
        };
        let doc = decode_streaming_in_parts(decoder, source, pieces, &look, &mut take, &mut hook)?;
        // A part written again wrote the same lines: its first writing's flag is no less true.
        let parts = spare.lock().unwrap_or_else(PoisonError::into_inner);
        scratch.problems.advice_left_out |= parts.iter().any(|part| part.problems.advice_left_out);
        doc
    } else {
        let mut hook = |doc: &Document, top: NodeId| {
            doc.top_level_from(top).try_for_each(|top| write_subtree(doc, top, 1, options, &mut scratch, out))
        };
        decoder.decode_streaming(source, &mut hook)?
    };
    let mut block = String::new();
    let mut lines = Lines::new(&mut block, out);
    // The root's own problems, all of them: none was written with a node.
    scratch.problems.seen = usize::MAX;
    write_problems(&doc, NodeId::ROOT, 0, options, &mut scratch.problems, &mut lines)?;
    lines.finish()?;
    Ok(scratch.problems.written())
}

/// Writes the subtree under `top`, indented as if `top` were at `base_depth`.
fn write_subtree(
    doc: &Document,
    top: NodeId,
    base_depth: usize,
    options: TreeOptions,
    scratch: &mut Scratch,
    out: &mut impl Write,
) -> io::Result<()> {
    if let Some(messages) = doc.listed_messages(top) {
        return write_listed(doc, messages, base_depth, options, scratch, out);
    }
    if let Some(rows) = doc.listed_clean(top) {
        return clean_rows::write_clean(doc, top, rows, base_depth, options, scratch, out);
    }
    let Scratch { block, depth_below, row_starts, problems, values_on_two_cores } = scratch;
    let mut lines = Lines::new(block, out);
    depth_below.clear();
    let end = doc.node(top).next;
    let mut fields = doc.fields_of_siblings();
    for id in top.up_to(end) {
        let node = doc.node(id);
        let depth = match node.parent.filter(|_| id != top) {
            None => base_depth,
            Some(parent) => depth_below[(parent - top) as usize],
        };
        let transparent = doc.is_transparent_node(&node);
        depth_below.push(if transparent { depth } else { depth + 1 });
        // Most nodes have no problem: the flag on the node read says so without a lookup.
        let has_problems = node.has_problem();
        // An Any payload passed through has no row, the top of a subtree included (a
        // root that is an Any hands its payload over as a top-level field).
        if transparent {
            if has_problems {
                write_problems(doc, id, depth, options, problems, &mut lines)?;
            }
            continue;
        }
        let field = fields.of(&node);
        write_row(doc, (id, &node, None), field, depth, options, row_starts, &mut lines)?;
        if node.kind == NodeKind::Packed && node.next == id + 1 {
            let on_two_cores = *values_on_two_cores;
            write_packed_values(doc, id, (depth + 1, options, on_two_cores), problems, &mut lines)?;
        } else if has_problems {
            write_problems(doc, id, depth, options, problems, &mut lines)?;
        }
    }
    lines.finish()
}

/// Writes the messages of a run a listing decode left unbuilt, and their leaves, the first
/// message's row indented as if at `depth`: the rows their nodes would give, which have
/// no problems.
fn write_listed(
    doc: &Document,
    mut messages: ListedMessages,
    depth: usize,
    options: TreeOptions,
    scratch: &mut Scratch,
    out: &mut impl Write,
) -> io::Result<()> {
    let Scratch { block, row_starts, .. } = scratch;
    let mut lines = Lines::new(block, out);
    let field = messages.field();
    while let Some(message) = messages.next_message() {
        write_row(doc, (message.id, &message.node, None), field, depth, options, row_starts, &mut lines)?;
        for value in message.leaf_values() {
            // A number needs no node for its row, unless the row shows offsets.
            if let Some(field) = value.field.filter(|f| !options.offsets && matches!(f.class, FieldClass::Scalar(_))) {
                row_starts.write_number(doc, field, (value.index, value.bits()), depth + 1, &mut lines)?;
                continue;
            }
            let leaf = message.leaf(&value);
            let row = (leaf.id, &leaf.node, Some(leaf.bits()));
            write_row(doc, row, leaf.field, depth + 1, options, row_starts, &mut lines)?;
        }
    }
    lines.finish()
}

/// Writes the row of node `id` (`node` as read, a value of `field`, its value's bits
/// `bits` when read with it) at `depth`, from the start kept for its field where it has
/// one ([`RowStarts`]), else labelled in full.
#[inline(always)]
fn write_row(
    doc: &Document,
    (id, node, bits): (NodeId, &Node, Option<u64>),
    field: Option<&FieldInfo>,
    depth: usize,
    options: TreeOptions,
    row_starts: &mut RowStarts,
    lines: &mut Lines<impl Write>,
) -> io::Result<()> {
    if !options.offsets && row_starts.write_row(doc, (node, bits), field, depth, lines)? {
        return Ok(());
    }
    let line = lines.start_line();
    if options.offsets {
        use std::fmt::Write as _;
        let _ = write!(line, "{:>9}+{:<7}", node.start, node.end() - node.start);
    }
    crate::render::indent_pieces(depth).for_each(|spaces| line.push_str(spaces));
    label_with(doc, id, node, field, line);
    lines.end_line(Escape::Check)
}

/// Writes the values of a packed run that has no nodes for them (a streamed document),
/// as the lines their nodes would give, each followed by its own problems; a long run
/// whose values' problems each value gives alone, on two cores if it may.
fn write_packed_values(
    doc: &Document,
    run: NodeId,
    (depth, options, on_two_cores): (usize, TreeOptions, bool),
    written: &mut ProblemLines,
    lines: &mut Lines<impl Write>,
) -> io::Result<()> {
    let (field, node) = (doc.field_info(run), doc.node(run));
    // A run's problems are its values' (sorted by offset, as the values are), but for a
    // fixed array's wrong length, the run's own, written first as under a run of nodes.
    let run_problems = doc.problems_of_after(run, &mut written.seen);
    for problem in run_problems.iter().filter(|p| run_problems::is_wrong_length(p)) {
        write_problem(doc, problem, depth - 1, options, &mut written.advice_left_out, lines)?;
    }
    // Only a long run is given to the cores: the many short ones are not looked up again.
    let long = (node.value_end - node.value_start()) as usize >= two_cores::FROM_BYTES;
    if on_two_cores && long && run_problems::found_again_alone(run_problems) {
        let rows = two_cores::RowsOf { doc, run, field, depth, options, escape: values_escape(field) };
        return two_cores::write_values(rows, value::packed_span(doc, run), node.index, lines);
    }
    let mut problems = RunProblems::new(run, field, run_problems);
    let mut own = Vec::new();
    let escape = values_escape(field);
    for (k, value) in value::packed_values(doc, run).enumerate() {
        problems.of(&value, &mut own);
        let index = node.index + k as u32;
        write_value_row(field, (index, &value, !own.is_empty()), depth, options, escape, lines)?;
        for problem in &own {
            write_problem(doc, problem, depth, options, &mut written.advice_left_out, lines)?;
        }
    }
    Ok(())
}

/// How the rows of a packed run of `field` are escaped: numbers, and a type's name that
/// needs no escaping, need no check (an enum's names come from the schema, which may be
/// hostile).
fn values_escape(field: Option<&FieldInfo>) -> Escape {
    let printable =
        field.is_none_or(|f| !matches!(f.kind, Kind::Enum(_)) && value::is_printable_ascii(f.type_name.as_bytes()));
    if printable { Escape::Printable } else { Escape::Check }
}

/// The row of a packed run's value, the `index`th of its field, at `depth`; whether it
/// has a problem.
fn write_value_row(
    field: Option<&FieldInfo>,
    (index, value, has_problem): (u32, &PackedValue, bool),
    depth: usize,
    options: TreeOptions,
    escape: Escape,
    lines: &mut Lines<impl Write>,
) -> io::Result<()> {
    use std::fmt::Write as _;
    let line = lines.start_line();
    if options.offsets {
        let _ = write!(line, "{:>9}+{:<7}", value.offset, value.len);
    }
    crate::render::indent_pieces(depth).for_each(|spaces| line.push_str(spaces));
    element_label(field, index, value.raw, has_problem, line);
    lines.end_line(escape)
}

/// The lines of node `id`'s problems, under its line at `depth`.
fn write_problems(
    doc: &Document,
    id: NodeId,
    depth: usize,
    options: TreeOptions,
    written: &mut ProblemLines,
    lines: &mut Lines<impl Write>,
) -> io::Result<()> {
    let ProblemLines { seen, advice_left_out } = written;
    doc.problems_of_after(id, seen)
        .iter()
        .try_for_each(|problem| write_problem(doc, problem, depth, options, advice_left_out, lines))
}

/// One problem's line, under the line of the node (at `depth`) it concerns, without the
/// advice to load the VMM's schemas (`advice_left_out` is then set: the tree's writer
/// gives it once).
fn write_problem(
    doc: &Document,
    problem: &Problem,
    depth: usize,
    options: TreeOptions,
    advice_left_out: &mut bool,
    lines: &mut Lines<impl Write>,
) -> io::Result<()> {
    let line = lines.start_line();
    if options.offsets {
        line.push_str(OFFSETS_WIDE);
    }
    crate::render::indent_pieces(depth + 1).for_each(|spaces| line.push_str(spaces));
    line.push_str(match problem.kind.severity() {
        Severity::Error => "!! error at byte ",
        Severity::Warning => "?? warning at byte ",
    });
    value::push_decimal(problem.offset, line);
    line.push_str(": ");
    *advice_left_out |= problem.kind.describe_without_advice_into(doc, line);
    lines.end_line(if problem.kind.words_are_printable(doc) { Escape::Printable } else { Escape::Check })
}

/// The blank a problem's line has under the offsets column (`{:>9}+{:<7}`).
const OFFSETS_WIDE: &str = "                 ";

/// The one-line label of node `id`, read as `node`: `name[i]: type = value`.
pub fn label(doc: &Document, id: NodeId, node: &Node, line: &mut String) {
    label_with(doc, id, node, doc.field_info_of(node), line);
}

/// [`label`], given the node's field as [`Document::field_info_of`] finds it.
pub fn label_with(doc: &Document, id: NodeId, node: &Node, field: Option<&FieldInfo>, line: &mut String) {
    use std::fmt::Write as _;
    if node.kind == NodeKind::Root {
        let name = doc.root_type().map_or("(no schema)", |m| m.full_name());
        let _ = write!(line, "{name} ({} bytes)", node.value_end);
        return;
    }
    if node.kind == NodeKind::Element {
        let raw = value::raw_of(doc, node, field).unwrap_or(0);
        return element_label(field, value_index(doc, node), raw, node.has_problem(), line);
    }
    push_step(doc, node, field, line);
    line.push_str(": ");
    type_name(doc, id, node, field, line);
    let before = line.len();
    line.push_str(" = ");
    let at = line.len();
    value::push_preview_with(doc, id, node, field, PREVIEW_LIMIT, line);
    if line.len() == at {
        line.truncate(before);
    }
}

/// The label of one value of a packed run, `[i]: type = value`, whether or not it has a
/// node: as declared, or raw (`element`) when it is out of range for its type.
pub fn element_label(field: Option<&FieldInfo>, index: u32, raw: u64, has_problem: bool, line: &mut String) {
    line.push('[');
    value::push_decimal(u64::from(index), line);
    line.push_str("]: ");
    match field {
        Some(f) if !has_problem => {
            line.push_str(&f.type_name);
            line.push_str(" = ");
            value::push_scalar_display(&value::interpret(&f.kind, raw), line);
        }
        _ => {
            line.push_str("element = ");
            value::push_scalar_display(&value::Scalar::Unsigned(raw), line);
        }
    }
}

/// The type column: declared type, `Any → T`, or the wire type of an unknown field.
/// `node` is node `id` as read.
pub fn type_name(doc: &Document, id: NodeId, node: &Node, field: Option<&FieldInfo>, line: &mut String) {
    match node.kind {
        NodeKind::Any | NodeKind::AnyPayload => {
            line.push_str("Any → ");
            match doc.any_payload(id).and_then(|p| doc.message_type(p)) {
                Some(m) => line.push_str(m.full_name()),
                None => {
                    let url = doc.any_type_url(id);
                    line.push_str(url.as_deref().map_or("(empty)", |u| u.rsplit('/').next().unwrap_or(u)));
                }
            }
        }
        NodeKind::Error => line.push_str("unreadable"),
        NodeKind::Message => match doc.message_type_of(node) {
            Some(m) => line.push_str(m.full_name()),
            None => line.push_str("message"),
        },
        _ => match field {
            // A run of values keeps its type when a value in it is out of range.
            Some(f) if !node.has_problem() || matches!(node.kind, NodeKind::String | NodeKind::Packed) => {
                if node.kind == NodeKind::Packed {
                    line.push_str("packed ");
                }
                line.push_str(&f.type_name);
            }
            _ => line.push_str(node.wire.map_or("element", |w| w.name())),
        },
    }
}
