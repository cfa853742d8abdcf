//! Decoding again after an edit that removes, inserts or replaces whole top-level fields
//! (a unit or an entry deleted, duplicated or put back by an undo): the fields inserted
//! are decoded alone, and the fields after them move by the change in ids and bytes, those
//! of the same field number renumbered. A flat run the edit cuts through is split there.
//! A unit put in whose name was given before it takes the "duplicate unit name" the whole
//! would give it. Whatever else the change could make read otherwise decodes the whole
//! again: a problem on the root or near the fields (a name given twice aside), a unit after
//! them whose name the change gives first elsewhere ([`names`]), a field of another number,
//! the last value of a field taken away (the root's rules ask for units and required
//! fields), a fixed array put in whose length the document does not know to be every
//! array's.

use std::ops::Range;

use super::{
    Before, Field, Old, decoded_alone, lengths_agree, name_given_twice, names, problems_spliced, quiet_around, spliced,
    top_level_of,
};
use crate::decode::wire::{self, WireType};
use crate::model::decoder::Decoder;
use crate::model::document::Document;
use crate::model::elided::Elided;
use crate::model::node::{Node, NodeId, NodeKind};
use crate::model::overlay::{self, ArrayLengths};
use crate::model::problem::ProblemKind;
use crate::model::record::NodeRecord;
use crate::model::source::Source;
use crate::model::unit_names;

/// The whole top-level fields an edit takes out, as they were before it (none when it
/// inserts fields between two).
pub(in crate::model) struct Region {
    /// Where they lie in the bytes (an empty span where fields are inserted).
    span: Range<usize>,
    /// The first one's id (where fields are inserted: the id of the field they go
    /// before, or the id after the last).
    top: NodeId,
    /// The id after the last one.
    next: NodeId,
    /// What they are (none where fields are inserted).
    taken: Option<Fields>,
    /// The field number and index of the top-level field before them, and of the one
    /// after them.
    before: Option<(u32, u32)>,
    after: Option<(u32, u32)>,
    /// When a flat run holds messages on both sides of `next`: its first message and
    /// the message at `next`, as read, which starts a run of its own after the edit.
    cut: Option<(Node, Node)>,
    /// The lengths of the fixed arrays in them, and whether every array of the document
    /// has the length kept for its type and field (none has a problem of its length).
    arrays: ArrayLengths,
    lengths_agree: bool,
    /// The names of the units among them that were given first there, where the
    /// document gives a name twice (else every name is given once, and none is needed).
    first_names: Vec<Vec<u8>>,
}

/// The whole top-level fields of `doc` that the change of bytes `changed` takes out or
/// puts in between, when it starts and ends where top-level fields do (else `None`, and
/// when the document is not one whose fields can be carried over).
pub(in crate::model) fn region(doc: &Document, changed: &Range<usize>) -> Option<Region> {
    if doc.decoder().focus().is_some() {
        return None;
    }
    let count = doc.node_count();
    let top = match changed.start == doc.bytes().len() {
        true => NodeId::from_index(count),
        false => {
            let last = doc.nodes_starting_before(changed.start as u64 + 1).checked_sub(1)?;
            let top = top_level_of(doc, NodeId::from_index(last));
            (top != NodeId::ROOT && doc.node(top).start == changed.start as u64).then_some(top)?
        }
    };
    let next = match changed.is_empty() {
        true => top,
        false => {
            let last = doc.nodes_starting_before(changed.end as u64).checked_sub(1)?;
            let field = top_level_of(doc, NodeId::from_index(last));
            (field >= top && doc.node(field).end() == changed.end as u64).then_some(doc.node(field).next)?
        }
    };
    if !quiet_around(doc, top, next) {
        return None;
    }
    let lengths_agree = lengths_agree(doc);
    let arrays = array_lengths(doc, top, next);
    if !lengths_agree && !arrays.is_empty() {
        return None;
    }
    let field = |id: NodeId| (id.index() < count).then(|| doc.node(id)).map(|n| (n.field_number, n.index));
    let taken = taken(doc, top, next)?;
    let before = (top.index() > 1).then(|| field(top_level_of(doc, NodeId::from_index(top.index() - 1)))).flatten();
    let cut = doc.elided.flat_run_crossing(next).map(|first| (doc.node(first), doc.node(next)));
    let after = field(next);
    let first_names = first_names(doc, top, next);
    Some(Region { span: changed.clone(), top, next, taken, before, after, cut, arrays, lengths_agree, first_names })
}

/// The names of the units among the top-level fields from `top` up to id `next` that were
/// given first there (no "duplicate unit name" on them), where `doc` gives a name twice.
fn first_names(doc: &Document, top: NodeId, next: NodeId) -> Vec<Vec<u8>> {
    let problems = doc.problems();
    if !problems.iter().any(name_given_twice) {
        return Vec::new();
    }
    let units = doc.decoder().root_type().map(overlay::unit_fields).unwrap_or_default();
    let given_twice = |id: NodeId| {
        let from = problems.partition_point(|p| p.node < id);
        problems[from..].iter().take_while(|p| p.node == id).any(name_given_twice)
    };
    let mut names = Vec::new();
    let mut at = top;
    while at < next {
        let node = doc.node(at);
        if node.wire == Some(WireType::Len) && units.contains(&node.field_number) && !given_twice(at) {
            let name = unit_names::unit_name(doc.bytes(), node.value_start() as usize, node.value_end as usize);
            names.extend(name.map(<[u8]>::to_vec));
        }
        at = node.next;
    }
    names
}

/// The lengths of the fixed arrays among the ids from `top` up to `next`.
fn array_lengths(doc: &Document, top: NodeId, next: NodeId) -> ArrayLengths {
    let mut lengths = ArrayLengths::default();
    for id in top.up_to(next) {
        let node = doc.node(id);
        if node.kind != NodeKind::Packed || !doc.field_info(id).is_some_and(|f| f.packed_only) {
            continue;
        }
        let holder = node.parent.and_then(|parent| doc.type_info_of(parent)).map(|info| info.name.clone());
        lengths.extend(holder.map(|holder| ((holder, node.field_number), node.next - id - 1)));
    }
    lengths
}

/// Top-level fields side by side, all of one field number.
#[derive(Clone, Copy)]
struct Fields {
    number: u32,
    count: u32,
    /// The first one's index among the values of its field.
    first_index: u32,
}

/// The top-level fields from `top` up to id `next` (`Some(None)` for none), when they
/// are all of one number.
fn taken(doc: &Document, top: NodeId, next: NodeId) -> Option<Option<Fields>> {
    let mut at = top;
    let mut taken: Option<Fields> = None;
    while at < next {
        let node = doc.node(at);
        match &mut taken {
            None => taken = Some(Fields { number: node.field_number, count: 1, first_index: node.index }),
            Some(fields) if fields.number == node.field_number => fields.count += 1,
            Some(_) => return None,
        }
        at = node.next;
    }
    Some(taken)
}

/// The top-level fields an edit put in, as read from the bytes.
struct Inserted<'a> {
    /// Their field number (`None` for none).
    number: Option<u32>,
    count: u32,
    /// The names of the units among them.
    names: Vec<&'a [u8]>,
}

/// The top-level fields that bytes `span` of `bytes` hold, units being the fields of
/// numbers `units`; `None` unless they fill the span exactly and are of one number.
fn inserted<'a>(bytes: &'a [u8], span: Range<usize>, units: &[u32]) -> Option<Inserted<'a>> {
    let mut inserted = Inserted { number: None, count: 0, names: Vec::new() };
    let mut pos = span.start;
    while pos < span.end {
        let field = wire::read_field(bytes, pos, span.end).ok()?;
        if *inserted.number.get_or_insert(field.tag.field_number) != field.tag.field_number {
            return None;
        }
        inserted.names.extend(unit_names::unit_name_of(bytes, &field, units));
        inserted.count += 1;
        pos = field.end;
    }
    Some(inserted)
}

/// The document of `source` (the old bytes edited, `delta` bytes longer) made from the
/// `old` one, where the edit replaced the top-level fields of `region` with those it
/// holds now; `None` when the whole must be decoded again.
pub(in crate::model) fn again(
    old: Old,
    decoder: &Decoder,
    source: &Source,
    region: Region,
    delta: isize,
) -> Option<Document> {
    let Region { span, top, next, taken, before, after, cut, arrays, lengths_agree, first_names } = region;
    let Old { mut nodes, mut elided, mut moves, types, problems, mut array_lengths } = old;
    if delta != 0 && problems.iter().any(|p| p.node >= next && matches!(p.kind, ProblemKind::LikelyCause { .. })) {
        return None;
    }
    let end = span.end.checked_add_signed(delta).filter(|&end| end <= source.len() && end >= span.start)?;
    let units = decoder.root_type().map(overlay::unit_fields).unwrap_or_default();
    let Inserted { number, count, names } = inserted(source, span.start..end, &units)?;
    let number = number.or(taken.map(|taken| taken.number))?;
    let index = match taken {
        Some(taken) => (taken.number == number).then_some(taken.first_index)?,
        None => match (after, before) {
            (Some((n, index)), _) if n == number => index,
            (_, Some((n, index))) if n == number => index + 1,
            _ => return None,
        },
    };
    // The root asks for a unit, and for each of its required fields: one must be left.
    let after_of_number = after.is_some_and(|(n, _)| n == number);
    if count == 0 && index == 0 && !after_of_number {
        return None;
    }
    // The names put in that were given before them are given again; those that were not,
    // and those taken out that were given first, are given first here: by no unit after.
    let given = match names.is_empty() {
        true => Vec::new(),
        false => names::given_in(source, 0..span.start, &units, &names)?,
    };
    let (mut again, mut first) = (Vec::new(), Vec::new());
    for (&name, &given) in names.iter().zip(&given) {
        if given { again.push(name) } else { first.push(name) }
    }
    first.extend(first_names.iter().map(Vec::as_slice));
    if !first.is_empty() && names::given_in(source, end..source.len(), &units, &first)?.contains(&true) {
        return None;
    }
    let given_before = names::given_before(again);
    // The fixed arrays put in are held to the lengths kept, with those taken out.
    array_lengths.extend(arrays);
    let range = span.start..end;
    let before = Before { number, values: index, names: given_before };
    let (built, array_lengths) = decoded_alone(source, decoder, types, range, before, array_lengths, lengths_agree)?;
    let taken_count = taken.map_or(0, |taken| taken.count);
    let ids = elided.ids(nodes.len());
    let ids_move = (built.elided.ids(built.nodes.len()) - 1) as isize - (next - top) as isize;
    // With no id moved, the nodes after are left with their move pending ([`spliced`]):
    // nothing else about them may change.
    let reshaped = cut.is_some() || elided.flat_run_crossing(top).is_some() || count != taken_count;
    if ids_move == 0 && reshaped {
        return None;
    }
    let total = NodeId::from_index(ids.checked_add_signed(ids_move)?);
    let (at, end) = (elided.stored_before(top.index(), nodes.len()), elided.stored_before(next.index(), nodes.len()));
    let field = Field { at, end, id: top };
    if let Some((first, head)) = cut {
        moves.settle(&mut nodes);
        nodes.replace(field.end..field.end, &[NodeRecord::pack(head)]);
        elided.cut_flat_run(next, &first, &head);
    }
    elided.trim_flat_run(top);
    let renumbered = (number, count as i32 - taken_count as i32);
    let Document { nodes: fresh, elided: fresh_elided, types, problems: fresh_problems, .. } = built;
    let mut doc = Document::empty(source.clone(), decoder.clone());
    (doc.types, doc.array_lengths) = (types, array_lengths);
    (doc.nodes, doc.moves) = spliced(nodes, moves, field, &fresh, (ids_move, total), delta, renumbered);
    doc.elided = Elided::spliced(elided, top, next, &fresh_elided, ids_move, total.index());
    doc.problems = problems_spliced(problems, (top, next), fresh_problems, (ids_move, delta))?;
    Some(doc)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{SAMPLE, assert_reads_as, decoder, replaced, shorter_ioapic};
    use crate::model::document::Document;
    use crate::model::node::NodeId;
    use crate::model::problem::ProblemKind;
    use crate::model::source::Source;

    #[test]
    fn a_unit_deleted_and_put_back_is_carried_over_and_so_is_a_unit_given_twice() {
        let decoder = decoder();
        let doc = decoder.decode(Source::new(SAMPLE.to_vec()));
        let units: Vec<_> = doc.top_level_from(NodeId::ROOT + 1).map(|id| doc.node(id)).collect();
        assert!(units.len() > 2 && doc.problems().is_empty());
        for unit in &units {
            let span = unit.start as usize..unit.end() as usize;
            let doc = decoder.decode(Source::new(SAMPLE.to_vec()));
            let (deleted, whole) = replaced(doc, span.clone(), &[]);
            let deleted = deleted.unwrap_or_else(|| panic!("unit at {} deleted is carried over", unit.start));
            assert_reads_as(&deleted, &whole);
            let (back, whole) = replaced(deleted, span.start..span.start, &SAMPLE[span.clone()]);
            let back = back.expect("a unit put back is carried over");
            assert_reads_as(&back, &whole);
            assert_eq!(back.bytes(), SAMPLE);
            // The same unit again after it: its name is taken, and the copy says so.
            let (twice, whole) = replaced(back, span.end..span.end, &SAMPLE[span.clone()]);
            assert!(whole.problems().iter().any(|p| matches!(p.kind, ProblemKind::DuplicateUnitName { .. })));
            assert_reads_as(&twice.expect("a unit given twice is carried over"), &whole);
            // The first of the two taken out: the copy is then the first, and says nothing.
            let (first_out, whole) = replaced(whole, span.clone(), &[]);
            assert!(first_out.is_none(), "a name given first elsewhere is decoded with the whole");
            assert!(whole.problems().is_empty());
            // Put back in a document decoded whole, which kept the lengths of its arrays.
            let doc = decoder.decode(Source::new(SAMPLE.to_vec()));
            let (deleted, _) = replaced(doc, span.clone(), &[]);
            let whole = decoder.decode(Source::new(deleted.unwrap().into_bytes()));
            let (back, _) = replaced(whole, span.start..span.start, &SAMPLE[span.clone()]);
            assert!(back.is_some(), "unit at {} put back in a document decoded whole", unit.start);
        }
        // A unit whose fixed array is shorter than the others': the whole tells which is
        // wrong, and a unit holding one put in beside it is decoded with the whole too.
        let shorter = shorter_ioapic(&decoder.decode(Source::new(SAMPLE.to_vec())), b'X');
        let end = SAMPLE.len();
        let (carried, whole) = replaced(decoder.decode(Source::new(SAMPLE.to_vec())), end..end, &shorter);
        assert!(carried.is_none(), "a shorter array put in is decoded with the whole");
        let wrong =
            |doc: &Document| doc.problems().iter().any(|p| matches!(p.kind, ProblemKind::WrongArrayLength { .. }));
        assert!(wrong(&whole));
        // The first array of the type taken out: the shorter is the first, and right.
        let ioapic = units[2].start as usize..units[2].end() as usize;
        let (carried, whole) = replaced(whole, ioapic, &[]);
        assert!(!wrong(&whole));
        if let Some(carried) = carried {
            assert_reads_as(&carried, &whole);
        }
        // The last unit taken is the last unit the root asks for: the whole tells it.
        let mut doc = decoder.decode(Source::new(SAMPLE.to_vec()));
        for unit in units.iter().rev() {
            let (carried, whole) = replaced(doc, unit.start as usize..unit.end() as usize, &[]);
            assert_eq!(carried.is_some(), unit.start != units[0].start, "the last left is decoded whole");
            doc = carried.unwrap_or(whole);
        }
        assert!(doc.problems().iter().any(|p| matches!(p.kind, ProblemKind::NoUnits)));
    }

    #[test]
    fn whole_units_taken_out_and_put_in_beside_damage_read_as_the_whole_decoded_again() {
        let decoder = decoder();
        // The sample four times over, each copy's unit names apart (their first letter).
        let doc = decoder.decode(Source::new(SAMPLE.to_vec()));
        let names: Vec<_> = doc.top_level_from(NodeId::ROOT + 1).map(|id| doc.node(id + 1).value_start()).collect();
        let mut blob = Vec::new();
        for copy in 0..4u8 {
            let at = blob.len();
            blob.extend_from_slice(SAMPLE);
            for &name in &names {
                blob[at + name as usize] = b'A' + copy;
            }
        }
        let mut seed = 7u64;
        let mut below = |n: usize| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) as usize % n.max(1)
        };
        let mut carried_over = 0;
        for round in 0..40u8 {
            // Up to two bytes anywhere changed: the damage is near the edit, or far from it.
            let mut bytes = blob.clone();
            for _ in 0..below(3) {
                let at = below(bytes.len());
                bytes[at] = below(256) as u8;
            }
            let doc = decoder.decode(Source::new(bytes.clone()));
            let tops: Vec<_> = doc.top_level_from(NodeId::ROOT + 1).collect();
            let from = below(tops.len() + 1);
            let taken = below(3).min(tops.len() - from);
            let start_of = |i: usize| tops.get(i).map_or(bytes.len(), |&id| doc.node(id).start as usize);
            let span = start_of(from)..start_of(from + taken);
            // Nothing put in, or a unit copied under a name of its own (its first letter).
            let mut put = Vec::new();
            if below(2) == 0 && !tops.is_empty() {
                let copied = tops[below(tops.len())];
                let unit = doc.node(copied);
                put = bytes[unit.start as usize..unit.end() as usize].to_vec();
                let name = doc.node(copied + 1).value_start().saturating_sub(unit.start) as usize;
                if let Some(first) = put.get_mut(name) {
                    *first = b'a' + round % 26;
                }
            }
            let (carried, whole) = replaced(doc, span, &put);
            if let Some(carried) = carried {
                assert_reads_as(&carried, &whole);
                carried_over += 1;
            }
        }
        assert!(carried_over > 12, "{carried_over} of 40 carried over");
    }
}
