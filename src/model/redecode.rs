//! Decoding again after an edit inside one top-level field: that field alone is decoded
//! from the edited bytes, and the nodes after it are moved by the change in size (left
//! pending on them, [`Moves`]). Whatever
//! else could read differently makes it decode the whole again: a problem in the field, at
//! the top level or in a field near it (the search for a likely cause looks a few fields
//! around a damaged one), an edit that does not stay inside one field, a tag or a unit name
//! changed, a fixed array in the field while the document's disagree in length (the first
//! met of each is the one the others are held to), a focus.
//! An edit of whole top-level fields (taken out, put in) is carried over by [`region`].

mod names;
mod region;

use std::ops::Range;

use crate::decode::schema::TypeTable;
use crate::decode::wire::{self, WireType};
use crate::model::builder::Builder;
use crate::model::decoder::Decoder;
use crate::model::document::Document;
use crate::model::elided::{Elided, MOST_FLAT_LEAVES, Place};
use crate::model::field_counts::FieldCounts;
use crate::model::moves::{Move, Moves};
use crate::model::node::{Node, NodeId, NodeKind};
use crate::model::overlay::{self, ArrayLengths, Part, TopState};
use crate::model::problem::{Problem, ProblemKind};
use crate::model::record::NodeRecord;
use crate::model::source::{Buffer, Source};
use crate::model::unit_names;

/// How an edit is carried over to the document of the edited bytes without decoding the
/// whole again.
pub(super) enum Plan {
    /// Whole top-level fields taken out or put in between ([`region`]).
    Region(region::Region),
    /// An edit inside one top-level field, decoded again alone.
    Inside(Inside),
}

/// How the change of bytes `changed` of `doc` is carried over, if it can be: whole
/// top-level fields taken out or put in, or an edit inside one.
pub(super) fn plan(doc: &Document, changed: &Range<usize>) -> Option<Plan> {
    region::region(doc, changed).map(Plan::Region).or_else(|| inside(doc, changed).map(Plan::Inside))
}

/// The document of `source` (the old bytes edited, `delta` bytes longer) made from the
/// `old` one as `plan` says; `None` when the whole must be decoded again.
pub(super) fn carried(old: Old, decoder: &Decoder, source: &Source, plan: Plan, delta: isize) -> Option<Document> {
    match plan {
        Plan::Region(region) => region::again(old, decoder, source, region, delta),
        Plan::Inside(inside) => again(old, decoder, source, inside, delta),
    }
}

/// The top-level field an edit stays inside, as it was before the edit.
pub(super) struct Inside {
    node: Node,
    top: NodeId,
    /// Its unit name: an edit that changes it may make one another unit has.
    name: Option<Vec<u8>>,
    /// Whether the document's fixed arrays agree in length ([`lengths_agree`]).
    lengths_agree: bool,
}

/// The top-level message field of `doc` that an edit of the bytes `changed` stays inside,
/// when decoding that field again is all the edit needs.
pub(super) fn inside(doc: &Document, changed: &Range<usize>) -> Option<Inside> {
    if doc.decoder().focus().is_some() {
        return None;
    }
    // Nodes are in pre-order, so their starts only grow: the last one to start at or
    // before the edit is inside the top-level field that holds it, if any does.
    let last = doc.nodes_starting_before(changed.start as u64 + 1).checked_sub(1)?;
    let top = top_level_of(doc, NodeId::from_index(last));
    let node = doc.node(top);
    let holds = top != NodeId::ROOT && node.start as usize <= changed.start && changed.end <= node.end() as usize;
    let message = matches!(node.kind, NodeKind::Message | NodeKind::Any) && node.wire == Some(WireType::Len);
    let quiet = quiet_around(doc, top, node.next);
    let lengths_agree = lengths_agree(doc);
    if !holds || !message || node.ty.is_none() || !quiet || !lengths_agree && has_fixed_array(doc, top, node.next) {
        return None;
    }
    let name =
        unit_names::unit_name(doc.bytes(), node.value_start() as usize, node.value_end as usize).map(<[u8]>::to_vec);
    Some(Inside { node, top, name, lengths_agree })
}

/// How many top-level fields on each side of an edited one must have no problem: the
/// search for a likely cause of a damaged field reads the field before it (a byte shifted
/// out of it) and a few after it (where the top level reads in step again).
const QUIET_AROUND: usize = 5;

/// The top-level field `id` is in (the root for the root).
fn top_level_of(doc: &Document, mut id: NodeId) -> NodeId {
    while let Some(parent) = doc.parent(id).filter(|&p| p != NodeId::ROOT) {
        id = parent;
    }
    id
}

/// Whether no problem is on the root, on the top-level fields from `top` up to id `next`,
/// or on the [`QUIET_AROUND`] fields on each side of them, or anywhere below them, but a
/// unit's name given twice: that is no damage, and no search for a cause starts from it
/// (its units' names are weighed on their own, [`names`]).
fn quiet_around(doc: &Document, top: NodeId, next: NodeId) -> bool {
    let (mut first, mut end) = (top, next);
    for _ in 0..QUIET_AROUND {
        if first.index() > 1 {
            first = top_level_of(doc, NodeId::from_index(first.index() - 1));
        }
        if end.index() < doc.node_count() {
            end = doc.node(end).next;
        }
    }
    let near = first..end;
    doc.problems().iter().all(|p| p.node != NodeId::ROOT && (!near.contains(&p.node) || name_given_twice(p)))
}

/// Whether `problem` is a state unit's name given twice.
fn name_given_twice(problem: &Problem) -> bool {
    matches!(problem.kind, ProblemKind::DuplicateUnitName { .. })
}

/// Whether the ids from `top` up to `next` hold a fixed array: the first length met of
/// each is the one the others are held to.
fn has_fixed_array(doc: &Document, top: NodeId, next: NodeId) -> bool {
    top.up_to(next).any(|id| doc.field_info(id).is_some_and(|f| f.packed_only))
}

/// Whether every fixed array of `doc` has the length its document keeps for its type
/// and field (the first met of each): none has a problem of its length.
fn lengths_agree(doc: &Document) -> bool {
    let differ = |p: &Problem| matches!(p.kind, ProblemKind::WrongArrayLength { .. } | ProblemKind::UnpackedFixedArray);
    !doc.problems().iter().any(differ)
}

/// What comes before top-level fields decoded alone: how many values of field `number`,
/// and the unit names given before them that theirs may take again.
struct Before {
    number: u32,
    values: u32,
    names: Option<unit_names::EarlierNames>,
}

/// The top-level fields in `range` of `source` decoded alone (with the message types
/// `types` interned), after what comes `before` them, and the fixed-array lengths to keep
/// after them. They are held to the lengths `kept` when the document's arrays agree with
/// them; when they do not, which array comes first decides which length is wrong, so they
/// may hold none. `None` when they have a problem but a unit's name given twice, or hold
/// an array they may not.
fn decoded_alone(
    source: &Source,
    decoder: &Decoder,
    types: TypeTable,
    range: Range<usize>,
    before: Before,
    kept: ArrayLengths,
    agree: bool,
) -> Option<(Document, ArrayLengths)> {
    let mut builder = Builder::with_types(source.clone(), decoder.clone(), types).eliding();
    let mut counts = FieldCounts::default();
    counts.bump(before.number, before.values);
    let held_to = if agree { kept.clone() } else { ArrayLengths::default() };
    let before = TopState { counts, array_lengths: held_to, earlier_names: before.names, ..TopState::default() };
    let part = Part { range, before, partial: true, watch: None, units: 0 };
    let after = overlay::build_part(&mut builder, None, true, Some(part)).ok()?;
    let built = builder.finish();
    let on_a_unit = |p: &Problem| name_given_twice(p) && built.parent(p.node) == Some(NodeId::ROOT);
    if !built.problems.iter().all(on_a_unit) {
        return None;
    }
    let lengths = match agree {
        true => after.array_lengths,
        false => after.array_lengths.is_empty().then_some(kept)?,
    };
    Some((built, lengths))
}

/// The old document's nodes (with the moves pending on them), types and problems, which
/// the new one is made from.
pub(super) struct Old {
    pub(super) nodes: Buffer<NodeRecord>,
    pub(super) elided: Elided,
    pub(super) moves: Moves,
    pub(super) types: TypeTable,
    pub(super) problems: Vec<Problem>,
    pub(super) array_lengths: ArrayLengths,
}

/// The document of `source` (the old bytes edited, `delta` bytes longer) made from the
/// `old` one, with the field `inside` names decoded again; `None` when the whole must be
/// decoded again.
pub(super) fn again(old: Old, decoder: &Decoder, source: &Source, inside: Inside, delta: isize) -> Option<Document> {
    let Inside { node, top, name, lengths_agree } = inside;
    let Old { nodes, elided, moves, types, problems, array_lengths } = old;
    // Its name, the same, is given before it if it was.
    let given_before = problems.iter().any(|p| p.node == top && name_given_twice(p));
    let names = names::given_before(name.as_deref().filter(|_| given_before));
    // A problem after the field moves with it, but a likely cause's words hold offsets.
    if delta != 0 && problems.iter().any(|p| p.node > top && matches!(p.kind, ProblemKind::LikelyCause { .. })) {
        return None;
    }
    let start = node.start as usize;
    let end = (node.end() as usize).checked_add_signed(delta).filter(|&end| end <= source.len())?;
    // The edit left the field where it was: the same tag, read to where it should end,
    // with the same unit name.
    let field = wire::read_field(source, start, source.len()).ok()?;
    let same_name = unit_names::unit_name(source, field.value_start, field.value_end).map(<[u8]>::to_vec) == name;
    if (field.tag.field_number, field.tag.wire_type, field.end) != (node.field_number, WireType::Len, end) || !same_name
    {
        return None;
    }
    let before = Before { number: node.field_number, values: node.index, names };
    let (built, array_lengths) =
        decoded_alone(source, decoder, types, start..end, before, array_lengths, lengths_agree)?;
    let one_field =
        built.nodes.get(1).map(|n| n.unpack()).is_some_and(|n| n.start as usize == start && n.end() as usize == end);
    if !one_field {
        return None;
    }
    let Document { nodes: fresh, elided: fresh_elided, types, problems: fresh_problems, .. } = built;
    let mut doc = Document::empty(source.clone(), decoder.clone());
    (doc.types, doc.array_lengths) = (types, array_lengths);
    let ids = elided.ids(nodes.len());
    if let Some(run) = elided.flat_run_beyond(top, node.next) {
        // A message of a flat run is clean.
        if !fresh_problems.is_empty() {
            return None;
        }
        let old =
            Old { nodes, elided, moves, types: TypeTable::default(), problems, array_lengths: Default::default() };
        let fresh = Fresh { nodes: &fresh, elided: &fresh_elided };
        return in_flat_run(doc, old, fresh, (run, top, &node), delta);
    }
    let Place::Stored(at) = elided.locate(top) else { return None };
    let next = moves.before(at).id(nodes[at].next());
    let ids_move = (fresh_elided.ids(fresh.len()) - 1) as isize - (next - top) as isize;
    let field = Field { at, end: elided.stored_before(next.index(), nodes.len()), id: top };
    let total = NodeId::from_index(ids.checked_add_signed(ids_move)?);
    (doc.nodes, doc.moves) = spliced(nodes, moves, field, &fresh, (ids_move, total), delta, (0, 0));
    doc.elided = Elided::spliced(elided, top, next, &fresh_elided, ids_move, total.index());
    doc.problems = problems_spliced(problems, (top, node.next), fresh_problems, (ids_move, delta))?;
    Some(doc)
}

/// The problems of a document whose top-level fields from id `top` up to `next` were
/// decoded again as `fresh` (their problems, with the ids of a document of them alone),
/// `ids_move` ids and `delta` bytes longer. Those before stay; those of the fields taken
/// out go (a unit's name given twice, all they can have had), and `fresh` come in their
/// place; those after move with their nodes, as they and the fields around them had no
/// other problem.
fn problems_spliced(
    problems: Vec<Problem>,
    (top, next): (NodeId, NodeId),
    fresh: Vec<Problem>,
    (ids_move, delta): (isize, isize),
) -> Option<Vec<Problem>> {
    let (kept, after): (Vec<Problem>, Vec<Problem>) =
        problems.into_iter().filter(|p| p.node < top || p.node >= next).partition(|p| p.node < top);
    // The fields' own nodes, from their place after the root of a document of them alone.
    let placed =
        |p: Problem| Some(Problem { node: NodeId::from_index((p.node.index() + top.index()).checked_sub(1)?), ..p });
    let moved = |p: Problem| {
        Some(Problem {
            node: NodeId::from_index(p.node.index().checked_add_signed(ids_move)?),
            offset: p.offset.checked_add_signed(delta as i64)?,
            kind: p.kind.moved_by(delta as i64)?,
            more_alike: p.more_alike,
        })
    };
    let fresh = fresh.into_iter().map(placed);
    kept.into_iter().map(Some).chain(fresh).chain(after.into_iter().map(moved)).collect()
}

/// The document decoded again from one top-level field: its stored nodes and the runs
/// not stored, the root's first.
struct Fresh<'a> {
    nodes: &'a [NodeRecord],
    elided: &'a Elided,
}

/// `doc` (the edited bytes, with the types) made from `old` when the edited top-level
/// field `top` (`node` before the edit) is a message of flat run `run` that holds more
/// than it: it stays in the run when it decoded again as one clean flat message of the
/// same type, and the messages and nodes after it move by its change in ids and bytes.
fn in_flat_run(
    mut doc: Document,
    old: Old,
    fresh: Fresh<'_>,
    (run, top, node): (usize, NodeId, &Node),
    delta: isize,
) -> Option<Document> {
    let Old { mut nodes, elided, moves, problems, .. } = old;
    let message = fresh.nodes.get(1)?.unpack();
    let same = (message.kind, message.ty, message.field_number) == (node.kind, node.ty, node.field_number);
    // Decoded alone, a message that no other follows keeps its leaves stored: they must
    // be what a flat run's message holds, clean leaves (the field has no problem).
    let leaf = |n: &NodeRecord| {
        let n = n.unpack();
        matches!(n.kind, NodeKind::Scalar | NodeKind::String | NodeKind::Bytes) && n.parent == Some(NodeId::ROOT + 1)
    };
    let stored_leaves = fresh.nodes.len() - 2 <= MOST_FLAT_LEAVES && fresh.nodes[2..].iter().all(leaf);
    let flat = fresh.elided.is_one_flat_message(NodeId::ROOT + 1) || fresh.elided.ids(0) == 0 && stored_leaves;
    if !same || !flat {
        return None;
    }
    let ids = elided.ids(nodes.len());
    let ids_move = (fresh.elided.ids(fresh.nodes.len()) - 1) as isize - (node.next - top) as isize;
    let total = NodeId::from_index(ids.checked_add_signed(ids_move)?);
    let first = elided.run_node(run);
    let at = elided.stored_before(first.index(), nodes.len());
    let after = Field { at: at + 1, end: at + 1, id: top };
    (nodes, doc.moves) = spliced(nodes, moves, after, &fresh.nodes[..1], (ids_move, total), delta, (0, 0));
    if top == first {
        let next = NodeId::from_index(node.next.index().checked_add_signed(ids_move)?);
        // Stored back by the moves pending on it.
        let next = Move { places: -doc.moves.before(at).places, ..Move::default() }.id(next);
        nodes[at].update(|n| (n.value_end, n.next) = (n.value_end.wrapping_add_signed(delta as i64), next));
    }
    doc.nodes = nodes;
    doc.elided = elided.resized_flat_message(run, top, (ids_move, delta as i64), total.index());
    doc.problems = problems_spliced(problems, (node.next, node.next), Vec::new(), (ids_move, delta))?;
    Some(doc)
}

/// The stored nodes of a top-level field: from position `at` up to `end`, and its id.
struct Field {
    at: usize,
    end: usize,
    id: NodeId,
}

/// The old stored nodes with those of top-level field `field` replaced by `fresh` (the
/// stored nodes of the root and that field alone, decoded again) and the nodes after it
/// moved by `ids_move` places and `delta` bytes, `total` ids in all after. In place, as a
/// gigabyte's nodes are too many to copy for one edit; the nodes after the field are left
/// as they are and their move is recorded in the [`Moves`] pending on them, as moving them
/// would read and write every one (on a gigabyte, most of an edit's time), with the
/// top-level fields after it of field number `renumbered.0` counted as having
/// `renumbered.1` more values of it before them (whole fields put in or taken out).
fn spliced(
    mut nodes: Buffer<NodeRecord>,
    mut moves: Moves,
    field: Field,
    fresh: &[NodeRecord],
    (ids_move, total): (isize, NodeId),
    delta: isize,
    renumbered: (u32, i32),
) -> (Buffer<NodeRecord>, Moves) {
    let places = i32::try_from(ids_move).expect("a document holds fewer than 2^31 nodes");
    let Field { at: k, end: old_next, id: top } = field;
    let after = k + fresh.len() - 1;
    moves.replaced_positions(k..old_next, after - k);
    // The field's own nodes: from their place after the root of `fresh` to `top` on, and
    // stored back by the moves pending where they are put.
    let placed = |id: NodeId| if id == NodeId::ROOT { id } else { NodeId::from_index(id.index() - 1 + top.index()) };
    let field: Vec<NodeRecord> = fresh[1..]
        .iter()
        .map(|n| {
            let n = n.unpack();
            NodeRecord::pack(moves.stored_back(k, Node { parent: n.parent.map(placed), next: placed(n.next), ..n }))
        })
        .collect();
    // The stored nodes before the field move where they are fewer than those after it
    // (an edit near the start of a gigabyte moves a few, not a gigabyte of records).
    nodes.replace(k..old_next, &field);
    let shifted = |offset: u64| offset.checked_add_signed(delta as i64).expect("offsets stay in the input");
    let (number, renumbered) = renumbered;
    moves.add(&mut nodes, after, Move { bytes: delta as i64, places, renumbered }, number);
    nodes[0].update(|root| (root.value_end, root.next) = (shifted(root.value_end), total));
    (nodes, moves)
}

#[cfg(test)]
pub(super) mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::decode::registry::SchemaSources;
    use crate::decode::schema::Schema;
    use crate::decode::wire::write_varint;

    /// The sample VM's state.
    pub(in crate::model) const SAMPLE: &[u8] = include_bytes!("../../samples/vm.state.bin");

    pub(in crate::model) fn decoder() -> Decoder {
        let schema = Arc::new(Schema::load(&SchemaSources::default()).unwrap());
        let root = schema.pool.get_message_by_name("sample.openvmm.SavedState");
        Decoder::new(schema, root)
    }

    /// `doc` with its bytes `span` replaced by `put`, carried over without decoding the
    /// whole again (`None` when it is not), and the whole decoded again.
    pub(in crate::model) fn replaced(doc: Document, span: Range<usize>, put: &[u8]) -> (Option<Document>, Document) {
        let decoder = doc.decoder().clone();
        let mut bytes = doc.bytes().to_vec();
        bytes.splice(span.clone(), put.iter().copied());
        let plan = plan(&doc, &span);
        let (old, ..) = doc.into_old();
        let delta = put.len() as isize - span.len() as isize;
        let source = Source::new(bytes);
        (plan.and_then(|plan| carried(old, &decoder, &source, plan, delta)), decoder.decode(source))
    }

    /// Checks that `doc` reads as `whole` node by node (types by name: they are interned
    /// in the order met), and has its problems.
    pub(in crate::model) fn assert_reads_as(doc: &Document, whole: &Document) {
        assert_eq!(said(doc), said(whole));
        let paths = |doc: &Document| -> Vec<String> {
            (0..doc.node_count()).map(|i| doc.path_of(NodeId::from_index(i)).to_string()).collect()
        };
        assert_eq!(paths(doc), paths(whole));
        let problems = |doc: &Document| {
            doc.problems().iter().map(|p| (p.node, p.offset, p.kind.describe(doc), p.more_alike)).collect::<Vec<_>>()
        };
        assert_eq!(problems(doc), problems(whole));
    }

    /// The bytes of the sample's `units[2]` (`ioapic`) with its fixed array one value
    /// shorter and `last_letter` for its name's.
    pub(super) fn shorter_ioapic(doc: &Document, last_letter: u8) -> Vec<u8> {
        let (unit, last) =
            (doc.resolve("units[2]").unwrap(), doc.resolve("units[2].state.redirection_entries[23]").unwrap());
        let (start, value) = (doc.node(unit).start as usize, doc.node(last));
        let mut bytes = SAMPLE[start..doc.node(unit).end() as usize].to_vec();
        let name = doc.node(doc.resolve("units[2].name").unwrap());
        bytes[name.value_end as usize - 1 - start] = last_letter;
        // Every length prefix around the value, one value shorter (each as long as it was).
        let cut = value.end() - value.start;
        let mut at = doc.parent(last);
        while let Some(id) = at.filter(|&id| id != NodeId::ROOT) {
            let node = doc.node(id);
            let mut prefix = Vec::new();
            write_varint(&mut prefix, node.value_end - node.value_start() - cut);
            let span = node.len_prefix();
            assert_eq!(prefix.len() as u64, span.end - span.start);
            bytes[span.start as usize - start..span.end as usize - start].copy_from_slice(&prefix);
            at = doc.parent(id);
        }
        bytes.drain(value.start as usize - start..value.end() as usize - start);
        bytes
    }

    #[test]
    fn a_value_changed_inside_a_unit_holding_a_fixed_array_is_decoded_alone_unless_its_length_changes() {
        let doc = decoder().decode(Source::new(SAMPLE.to_vec()));
        let index = doc.node(doc.resolve("units[2].state.index").unwrap());
        let at = index.value_start() as usize;
        let (carried, whole) = replaced(doc, at..at + 1, &[17]);
        assert_reads_as(&carried.expect("decoded alone: its array has the length kept"), &whole);
        // Another IOAPIC after it, then the first's array one value shorter: the whole
        // tells the other's length is wrong.
        let doc = decoder().decode(Source::new(SAMPLE.to_vec()));
        let unit = doc.node(doc.resolve("units[2]").unwrap());
        let mut other = SAMPLE[unit.start as usize..unit.end() as usize].to_vec();
        let name = doc.node(doc.resolve("units[2].name").unwrap());
        other[(name.value_end - 1 - unit.start) as usize] = b'Y';
        let shorter = shorter_ioapic(&doc, b'c');
        let doc = decoder().decode(Source::new([SAMPLE, &other].concat()));
        assert!(doc.problems().is_empty());
        let after_tag = unit.start as usize + usize::from(unit.tag_len());
        let (carried, whole) = replaced(doc, after_tag..unit.end() as usize, &shorter[usize::from(unit.tag_len())..]);
        assert!(carried.is_none(), "an array of another length is decoded with the whole");
        assert!(whole.problems().iter().any(|p| matches!(p.kind, ProblemKind::WrongArrayLength { .. })));
    }

    /// Every node with its type by name, and the problems.
    fn said(doc: &Document) -> (Vec<(Node, Option<String>)>, usize) {
        let nodes = (0..doc.node_count()).map(|i| doc.node(NodeId::from_index(i)));
        let nodes = nodes.map(|n| (Node { ty: None, ..n }, n.ty.map(|t| doc.type_name(t).to_owned())));
        (nodes.collect(), doc.problems().len())
    }

    /// The sample with the value of `vmtime` (a varint in the first unit) replaced by
    /// `value`, the one-field decode of it, and the whole decode.
    fn edited(value: &[u8]) -> (Option<Document>, Document) {
        let decoder = decoder();
        let sample = SAMPLE;
        let doc = decoder.decode(Source::new(sample.to_vec()));
        let vmtime = (0..doc.node_count())
            .map(NodeId::from_index)
            .find(|&id| doc.path_of(id).to_string() == "units[0].state.vmtime")
            .expect("the sample has it");
        let node = doc.node(vmtime);
        let span = node.value_start() as usize..node.value_end as usize;
        // The edit: the new value, and the lengths of the Any's value, the Any and the unit
        // (each one byte in the sample) fixed up by the change in size.
        let delta = value.len() as isize - span.len() as isize;
        let mut bytes = sample.to_vec();
        bytes.splice(span.clone(), value.iter().copied());
        let mut at = doc.parent(vmtime);
        while let Some(id) = at.filter(|&id| id != NodeId::ROOT) {
            let prefix = doc.node(id).len_prefix().start as usize;
            bytes[prefix] = (bytes[prefix] as isize + delta) as u8;
            at = doc.parent(id);
        }
        let unit = doc.node(top_level_of(&doc, vmtime));
        let changed = unit.start as usize..span.end;
        let inside = inside(&doc, &changed).expect("the edit stays inside the first unit");
        let source = Source::new(bytes);
        let (old, ..) = doc.into_old();
        (again(old, &decoder, &source, inside, delta), decoder.decode(source))
    }

    #[test]
    fn a_value_changed_inside_one_unit_decodes_that_unit_alone() {
        for value in [&[0x05][..], &[0x96, 0x01], &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]] {
            let (one_field, whole) = edited(value);
            let one_field = one_field.expect("decoded again alone");
            assert_eq!(said(&one_field), said(&whole), "vmtime = {value:x?}");
            // The nodes after the unit were not moved but have their move pending.
            let delta = one_field.bytes().len() as i64 - include_bytes!("../../samples/vm.state.bin").len() as i64;
            let last = one_field.nodes.len() - 1;
            assert_eq!(one_field.moves.before(last).bytes, delta, "vmtime = {value:x?}");
            assert_eq!(one_field.bytes(), whole.bytes());
        }
    }
}
