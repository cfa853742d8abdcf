//! How a search reads each field of a clean message from its bytes, planned once a type:
//! what the sifter says of the field's rows, and for a message its type and how its rows
//! below are judged. A subtree read from its bytes then asks one array per field, not the
//! sifter's tables by address (a gigabyte of registers asks it of every number).

use crate::decode::schema::{FieldClass, TypeIndex};
use crate::model::Document;
use crate::ui::app::sifting::{Judged, Look, Sifter};
use prost_reflect::Kind;

/// The most fields a message type read from its bytes declares: one with more is looked
/// at row by row.
pub(super) const MOST_FIELDS: usize = 64;

/// How the values of one field of a type read from its bytes are looked at.
#[derive(Debug, Clone, Copy)]
pub(super) enum Step {
    /// Its rows are written whole (or are not read from bytes): the message is looked at
    /// row by row.
    Rows,
    /// A number none of whose rows can hold the query (its packed run's row may).
    Passed,
    /// A number whose value (and, `listed`, its index) alone may hold the query; of an
    /// unsigned integer, its width (its digits then looked at without making its value).
    Number { listed: bool, unsigned: Option<Width> },
    /// A message of type `child`: its row looked at as `first` when it is the first of its
    /// field in the message, else as `later`, and its rows below as `below`.
    Message { child: TypeIndex, first: Look, later: Look, below: Judged },
}

/// How many bits of an unsigned integer's raw value are its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Width {
    /// `uint32`, `fixed32`: the low 32.
    Narrow,
    /// `uint64`, `fixed64`: all 64.
    Wide,
}

impl Width {
    /// The width of an unsigned integer of `kind`; `None` for any other kind.
    pub(super) fn of_unsigned(kind: &Kind) -> Option<Width> {
        match kind {
            Kind::Uint32 | Kind::Fixed32 => Some(Width::Narrow),
            Kind::Uint64 | Kind::Fixed64 => Some(Width::Wide),
            _ => None,
        }
    }

    /// The value of `raw` of this width.
    #[inline(always)]
    pub(super) fn of(self, raw: u64) -> u64 {
        match self {
            Width::Narrow => u64::from(raw as u32),
            Width::Wide => raw,
        }
    }
}

/// The steps of each type met, by type index, in the order of its fields: `None` until
/// planned, `Some(None)` for a type of more than [`MOST_FIELDS`] fields (not read from its
/// bytes).
#[derive(Default)]
pub(super) struct Plans {
    by_type: Vec<Option<Option<Box<[Step]>>>>,
}

impl Plans {
    /// Plans type `ty` of `doc` for the search `sifter` sifts for, and every type read
    /// from the bytes below it, if not yet planned; whether its messages are read from
    /// their bytes (it has at most [`MOST_FIELDS`] fields). Planned whole before a subtree
    /// is read, the plans are then only looked up ([`Plans::steps`]).
    #[inline(always)]
    pub(super) fn plan(&mut self, doc: &Document, ty: TypeIndex, sifter: &mut Sifter) -> bool {
        match self.by_type.get(ty.index()) {
            Some(Some(planned)) => planned.is_some(),
            _ => self.plan_anew(doc, ty, sifter),
        }
    }

    /// [`Plans::plan`] of a type not yet planned: it, then each type below it not yet
    /// planned, in turn (a type met again is planned once).
    #[cold]
    fn plan_anew(&mut self, doc: &Document, ty: TypeIndex, sifter: &mut Sifter) -> bool {
        let mut unplanned = vec![ty];
        while let Some(ty) = unplanned.pop() {
            if self.by_type.get(ty.index()).is_some_and(Option::is_some) {
                continue;
            }
            let fields = doc.type_info_at(ty).fields.len();
            let steps: Option<Box<[Step]>> =
                (fields <= MOST_FIELDS).then(|| (0..fields).map(|at| step_of(doc, ty, at, sifter)).collect());
            for step in steps.iter().flatten() {
                if let Step::Message { child, below: Judged::Varying, .. } = *step {
                    unplanned.push(child);
                }
            }
            if self.by_type.len() <= ty.index() {
                self.by_type.resize(ty.index() + 1, None);
            }
            self.by_type[ty.index()] = Some(steps);
        }
        self.by_type[ty.index()].as_ref().is_some_and(Option::is_some)
    }

    /// The steps of type `ty`'s fields, in their order, where it is planned and read from
    /// its bytes.
    #[inline(always)]
    pub(super) fn steps(&self, ty: TypeIndex) -> Option<&[Step]> {
        self.by_type.get(ty.index())?.as_ref()?.as_deref()
    }
}

/// The step of field `field_index` of type `ty`, as `sifter` judges its rows.
fn step_of(doc: &Document, ty: TypeIndex, field_index: usize, sifter: &mut Sifter) -> Step {
    let field = &doc.type_info_at(ty).fields[field_index];
    match &field.class {
        FieldClass::Scalar(_) => match sifter.number(field) {
            Look::Never => Step::Passed,
            Look::Varying => Step::Number { listed: field.is_list, unsigned: Width::of_unsigned(&field.kind) },
            Look::Whole => Step::Rows,
        },
        FieldClass::Message(desc) if !field.is_group && !field.is_map => {
            let Some(child) = doc.met_type(ty, field_index, desc.full_name()) else { return Step::Rows };
            let first = sifter.message_row(field, desc.full_name(), 0);
            let later = sifter.message_row(field, desc.full_name(), 1);
            Step::Message { child, first, later, below: sifter.judge(doc, child) }
        }
        _ => Step::Rows,
    }
}
