//! A problem as `check` reports it, taken from the document it was found in: its place in
//! the structure (indices aside), its path, pattern and words. Once taken, it no longer
//! needs that document, so a part of a blob decoded on another core can hand its findings
//! over to the report after the part's document is gone.

use std::mem::{Discriminant, discriminant};

use crate::decode::schema::TypeIndex;
use crate::model::Document;
use crate::model::hash::KeyMap;
use crate::model::node::{NodeId, NodeKind};
use crate::model::path::{FieldPath, path_of};
use crate::model::problem::{Problem, ProblemKind, Severity};
use crate::model::value;
use crate::render::check::{CheckSummary, SHOWN_ALIKE};

/// Problems alike: the same kind at the same place in the structure.
pub type Key = (u64, Discriminant<ProblemKind>);

/// A problem reported in full: on a line, or as a JSON object.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Which problems it is alike with.
    pub key: Key,
    /// `error` or `warning`.
    pub severity: &'static str,
    /// The kind's code (`wire-type-mismatch`).
    pub code: &'static str,
    /// Where, in the path the report gives.
    pub path: String,
    /// Held back instead, the words that stand for it and those alike.
    pub held: Held,
}

/// A problem held back because many alike were reported: where, and in what words.
#[derive(Debug, Clone)]
pub struct Held {
    /// The byte.
    pub offset: u64,
    /// Its path with every index a `[*]`.
    pub pattern: String,
    /// What is wrong.
    pub message: String,
}

/// Places in the structure, keyed by the names of the types on the way (not the document's
/// own type numbers, which each decode gives out in its own order), cached per type.
#[derive(Debug, Default)]
pub struct Places {
    by_type: Vec<Option<u64>>,
    /// Room for the nodes on a way up to the root.
    way: Vec<NodeId>,
}

/// The place of the root, where every other is folded from.
const ROOT_PLACE: u64 = 0xcbf2_9ce4_8422_2325;

impl Places {
    /// A node's place in the structure, indices aside: the field numbers and the types
    /// they are read in from the root down, folded into one number. Fields the schema does
    /// not declare all share one place per message (`#*`), however many numbers they use.
    /// The place of its parent is taken from `last` when it is the parent met last (the
    /// problems of one message sit side by side, many in a row in a hostile blob) or the
    /// node placed last (a unit's own problem comes before those of its fields), and both
    /// are left there for the next; a parent neither is found by climbing only as far as
    /// one of them (a unit's payload after the unit).
    pub fn of(&mut self, doc: &Document, at: &At, last: &mut LastParent) -> u64 {
        let Some(parent) = at.parent else { return ROOT_PLACE };
        let above = match last.known(parent) {
            Some(known) => known,
            None => self.folded(doc, parent, last),
        };
        last.parent = Some(above);
        let place = self.step(doc, at, above);
        last.placed = Some(Known { id: at.id, place, ty: at.ty });
        place
    }

    /// The place of `id`, folded down from the nearest node on its way up whose place
    /// `last` knows, or from the root.
    fn folded(&mut self, doc: &Document, id: NodeId, last: &LastParent) -> Known {
        let mut way = std::mem::take(&mut self.way);
        way.clear();
        let mut from = Known { id: NodeId::ROOT, place: ROOT_PLACE, ty: None };
        let mut here = id;
        // The root's place is where the fold starts; each node below it is a step. The way
        // keeps ids, each node read again where it is folded: a node kept whole is copied
        // out before its last parts are written (a stall on every node of the way).
        loop {
            let Some(up) = doc.parent(here) else {
                from.ty = doc.node(here).ty;
                break;
            };
            if let Some(known) = last.known(here) {
                from = known;
                break;
            }
            way.push(here);
            here = up;
        }
        let folded = way.iter().rev().fold(from, |above, &id| {
            let node = At::read(doc, id);
            Known { id, place: self.step(doc, &node, above), ty: node.ty }
        });
        self.way = way;
        folded
    }

    /// The place of `node`, below its parent `above`: the type it is read in, and whether
    /// that type declares it.
    fn step(&mut self, doc: &Document, node: &At, above: Known) -> u64 {
        let ty = above.ty.map_or(0, |t| self.type_key(doc, t));
        let declared = if node.kind.is_field_of_parent() {
            above.ty.and_then(|t| doc.type_info_at(t).field(node.field_number)).is_some()
        } else {
            doc.field_info_of(&doc.node(node.id)).is_some()
        };
        let number = if declared { u64::from(node.field_number) } else { 0 };
        (above.place ^ number.rotate_left(32) ^ ty).wrapping_mul(0x100_0000_01b3)
    }

    fn type_key(&mut self, doc: &Document, ty: TypeIndex) -> u64 {
        let i = ty.index();
        if self.by_type.len() <= i {
            self.by_type.resize(i + 1, None);
        }
        *self.by_type[i].get_or_insert_with(|| {
            doc.type_name(ty)
                .bytes()
                .fold(0x8422_2325_cbf2_9ce4, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
        })
    }
}

/// The node a problem is reported at, read once for all that is asked of it: what its
/// place is made of. Only these are kept, each read from the node by itself: a node kept
/// whole is copied out before its last parts are written, a stall on every problem.
#[derive(Debug, Clone, Copy)]
pub struct At {
    /// Its id.
    pub id: NodeId,
    parent: Option<NodeId>,
    ty: Option<TypeIndex>,
    field_number: u32,
    kind: NodeKind,
}

impl At {
    #[inline(always)]
    fn read(doc: &Document, id: NodeId) -> At {
        let node = doc.node(id);
        At { id, parent: node.parent, ty: node.ty, field_number: node.field_number, kind: node.kind }
    }
}

/// The node a problem is reported at: an unscannable span has no path of its own, so it
/// is reported at what holds it.
#[inline(always)]
pub fn reported_at(doc: &Document, problem: &Problem) -> At {
    let at = At::read(doc, problem.node);
    match at.parent.filter(|_| at.kind == NodeKind::Error) {
        Some(holder) => At::read(doc, holder),
        None => at,
    }
}

/// What the report calls a problem's severity.
pub fn severity_word(problem: &Problem) -> &'static str {
    match problem.kind.severity() {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// Counts problems in a summary: by severity, and by code. The few codes met are told
/// apart by address first, so the summary's map is searched once per code, not per problem.
pub fn count(summary: &mut CheckSummary, problems: &[Problem]) {
    let mut codes: Vec<(&'static str, usize)> = Vec::new();
    for problem in problems {
        // It and those alike it stands for ([`Problem::more_alike`]).
        let found = 1 + problem.more_alike as usize;
        match problem.kind.severity() {
            Severity::Error => summary.errors += found,
            Severity::Warning => summary.warnings += found,
        }
        let code = problem.kind.code();
        match codes.iter_mut().find(|(met, _)| std::ptr::eq(*met, code)) {
            Some((_, n)) => *n += found,
            None => codes.push((code, found)),
        }
    }
    for (code, n) in codes {
        *summary.codes.entry(code).or_default() += n;
    }
}

/// Places found last in one document, kept between its problems: the parent whose place
/// was found last ([`Places::of`]); the message whose unknown fields were keyed last
/// (they all share one place, so a run of them has it found once); the node keyed last,
/// with its key (problems alike on one node, the values of a packed run out of range,
/// come in a row); and the value of a packed run found last ([`LastValue`]).
#[derive(Debug, Default)]
pub struct LastPlaces {
    parent: LastParent,
    unknown_in: Option<(NodeId, u64)>,
    keyed: Option<(NodeId, Key)>,
    value: LastValue,
}

/// The parent whose place was found last, and the node placed last ([`Places::of`]).
#[derive(Debug, Default)]
pub struct LastParent {
    parent: Option<Known>,
    placed: Option<Known>,
}

impl LastParent {
    /// The place of `id`, if it is one of those found last.
    fn known(&self, id: NodeId) -> Option<Known> {
        // Each looked at where it is: copied out whole first, a place written just before
        // was read back before its last parts were (a stall on every problem).
        let is = |known: &Option<Known>| known.as_ref().is_some_and(|known| known.id == id);
        if is(&self.parent) {
            self.parent
        } else if is(&self.placed) {
            self.placed
        } else {
            None
        }
    }
}

/// A node whose place was found, with the type its children are read in.
#[derive(Debug, Clone, Copy)]
struct Known {
    id: NodeId,
    place: u64,
    ty: Option<TypeIndex>,
}

/// The key of a problem of `doc`, reported at `at`; `last` is kept between the problems of
/// one document.
pub fn key_of(places: &mut Places, doc: &Document, at: &At, problem: &Problem, last: &mut LastPlaces) -> Key {
    let kind = discriminant(&problem.kind);
    if let Some((met, key)) = last.keyed
        && met == at.id
        && key.1 == kind
    {
        return key;
    }
    let place = match (&problem.kind, at.parent) {
        (ProblemKind::UnknownField { .. }, Some(message)) if at.id == problem.node => match last.unknown_in {
            Some((met, place)) if met == message => place,
            _ => last.unknown_in.insert((message, places.of(doc, at, &mut last.parent))).1,
        },
        _ => places.of(doc, at, &mut last.parent),
    };
    last.keyed.insert((at.id, (place, kind))).1
}

/// A problem held back: its pattern and words.
pub fn held(doc: &Document, at: NodeId, problem: &Problem) -> Held {
    Held { offset: problem.offset, pattern: path_of(doc, at).pattern(), message: problem.kind.describe(doc) }
}

/// A problem in full; `last` is kept between the problems of one document.
pub fn finding(doc: &Document, key: Key, at: NodeId, problem: &Problem, last: &mut LastPlaces) -> Finding {
    Finding {
        key,
        severity: severity_word(problem),
        code: problem.kind.code(),
        path: problem_path(doc, at, problem.offset, &mut last.value).label(),
        held: held(doc, at, problem),
    }
}

/// The path a problem is reported at: its node's, or for a value of a packed run that has
/// no node of its own (a streamed document), the value's, looked for from the value found
/// `last` when it is of the same run and before it (a run's problems come in order).
fn problem_path(doc: &Document, at: NodeId, offset: u64, last: &mut LastValue) -> FieldPath {
    let path = path_of(doc, at);
    let node = doc.node(at);
    if node.kind != NodeKind::Packed || node.next != at + 1 {
        return path;
    }
    let (from, before) = match last.0 {
        Some((run, from, before)) if run == at && from as u64 <= offset => (from, before),
        _ => (0, 0),
    };
    let values = value::packed_values_from(doc, at, from).zip(before..);
    match values.take_while(|(v, _)| v.offset as u64 <= offset).find(|(v, _)| v.offset as u64 == offset) {
        Some((v, k)) => {
            last.0 = Some((at, v.offset, k));
            path.element(node.index + k)
        }
        None => path,
    }
}

/// The value of a packed run found last by its offset: the run, where the value starts,
/// and its place in the run ([`problem_path`]). Without it, a run of a million values out
/// of range, each reported, was looked through from its start for each.
#[derive(Debug, Default)]
struct LastValue(Option<(NodeId, usize, u32)>);

/// Fields of the top-level fields handed over from `top` on (the last nodes of a streamed
/// document): their nodes, with the values of packed runs counted one each although a
/// streamed document gives them no nodes, and those counted but not built where a field
/// was skimmed.
pub fn fields(doc: &Document, top: NodeId) -> usize {
    let end = NodeId::from_index(doc.node_count());
    let built: usize = top
        .up_to(end)
        .map(|id| match doc.kind_of(id) {
            NodeKind::Packed if doc.node(id).next == id + 1 => 1 + value::packed_values(doc, id).count(),
            _ => 1,
        })
        .sum();
    built + doc.fields_skimmed_under(top)
}

/// Values kept per group of problems alike. A hostile blob may hold a million problems in
/// a row, all alike or a few kinds taking turns (each unit's name, payload and place), so
/// the groups met last are kept at hand: such a run costs a few comparisons each, not a
/// map lookup.
#[derive(Debug)]
pub struct Groups<T> {
    index: KeyMap<Key, usize>,
    groups: Vec<(Key, T)>,
    /// The groups met last, the one met longest ago replaced first.
    recent: [Option<(Key, usize)>; RECENT_GROUPS],
    /// Where in `recent` the next group met goes.
    next_recent: usize,
}

/// Groups kept at hand ([`Groups`]).
const RECENT_GROUPS: usize = 4;

impl<T> Default for Groups<T> {
    fn default() -> Self {
        Groups { index: KeyMap::default(), groups: Vec::new(), recent: [None; RECENT_GROUPS], next_recent: 0 }
    }
}

impl<T: Default> Groups<T> {
    /// The value of the problems alike with `key`, made anew if there is none yet.
    pub fn of(&mut self, key: Key) -> &mut T {
        let at = match self.recent.iter().flatten().find(|(met, _)| *met == key) {
            Some(&(_, at)) => at,
            None => {
                let groups = &mut self.groups;
                let at = *self.index.entry(key).or_insert_with(|| {
                    groups.push((key, T::default()));
                    groups.len() - 1
                });
                self.recent[self.next_recent] = Some((key, at));
                self.next_recent = (self.next_recent + 1) % RECENT_GROUPS;
                at
            }
        };
        &mut self.groups[at].1
    }

    /// Every group with its key, in the order first met, leaving none.
    pub fn drain(&mut self) -> impl Iterator<Item = (Key, T)> + '_ {
        self.index.clear();
        self.recent = [None; RECENT_GROUPS];
        self.groups.drain(..)
    }
}

/// What a part of a blob, decoded on its own, found: its counts, and its problems in order
/// as the report will need them. Of those alike, only the first [`SHOWN_ALIKE`] are taken
/// in full (every one for JSON, which holds nothing back); the rest are counted, and the
/// first of them kept in words.
#[derive(Debug, Default)]
pub struct PartFindings {
    /// Counts, fields included.
    pub summary: CheckSummary,
    /// The problems taken in full, in order.
    pub kept: Vec<Finding>,
    /// Per key: how many were taken in full, how many more there were, and the first of those.
    pub more: Groups<(usize, usize, Option<Held>)>,
    places: Places,
}

impl crate::model::parts::Gathered for PartFindings {}

impl PartFindings {
    /// Takes the fields and problems of the top-level fields handed over from `top` on.
    pub fn look(&mut self, doc: &Document, top: NodeId, every_one: bool) {
        self.summary.fields += fields(doc, top);
        let from = doc.problems().partition_point(|p| p.node < top);
        count(&mut self.summary, &doc.problems()[from..]);
        let mut last = LastPlaces::default();
        for problem in &doc.problems()[from..] {
            let at = reported_at(doc, problem);
            let key = key_of(&mut self.places, doc, &at, problem, &mut last);
            let at = at.id;
            let (taken, more, first) = self.more.of(key);
            if every_one || *taken < SHOWN_ALIKE {
                *taken += 1;
                self.kept.push(finding(doc, key, at, problem, &mut last));
            } else {
                // It, and those alike it stands for, counted and not kept.
                *more += 1 + problem.more_alike as usize;
                first.get_or_insert_with(|| held(doc, at, problem));
            }
        }
    }
}
