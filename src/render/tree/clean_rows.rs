//! The tree's rows of a run of top-level messages that read clean, written from their
//! bytes ([`Document::listed_clean`]) as a whole decode's nodes show them.

use std::io::{self, Write};

use super::lines::{Escape, Lines};
use super::{PREVIEW_LIMIT, Scratch, TreeOptions, values_escape, write_row, write_value_row};
use crate::decode::schema::FieldInfo;
use crate::decode::wire::PackedRun;
use crate::model::listed::{CleanMessages, CleanRow, RowShape};
use crate::model::node::NodeId;
use crate::model::{Document, value};

/// Writes the rows of the clean run `rows` of node `id`, its messages' own rows at
/// `depth`.
pub(super) fn write_clean(
    doc: &Document,
    id: NodeId,
    mut rows: CleanMessages<'_>,
    depth: usize,
    options: TreeOptions,
    scratch: &mut Scratch,
    out: &mut impl Write,
) -> io::Result<()> {
    let Scratch { block, row_starts, .. } = scratch;
    let mut lines = Lines::new(block, out);
    while let Some(CleanRow { depth: below, node, field, shape }) = rows.next_row() {
        let depth = depth + below;
        match shape {
            RowShape::Plain(bits) => {
                write_row(doc, (id, &node, bits), Some(field), depth, options, row_starts, &mut lines)?
            }
            RowShape::Any { name, payload } => {
                let line = start_row(&mut lines, depth, name, shown_index(node.index, field));
                line.push_str(": Any → ");
                line.push_str(payload.desc.full_name());
                lines.end_line(Escape::Check)?;
            }
            RowShape::OfAny { name } => {
                let line = start_row(&mut lines, depth, name, shown_index(node.index, field));
                line.push_str(": ");
                line.push_str(&field.type_name);
                line.push_str(" = ");
                value::push_preview_with(doc, id, &node, Some(field), PREVIEW_LIMIT, line);
                lines.end_line(Escape::Check)?;
            }
            RowShape::Packed { wire, values } => {
                // A run's row shows no `[i]`: its values do.
                let line = start_row(&mut lines, depth, &field.name, None);
                line.push_str(": packed ");
                line.push_str(&field.type_name);
                line.push_str(" = [");
                value::push_decimal(u64::from(values), line);
                line.push_str(" elements]");
                lines.end_line(Escape::Check)?;
                let run = PackedRun::new(node.value_start() as usize..node.value_end as usize, wire);
                let escape = values_escape(Some(field));
                for (k, read) in (node.index..).zip(run.values(doc.bytes())) {
                    let read = read.map_err(|_| not_whole())?;
                    write_value_row(Some(field), (k, &read, false), depth + 1, options, escape, &mut lines)?;
                }
            }
        }
    }
    if !rows.read_whole() {
        return Err(not_whole());
    }
    lines.finish()
}

/// Starts the row of a field named `name` at `depth`, with its `[index]` when it shows one.
fn start_row<'l>(lines: &'l mut Lines<impl Write>, depth: usize, name: &str, index: Option<u32>) -> &'l mut String {
    let line = lines.start_line();
    crate::render::indent_pieces(depth).for_each(|spaces| line.push_str(spaces));
    line.push_str(name);
    if let Some(index) = index {
        line.push('[');
        value::push_decimal(u64::from(index), line);
        line.push(']');
    }
    line
}

/// The `[i]` a row of the `index`th value of `field` shows: any after the first, and the
/// first of a repeated field.
fn shown_index(index: u32, field: &FieldInfo) -> Option<u32> {
    (index > 0 || field.is_list).then_some(index)
}

/// What a run's rows that stop before their end mean: a read the decode found clean did
/// not read again, a fault of this writer's, not of the input's.
fn not_whole() -> io::Error {
    io::Error::other("internal error: a run of messages found clean did not read again; please report it")
}
