//! Protobuf text format, as `protoc --decode` prints it and `protoc --encode` reads it:
//! fields in field-number order, unknown fields last, Any optionally expanded as
//! `[type.googleapis.com/T] { … }`. Parts that do not decode become `#` comments.

use std::cell::{Cell, RefCell};
use std::io::{self, Write};

use crate::decode::schema::FieldInfo;
use crate::model::listed::ListedMessages;
use crate::model::node::{Node, NodeId, NodeKind};
use crate::model::parts::{Gathered, Pieces, decode_streaming_in_parts};
use crate::model::run_problems::RunProblems;
use crate::model::source::Source;
use crate::model::value::{self, c_escape, terminal_safe};
use crate::model::{Decoder, Document};
use crate::render::LinesHeld;

/// Options for [`write_text`].
#[derive(Debug, Clone, Copy)]
pub struct TextOptions {
    /// Print resolved Any payloads expanded (`[url] { … }`) rather than as bytes.
    pub expand_any: bool,
}

/// Writes `top` (a message, Any or the root) in text format; returns how many fields were
/// left out as comments because they do not decode.
pub fn write_text(doc: &Document, top: NodeId, options: TextOptions, out: &mut impl Write) -> io::Result<usize> {
    let mut w = TextWriter::new(doc, options, out);
    let node = doc.node(top);
    if node.is_container() {
        w.body(top, 0)?;
    } else {
        w.field(top, 0)?;
    }
    Ok(w.omitted)
}

/// A part of the text written ahead of its turn: its lines, and how many fields it
/// left out.
#[derive(Default)]
struct TextPart {
    lines: LinesHeld,
    omitted: usize,
}

impl Gathered for TextPart {
    fn whole(&self) -> bool {
        self.lines.whole()
    }
}

/// Writes the whole of `source` in text format a top-level field at a time, so memory
/// stays near the file's size, when its top level reads as text format prints it: the
/// fields the root type declares in field-number order (as encoders write them), then any
/// it does not declare. Gives the source back, having written nothing, when not: then
/// decode it whole. With more than one thread in `pieces`, the top level is decoded and
/// written a part at a time on each, and the parts written out in order.
pub fn write_text_streaming(
    decoder: &Decoder,
    source: Source,
    options: TextOptions,
    pieces: Pieces,
    out: &mut impl Write,
) -> io::Result<Result<usize, Source>> {
    if decoder.root_type().is_some_and(|m| m.full_name() == "google.protobuf.Any") {
        return Ok(Err(source));
    }
    // Text format prints the fields a message does not declare last, in wire order (all of
    // them, at a root of no type: raw wire fields).
    let mut undeclared_met = false;
    let prints_in_wire_order = decoder.root_type().is_none_or(|root| {
        super::top_level_in_order(&source, root, |_, declared, _| {
            undeclared_met |= declared.is_none();
            declared.is_none() || !undeclared_met
        })
    });
    if !prints_in_wire_order {
        return Ok(Err(source));
    }
    // The runs of small clean messages are written from their bytes, not built, and a
    // value out of range is found again from its bytes.
    let decoder = &decoder.clone().listing_flat_runs().counting_values_out_of_range();
    let omitted = Cell::new(0);
    let write_top = |doc: &Document, top: NodeId, out: &mut dyn Write| {
        let mut w = TextWriter::new(doc, options, out);
        doc.top_level_from(top).try_for_each(|top| w.field(top, 0))?;
        omitted.set(omitted.get() + w.omitted);
        Ok(())
    };
    if pieces.threads > 1 {
        let look = move |doc: &Document, top: NodeId, part: &mut TextPart| {
            // Past the bound, the part stops holding lines; it is then written again.
            let mut w = TextWriter::new(doc, options, &mut part.lines);
            for top in doc.top_level_from(top) {
                if !w.out.whole() {
                    break;
                }
                let _ = w.field(top, 0);
            }
            part.omitted += w.omitted;
        };
        let shared = RefCell::new(&mut *out);
        let mut take = |part: TextPart| {
            omitted.set(omitted.get() + part.omitted);
            shared.borrow_mut().write_all(part.lines.bytes())
        };
        let mut hook = |doc: &Document, top: NodeId| write_top(doc, top, *shared.borrow_mut());
        decode_streaming_in_parts(decoder, source, pieces, &look, &mut take, &mut hook)?;
    } else {
        let mut hook = |doc: &Document, top: NodeId| write_top(doc, top, &mut *out);
        decoder.decode_streaming(source, &mut hook)?;
    }
    Ok(Ok(omitted.get()))
}

struct TextWriter<'a, W: ?Sized> {
    doc: &'a Document,
    options: TextOptions,
    out: &'a mut W,
    omitted: usize,
    /// The children of the messages being written, the innermost's last: each read once,
    /// both to tell whether they are in the order text format prints and to print them.
    children: Vec<(NodeId, Node, Option<&'a FieldInfo>)>,
}

impl<'a, W: Write + ?Sized> TextWriter<'a, W> {
    fn new(doc: &'a Document, options: TextOptions, out: &'a mut W) -> Self {
        TextWriter { doc, options, out, omitted: 0, children: Vec::new() }
    }

    fn indent(&mut self, depth: usize) -> io::Result<()> {
        crate::render::indent_pieces(depth).try_for_each(|spaces| self.out.write_all(spaces.as_bytes()))
    }

    /// The fields of a container: known ones by field number, then unknown ones.
    fn body(&mut self, id: NodeId, depth: usize) -> io::Result<()> {
        let doc = self.doc;
        if doc.node(id).kind == NodeKind::Any
            && self.options.expand_any
            && let (Some(payload), Some(url)) = (doc.any_payload(id), doc.any_type_url(id))
            && doc.problems_of(id).is_empty()
            // `[url]` has no escapes: a URL that needs one is written as its fields.
            && url.chars().all(|c| c.is_ascii_graphic() && c != ']')
        {
            self.indented(depth, format_args!("[{url}] {{"))?;
            self.body(payload, depth + 1)?;
            self.indent(depth)?;
            return self.out.write_all(b"}\n");
        }
        self.fields_in_text_order(doc.children_with_fields(id), depth)
    }

    /// The fields `children` of a message (each its id, node as read, and declaration),
    /// in the order text format prints them: declared ones by number, then the others.
    fn fields_in_text_order(
        &mut self,
        children: impl Iterator<Item = (NodeId, Node, Option<&'a FieldInfo>)>,
        depth: usize,
    ) -> io::Result<()> {
        // Fields written in that order, as encoders write them, go out as they are;
        // others are sorted so.
        let from = self.children.len();
        let (mut last_declared, mut undeclared_met, mut in_order) = (0, false, true);
        for (child, node, field) in children {
            let declared = is_declared(&node, field);
            in_order &= !declared || !undeclared_met && node.field_number >= last_declared;
            if declared {
                last_declared = node.field_number;
            }
            undeclared_met |= !declared;
            self.children.push((child, node, field));
        }
        if !in_order {
            // Declared ones by number, then the others in wire order: a stable sort.
            self.children[from..].sort_by_key(|(_, node, field)| match is_declared(node, *field) {
                true => (false, node.field_number),
                false => (true, 0),
            });
        }
        let mut written = Ok(());
        for k in from..self.children.len() {
            let (child, node, field) = self.children[k];
            written = self.field_as(child, &node, field, depth);
            if written.is_err() {
                break;
            }
        }
        self.children.truncate(from);
        written
    }

    fn field(&mut self, id: NodeId, depth: usize) -> io::Result<()> {
        if let Some(messages) = self.doc.listed_messages(id) {
            return self.listed(messages, depth);
        }
        let node = self.doc.node(id);
        self.field_as(id, &node, self.doc.field_info_of(&node), depth)
    }

    /// The messages of a run a listing decode left unbuilt, each as [`Self::field_as`]
    /// writes a message, from their leaves (which have no problems).
    fn listed(&mut self, mut messages: ListedMessages<'a>, depth: usize) -> io::Result<()> {
        let mut number = itoa::Buffer::new();
        let field = messages.field();
        while let Some(message) = messages.next_message() {
            let name = terminal_safe(field_name(field, &message.node, &mut number));
            let leaves = message.leaves().map(|leaf| (leaf.id, leaf.node, leaf.field));
            self.message(depth, &name, |w| w.fields_in_text_order(leaves, depth + 1))?;
        }
        Ok(())
    }

    /// A message named `name`, its fields written by `body`: `name {`, then them, then `}`.
    fn message(&mut self, depth: usize, name: &str, body: impl FnOnce(&mut Self) -> io::Result<()>) -> io::Result<()> {
        self.indent(depth)?;
        self.out.write_all(name.as_bytes())?;
        self.out.write_all(b" {\n")?;
        body(self)?;
        self.indent(depth)?;
        self.out.write_all(b"}\n")
    }

    /// A field (`node` as read), given its declaration ([`Document::field_info`]).
    fn field_as(&mut self, id: NodeId, node: &Node, field: Option<&FieldInfo>, depth: usize) -> io::Result<()> {
        let doc = self.doc;
        let problems = if node.has_problem() { doc.problems_of(id) } else { &[] };
        let decodes =
            problems.iter().all(|p| matches!(p.kind, crate::model::problem::ProblemKind::UnknownField { .. }));
        if node.kind == NodeKind::Error || (!decodes && !node.is_container()) {
            self.omitted += 1;
            let what = problems.first().map_or_else(|| "unreadable bytes".to_owned(), |p| p.kind.describe(doc));
            let what = terminal_safe(&what);
            return self.indented(depth, format_args!("# statescope: omitted field at byte {}: {what}", node.start));
        }
        let mut number = itoa::Buffer::new();
        // Names come from the schema, which may be hostile too; valid names are unchanged.
        let name = terminal_safe(field_name(field, node, &mut number));
        let implicit = field.is_some_and(|f| f.implicit);
        match node.kind {
            NodeKind::Scalar => {
                let value = match (&field, value::scalar_of(doc, node, field)) {
                    (Some(_), Some(v)) if implicit && is_zero(&v) => return Ok(()),
                    (Some(_), Some(v)) => v,
                    (None, _) => return self.unknown_scalar_line(depth, &name, node),
                    (Some(_), None) => return Ok(()),
                };
                self.scalar_line(depth, &name, &value)
            }
            NodeKind::Packed if node.next == id + 1 => {
                // A streamed run has no element nodes: its values are read from its bytes,
                // and one with a problem (at its offset, on the run) is shown as it is.
                let kind = field.map(|f| f.kind.clone());
                let (mut values_problems, mut own) = (RunProblems::new(id, field, problems), Vec::new());
                for v in value::packed_values(doc, id) {
                    values_problems.of(&v, &mut own);
                    let scalar = match &kind {
                        Some(kind) if own.is_empty() => value::interpret(kind, v.raw),
                        _ => value::Scalar::Unsigned(v.raw),
                    };
                    self.scalar_line(depth, &name, &scalar)?;
                }
                Ok(())
            }
            NodeKind::Packed => {
                for element in doc.children(id) {
                    let text = value::scalar(doc, element).map(|v| v.to_string()).unwrap_or_default();
                    self.indented(depth, format_args!("{name}: {}", terminal_safe(&text)))?;
                }
                Ok(())
            }
            NodeKind::String | NodeKind::Bytes => {
                let bytes = doc.value_bytes_of(node);
                if implicit && bytes.is_empty() {
                    return Ok(());
                }
                let mut escaped = String::with_capacity(bytes.len() + 2);
                c_escape(bytes, &mut escaped);
                self.indented(depth, format_args!("{name}: \"{escaped}\""))
            }
            NodeKind::AnyPayload => {
                // An unexpanded Any's value: the payload's bytes.
                let mut escaped = String::new();
                c_escape(doc.value_bytes(id), &mut escaped);
                self.indented(depth, format_args!("{name}: \"{escaped}\""))
            }
            _ => self.message(depth, &name, |w| w.body(id, depth + 1)),
        }
    }

    /// An unknown scalar (`node`, as read) as protoc prints it: a varint in decimal, a
    /// fixed value in hex.
    fn unknown_scalar_line(&mut self, depth: usize, name: &str, node: &Node) -> io::Result<()> {
        use crate::decode::wire::WireType;
        let raw = value::raw_of(self.doc, node, None).unwrap_or(0);
        match node.wire {
            Some(WireType::Fixed32) => self.indented(depth, format_args!("{name}: 0x{raw:08x}")),
            Some(WireType::Fixed64) => self.indented(depth, format_args!("{name}: 0x{raw:016x}")),
            _ => self.scalar_line(depth, name, &value::Scalar::Unsigned(raw)),
        }
    }

    /// `line` and its end, indented `depth` steps.
    fn indented(&mut self, depth: usize, line: std::fmt::Arguments<'_>) -> io::Result<()> {
        self.indent(depth)?;
        self.out.write_fmt(line)?;
        self.out.write_all(b"\n")
    }

    /// `name: value` and the line's end, indented `depth` steps: integers written without
    /// the formatting machinery, other values (enum names come from the schema) made
    /// terminal-safe; a line that fits in one write.
    fn scalar_line(&mut self, depth: usize, name: &str, value: &value::Scalar) -> io::Result<()> {
        let mut digits = itoa::Buffer::new();
        let other;
        let text = match *value {
            value::Scalar::Signed(n) => digits.format(n),
            value::Scalar::Unsigned(n) => digits.format(n),
            ref value => {
                other = terminal_safe(&value.to_string()).into_owned();
                &other
            }
        };
        let indent = depth * 2;
        let mut line = [b' '; 192];
        let len = indent + name.len() + 2 + text.len() + 1;
        if len > line.len() {
            self.indent(depth)?;
            self.out.write_all(name.as_bytes())?;
            self.out.write_all(b": ")?;
            self.out.write_all(text.as_bytes())?;
            return self.out.write_all(b"\n");
        }
        let value_at = indent + name.len() + 2;
        line[indent..indent + name.len()].copy_from_slice(name.as_bytes());
        line[indent + name.len()] = b':';
        line[value_at..value_at + text.len()].copy_from_slice(text.as_bytes());
        line[len - 1] = b'\n';
        self.out.write_all(&line[..len])
    }
}

/// The name text format gives a field (`node`, as read, of declaration `field`): its
/// declared name, `value` for an Any's payload, else its number (written in `number`).
fn field_name<'n>(field: Option<&'n FieldInfo>, node: &Node, number: &'n mut itoa::Buffer) -> &'n str {
    match (field, node.kind) {
        (Some(f), _) => &f.name,
        (None, NodeKind::AnyPayload) => "value",
        (None, _) => number.format(node.field_number),
    }
}

/// Whether text format prints a child among its message's declared fields (by number),
/// rather than after them: a field the schema declares, or an Any's payload.
fn is_declared(node: &Node, field: Option<&FieldInfo>) -> bool {
    field.is_some() || node.kind == NodeKind::AnyPayload
}

fn is_zero(v: &value::Scalar) -> bool {
    match v {
        value::Scalar::Signed(n) => *n == 0,
        value::Scalar::Unsigned(n) => *n == 0,
        value::Scalar::Float(f) => *f == 0.0 && f.is_sign_positive(),
        value::Scalar::Bool(b) => !b,
        value::Scalar::Enum(n, _) => *n == 0,
    }
}
