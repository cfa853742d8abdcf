//! Output for the command line: the annotated tree, protobuf text format, JSON and the
//! problem report. Each renderer only reads the document.

pub mod check;
pub mod json;
pub mod text;
pub mod tree;

use prost_reflect::{FieldDescriptor, MessageDescriptor};

use crate::decode::wire::{self, RawField};

/// Whether the top level of `bytes` reads as a streaming writer prints it, a top-level
/// field at a time: every field reads, is declared by `root`, comes in field-number order,
/// and passes `also` (given the field, its declaration, and whether it has the number of
/// the field before it).
pub(crate) fn top_level_in_order(
    bytes: &[u8],
    root: &MessageDescriptor,
    also: impl Fn(&RawField, &FieldDescriptor, bool) -> bool,
) -> bool {
    let (mut pos, mut last) = (0, 0);
    // The declaration of the number met last: a top level is mostly long runs of one.
    let mut declared: Option<FieldDescriptor> = None;
    while pos < bytes.len() {
        let Ok(field) = wire::read_field(bytes, pos, bytes.len()) else { return false };
        let number = field.tag.field_number;
        if declared.as_ref().is_none_or(|d| d.number() != number) {
            declared = root.get_field(number);
        }
        let Some(declared) = &declared else { return false };
        if number < last || !also(&field, declared, number == last) {
            return false;
        }
        (pos, last) = (field.end, number);
    }
    true
}
