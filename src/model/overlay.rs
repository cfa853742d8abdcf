//! The schema overlay: scans the bytes guided by the schema and builds the pre-order node
//! arena, naming fields, resolving every Any by its type URL and recording problems.
//!
//! Invariants: it never fails and never panics; it walks with an explicit stack (no machine
//! recursion per nesting level) bounded by [`Limits::max_depth`]; every length it reads is
//! checked against the bytes actually present before anything is done with it; and the
//! nodes of each frame tile its bytes, so the whole input is covered exactly once.
//!
//! A nested message is decoded optimistically in one pass: if its bytes turn out not to be
//! a valid message at its own level, that frame's nodes are rolled back and the field is
//! shown raw, with the reason. So the cost is linear in the input on good data.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use prost_reflect::MessageDescriptor;

use crate::decode::schema::{
    FieldClass, FieldInfo, Schema, TYPE_URL_PREFIX, TypeIndex, TypeInfo, TypeTable, VarintRange, is_state_unit,
};
use crate::decode::wire::{self, GroupEnds, PackedRun, Plain, RawField, WireError, WireErrorKind, WireType};
use crate::model::builder::{AlikeOn, Builder};
use crate::model::cause;
use crate::model::decoder::{Focus, Limits, TopLevelHook};
use crate::model::field_counts::{FieldCounts, FrameCounts};
use crate::model::hash::KeyMap;
use crate::model::node::{Node, NodeId, NodeKind};
use crate::model::problem::{InputText, ProblemKind};
use crate::model::unit_names::{EarlierNames, UnitNames};

mod flat;
mod listing;
mod skim;

pub(in crate::model) use skim::any_url_and_payload;

/// Decodes the builder's bytes as its decoder's root type (schema-less when it has none),
/// adding nodes, types and problems. With a hook, each top-level subtree is handed to it
/// when complete and then dropped, so memory stays bounded by the largest top-level field.
/// With `element_nodes` false, the values of packed runs are checked but get no nodes.
pub(crate) fn build(builder: &mut Builder, hook: Option<TopLevelHook<'_>>, element_nodes: bool) -> std::io::Result<()> {
    build_part(builder, hook, element_nodes, None).map(drop)
}

/// What the walk of the top level carries from one top-level field to the next: how often
/// each field number occurred (for `[i]` indices and the root's required fields), the
/// names of the state units, and the length of each fixed array where it was met first.
/// A decode of a part of the top level starts from the state before it and leaves the
/// state after it ([`crate::model::parts`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct TopState {
    /// Occurrences of each top-level field number.
    pub(crate) counts: FieldCounts,
    /// The unit names met before, when a part is decoded beside others: those a scan met
    /// (a part's own names are its walk's alone, and go with it).
    pub(crate) earlier_names: Option<EarlierNames>,
    /// Fixed-array lengths by (type name, field number).
    pub(crate) array_lengths: ArrayLengths,
    /// What is left of the budget of the search for likely causes (`None`: all of it).
    pub(crate) budget_left: Option<usize>,
    /// Whether the last top-level field is a unit kept for the search for a byte shifted
    /// out of it, which the next field's problems may start.
    pub(crate) ends_in_searched_unit: bool,
    /// Whether the top level was damaged (a field cut short): the root's own required
    /// fields are then not asked for.
    pub(crate) damaged: bool,
    /// Whether the part searched for no likely cause because the first part's budget ran
    /// out ([`BudgetWatch::Heeds`]): it was decoded as if no budget was left before it.
    pub(crate) without_budget: bool,
}

/// Where the first byte of `text` that is not UTF-8 is, if one is. Most strings (names,
/// type URLs) are ASCII, told by a few words read inline: the full check is a call, which
/// took 2.5% of a `check` of units that each fail the skim.
#[inline]
fn invalid_utf8_at(text: &[u8]) -> Option<usize> {
    if text.is_ascii() {
        return None;
    }
    std::str::from_utf8(text).err().map(|e| e.valid_up_to())
}

/// The length of fixed arrays by the name of the type that holds them and their field
/// number.
pub(crate) type ArrayLengths = std::collections::HashMap<(Arc<str>, u32), u32>;

/// How a part's search for likely causes keeps in step with the parts decoded beside it.
/// The budget is the one pass's, spent front to back: once the first part has spent it, a
/// later part's own searches would be thrown away, so it stops making them.
#[derive(Debug, Clone)]
pub(crate) enum BudgetWatch {
    /// The first part, whose budget is the one pass's: says how much of it it has spent.
    Says(Arc<AtomicUsize>),
    /// A later part, told how much the first part has spent. Once too little can be left
    /// before it for the searches it has made (the first part has spent some, and that and
    /// its own reach the whole budget), it stops with [`BUDGET_RAN_OUT_BEFORE`], to be
    /// decoded again without one; once the first part has spent it all, a part that has
    /// not searched yet goes on without one.
    Heeds(Arc<AtomicUsize>),
}

/// The error kind of a part that stopped because the budget ran out before it
/// ([`BudgetWatch::Heeds`]).
pub(crate) const BUDGET_RAN_OUT_BEFORE: std::io::ErrorKind = std::io::ErrorKind::Interrupted;

/// A part of the top level to decode: the root's bytes from `range.start` to `range.end`
/// (at field boundaries), after `before`. A `partial` part is one of several: the root's
/// own rules (no units, required fields) wait for the whole.
pub(crate) struct Part {
    pub(crate) range: std::ops::Range<usize>,
    pub(crate) before: TopState,
    /// How many state units the part is thought to hold (0 when not known): its walk makes
    /// room for as many names at once, at most one per 64 bytes of the part.
    pub(crate) units: usize,
    pub(crate) partial: bool,
    pub(crate) watch: Option<BudgetWatch>,
}

/// Decodes the builder's bytes, or only `part` of its top level; returns the top-level
/// state after a partial part (the default state otherwise).
pub(crate) fn build_part(
    builder: &mut Builder,
    hook: Option<TopLevelHook<'_>>,
    element_nodes: bool,
    part: Option<Part>,
) -> std::io::Result<TopState> {
    let decoder = builder.decoder().clone();
    let builder_len = builder.bytes().len();
    let limits = decoder.limits();
    let schema = Arc::clone(decoder.schema());
    let mut walker = Walker {
        b: builder,
        schema: &schema,
        limits,
        counts: FrameCounts::default(),
        groups: GroupEnds::new(limits.max_depth as usize),
        element_nodes,
        unit_names: UnitNames::default(),
        earlier_names: None,
        cause_budget: if decoder.searches_causes() { cause::budget_for(builder_len) } else { 0 },
        trial_types: TypeTable::default(),
        last_unit: None,
        url_guesses: cause::UrlGuesses::default(),
        array_lengths: KeyMap::default(),
        hook,
        partial: false,
        after: TopState::default(),
        skimmed: skim::Skimmed::default(),
        skim_backoff: skim::Backoff::default(),
        held: None,
        top_found_at: 0,
        urls: KeyMap::default(),
        last_url: None,
        unknown_url: None,
        last_taken: None,
        watch: None,
        budget_at_start: 0,
    };
    walker.run(decoder.root_type(), part)?;
    Ok(walker.after)
}

/// The numbers of the root's fields that hold state units whose first field is a string
/// (their name), for reading names without decoding units
/// ([`crate::model::unit_names::unit_name`]).
pub(crate) fn unit_fields(root: &MessageDescriptor) -> Vec<u32> {
    root.fields()
        .filter(|f| match f.kind() {
            prost_reflect::Kind::Message(m) => {
                is_state_unit(&m) && m.get_field(1).is_some_and(|n| n.kind() == prost_reflect::Kind::String)
            }
            _ => false,
        })
        .map(|f| f.number())
        .collect()
}

/// Whether a field holds state units.
fn is_unit_type(class: &FieldClass) -> bool {
    matches!(class, FieldClass::Message(m) if is_state_unit(m))
}

/// The most type URLs a decode remembers resolved: a blob of distinct URLs (none real)
/// must not grow the memory of them without bound.
const MOST_URLS_REMEMBERED: usize = 1024;

/// How deep a frame is: in messages, and in Any payloads.
#[derive(Debug, Clone, Copy, Default)]
struct Level {
    depth: u32,
    any_depth: u32,
}

impl Level {
    /// One message deeper; also one Any deeper for an Any payload.
    fn nested(self, any_payload: bool) -> Level {
        Level { depth: self.depth + 1, any_depth: self.any_depth + u32::from(any_payload) }
    }
}

/// What the `value` field of an Any frame decodes as.
#[derive(Debug, Clone)]
enum AnyTarget {
    NotAny,
    /// The payload's type, and where the Any's last `value` field starts: the VMM keeps
    /// the last (it is a bytes field, OpenVMM's `ProtobufMessage`), so only that one is
    /// decoded and any earlier one is shown as bytes.
    Resolved(TypeIndex, usize),
    Unresolved,
}

struct Frame {
    node: NodeId,
    ty: Option<TypeIndex>,
    pos: usize,
    end: usize,
    level: Level,
    any: AnyTarget,
    /// Whether bytes of which no field parses make the whole field raw (rolled back):
    /// true for nested messages, false for the root and truncated fields (whose
    /// truncation is the one report).
    may_roll_back: bool,
    /// Whether it reads a group (to its end tag) rather than a length-delimited message.
    group: bool,
    /// Whether a wire error or truncation was met here (required-field checks are moot).
    damaged: bool,
    /// Where this frame's problems start, and its field counts' place, for rollback.
    problems_at: usize,
    counts_at: usize,
    /// How many problems had been found when it began ([`Builder::problems_found`]).
    found_at: usize,
}

struct Walker<'a, 'h> {
    b: &'a mut Builder,
    schema: &'a Schema,
    limits: Limits,
    hook: Option<TopLevelHook<'h>>,
    /// Occurrences of each field number, one entry per open frame, for `[i]` indices and
    /// required-field checks.
    counts: FrameCounts,
    /// Group ends found so far, so nested groups are scanned once, not once per level.
    groups: GroupEnds,
    /// Whether packed values become nodes (else their problems go on the run).
    element_nodes: bool,
    /// The names of the state units met so far at the top level.
    unit_names: UnitNames,
    /// The names met before the part decoded, when it is one of several.
    earlier_names: Option<EarlierNames>,
    /// Bytes the search for likely causes may still decode.
    cause_budget: usize,
    /// The message types the search's trial decodes interned, kept for the next search: a
    /// table of their own, as a trial that runs while another holds the table starts from
    /// an empty one, and the table the last to end gives back is kept. Held by the walk,
    /// not by its thread: a scoped thread's implicit join does not wait for thread-locals
    /// to be dropped (rust-lang/rust#116179), and libFuzzer's leak check after each input
    /// found one still held.
    trial_types: TypeTable,
    /// The top-level unit decoded last, while a shifted byte in it may still show after it.
    last_unit: Option<LastUnit>,
    /// Declared type URLs an unknown one may be a damaged copy of.
    url_guesses: cause::UrlGuesses,
    /// The count of each fixed array (type, field number) where it was met first.
    array_lengths: KeyMap<(TypeIndex, u32), u32>,
    /// Whether only a part of the top level is walked: the root's own rules wait.
    partial: bool,
    /// The top-level state once the root is closed.
    after: TopState,
    /// Type URLs resolved so far ([`Self::resolve_url`]).
    urls: KeyMap<Box<[u8]>, Resolved>,
    /// Where the URL resolved last is in the input, and what it named.
    last_url: Option<(std::ops::Range<usize>, Resolved)>,
    /// Where the unit name found taken last is in the input.
    last_taken: Option<std::ops::Range<usize>>,
    /// Where the unknown URL met last is in the input, and the declared URL it may be a
    /// damaged copy of.
    unknown_url: Option<(std::ops::Range<usize>, Option<String>)>,
    /// Room for the skims of clean top-level fields, kept to be reused ([`skim`]).
    skimmed: skim::Skimmed,
    /// When skims (or, listing, runs of messages) fail in a row, how many top-level fields
    /// to build without trying one.
    skim_backoff: skim::Backoff,
    /// Under a skimming decoder: the first top-level field done but not yet handed to the
    /// hook, and where its problems start ([`Self::top_level_done`]).
    held: Option<(NodeId, usize)>,
    /// How this part keeps its search in step with the parts beside it.
    watch: Option<BudgetWatch>,
    /// The search budget when the walk began.
    budget_at_start: usize,
    /// How many problems had been found ([`Builder::problems_found`]) when the current
    /// top-level field began: it is left cold only if none has been since.
    top_found_at: usize,
}

/// Whether a frame reads a top-level length-delimited field: one the root holds (one
/// message deeper than it), not a group.
fn is_top_level_len(frame: &Frame) -> bool {
    frame.level.depth == 1 && !frame.group
}

/// How many nodes of top-level fields a streaming decode holds before handing them over.
const HELD_NODES: usize = 256;

/// What a type URL names: the type (interned), and whether the URL is exactly the one the
/// VMM expects for it; `None` for no registered type.
type Resolved = Option<(TypeIndex, bool)>;

/// Where a unit first stops parsing: the byte, where the message that stops there starts,
/// and the length prefixes that may lie ([`cause::LengthSuspect`]).
struct Anomaly {
    at: usize,
    message_start: usize,
    lengths: Vec<cause::LengthSuspect>,
}

/// What the search for a shifted byte needs of a decoded unit ([`cause::find_shift`]): a
/// byte inserted into an opaque value, or dropped from it, leaves the unit clean and shows
/// only where the next top-level field is read out of step.
struct LastUnit {
    node: UnitNode,
    ty: TypeIndex,
}

/// The node of [`LastUnit`]: its id while the builder holds it, and a copy once a streamed
/// unit is handed over and dropped (its id is then reused). Copied only then: a copy made
/// of every unit as it was done, read back just after it was unpacked, cost a twentieth
/// of a `check` of small units.
enum UnitNode {
    Held(NodeId),
    Dropped(Node),
}

impl Walker<'_, '_> {
    fn buf(&self) -> &[u8] {
        self.b.bytes()
    }

    /// The schema facts of an interned type.
    fn info(&self, ty: TypeIndex) -> &TypeInfo {
        self.b.types().get(ty)
    }

    /// The schema facts of field `field_index` of an interned type.
    fn field_info(&self, ty: TypeIndex, field_index: usize) -> &FieldInfo {
        &self.info(ty).fields[field_index]
    }

    fn run(&mut self, root: Option<&MessageDescriptor>, part: Option<Part>) -> std::io::Result<()> {
        let ty = root.map(|m| self.b.types_mut().intern(self.schema, m));
        let end = self.buf().len();
        let root = self.push_untagged(None, NodeKind::Root, 0..end, (0, 0), ty);
        if self.b.decoder().focus().is_some_and(Focus::is_empty) {
            // Nothing is to be built (a raw edit needs only the bytes): no walk at all.
            self.b.set_next(root, root + 1);
            return Ok(());
        }
        let mut top = self.frame(root, ty, 0..end, Level::default(), false);
        if let Some(part) = part {
            (top.pos, top.end) = (part.range.start, part.range.end.min(end));
            top.damaged = part.before.damaged;
            self.resume(top.counts_at, part.before);
            self.partial = part.partial;
            self.watch = part.watch;
            self.unit_names.make_room(self.b.bytes(), part.units.min(part.range.len() / 64));
        }
        self.budget_at_start = self.cause_budget;
        let mut stack = vec![top];
        // Where the top-level field being decoded starts, in nodes and problems.
        let mut top_level = (0, 0);
        while let Some(frame) = stack.last() {
            let at_top = stack.len() == 1;
            if frame.pos >= frame.end {
                if at_top {
                    // The root's own rules come next: what is held goes before them.
                    self.hand_over_held()?;
                }
                let done = stack.pop().expect("stack is not empty");
                let node = done.node;
                self.finish(done);
                if stack.len() == 1 {
                    self.top_level_done(node, top_level.1)?;
                }
                continue;
            }
            let frame = stack.last_mut().expect("stack is not empty");
            if at_top {
                top_level = (self.b.node_count(), self.b.problems().len());
                self.top_found_at = self.b.problems_found();
                if self.skim_run(frame) || self.listed_run(frame) || self.unknown_run(frame) {
                    self.top_level_done(NodeId::from_index(top_level.0), top_level.1)?;
                    continue;
                }
            }
            match self.step(frame) {
                Step::Continue if at_top && self.b.node_count() > top_level.0 => {
                    self.top_level_done(NodeId::from_index(top_level.0), top_level.1)?;
                }
                Step::Continue => {}
                Step::Descend(child) => stack.push(child),
                Step::Rollback(error) => {
                    let frame = stack.pop().expect("stack is not empty");
                    let node = frame.node;
                    self.rollback(frame, error);
                    if stack.len() == 1 {
                        self.top_level_done(node, top_level.1)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Hands a complete top-level subtree to the hook, if there is one, then drops it.
    /// Under a skimming decoder (`check`, which only counts and reports) the subtrees are
    /// handed over a few hundred nodes at a time, each hand-over all the top-level fields
    /// from its first node on, so a million small top-level fields are not a million
    /// calls; a skimmed field (the one [`Document::fields_skimmed_under`] counts) ends one.
    fn top_level_done(&mut self, node: NodeId, problems_at: usize) -> std::io::Result<()> {
        self.remember_unit(node, problems_at);
        self.watch_budget()?;
        if self.hook.is_none() {
            if self.b.problems_found() == self.top_found_at {
                self.b.leave_cold(node, true);
            }
            return Ok(());
        }
        // Each field's problems in order as it is done: the fields held are then in order
        // too (a few sorted at a time, not hundreds at once).
        self.b.sort_problems_from(problems_at);
        let held = *self.held.get_or_insert((node, problems_at));
        let doc = self.b.document();
        let skimmed = doc.fields_skimmed_under(node) > 0 || doc.listed.is_some_and(|run| run.node == node);
        if !skimmed && self.b.node_count() - held.0.index() < HELD_NODES {
            return Ok(());
        }
        self.hand_over_held()
    }

    /// Hands the top-level fields held to the hook, then drops them.
    fn hand_over_held(&mut self) -> std::io::Result<()> {
        let (Some((node, problems_at)), Some(hook)) = (self.held.take(), self.hook.as_mut()) else { return Ok(()) };
        hook(self.b.document(), node)?;
        if let Some(LastUnit { node: unit, .. }) = &mut self.last_unit
            && let UnitNode::Held(id) = *unit
            && id >= node
        {
            *unit = UnitNode::Dropped(self.b.node(id));
        }
        self.b.truncate(node.index(), problems_at);
        Ok(())
    }

    /// Keeps the search in step with the parts beside this one ([`BudgetWatch`]).
    fn watch_budget(&mut self) -> std::io::Result<()> {
        let used = self.budget_at_start - self.cause_budget;
        match &self.watch {
            // Stored only when it changed: a store on every top-level field would take the
            // cache line from the part that reads it each time (a million small fields
            // spent a fifth of their time on it).
            Some(BudgetWatch::Says(spent)) if spent.load(Ordering::Relaxed) != used => {
                spent.store(used, Ordering::Relaxed)
            }
            Some(BudgetWatch::Heeds(spent)) => {
                let first = spent.load(Ordering::Relaxed);
                // The one pass would come here with less left than this part has used.
                if used > 0 && first > 0 && first.saturating_add(used) >= self.budget_at_start {
                    return Err(std::io::Error::new(
                        BUDGET_RAN_OUT_BEFORE,
                        "the search budget ran out before this part",
                    ));
                }
                if first < self.budget_at_start {
                    return Ok(());
                }
                self.cause_budget = 0;
                self.last_unit = None;
                self.after.without_budget = true;
                self.watch = None;
            }
            _ => {}
        }
        Ok(())
    }

    /// Reads one field of `frame` and records it.
    fn step(&mut self, frame: &mut Frame) -> Step {
        if frame.node == NodeId::ROOT && self.b.decoder().focus().is_some() {
            self.read_past(frame);
            if frame.pos >= frame.end {
                return Step::Continue;
            }
        }
        let (pos, end) = (frame.pos, frame.end);
        let read = wire::read_field_remembering(self.b.bytes(), pos, end, &mut self.groups);
        // A length that runs past the end is this field's own only when the field can be
        // read up to its value (the error may come from inside a group being skipped).
        let cut = || wire::read_truncated_field(self.buf(), pos, end);
        let (raw, truncated) = match read {
            Ok(raw) => (raw, None),
            Err(WireError { reason: WireErrorKind::LengthPastEnd { len, have }, .. }) if cut().is_some() => {
                (cut().expect("just checked"), Some((len, have as u64)))
            }
            // A nested message of which no field parses is not shown as one, but raw.
            Err(error) if frame.may_roll_back && self.b.node_count() == frame.node.index() + 1 => {
                return Step::Rollback(error);
            }
            Err(error) => {
                frame.pos = end;
                frame.damaged = true;
                let node = self.push_untagged(Some(frame.node), NodeKind::Error, pos..end, (0, 0), None);
                self.b.set_next(node, node + 1);
                self.problem(node, error.offset, ProblemKind::Wire { in_type: frame.ty, reason: error.reason });
                return Step::Continue;
            }
        };
        frame.pos = raw.end;
        let number = raw.tag.field_number;
        let focused = frame.node == NodeId::ROOT && truncated.is_none();
        if focused && self.b.decoder().focus().is_some_and(|focus| !focus.mentions(number)) {
            return Step::Continue; // read past: a field the focus never names needs no count
        }
        let index = self.bump(frame.counts_at, number);
        if focused && self.b.decoder().focus().is_some_and(|focus| !focus.wants(number, index)) {
            return Step::Continue; // read past: counted, but not built
        }
        if focused && self.b.decoder().focus().and_then(Focus::last_wanted) == Some((number, index)) {
            frame.end = frame.pos; // the root closes once this field is built
        }
        let Some((len, have)) = truncated else {
            return self.field(frame, &raw, index, false);
        };
        frame.damaged = true;
        let node = NodeId::from_index(self.b.node_count());
        let step = self.field(frame, &raw, index, true);
        let in_type = frame.ty;
        let input_ends = end == self.buf().len();
        self.drop_enclosing_truncation();
        let kind = ProblemKind::Truncated { len, have, in_type, input_ends };
        self.problem(node, raw.start + raw.tag_len as usize, kind);
        step
    }

    /// Reads past, in one tight loop, the top-level fields a focus does not build: those
    /// of fields it never names, and for a lookup of one occurrence, those of its field
    /// before that one (counted). A lookup near the end of a gigabyte of small fields then
    /// costs a scan of their tags, not a step each. It stops at a field the focus builds,
    /// and at one that does not read or is a group: [`Self::step`] reads those.
    fn read_past(&mut self, frame: &mut Frame) {
        let Some(focus) = self.b.decoder().focus() else { return };
        let wanted = focus.last_wanted();
        let before = wanted.map_or(0, |(number, _)| self.counts[frame.counts_at].count(number));
        let (bytes, mut pos, mut met) = (self.b.bytes(), frame.pos, 0);
        while pos < frame.end {
            // Most of a gigabyte of small messages is a run of the counted field's, each with
            // a one-byte tag and length: they are counted in a loop of their own.
            if let Some((number, index)) = wanted
                && let Some(&tag) = bytes.get(pos).filter(|&&tag| u32::from(tag >> 3) == number)
            {
                let most = index.saturating_sub(before + met);
                let (after, run) = wire::step_over_short_run(bytes, pos, frame.end, frame.end, tag, most);
                (pos, met) = (after, met + run);
                if run > 0 {
                    continue;
                }
            }
            let (found, next) = match wire::skim_field(bytes, pos, frame.end) {
                Some(skimmed) => skimmed,
                None => match wire::read_field(bytes, pos, frame.end) {
                    Ok(raw) if raw.tag.wire_type != WireType::StartGroup => (raw.tag.field_number, raw.end),
                    _ => break,
                },
            };
            match wanted {
                Some((number, index)) if found == number && before + met < index => met += 1,
                _ if focus.mentions(found) => break,
                _ => {}
            }
            pos = next;
        }
        frame.pos = pos;
        if let Some((number, _)) = wanted.filter(|_| met > 0) {
            self.bump_by(frame.counts_at, number, met);
        }
    }

    fn field(&mut self, parent: &Frame, raw: &RawField, index: u32, truncated: bool) -> Step {
        let number = raw.tag.field_number;
        if !matches!(parent.any, AnyTarget::NotAny) && number == 2 && raw.tag.wire_type == WireType::Len {
            return self.any_payload(parent, raw, index, truncated);
        }
        let Some((ty, field_index)) = parent.ty.and_then(|ty| Some((ty, self.info(ty).field_index(number)?))) else {
            return self.unknown_field(parent, raw, index);
        };
        let field = self.field_info(ty, field_index);
        let (is_list, is_group, packed_only) = (field.is_list, field.is_group, field.packed_only);
        match (&field.class, raw.tag.wire_type) {
            (FieldClass::Message(_), WireType::Len) => {
                let child = self.child_type(ty, field_index);
                self.message(parent, raw, index, child, truncated, NodeKind::Message)
            }
            (FieldClass::Message(_), WireType::StartGroup) if is_group => {
                let child = self.child_type(ty, field_index);
                let node = self.raw_field(parent, raw, index);
                self.group_frame(parent, raw, node, child)
            }
            (FieldClass::String, WireType::Len) => {
                let node = self.leaf(parent, raw, index, NodeKind::String);
                if let Some(valid) = invalid_utf8_at(&self.buf()[raw.value_start..raw.value_end]) {
                    self.problem(node, raw.value_start + valid, ProblemKind::InvalidUtf8);
                }
                Step::Continue
            }
            (FieldClass::Bytes, WireType::Len) => {
                self.leaf(parent, raw, index, NodeKind::Bytes);
                Step::Continue
            }
            (FieldClass::Scalar(w), WireType::Len) if is_list && !truncated => {
                let w = *w;
                self.packed(parent, raw, index, w, field_index);
                Step::Continue
            }
            (FieldClass::Scalar(_), WireType::Len) if is_list => {
                // A packed run the input ends inside: what remains is shown raw, and the
                // truncation is the one problem (the wire type is right).
                self.leaf(parent, raw, index, NodeKind::Bytes);
                Step::Continue
            }
            (FieldClass::Scalar(w), found) if *w == found => {
                let range = self.field_info(ty, field_index).range;
                let node = self.leaf(parent, raw, index, NodeKind::Scalar);
                if packed_only {
                    self.problem(node, raw.start, ProblemKind::UnpackedFixedArray);
                }
                self.check_range(node, range, raw.scalar, raw.value_start, None);
                Step::Continue
            }
            _ => {
                let declared = self.declared(ty, field_index);
                let vmm_says = self.field_info(ty, field_index).class.vmm_expects();
                let node = self.raw_field(parent, raw, index);
                let found = raw.tag.wire_type;
                self.problem(node, raw.start, ProblemKind::WireTypeMismatch { declared, found, vmm_says });
                self.group_frame(parent, raw, node, None)
            }
        }
    }

    /// The interned type of a message field, interning it on first use.
    fn child_type(&mut self, ty: TypeIndex, field_index: usize) -> Option<TypeIndex> {
        if let Some(child) = self.b.types().child(ty, field_index) {
            return Some(child);
        }
        let FieldClass::Message(m) = self.field_info(ty, field_index).class.clone() else { return None };
        let child = self.b.types_mut().intern(self.schema, &m);
        self.b.types_mut().set_child(ty, field_index, child);
        Some(child)
    }

    fn declared(&self, ty: TypeIndex, field_index: usize) -> Box<str> {
        let field = self.field_info(ty, field_index);
        if field.is_list { format!("repeated {}", field.type_name).into() } else { field.type_name.as_str().into() }
    }

    /// A field shown by its wire type alone: scalar, bytes, or a schema-less group.
    fn raw_field(&mut self, parent: &Frame, raw: &RawField, index: u32) -> NodeId {
        match raw.tag.wire_type {
            WireType::Len => self.leaf(parent, raw, index, NodeKind::Bytes),
            WireType::StartGroup => self.push(parent.node, NodeKind::Group, raw, index, None),
            _ => self.leaf(parent, raw, index, NodeKind::Scalar),
        }
    }

    /// A field its message does not declare: a raw node with that warning (a group is then
    /// read through as one).
    fn unknown_field(&mut self, parent: &Frame, raw: &RawField, index: u32) -> Step {
        let node = self.raw_field(parent, raw, index);
        if let Some(in_type) = parent.ty {
            // Many in one message (a check's report shows no more of them) may be counted.
            let counted = self.b.decoder().alike_kept().map(|kept| (AlikeOn::Message(parent.node), kept));
            let kind = ProblemKind::UnknownField { in_type };
            self.problem_counted(node, raw.start, kind, counted, |_| Some(parent.node));
        }
        self.group_frame(parent, raw, node, None)
    }

    /// Descends into a group node made by [`Self::raw_field`], if it is one.
    fn group_frame(&mut self, parent: &Frame, raw: &RawField, node: NodeId, ty: Option<TypeIndex>) -> Step {
        if raw.tag.wire_type != WireType::StartGroup {
            return Step::Continue;
        }
        self.b.update(node, |n| n.ty = ty);
        if parent.level.depth + 1 > self.limits.max_depth {
            let limit = self.limits.max_depth;
            self.problem(node, raw.start, ProblemKind::DepthLimit { limit });
            self.b.set_next(node, node + 1);
            return Step::Continue;
        }
        let frame = self.frame(node, ty, raw.value_start..raw.value_end, parent.level.nested(false), false);
        Step::Descend(Frame { any: AnyTarget::NotAny, group: true, ..frame })
    }

    fn message(
        &mut self,
        parent: &Frame,
        raw: &RawField,
        index: u32,
        ty: Option<TypeIndex>,
        truncated: bool,
        kind: NodeKind,
    ) -> Step {
        if parent.level.depth + 1 > self.limits.max_depth {
            let node = self.leaf(parent, raw, index, NodeKind::Bytes);
            let limit = self.limits.max_depth;
            self.problem(node, raw.value_start, ProblemKind::DepthLimit { limit });
            return Step::Continue;
        }
        let is_any = ty.is_some_and(|ty| self.info(ty).is_any);
        let kind = if kind == NodeKind::Message && is_any { NodeKind::Any } else { kind };
        let node = self.push(parent.node, kind, raw, index, ty);
        if let Some(ty) = ty.filter(|_| !truncated)
            && self.flat_leaves(node, ty, raw.value_start..raw.value_end)
        {
            if kind == NodeKind::Message && self.b.elides() {
                // A message alone is kept: only a run of them is worth its reads.
                let tag = &self.buf()[raw.start..raw.start + usize::from(raw.tag_len)];
                let followed = raw.end < parent.end && self.buf()[raw.end..parent.end].starts_with(tag);
                self.b.elide_flat(node, followed);
            }
            return Step::Continue;
        }
        let level = parent.level.nested(kind == NodeKind::AnyPayload);
        Step::Descend(self.frame(node, ty, raw.value_start..raw.value_end, level, !truncated))
    }

    fn any_payload(&mut self, parent: &Frame, raw: &RawField, index: u32, truncated: bool) -> Step {
        let ty = match parent.any {
            AnyTarget::Resolved(ty, last) if last == raw.start => ty,
            _ => {
                self.leaf(parent, raw, index, NodeKind::Bytes);
                return Step::Continue;
            }
        };
        if parent.level.any_depth + 1 > self.limits.max_any_depth {
            let node = self.leaf(parent, raw, index, NodeKind::Bytes);
            let limit = self.limits.max_any_depth;
            self.problem(node, raw.value_start, ProblemKind::AnyDepthLimit { limit });
            return Step::Continue;
        }
        self.message(parent, raw, index, Some(ty), truncated, NodeKind::AnyPayload)
    }

    /// A fixed array (packed repr only) holds the same count wherever its field occurs, as
    /// the VMM's type fixes it ("wrong packed array length" otherwise): the first count met
    /// is taken as the type's, and another is flagged where it occurs.
    fn check_array_length(&mut self, node: NodeId, field: (TypeIndex, u32), count: u32, offset: usize) {
        match self.array_lengths.get(&field) {
            Some(&elsewhere) if elsewhere != count => {
                self.problem(node, offset, ProblemKind::WrongArrayLength { found: count, elsewhere });
            }
            Some(_) => {}
            None => {
                self.array_lengths.insert(field, count);
            }
        }
    }

    /// A packed run of scalars, read once: its elements are pushed as they are read, and if
    /// a value is malformed they are taken back and the run is shown raw with the reason.
    fn packed(&mut self, parent: &Frame, raw: &RawField, index: u32, wire_type: WireType, field_index: usize) {
        let ty = parent.ty.expect("only declared fields are packed");
        let range = self.field_info(ty, field_index).range;
        let problems_at = self.b.problems().len();
        let packed = self.push(parent.node, NodeKind::Packed, raw, index, None);
        // Under a focus on one value of a top-level field, only that value gets a node.
        let only = (parent.node == NodeId::ROOT)
            .then(|| self.b.decoder().focus().and_then(|f| f.only_value(raw.tag.field_number)))
            .flatten();
        let mut run = PackedRun::new(raw.value_start..raw.value_end, wire_type);
        let (mut element, mut failure) = (0, None);
        let plain = if range == Some(VarintRange::Bool) { Plain::Bools } else { Plain::InAnyRange };
        // Values with no node each, out of range one after another, may be counted past a
        // few rather than each kept (a check's report shows no more of them), or past the
        // first (what each says follows from its value: `run_problems`).
        let alike_kept = self.b.decoder().values_kept().filter(|_| !self.element_nodes);
        // Where values are out of range one after another, the step over them fails at
        // each: after a few such failures it is tried less often (a run of 700,000 values
        // out of range spent a sixth of its `check` failing it).
        let mut stepping = skim::Backoff::default();
        loop {
            // The values that get no node and surely read in range are stepped over a word
            // at a time: a lookup of one value in a long run reads the rest as fast as it can.
            if (!self.element_nodes || only.is_some()) && stepping.tries() {
                // With a node for the one value wanted, the others are only counted:
                // none is checked, so any that reads is stepped over.
                let (most, plain) = match only.filter(|_| self.element_nodes) {
                    Some(i) if i >= index + element => (i - index - element, Plain::Unchecked),
                    Some(_) => (u32::MAX, Plain::Unchecked),
                    None => (u32::MAX, plain),
                };
                let stepped = run.skip_plain(self.buf(), most, plain);
                stepping.tried(stepped > 0);
                element += stepped;
            }
            let Some(read) = run.next_in(self.buf()) else { break };
            let value = match read {
                Ok(value) => value,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            };
            let (pos, len) = (value.offset, value.len);
            let wanted = only.is_none_or(|i| i == index + element);
            let holder = if self.element_nodes && wanted {
                let span = pos..pos + len;
                let id =
                    self.push_untagged(Some(packed), NodeKind::Element, span, (raw.tag.field_number, element), None);
                self.b.set_next(id, id + 1);
                id
            } else {
                packed
            };
            // Under a focus on one value, the others are only counted: what is wrong with
            // them is for a decode that shows them (a run of a million values out of range
            // would otherwise cost a lookup of one a problem each).
            if wanted {
                self.check_range(holder, range, value.raw, pos, alike_kept);
            }
            element += 1;
        }
        if let Some(e) = failure {
            self.b.truncate(packed.index(), problems_at);
            let node = self.leaf(parent, raw, index, NodeKind::Bytes);
            let type_name = &self.field_info(ty, field_index).type_name;
            let expected = format!("packed repeated {type_name}").into();
            self.problem(node, e.offset, ProblemKind::NotParsedAs { expected, reason: e.reason });
            return;
        }
        // A clean run's values are read from its bytes when asked for, not kept.
        let clean = self.b.problems().len() == problems_at;
        if clean && element > 0 && self.element_nodes && only.is_none() && self.b.elides() {
            self.b.elide_values(packed, wire_type);
        }
        let next = NodeId::from_index(self.b.node_count());
        self.b.set_next(packed, next);
        if self.field_info(ty, field_index).packed_only {
            self.check_array_length(packed, (ty, raw.tag.field_number), element, raw.value_start);
        }
        // The run holds `element` values: later occurrences of the field count on from them.
        if element > 1 {
            self.bump_by(parent.counts_at, raw.tag.field_number, element - 1);
        }
    }

    fn frame(
        &mut self,
        node: NodeId,
        ty: Option<TypeIndex>,
        span: std::ops::Range<usize>,
        level: Level,
        may_roll_back: bool,
    ) -> Frame {
        let (problems_at, found_at) = (self.b.problems().len(), self.b.problems_found());
        let any = if ty.is_some_and(|ty| self.info(ty).is_any) {
            self.resolve_any(node, span.start, span.end)
        } else {
            AnyTarget::NotAny
        };
        Frame {
            node,
            ty,
            pos: span.start,
            end: span.end,
            level,
            any,
            may_roll_back,
            group: false,
            damaged: false,
            problems_at,
            found_at,
            counts_at: self.counts.open(),
        }
    }

    /// Finds an Any's (last) type URL and resolves it, reporting one that names no type.
    fn resolve_any(&mut self, node: NodeId, start: usize, end: usize) -> AnyTarget {
        let mut url = None;
        let mut has_value = false;
        let mut last_value = start;
        let mut pos = start;
        while let Ok(f) = wire::read_field_remembering(self.b.bytes(), pos, end, &mut self.groups) {
            match (f.tag.field_number, f.tag.wire_type) {
                (1, WireType::Len) => url = Some((f.value_start, f.value_end)),
                (2, WireType::Len) => {
                    has_value |= f.value_end > f.value_start;
                    last_value = f.start;
                }
                _ => {}
            }
            pos = f.end;
        }
        // A value the input ends inside is still the last one, and shown as far as it goes.
        if let Some(f) = wire::read_truncated_field(self.buf(), pos, end)
            && (f.tag.field_number, f.tag.wire_type) == (2, WireType::Len)
        {
            last_value = f.start;
        }
        let Some((from, to)) = url.filter(|(from, to)| to > from) else {
            if has_value {
                self.problem(node, start, ProblemKind::MissingTypeUrl);
            }
            return AnyTarget::Unresolved;
        };
        match self.resolve_url(from..to) {
            Some((ty, true)) => AnyTarget::Resolved(ty, last_value),
            Some((ty, false)) => {
                // The VMM accepts an Any only when its whole type URL is the one it expects
                // (OpenVMM, support/mesh/mesh_protobuf/src/message.rs, ProtobufAny::parse):
                // another host fails the restore. The payload is still shown as its type.
                let text = String::from_utf8_lossy(&self.buf()[from..to]).into_owned();
                let expected = format!("{TYPE_URL_PREFIX}{}", self.info(ty).desc.full_name());
                let cause = self.url_byte_cause(start..end, from..to, &expected);
                self.problem(node, from, ProblemKind::TypeUrlMismatch { expected: expected.into(), got: text.into() });
                if let Some(cause) = cause {
                    self.problem(node, cause.offset, cause.into_problem());
                }
                AnyTarget::Resolved(ty, last_value)
            }
            None => {
                let guess = self.guess_for_unknown_url(from..to);
                let cause = guess.and_then(|expected| self.url_byte_cause(start..end, from..to, &expected));
                self.problem(node, from, ProblemKind::UnknownTypeUrl { url: InputText::at(from..to) });
                if let Some(cause) = cause {
                    self.problem(node, cause.offset, cause.into_problem());
                }
                AnyTarget::Unresolved
            }
        }
    }

    /// [`cause::repaired_url_byte`] of the Any at `any` and its type URL at `url`.
    fn url_byte_cause(
        &mut self,
        any: std::ops::Range<usize>,
        url: std::ops::Range<usize>,
        expected: &str,
    ) -> Option<cause::Cause> {
        let at = cause::AnyUrl { bytes: self.b.bytes(), any, url };
        cause::repaired_url_byte(self.b.decoder(), &at, expected, &mut self.cause_budget)
    }

    /// The type a type URL names (interned), and whether the URL is exactly the one the
    /// VMM expects for it, remembered for the URLs met first: a blob names a handful of
    /// types thousands of times.
    fn resolve_url(&mut self, url: std::ops::Range<usize>) -> Resolved {
        // Units of one type often follow each other: the last URL is compared first.
        if let Some((last, known)) = &self.last_url
            && self.b.bytes()[url.clone()] == self.b.bytes()[last.clone()]
        {
            return *known;
        }
        if let Some(&known) = self.urls.get(&self.b.bytes()[url.clone()]) {
            self.last_url = Some((url, known));
            return known;
        }
        let text = String::from_utf8_lossy(&self.buf()[url.clone()]).into_owned();
        let resolved = self.schema.resolve_type_url(&text).map(|m| {
            let exact = text.strip_prefix(TYPE_URL_PREFIX) == Some(m.full_name());
            (self.b.types_mut().intern(self.schema, &m), exact)
        });
        if self.urls.len() < MOST_URLS_REMEMBERED {
            self.urls.insert(self.buf()[url.clone()].into(), resolved);
        }
        self.last_url = Some((url, resolved));
        resolved
    }

    /// The declared URL an unknown type URL may be a damaged copy of
    /// ([`cause::UrlGuesses`]), the one met last's when it is the same: a newer release's
    /// blob repeats one unknown URL in unit after unit.
    fn guess_for_unknown_url(&mut self, url: std::ops::Range<usize>) -> Option<String> {
        if let Some((last, guess)) = &self.unknown_url
            && self.b.bytes()[url.clone()] == self.b.bytes()[last.clone()]
        {
            return guess.clone();
        }
        let guess = self.url_guesses.one_byte_from(self.schema, &self.b.bytes()[url.clone()]);
        self.unknown_url = Some((url, guess.clone()));
        guess
    }

    /// Flags a varint too large for its declared 32-bit or bool type; past `kept` alike
    /// in a row, only counts it ([`Builder::problem_counted_past`]).
    #[inline]
    fn check_range(
        &mut self,
        node: NodeId,
        range: Option<VarintRange>,
        value: u64,
        offset: usize,
        kept: Option<usize>,
    ) {
        let Some(range) = range else { return };
        if !range.holds(value) {
            let kind = ProblemKind::OutOfRange { value, type_name: range.type_name() };
            // Counted past `kept` alike: the kind never puts the top level out of step.
            match kept {
                Some(kept) => self.b.problem_counted_past(node, offset, kind, (AlikeOn::Node, kept)),
                None => self.problem(node, offset, kind),
            }
        }
    }

    /// Undoes a nested message none of whose fields parse: its problems go, and the field
    /// is shown as raw bytes with the reason.
    fn rollback(&mut self, frame: Frame, error: WireError) {
        let node = frame.node;
        self.b.truncate(node.index() + 1, frame.problems_at);
        self.counts.close_from(frame.counts_at);
        let expected = frame.ty.map_or_else(|| Arc::from(""), |ty| Arc::clone(&self.info(ty).name));
        let has_problem = self.b.problems().iter().rev().take_while(|p| p.node >= node).any(|p| p.node == node);
        self.b.update(node, |n| {
            (n.kind, n.ty, n.next) = (NodeKind::Bytes, None, node + 1);
            n.set_has_problem(has_problem);
        });
        self.problem(node, error.offset, ProblemKind::NotParsedAs { expected, reason: error.reason });
        let start = self.b.node(node).value_start() as usize;
        let anomaly = Anomaly { at: error.offset, message_start: start, lengths: Vec::new() };
        if let Some(cause) = self.likely_cause(node, frame.ty, anomaly) {
            self.problem(node, cause.offset, cause.into_problem());
        }
    }

    /// Takes up the top-level state of what came before a part.
    fn resume(&mut self, counts_at: usize, before: TopState) {
        self.counts[counts_at] = before.counts;
        self.earlier_names = before.earlier_names;
        self.after.without_budget = before.without_budget;
        if let Some(left) = before.budget_left {
            self.cause_budget = self.cause_budget.min(left);
        }
        for ((name, number), count) in before.array_lengths {
            if let Some(desc) = self.schema.pool.get_message_by_name(&name) {
                let ty = self.b.types_mut().intern(self.schema, &desc);
                self.array_lengths.insert((ty, number), count);
            }
        }
    }

    /// The fixed-array lengths met, by type name and field number.
    fn array_lengths_by_name(&self) -> ArrayLengths {
        self.array_lengths.iter().map(|(&(ty, number), &count)| ((self.info(ty).name.clone(), number), count)).collect()
    }

    /// The top-level state as the root closes.
    fn top_state(&mut self, counts_at: usize, damaged: bool) -> TopState {
        let counts = std::mem::take(&mut self.counts[counts_at]);
        let array_lengths = self.array_lengths_by_name();
        let budget_left = Some(self.cause_budget);
        let ends_in_searched_unit = self.last_unit.is_some();
        let without_budget = self.after.without_budget;
        TopState {
            counts,
            earlier_names: None,
            array_lengths,
            budget_left,
            ends_in_searched_unit,
            damaged,
            without_budget,
        }
    }

    /// Closes a frame: links its subtree and checks the fields the reader requires.
    fn finish(&mut self, frame: Frame) {
        let next = NodeId::from_index(self.b.node_count());
        self.b.set_next(frame.node, next);
        // The root's own rules need all of its fields: not in a part, nor under a focus.
        let is_root = frame.node == NodeId::ROOT;
        let root_rules_wait = is_root && (self.partial || self.b.decoder().focus().is_some());
        let found = if root_rules_wait { Vec::new() } else { self.missing_required(&frame) };
        let broken_rule = if root_rules_wait { None } else { self.unit_rules(&frame) };
        // Only a part's state is carried on (to the parts after it); a whole decode's
        // would cost a copy of every count, a million for a hostile blob.
        if is_root && self.partial {
            self.after = self.top_state(frame.counts_at, frame.damaged);
        } else if is_root {
            let lengths = self.array_lengths_by_name();
            self.b.keep_array_lengths(lengths);
        }
        // Only a top-level field is searched, so only its problems are looked through: a
        // deep subtree's problems are not rescanned at every level.
        let anomaly = if self.is_searched_frame(&frame) && !self.explained_since(frame.problems_at) {
            self.b.problems()[frame.problems_at..]
                .iter()
                .filter(|p| p.kind.is_structural() || matches!(p.kind, ProblemKind::UnknownField { .. }))
                .min_by_key(|p| p.offset)
                .map(|p| Anomaly {
                    at: p.offset as usize,
                    message_start: self.b.node(p.node).value_start() as usize,
                    lengths: self.lengths_around(frame.node, p.offset as usize),
                })
        } else {
            None
        };
        let cause = anomaly.and_then(|anomaly| self.likely_cause(frame.node, frame.ty, anomaly));
        self.counts.close_from(frame.counts_at);
        // Its node is read only when a rule is broken: most frames break none. One loop
        // each: a chain of the two moved every kind through an `Option` first.
        if !found.is_empty() || broken_rule.is_some() {
            let offset = self.b.node(frame.node).value_start() as usize;
            for kind in found {
                self.problem(frame.node, offset, kind);
            }
            if let Some(kind) = broken_rule {
                self.problem(frame.node, offset, kind);
            }
        }
        if let Some(cause) = cause {
            self.problem(frame.node, cause.offset, cause.into_problem());
        }
        // Problems found in a frame may have been taken back (an enclosing truncation, a
        // rollback) and be put on its nodes again later: a frame is left cold only if
        // none was found since it began.
        if !is_root && self.b.problems_found() == frame.found_at {
            self.b.leave_cold(frame.node, false);
        }
    }

    /// The length prefixes inside `unit` that may lie, given that it stops parsing at `at`:
    /// those of the length-delimited fields whose span holds `at` (a length that claims
    /// too much swallows what follows, which then reads wrong inside it), innermost first.
    fn lengths_around(&self, unit: NodeId, at: usize) -> Vec<cause::LengthSuspect> {
        let mut found: Vec<cause::LengthSuspect> = (unit + 1)
            .up_to(self.b.node(unit).next)
            .filter_map(|id| {
                let node = self.b.node(id);
                let holds =
                    node.wire == Some(WireType::Len) && (node.start as usize) <= at && at <= node.value_end as usize;
                let tag = ((node.field_number as u64) << 3) | WireType::Len as u64;
                let prefix = node.start as usize + crate::decode::wire::varint_len(tag);
                let opaque = matches!(node.kind, NodeKind::Bytes | NodeKind::String);
                (holds && prefix < node.value_start() as usize).then_some(cause::LengthSuspect { at: prefix, opaque })
            })
            .collect();
        found.reverse();
        found.truncate(cause::LENGTHS_TRIED);
        found
    }

    /// Whether a likely cause is looked for in the frame closing: a length-delimited
    /// top-level field (a unit), and only while the input's search budget lasts. Told by
    /// the frame, not its node: a node read on every frame that closes cost a twentieth
    /// of a `check` of a unit with problems.
    fn is_searched_frame(&self, frame: &Frame) -> bool {
        self.cause_budget > 0 && is_top_level_len(frame)
    }

    /// Whether a likely cause is looked for in `node` ([`Self::is_searched_frame`]).
    fn is_searched(&self, node: NodeId) -> bool {
        self.cause_budget > 0 && {
            let node = self.b.node(node);
            node.parent == Some(NodeId::ROOT) && node.wire == Some(WireType::Len)
        }
    }

    /// For a top-level field (`node`, read as `ty`) whose bytes stop parsing at `anomaly`,
    /// the single fault that explains it ([`cause::find`]), within the input's budget.
    fn likely_cause(&mut self, node_id: NodeId, ty: Option<TypeIndex>, anomaly: Anomaly) -> Option<cause::Cause> {
        if !self.is_searched(node_id) {
            return None;
        }
        let node = self.b.node(node_id);
        let ty = self.info(ty?).desc.clone();
        let path = crate::model::path::path_of(self.b.document(), node_id).to_string();
        let decoder = self.b.decoder().clone();
        let damage = cause::Damage {
            bytes: self.b.bytes(),
            field: node.start as usize..node.end() as usize,
            value_start: node.value_start() as usize,
            ty,
            anomaly: anomaly.at,
            message_start: anomaly.message_start,
            lengths: anomaly.lengths,
            path,
        };
        cause::find(&decoder, &damage, &mut self.cause_budget, &mut self.trial_types)
    }

    /// The state unit rules the restoring VMM applies to a whole-VM blob (OpenVMM,
    /// vmm_core/state_unit/src/lib.rs, StateUnits::restore): units are matched by name, so
    /// a name given twice fails the restore; a blob with no units restores no device.
    fn unit_rules(&mut self, frame: &Frame) -> Option<ProblemKind> {
        if frame.node == NodeId::ROOT && self.buf().is_empty() {
            return Some(ProblemKind::NoUnits);
        }
        let ty = frame.ty?;
        if frame.node == NodeId::ROOT {
            let units = self.info(ty).fields.iter().find(|f| f.is_list && is_unit_type(&f.class))?.number;
            let none = !self.counts[frame.counts_at].contains(units) && !frame.damaged;
            return none.then_some(ProblemKind::NoUnits);
        }
        if !is_top_level_len(frame) || !self.info(ty).is_state_unit {
            return None;
        }
        // The frame's subtree ends with the nodes added so far (it is closing).
        let next = NodeId::from_index(self.b.node_count());
        // Told by its kind first, read cheaply: a node made whole for each of a unit's
        // nodes cost more than the rest of the rules.
        let doc = self.b.document();
        let child = (frame.node + 1).up_to(next).find_map(|c| {
            let child = (doc.kind_of(c) == NodeKind::String).then(|| doc.node(c))?;
            (child.parent == Some(frame.node) && child.field_number == 1).then_some(child)
        })?;
        let at = child.value_start() as usize..child.value_end as usize;
        // A name given twice stays taken: a run of units of one name is told by the last.
        let name = ProblemKind::DuplicateUnitName { name: InputText::at(at.clone()) };
        if let Some(last) = &self.last_taken
            && self.b.bytes()[at.clone()] == self.b.bytes()[last.clone()]
        {
            return Some(name);
        }
        if !self.unit_names.taken(self.b.bytes(), at.clone(), self.earlier_names.as_ref()) {
            return None;
        }
        self.last_taken = Some(at);
        Some(name)
    }

    /// What a closed frame lacks that the reader requires.
    fn missing_required(&self, frame: &Frame) -> Vec<ProblemKind> {
        let Some(ty) = frame.ty.filter(|_| !frame.damaged) else { return Vec::new() };
        let info = self.info(ty);
        // Most types require nothing: their frames are not looked at.
        let requires = info.enum_like || !info.packed_only.is_empty();
        if !requires || frame.group {
            return Vec::new();
        }
        let counts = &self.counts[frame.counts_at];
        let mut found = Vec::new();
        if info.enum_like && !counts.numbers().any(|number| info.field(number).is_some()) {
            found.push(ProblemKind::MissingEnumVariant { enum_type: ty });
        }
        for &number in &info.packed_only {
            if !counts.contains(number) {
                let field = info.field(number).expect("packed-only fields are declared");
                found.push(ProblemKind::MissingRequiredField { field: field.name.as_str().into(), in_type: ty });
            }
        }
        found
    }

    /// Counts one more value of `field_number` in the frame whose counts are `at`; returns
    /// how many came before it.
    fn bump(&mut self, at: usize, field_number: u32) -> u32 {
        self.bump_by(at, field_number, 1)
    }

    /// Counts `values` more values of `field_number`; returns how many came before them.
    fn bump_by(&mut self, at: usize, field_number: u32, values: u32) -> u32 {
        self.counts[at].bump(field_number, values)
    }

    /// Adds a leaf: a node whose subtree ends with it, made so at once (not pushed open
    /// and then found again to close it).
    fn leaf(&mut self, parent: &Frame, raw: &RawField, index: u32, kind: NodeKind) -> NodeId {
        self.push_node(Some(parent.node), kind, raw, (index, None), 1)
    }

    /// Pushes a node with no tag of its own (the root, an error span, a packed value).
    fn push_untagged(
        &mut self,
        parent: Option<NodeId>,
        kind: NodeKind,
        span: std::ops::Range<usize>,
        (field_number, index): (u32, u32),
        ty: Option<TypeIndex>,
    ) -> NodeId {
        let id = NodeId::from_index(self.b.node_count());
        self.b.push(Node {
            start: span.start as u64,
            value_end: span.end as u64,
            parent,
            next: id,
            field_number,
            index,
            ty,
            kind,
            wire: None,
            lens: 0,
        })
    }

    fn push(&mut self, parent: NodeId, kind: NodeKind, raw: &RawField, index: u32, ty: Option<TypeIndex>) -> NodeId {
        self.push_node(Some(parent), kind, raw, (index, ty), 0)
    }

    /// Adds a node whose subtree ends `size` ids after it: a container stays open (its
    /// `next` is its own id, `size` 0) until finished; a leaf is closed at once (1).
    fn push_node(
        &mut self,
        parent: Option<NodeId>,
        kind: NodeKind,
        raw: &RawField,
        (index, ty): (u32, Option<TypeIndex>),
        size: u32,
    ) -> NodeId {
        let id = NodeId::from_index(self.b.node_count());
        // A node keeps the lengths before its value, not where its value starts.
        debug_assert_eq!(raw.value_start, raw.start + usize::from(raw.tag_len) + usize::from(raw.len_len));
        self.b.push(Node {
            start: raw.start as u64,
            value_end: raw.value_end as u64,
            parent,
            next: id + size,
            field_number: raw.tag.field_number,
            index,
            ty,
            kind,
            wire: Some(raw.tag.wire_type),
            lens: Node::pack_lens(raw.tag_len, raw.len_len, (raw.end - raw.value_end) as u8),
        })
    }

    /// Records a problem on `node` at byte `offset`.
    #[inline(always)]
    fn problem(&mut self, node: NodeId, offset: usize, kind: ProblemKind) {
        self.problem_counted(node, offset, kind, None, |b| b.parent(node));
    }

    /// [`Self::problem`], counted past those kept alike when `counted` says so
    /// ([`Builder::problem_counted_past`]). The node's parent (`parent_of`) is asked for
    /// only by a kind that may put the top level out of step: the kind, held across that
    /// read, was copied through the stack, each copy stalled on the writes before it; and a
    /// caller that knows the parent does not read it back from the node just made (a
    /// million unknown fields in a row each waited on that read).
    #[inline(always)]
    fn problem_counted(
        &mut self,
        node: NodeId,
        offset: usize,
        kind: ProblemKind,
        counted: Option<(AlikeOn, usize)>,
        parent_of: impl FnOnce(&Builder) -> Option<NodeId>,
    ) {
        let out_of_step = kind.puts_top_level_out_of_step() && parent_of(self.b) == Some(NodeId::ROOT);
        match counted {
            Some(alike) => self.b.problem_counted_past(node, offset, kind, alike),
            None => self.b.problem(node, offset, kind),
        }
        if out_of_step {
            self.shift_before(node, offset);
        }
    }

    /// Whether a likely cause was reported among the problems from `problems_at` on.
    fn explained_since(&self, problems_at: usize) -> bool {
        self.b.problems()[problems_at..].iter().any(|p| matches!(p.kind, ProblemKind::LikelyCause { .. }))
    }

    /// Keeps a top-level unit that has just been decoded without a likely cause, for
    /// [`Self::shift_before`].
    fn remember_unit(&mut self, node_id: NodeId, problems_at: usize) {
        self.last_unit = None;
        if self.cause_budget == 0 {
            return;
        }
        // Read once: whether it is searched is asked of the node kept.
        let node = self.b.node(node_id);
        let searched = node.parent == Some(NodeId::ROOT) && node.wire == Some(WireType::Len);
        let Some(ty) = node.ty.filter(|_| searched && !self.explained_since(problems_at)) else { return };
        // Its path is worked out only if a search needs it: most units are never searched.
        self.last_unit = Some(LastUnit { node: UnitNode::Held(node_id), ty });
    }

    /// The path of a top-level unit kept by value: the node is put back for a moment, at
    /// the end, under the root, where [`crate::model::path::path_of`] can read it.
    fn unit_path(&mut self, unit: &Node) -> String {
        let (nodes, problems) = (self.b.node_count(), self.b.problems().len());
        let id = self.b.push(Node { next: NodeId::from_index(nodes + 1), ..*unit });
        let path = crate::model::path::path_of(self.b.document(), id).to_string();
        self.b.truncate(nodes, problems);
        path
    }

    /// The top level went out of step at `offset` (on `node`), just after the unit decoded
    /// last: a byte inserted into that unit or dropped from it may be why.
    fn shift_before(&mut self, node: NodeId, offset: usize) {
        let Some(LastUnit { node: unit, ty }) = self.last_unit.take() else { return };
        let kept = match unit {
            UnitNode::Held(id) => self.b.node(id),
            UnitNode::Dropped(node) => node,
        };
        let field = kept.start as usize..kept.end() as usize;
        if !(field.end..field.end + cause::SHIFT_SHOWS_WITHIN).contains(&offset) || self.cause_budget == 0 {
            return;
        }
        let path = match unit {
            UnitNode::Held(id) => crate::model::path::path_of(self.b.document(), id).to_string(),
            UnitNode::Dropped(node) => self.unit_path(&node),
        };
        let value_start = kept.value_start() as usize;
        let damage = cause::Damage {
            bytes: self.b.bytes(),
            anomaly: field.end,
            field,
            value_start,
            ty: self.info(ty).desc.clone(),
            message_start: value_start,
            lengths: Vec::new(),
            path,
        };
        let decoder = self.b.decoder().clone();
        if let Some(cause) = cause::find_shift(&decoder, &damage, &mut self.cause_budget, &mut self.trial_types) {
            self.b.problem(node, cause.offset, cause.into_problem());
        }
    }

    /// A truncation inside a truncated field is the same defect seen deeper: only the
    /// innermost one is reported, where the bytes actually run out.
    fn drop_enclosing_truncation(&mut self) {
        let Some(i) = self.b.problems().iter().rposition(|p| matches!(p.kind, ProblemKind::Truncated { .. })) else {
            return;
        };
        let node = self.b.problems()[i].node;
        // Still open: the truncated field encloses the one being read.
        if self.b.node(node).next == node {
            self.b.remove_problem(i);
        }
    }
}

/// What the walk loop does after one step.
enum Step {
    /// Stay in the current frame.
    Continue,
    /// Enter a nested frame.
    Descend(Frame),
    /// The current frame's bytes are not a message at all (no field parses): undo it.
    Rollback(WireError),
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, OnceLock};

    use super::invalid_utf8_at;
    use crate::decode::registry::SchemaSources;
    use crate::decode::schema::Schema;
    use crate::decode::wire::{WireErrorKind, WireType};
    use crate::model::node::NodeKind;
    use crate::model::problem::{InputText, ProblemKind};
    use crate::model::source::Source;
    use crate::model::{Decoder, Document, Limits};

    fn decode(root: &str, bytes: &[u8], limits: Limits) -> Document {
        static SCHEMA: OnceLock<Arc<Schema>> = OnceLock::new();
        let schema = SCHEMA.get_or_init(|| Arc::new(Schema::load(&SchemaSources::default()).unwrap()));
        let root = schema.pool.get_message_by_name(root).unwrap_or_else(|| panic!("{root} is a sample type"));
        // Without the search for likely causes (tested in `cause`): each case is one report.
        Decoder::new(Arc::clone(schema), Some(root))
            .with_limits(limits)
            .without_causes()
            .decode(Source::new(bytes.to_vec()))
    }

    /// A length-delimited field: tag, length, bytes.
    fn len(number: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![number << 3 | 2, content.len() as u8];
        out.extend_from_slice(content);
        out
    }

    /// What is wrong, the root type, the bytes, the limits, the problem expected and where.
    type Case = (&'static str, &'static str, Vec<u8>, Limits, fn(&ProblemKind) -> bool, u64);

    const IOAPIC: &str = "sample.chipset.ioapic.SavedState";
    const TIMER: &str = "sample.chipset.pit.SavedTimerState";
    const PIT: &str = "sample.chipset.pit.SavedState";
    const UNIT: &str = "sample.state_unit.SavedStateUnit";

    #[test]
    fn a_string_is_told_where_it_stops_being_utf8() {
        assert_eq!(invalid_utf8_at(b"type.googleapis.com/vmtime.SavedState"), None);
        assert_eq!(invalid_utf8_at("gast\u{e4}-\u{1f600}".as_bytes()), None);
        assert_eq!(invalid_utf8_at(b"ab\xffcd"), Some(2));
        // A character cut off at the end, and one past a long ASCII start.
        assert_eq!(invalid_utf8_at(b"unit-\xc3"), Some(5));
        assert_eq!(invalid_utf8_at(&[b"a".repeat(40), vec![0xe2, 0x82]].concat()), Some(40));
    }

    #[test]
    fn each_problem_kind_is_found_where_its_cause_lies() {
        let vmtime_url = b"type.googleapis.com/sample.vmtime.SavedState";
        let any_with = |url: &[u8], value: &[u8]| [len(1, url), len(2, value)].concat();
        let shallow = Limits { max_depth: 1, ..Limits::default() };
        let no_any = Limits { max_any_depth: 0, ..Limits::default() };
        let table: Vec<Case> = vec![
            (
                "field number 0",
                IOAPIC,
                vec![0x00],
                Limits::default(),
                |k| matches!(k, ProblemKind::Wire { reason: WireErrorKind::FieldNumberZero, .. }),
                0,
            ),
            (
                "the input ends inside a field",
                IOAPIC,
                vec![0x1a, 0x05, 0x01],
                Limits::default(),
                |k| matches!(k, ProblemKind::Truncated { len: 5, have: 1, input_ends: true, .. }),
                1,
            ),
            (
                "an undeclared field",
                IOAPIC,
                [vec![0x08, 0x01], len(3, &[0]), vec![0x20, 0x01]].concat(),
                Limits::default(),
                |k| matches!(k, ProblemKind::UnknownField { .. }),
                5,
            ),
            (
                "a uint32 written length-delimited",
                IOAPIC,
                [len(1, &[]), len(3, &[0])].concat(),
                Limits::default(),
                |k| matches!(k, ProblemKind::WireTypeMismatch { found: WireType::Len, .. }),
                0,
            ),
            (
                "no fixed array",
                IOAPIC,
                vec![0x08, 0x01],
                Limits::default(),
                |k| matches!(k, ProblemKind::MissingRequiredField { field, .. } if &**field == "redirection_entries"),
                0,
            ),
            (
                "a fixed array written unpacked",
                IOAPIC,
                vec![0x18, 0x05],
                Limits::default(),
                |k| matches!(k, ProblemKind::UnpackedFixedArray),
                0,
            ),
            (
                "2^33 in a uint32",
                IOAPIC,
                [vec![0x08, 0x80, 0x80, 0x80, 0x80, 0x20], len(3, &[0])].concat(),
                Limits::default(),
                |k| matches!(k, ProblemKind::OutOfRange { value: 0x2_0000_0000, .. }),
                1,
            ),
            (
                "a packed run cut inside a varint",
                IOAPIC,
                len(3, &[0x80, 0x80]),
                Limits::default(),
                |k| matches!(k, ProblemKind::NotParsedAs { .. }),
                2,
            ),
            (
                "an enum with no variant",
                TIMER,
                len(5, &[]),
                Limits::default(),
                |k| matches!(k, ProblemKind::MissingEnumVariant { .. }),
                2,
            ),
            (
                "a message whose bytes are not one",
                TIMER,
                len(5, &[0x00]),
                Limits::default(),
                |k| matches!(k, ProblemKind::NotParsedAs { reason: WireErrorKind::FieldNumberZero, .. }),
                2,
            ),
            (
                "a message whose bytes stop parsing (what did parse is kept)",
                TIMER,
                len(5, &[0x0a, 0x00, 0x00]),
                Limits::default(),
                |k| matches!(k, ProblemKind::Wire { reason: WireErrorKind::FieldNumberZero, .. }),
                4,
            ),
            (
                "a name that is not UTF-8",
                UNIT,
                len(1, &[b'a', 0xff]),
                Limits::default(),
                |k| matches!(k, ProblemKind::InvalidUtf8),
                3,
            ),
            (
                "an Any naming no registered type",
                UNIT,
                len(2, &any_with(b"x/nope.Nope", &[0x08, 0x01])),
                Limits::default(),
                // The URL's own bytes, 11 of them after the Any's tag and length.
                |k| matches!(k, ProblemKind::UnknownTypeUrl { url } if *url == InputText::at(4..15)),
                4,
            ),
            (
                "an Any with a value and no URL",
                UNIT,
                len(2, &len(2, &[0x08, 0x01])),
                Limits::default(),
                |k| matches!(k, ProblemKind::MissingTypeUrl),
                2,
            ),
            (
                "nesting past --max-depth",
                PIT,
                len(1, &len(1, &[])),
                shallow,
                |k| matches!(k, ProblemKind::DepthLimit { limit: 1 }),
                4,
            ),
            (
                "an Any past --max-any-depth",
                UNIT,
                len(2, &any_with(vmtime_url, &[0x08, 0x01])),
                no_any,
                |k| matches!(k, ProblemKind::AnyDepthLimit { limit: 0 }),
                50,
            ),
        ];
        for (what, root, bytes, limits, is_expected, offset) in table {
            let doc = decode(root, &bytes, limits);
            let found: Vec<_> = doc.problems().iter().map(|p| (p.kind.clone(), p.offset)).collect();
            // Exactly the expected problem: one cause, one report.
            assert!(
                matches!(found.as_slice(), [(kind, at)] if is_expected(kind) && *at == offset),
                "{what}: expected one problem at byte {offset}, found {found:?}"
            );
        }
    }

    #[test]
    fn a_healthy_message_has_no_problems_and_tiles_its_bytes() {
        let bytes = [vec![0x08, 0x01, 0x10, 0x02], len(3, &[0x05, 0xac, 0x02])].concat();
        let doc = decode(IOAPIC, &bytes, Limits::default());
        assert!(doc.problems().is_empty(), "{:?}", doc.problems());
        let kinds: Vec<_> = (0..doc.node_count())
            .map(|i| doc.node(crate::model::NodeId::from_index(i)))
            .map(|n| (n.kind, n.start, n.end()))
            .collect();
        assert_eq!(
            kinds,
            [
                (NodeKind::Root, 0, 9),
                (NodeKind::Scalar, 0, 2),
                (NodeKind::Scalar, 2, 4),
                (NodeKind::Packed, 4, 9),
                (NodeKind::Element, 6, 7),
                (NodeKind::Element, 7, 9),
            ]
        );
    }

    #[test]
    fn a_length_running_out_inside_a_group_is_the_groups_error() {
        // A group holding a field whose length runs past the end: the error is found while
        // skipping the group, and is not mistaken for the group's own length.
        for root in [IOAPIC, UNIT] {
            let doc = decode(root, &[0x0b, 0x12, 0x05, 0x00], Limits::default());
            assert!(!doc.problems().is_empty(), "{root}");
            assert_eq!(doc.node(crate::model::NodeId::ROOT).end(), 4);
        }
    }

    #[test]
    fn a_fixed_array_holds_one_count_wherever_it_occurs() {
        let url = b"type.googleapis.com/sample.chipset.ioapic.SavedState";
        let unit = |name: &[u8], count: usize| {
            let state = [len(1, url), len(2, &len(3, &vec![0x01; count]))].concat();
            len(1, &[len(1, name), len(2, &state)].concat())
        };
        let bytes = [unit(b"a", 24), unit(b"b", 24), unit(b"c", 23)].concat();
        let doc = decode("sample.openvmm.SavedState", &bytes, Limits::default());
        let found: Vec<_> = doc.problems().iter().map(|p| (p.kind.clone(), doc.path_of(p.node).to_string())).collect();
        let wrong = ProblemKind::WrongArrayLength { found: 23, elsewhere: 24 };
        assert_eq!(found, [(wrong, "units[2].state.redirection_entries".to_owned())]);
    }

    #[test]
    fn a_truncation_is_reported_once_where_the_bytes_run_out() {
        // A unit whose Any claims 40 bytes, in a file that ends 3 bytes in: the innermost
        // field that runs out carries the problem, not each enclosing one.
        let bytes = [vec![0x12, 0x28], len(1, b"ab")].concat();
        let doc = decode(UNIT, &bytes[..5], Limits::default());
        let truncations = doc.problems().iter().filter(|p| matches!(p.kind, ProblemKind::Truncated { .. })).count();
        assert_eq!(truncations, 1, "{:?}", doc.problems());
    }
}
