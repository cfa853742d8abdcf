//! The rows of the tree that start the same for every node of a field at a depth: a
//! number that read clean (`    index: uint32 = 7`) and a message (`  entries[3]: T`),
//! written from a start made once rather than named, typed and escaped row by row.

use std::io::{self, Write};

use super::lines::{Escape, Lines};
use crate::decode::schema::{FieldClass, FieldInfo, TypeIndex};
use crate::model::node::{Node, NodeKind};
use crate::model::{Document, value};

/// The starts of rows kept, a few slots of them, each for the fields and depths that fall
/// in it: the one met last (a slot met by another is made again, in the room it had).
#[derive(Default)]
pub(super) struct RowStarts {
    slots: Vec<RowStart>,
}

/// What the row of a node of one field at one depth holds but its `[i]` and value:
/// `{indent}{name}`, then `: {type}` and, for a number, ` = `, as [`super::label`] writes
/// them.
#[derive(Default)]
struct RowStart {
    /// The field's address (the schema outlives the write: it names the field), the depth
    /// and the message type of the node; the address 0 for a slot not made yet.
    key: (usize, usize, Option<TypeIndex>),
    /// The head, then the tail.
    text: String,
    head_len: usize,
    /// Whether both are printable ASCII: a row of them and a number needs no escaping.
    printable: bool,
}

impl RowStarts {
    const SLOTS: usize = 1024;

    /// Writes the row of `node` (read from `doc`, its field `field` as
    /// [`Document::field_info_of`] finds it, its value's bits `bits` when read with it) at
    /// `depth` when it is a number that read clean or a message, both of a declared field;
    /// whether it did. Its problems are the caller's to write.
    #[inline]
    pub(super) fn write_row(
        &mut self,
        doc: &Document,
        (node, bits): (&Node, Option<u64>),
        field: Option<&FieldInfo>,
        depth: usize,
        lines: &mut Lines<impl Write>,
    ) -> io::Result<bool> {
        let Some(field) = field else { return Ok(false) };
        let value = match (&field.class, node.kind) {
            (FieldClass::Scalar(_), NodeKind::Scalar) if !node.has_problem() => {
                match bits.or_else(|| value::raw_of(doc, node, Some(field))) {
                    Some(raw) => Some(value::scalar_from_raw(raw, node, Some(field))),
                    None => return Ok(false),
                }
            }
            (FieldClass::Message(_), NodeKind::Message) if node.ty.is_some() => None,
            _ => return Ok(false),
        };
        self.write_started(doc, (field, node.ty), (node.index, value), depth, lines)?;
        Ok(true)
    }

    /// Writes the row of a leaf of a listed message that is a number: the `index`th value
    /// of `field`, its bits `bits`, at `depth`; as [`RowStarts::write_row`] writes it from
    /// the leaf's node, which is not made.
    #[inline]
    pub(super) fn write_number(
        &mut self,
        doc: &Document,
        field: &FieldInfo,
        (index, bits): (u32, u64),
        depth: usize,
        lines: &mut Lines<impl Write>,
    ) -> io::Result<()> {
        let value = value::interpret(&field.kind, bits);
        self.write_started(doc, (field, None), (index, Some(value)), depth, lines)
    }

    /// Writes the row of the `index`th value of `field`, a node of message type `ty` (a
    /// message's row, with no `value`) or a number `value`, at `depth`.
    #[inline(always)]
    fn write_started(
        &mut self,
        doc: &Document,
        (field, ty): (&FieldInfo, Option<TypeIndex>),
        (index, value): (u32, Option<value::Scalar>),
        depth: usize,
        lines: &mut Lines<impl Write>,
    ) -> io::Result<()> {
        let start = self.start(doc, ty, field, depth);
        let line = lines.start_line();
        if index > 0 || field.is_list {
            line.push_str(&start.text[..start.head_len]);
            line.push('[');
            value::push_decimal(u64::from(index), line);
            line.push(']');
            line.push_str(&start.text[start.head_len..]);
        } else {
            // No index between head and tail: one copy, not two.
            line.push_str(&start.text);
        }
        if let Some(value) = &value {
            value::push_scalar_display(value, line);
        }
        // An enum's name comes from the schema, which may be hostile too.
        let printable = start.printable && !matches!(value, Some(value::Scalar::Enum(..)));
        lines.end_line(if printable { Escape::Printable } else { Escape::Check })
    }

    /// The start of the rows of `field`'s nodes at `depth` of message type `ty`.
    fn start(&mut self, doc: &Document, ty: Option<TypeIndex>, field: &FieldInfo, depth: usize) -> &RowStart {
        if self.slots.is_empty() {
            self.slots.resize_with(Self::SLOTS, RowStart::default);
        }
        let key = (field as *const FieldInfo as usize, depth, ty);
        let slot = &mut self.slots[((key.0 / std::mem::size_of::<FieldInfo>()) ^ depth) % Self::SLOTS];
        if slot.key != key {
            slot.key = key;
            slot.text.clear();
            crate::render::indent_pieces(depth).for_each(|spaces| slot.text.push_str(spaces));
            slot.text.push_str(&field.name);
            slot.head_len = slot.text.len();
            slot.text.push_str(": ");
            match ty.map(|ty| &doc.type_info_at(ty).desc) {
                Some(message) => slot.text.push_str(message.full_name()),
                None => {
                    slot.text.push_str(&field.type_name);
                    slot.text.push_str(" = ");
                }
            }
            slot.printable = value::is_printable_ascii(slot.text.as_bytes());
        }
        slot
    }
}
