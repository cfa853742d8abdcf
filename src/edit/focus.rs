//! Which top-level fields an edit needs decoded. An edit addressed by path touches only the
//! top-level field its path starts in (and the one it copies from); a raw edit, the fields
//! its bytes lie in. Decoding only those lets `set` and `patch` edit a huge blob in memory
//! near its size, where decoding it whole would need a node per field.

use prost_reflect::MessageDescriptor;

use crate::decode::wire;
use crate::edit::op::{EditOp, Target};
use crate::model::Focus;
use crate::model::hash::KeyMap;
use crate::model::path::FieldPath;

/// The top-level fields `op` needs decoded in `bytes` (a `root`-typed blob), or `None` when
/// it cannot tell (a path through an Any at the root, a damaged top level): then decode all.
pub fn focus_for(op: &EditOp, root: Option<&MessageDescriptor>, bytes: &[u8]) -> Option<Focus> {
    let paths: Vec<&FieldPath> = match op {
        EditOp::Truncate { .. }
        | EditOp::Flip { .. }
        | EditOp::RemoveByte { .. }
        | EditOp::SetByte { .. }
        | EditOp::InsertByte { .. } => {
            return Some(Focus::default());
        }
        EditOp::ReplaceRaw { target: Target::Span { offset, len }, .. } => {
            return around(bytes, *offset, offset.saturating_add(*len));
        }
        EditOp::ReplaceRaw { target: Target::Path(path), .. } => vec![path],
        EditOp::Insert { path, from } | EditOp::Append { path, from } => std::iter::once(path).chain(from).collect(),
        EditOp::Set { path, .. }
        | EditOp::Delete { path }
        | EditOp::Duplicate { path }
        | EditOp::Add { path }
        | EditOp::SetRaw { path, .. }
        | EditOp::SetLength { path, .. }
        | EditOp::SetWire { path, .. }
        | EditOp::Overlong { path }
        | EditOp::InsertRaw { path, .. } => vec![path],
    };
    paths
        .into_iter()
        .try_fold(Focus::default(), |focus, path| {
            let first = path.segments().first()?;
            // A scalar has no fields: a longer path starts in a message, whose `[i]` is its occurrence.
            let (number, _) = Focus::top_level_field(root, &first.name)?;
            // An edit of the top-level field itself may count or add its occurrences: build
            // them all. An edit inside one occurrence needs that occurrence only.
            Some(match (path.segments().len(), first.indices.first()) {
                (1, _) => focus.with_field(number),
                (_, index) => focus.with_occurrence(number, index.copied().unwrap_or(0)),
            })
        })
        // An edit inside one occurrence changes its bytes and nothing after them (the root
        // has no length prefix): the top level is read no further once it is built, so an
        // edit near the start of a gigabyte does not read the rest (the focus stops only when
        // it names that one occurrence alone).
        .map(Focus::reading_no_further)
}

/// The top-level fields that hold any of `[start, end)` (or touch its ends).
fn around(bytes: &[u8], start: usize, end: usize) -> Option<Focus> {
    let mut focus = Focus::default();
    let mut seen: KeyMap<u32, u32> = KeyMap::default();
    let mut pos = 0;
    while pos < bytes.len() {
        let field = wire::read_field(bytes, pos, bytes.len()).ok()?;
        let number = field.tag.field_number;
        let count = seen.entry(number).or_insert(0);
        let index = *count;
        *count += 1;
        if field.start <= end && start <= field.end {
            focus = focus.with_occurrence(number, index);
        }
        pos = field.end;
    }
    Some(focus)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edit_inside_a_unit_needs_that_unit_and_a_copy_its_source() {
        let focus = focus_for(&EditOp::parse("set #1[7].name x").unwrap(), None, &[]).unwrap();
        assert!(focus.wants(1, 7) && !focus.wants(1, 6));
        assert_eq!(focus.last_wanted(), Some((1, 7)), "nothing after the unit is read");
        let focus = focus_for(&EditOp::parse("append #1 from #1[3]").unwrap(), None, &[]).unwrap();
        assert!(focus.wants(1, 0) && focus.wants(1, 99), "appending counts every occurrence");
        assert_eq!(focus.last_wanted(), None, "appending reads every occurrence");
        let focus = focus_for(&EditOp::parse("insert #1[2].x from #1[3].x").unwrap(), None, &[]).unwrap();
        assert_eq!(focus.last_wanted(), None, "a copy from a later unit reads on to it");
        assert!(focus_for(&EditOp::parse("set @type x").unwrap(), None, &[]).is_none(), "an Any root: all");
        assert_eq!(focus_for(&EditOp::parse("flip 3 1").unwrap(), None, &[]), Some(Focus::default()));
    }

    #[test]
    fn a_raw_span_needs_the_fields_it_lies_in() {
        // #1 (0..3), #2 (3..5), #1 again (5..8)
        let bytes = [0x0a, 0x01, 0x00, 0x10, 0x05, 0x0a, 0x01, 0x00];
        let focus = focus_for(&EditOp::parse("replace-raw @6+1 07").unwrap(), None, &bytes).unwrap();
        assert!(focus.wants(1, 1) && !focus.wants(1, 0) && !focus.wants(2, 0));
    }
}
