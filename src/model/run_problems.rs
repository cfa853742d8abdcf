//! The problems of a streamed packed run's values, value by value: those its document
//! keeps, and those of the values out of range it only counted, found again from the
//! values themselves.
//!
//! A streamed run has no node per value, so its values' problems sit on the run. Each one
//! out of range would take a problem's room (56 bytes) where the value took a few: a run
//! of a million such values took ten times the file. A decoder for a writer that reads
//! them again ([`crate::Decoder::counting_values_out_of_range`]) keeps the first and
//! counts the others on it ([`Problem::more_alike`]); what each of them says follows from
//! its value and the field's range, which is what this reads again.

use std::borrow::Cow;

use crate::decode::schema::{FieldInfo, VarintRange};
use crate::decode::wire::PackedValue;
use crate::model::node::NodeId;
use crate::model::problem::{Problem, ProblemKind};

/// The problems of a run's values not yet handed out: the run's own are passed over.
type ValuesProblemsLeft<'d> =
    std::iter::Peekable<std::iter::Filter<std::slice::Iter<'d, Problem>, fn(&&Problem) -> bool>>;

/// Hands out the problems of a streamed packed run's values, one value after another.
pub struct RunProblems<'d> {
    run: NodeId,
    /// The values' problems the document keeps, in order of offset, not yet handed out.
    kept: ValuesProblemsLeft<'d>,
    /// The range the field's values must be in, if it has one.
    range: Option<VarintRange>,
    /// Values out of range after the last kept problem that were counted on it, not yet
    /// handed out.
    counted: u32,
}

impl<'d> RunProblems<'d> {
    /// The problems of the values of `run` (a packed run without element nodes), a value
    /// of `field` as declared, given the problems the document keeps on the run (in order
    /// of offset). A fixed array's wrong length is the run's own, not a value's: it is
    /// left out.
    pub fn new(run: NodeId, field: Option<&FieldInfo>, kept: &'d [Problem]) -> Self {
        let range = field.and_then(|f| f.range);
        let of_a_value: fn(&&Problem) -> bool = |p| !is_wrong_length(p);
        RunProblems { run, kept: kept.iter().filter(of_a_value).peekable(), range, counted: 0 }
    }

    /// Puts in `own` (emptied first) the problems of `value`, the run's next value: they
    /// are handed out in the order of the values, each value once.
    pub fn of(&mut self, value: &PackedValue, own: &mut Vec<Cow<'d, Problem>>) {
        own.clear();
        while let Some(kept) = self.kept.next_if(|p| p.offset as usize <= value.offset) {
            own.push(Cow::Borrowed(kept));
            self.counted = kept.more_alike;
        }
        if !own.is_empty() || self.counted == 0 {
            return;
        }
        let Some(problem) = self.range.and_then(|range| out_of_range(self.run, value, range)) else { return };
        self.counted -= 1;
        own.push(Cow::Owned(problem));
    }
}

/// Whether the problems of a streamed run's values are each found again from its value
/// alone, given those its document keeps (`kept`): when all are of values out of range
/// (the run's wrong length aside), for the kept ones say what the value says and the
/// others were counted on them, so every value out of the field's range has one, and no
/// other value has any. A piece of the run can then be written on its own.
pub fn found_again_alone(kept: &[Problem]) -> bool {
    kept.iter().all(|p| is_wrong_length(p) || matches!(p.kind, ProblemKind::OutOfRange { .. }))
}

/// The problem of `value` of run `run` out of `range`, as the decode would have kept it.
pub fn out_of_range(run: NodeId, value: &PackedValue, range: VarintRange) -> Option<Problem> {
    (!range.holds(value.raw)).then(|| {
        let kind = ProblemKind::OutOfRange { value: value.raw, type_name: range.type_name() };
        Problem { node: run, offset: value.offset as u64, kind, more_alike: 0 }
    })
}

/// Whether `problem` is a fixed array's wrong length: the run's own, shown before its values.
pub fn is_wrong_length(problem: &Problem) -> bool {
    matches!(problem.kind, ProblemKind::WrongArrayLength { .. })
}
