//! A search for digits through a flat run's messages at the speed of their bytes: where
//! every leaf of the run's type is a number whose row is passed over or holds the query
//! only in its value (and the messages' rows only in their index), each message is judged
//! from its values as read ([`crate::model::flat_walk::FlatWalk::pass_over`]), and no node
//! is made. A message it cannot judge so is left to the search's row-by-row look.

use super::digits::Digits;
use super::plan::Width;
use super::sifting::{Look, Sifter};
use crate::decode::schema::TypeInfo;
use crate::decode::wire::RawField;

/// How a leaf of one field number is judged from its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leaf {
    /// The sweep cannot judge it: the message is looked at row by row.
    RowByRow,
    /// Its row cannot hold the query.
    Never,
    /// An unsigned number of `width`, in a list or not: its value (and, for a list's, its
    /// index) may hold the query.
    Unsigned { width: Width, listed: bool },
}

/// A flat run's type judged for a search for digits: its leaves by field number (those
/// under a one-byte tag, 1 to 15), and whether a message's index may hold the query.
pub(super) struct Sweep<'d> {
    digits: &'d Digits,
    leaves: [Leaf; 16],
    message_index: bool,
}

impl<'d> Sweep<'d> {
    /// The sweep of a run of messages of type `ty` whose rows are looked at as `rows`,
    /// for a search for `digits`; `None` when a message's row needs its whole label.
    pub(super) fn new(digits: &'d Digits, ty: &TypeInfo, rows: Look, sifter: &mut Sifter) -> Option<Sweep<'d>> {
        if rows == Look::Whole {
            return None;
        }
        let mut leaves = [Leaf::RowByRow; 16];
        for field in ty.fields.iter().filter(|field| field.number < 16) {
            leaves[field.number as usize] = match (sifter.number(field), Width::of_unsigned(&field.kind)) {
                (Look::Never, _) => Leaf::Never,
                (Look::Varying, Some(width)) => Leaf::Unsigned { width, listed: field.is_list },
                _ => Leaf::RowByRow,
            };
        }
        Some(Sweep { digits, leaves, message_index: rows == Look::Varying })
    }

    /// Whether the row of a message at `index` in its list holds the query.
    pub(super) fn message_holds(&self, index: u32) -> bool {
        self.message_index && self.digits.in_integer(u64::from(index), false)
    }

    /// A judge of one message's fields, in turn: whether each is passed over (its row
    /// surely does not hold the query). A field met twice in a message, whose row then
    /// shows an index, is left to the look row by row.
    pub(super) fn judge(&self) -> impl FnMut(&RawField) -> bool + '_ {
        let mut seen = 0u16;
        move |field| {
            let number = field.tag.field_number as usize;
            let bit = 1u16 << (number % 16);
            let first = seen & bit == 0;
            seen |= bit;
            let leaf = self.leaves.get(number).copied().unwrap_or(Leaf::RowByRow);
            first
                && match leaf {
                    Leaf::RowByRow => false,
                    Leaf::Never => true,
                    Leaf::Unsigned { width, listed } => {
                        // The first of its field in the message: a list's is at `[0]`.
                        let v = width.of(field.scalar);
                        !((listed && self.digits.in_integer(0, false)) || self.digits.in_integer(v, v >= 10))
                    }
                }
        }
    }
}
