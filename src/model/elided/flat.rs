//! Flat runs: clean messages of leaves side by side, the values of one field in a row, each
//! followed by its leaves (as the overlay's flat loop builds them). Only the first message
//! is stored; every other message and every leaf is read from the bytes when asked for,
//! from the closest mark kept before it. A dense list of millions of small entries then
//! costs about a byte of index each rather than three nodes of 32 bytes.

use std::cell::RefCell;

use super::{BLOCK, Elided, Place, Run, Shape, new_generation};
use crate::decode::wire::{self, RawField, WireType};
use crate::model::node::{Node, NodeId, NodeKind};
use crate::model::record::NodeRecord;

/// Every how many messages of a flat run where one starts is kept: a node is read from
/// the mark before it, fewer than this many messages on.
pub(super) const MARK_EVERY: u32 = 16;

/// Where a message of a flat run starts.
#[derive(Debug, Clone, Copy)]
pub(in crate::model) struct Mark {
    /// The message's id.
    pub(super) id: NodeId,
    /// How many messages of its run come before it.
    index: u32,
    /// How many bytes after the start of its run's first message it starts.
    offset: u64,
}

impl Mark {
    /// The same mark of the message now at `id`.
    pub(super) fn at(self, id: NodeId) -> Mark {
        Mark { id, ..self }
    }
}

/// A message of a flat run: how many ids after the run's first it is, how many messages
/// come before it, and how many bytes after the first's start it starts.
#[derive(Debug, Clone, Copy, Default)]
struct At {
    ids: u32,
    index: u32,
    offset: u64,
}

impl At {
    /// The message after this one, which takes `ids` ids and `size` bytes.
    fn after(self, (ids, size): (u32, u64)) -> At {
        At { ids: self.ids + ids, index: self.index + 1, offset: self.offset + size }
    }

    /// The message `mark` marks, in the run whose first message is `first`.
    fn marked(mark: Mark, first: NodeId) -> At {
        At { ids: mark.id - first, index: mark.index, offset: mark.offset }
    }
}

/// The message of a flat run at byte `pos` of `bytes`, which read clean when decoded, and
/// how many ids and bytes it takes.
fn message_at(bytes: &[u8], pos: usize) -> Option<(RawField, (u32, u64))> {
    let message = wire::read_field_inline(bytes, pos, bytes.len()).ok()?;
    let size = (1 + leaves_in(bytes, &message), (message.end - message.start) as u64);
    Some((message, size))
}

/// The message of the flat run whose first message is `first` (as read) that holds the
/// node `target` ids after the first, stepping on from message `at`: its place, its span,
/// and how many ids and bytes it takes; else the place of the message that does not read.
fn message_holding(bytes: &[u8], first: &Node, mut at: At, target: u32) -> Result<(At, RawField, (u32, u64)), At> {
    loop {
        let (message, size) = message_at(bytes, (first.start + at.offset) as usize).ok_or(at)?;
        if target < at.ids + size.0 {
            return Ok((at, message, size));
        }
        at = at.after(size);
    }
}

/// The message of a flat run read last on a thread, with its nodes: a reader reads them
/// one after another, each several times, so they are made once and read from here.
#[derive(Debug)]
struct LastMessage {
    /// [`Elided::generation`] of the runs it was read from ([`u64::MAX`] for none), and
    /// the run.
    generation: u64,
    run: usize,
    /// The message's id.
    id: NodeId,
    /// Which message it is, and how many ids and bytes it takes. Where the run's first
    /// starts is not kept: the runs' moves change only with their generation.
    at: At,
    size: (u32, u64),
    /// Its node, then its leaves', in id order, packed (read back as the arena's are):
    /// `made` of them.
    nodes: [Option<NodeRecord>; MOST_LEAVES + 1],
    made: usize,
}

/// How many ids after the message read last a node may be for the read to start there
/// rather than at the mark before it.
const NEAR: u32 = 64;

/// At most how many leaves a message of a flat run holds: one read of a leaf makes the
/// nodes of all its message's.
pub(in crate::model) const MOST_LEAVES: usize = 64;

thread_local! {
    static LAST_MESSAGE: RefCell<LastMessage> = const {
        RefCell::new(LastMessage {
            generation: u64::MAX,
            run: 0,
            id: NodeId::ROOT,
            at: At { ids: 0, index: 0, offset: 0 },
            size: (0, 0),
            nodes: [None; MOST_LEAVES + 1],
            made: 0,
        })
    };
}

/// The node of `id` when it is one of the message of a flat run read last on this
/// thread, from runs of generation `generation`: most reads are ([`Elided::flat_node`]).
#[inline(always)]
pub(super) fn read_last(generation: u64, id: NodeId) -> Option<NodeRecord> {
    LAST_MESSAGE.with_borrow(|last| {
        if last.generation != generation {
            return None;
        }
        *last.nodes[..last.made].get(id.index().checked_sub(last.id.index())?)?
    })
}

impl Elided {
    /// The first message of the last flat run when `message`, starting at byte `start`,
    /// can join that run: it takes the next id and starts where the run's last one ends.
    pub(in crate::model) fn flat_to_join(&self, message: NodeId, start: u64) -> Option<NodeId> {
        let run = self.runs.last().filter(|run| run.shape == Shape::Flat && run.end() == message.index())?;
        (self.flat_end == Some(start)).then_some(run.node)
    }

    /// Starts a flat run at the stored `message`; `made` are its node and its leaves' as
    /// just added (`stored` being stored before the leaves), which are read from the
    /// bytes from now on.
    pub(in crate::model) fn start_flat(&mut self, message: NodeId, made: &[NodeRecord], stored: usize) {
        let leaves = made.len() - 1;
        self.unstore_from(message.index() + 1, stored);
        self.runs.push(Run { node: message, count: leaves as u32, shape: Shape::Flat, checkpoints_at: 0 });
        self.append(leaves, false, stored);
        self.elided += leaves;
        self.flat_end = Some(made[0].unpack().end());
        self.remember(message, At::default(), made);
    }

    /// Adds `message` to the last flat run ([`Elided::flat_to_join`]), whose first message
    /// is `first`; `made` are its node and its leaves' as just added (`stored` being
    /// stored before them), which are read from the bytes from now on.
    pub(in crate::model) fn join_flat(&mut self, message: NodeId, made: &[NodeRecord], first: &Node, stored: usize) {
        let node = made[0].unpack();
        let (index, offset) = (node.index - first.index, node.start - first.start);
        self.truncate(message.index(), stored);
        if index.is_multiple_of(MARK_EVERY) {
            self.flat_marks.push(Mark { id: message, index, offset });
        }
        let run = self.runs.last_mut().expect("a run to join");
        run.count += made.len() as u32;
        let ids = message - run.node;
        self.append(made.len(), false, stored);
        self.elided += made.len();
        self.flat_end = Some(node.end());
        self.remember(message, At { ids, index, offset }, made);
    }

    /// Keeps the nodes `made` of `message`, message `at` of the last run, as the message
    /// read last on this thread: a builder looks at a top-level field once it is done.
    fn remember(&self, message: NodeId, at: At, made: &[NodeRecord]) {
        LAST_MESSAGE.with_borrow_mut(|last| {
            for (i, record) in made.iter().enumerate() {
                last.nodes[i] = Some(*record);
            }
            let size = (made.len() as u32, made[0].unpack().end() - made[0].start());
            (last.generation, last.run, last.id, last.at, last.size, last.made) =
                (self.generation, self.runs.len() - 1, message, at, size, made.len());
        });
    }

    /// The flat run that holds top-level field `top` (up to, not including, id `next`) and
    /// more: a field of it decoded again has a run of its own only when its run is its own.
    pub(in crate::model) fn flat_run_beyond(&self, top: NodeId, next: NodeId) -> Option<usize> {
        let run = self.flat_run_of(top)?;
        (self.runs[run].node < top || self.runs[run].end() > next.index()).then_some(run)
    }

    /// One past the last id of the flat run that holds `id`, if one does.
    pub(in crate::model) fn flat_run_end(&self, id: NodeId) -> Option<usize> {
        self.flat_run_of(id).map(|run| self.run_end(run))
    }

    /// One past the last id of run `run`.
    pub(in crate::model) fn run_end(&self, run: usize) -> usize {
        self.runs[run].end()
    }

    /// Whether the stored node `id` is the first message of a flat run that holds a leaf
    /// or another message (the id after it is then not stored, and is of the run): asked
    /// of every message a search meets, so the list of runs is not searched for most.
    pub(in crate::model) fn starts_flat_run(&self, id: NodeId) -> bool {
        let after = id + 1;
        after.index() < self.ids && !matches!(self.locate(after), Place::Stored(_)) && self.flat_run_end(id).is_some()
    }

    /// The first message of the flat run that holds message `id` after its first, if one
    /// does: the run holds messages on both sides of where `id` starts.
    pub(in crate::model) fn flat_run_crossing(&self, id: NodeId) -> Option<NodeId> {
        let run = self.flat_run_of(id)?;
        (self.runs[run].node < id).then_some(self.runs[run].node)
    }

    /// Splits the flat run that holds message `id` after its first (`first`, as read)
    /// there: `id` (`head`, as read) starts a run of its own, the messages of which keep
    /// their marks, counted from it. The caller stores `head`, which the places of the ids
    /// count from now on.
    pub(in crate::model) fn cut_flat_run(&mut self, id: NodeId, first: &Node, head: &Node) {
        let Some(run) = self.flat_run_of(id).filter(|&run| self.runs[run].node < id) else { return };
        let end = self.runs[run].end();
        self.runs[run].count = (id.index() - self.runs[run].node.index() - 1) as u32;
        let tail = Run { node: id, count: (end - id.index() - 1) as u32, shape: Shape::Flat, checkpoints_at: 0 };
        self.runs.insert(run + 1, tail);
        self.elided -= 1;
        let (block, bit) = (id.index() / BLOCK, id.index() % BLOCK);
        self.blocks[block].stored |= 1 << bit;
        for later in &mut self.blocks[block + 1..] {
            (later.stored_before, later.runs_before) = (later.stored_before + 1, later.runs_before + 1);
        }
        let (index, offset) = (head.index - first.index, head.start - first.start);
        self.flat_marks.retain(|mark| mark.id != id);
        for mark in self.flat_marks.iter_mut().filter(|mark| mark.id > id && mark.id.index() < end) {
            (mark.index, mark.offset) = (mark.index - index, mark.offset - offset);
        }
        self.generation = new_generation();
    }

    /// Ends the flat run that holds message `id` after its first right before it: the
    /// ids from `id` on are taken out by a splice ([`Elided::spliced`]).
    pub(in crate::model) fn trim_flat_run(&mut self, id: NodeId) {
        if let Some(run) = self.flat_run_of(id).filter(|&run| self.runs[run].node < id) {
            let count = (id.index() - self.runs[run].node.index() - 1) as u32;
            self.elided -= (self.runs[run].count - count) as usize;
            self.runs[run].count = count;
            self.generation = new_generation();
        }
    }

    /// Whether the only run is a flat run of one message, `id`'s.
    pub(in crate::model) fn is_one_flat_message(&self, id: NodeId) -> bool {
        matches!(&self.runs[..], [run] if run.shape == Shape::Flat && run.node == id) && self.flat_marks.is_empty()
    }

    /// These runs after message `message` of flat run `run` was decoded again as a flat
    /// message `ids_move` ids and `delta` bytes longer than it was (`ids` ids in all
    /// after): the messages after it start that much further on.
    pub(in crate::model) fn resized_flat_message(
        mut self,
        run: usize,
        message: NodeId,
        (ids_move, delta): (isize, i64),
        ids: usize,
    ) -> Elided {
        let moved = |id: NodeId| NodeId::from_index(id.index().checked_add_signed(ids_move).expect("ids in range"));
        let end = self.runs[run].end();
        let after = self.flat_marks.partition_point(|mark| mark.id <= message);
        for mark in &mut self.flat_marks[after..] {
            if mark.id.index() < end {
                mark.offset = mark.offset.wrapping_add_signed(delta);
            }
            mark.id = moved(mark.id);
        }
        self.flat_end = None;
        if ids_move == 0 {
            self.generation = new_generation();
            return self;
        }
        let count = self.runs[run].count as isize + ids_move;
        self.runs[run].count = u32::try_from(count).expect("a flat run keeps its first message's ids");
        for later in &mut self.runs[run + 1..] {
            later.node = moved(later.node);
        }
        Elided::from_runs(self.runs, self.checkpoints, self.flat_marks, self.blocks, ids)
    }

    /// The node `position` places after the first message of flat run `run` (`first`, as
    /// read with the moves pending on it), in `bytes`, made with the rest of its message's
    /// nodes ([`read_last`] reads them next); a leaf's kind is
    /// `leaf_kind(field_number)` (each leaf's field is declared: the run reads clean).
    pub(in crate::model) fn flat_node(
        &self,
        run: usize,
        position: u32,
        first: &Node,
        bytes: &[u8],
        leaf_kind: impl Fn(u32) -> NodeKind,
    ) -> Node {
        let (target, first_id) = (position + 1, self.runs[run].node);
        LAST_MESSAGE.with_borrow_mut(|last| {
            let at = self.start_for(last, run, target);
            last.generation = u64::MAX;
            let (at, message, (ids, size)) = match message_holding(bytes, first, at, target) {
                Ok(found) => found,
                Err(at) => return unreadable(first_id + target, (first.start + at.offset) as usize, first_id),
            };
            let message_id = first_id + at.ids;
            let shape = message_node(&message, first, message_id, at, ids);
            (last.generation, last.run, last.id, last.at, last.size) =
                (self.generation, run, message_id, at, (ids, size));
            (last.nodes[0], last.made) = (Some(NodeRecord::pack(shape)), 1);
            if target == at.ids {
                // Its leaves are made when one is read: a search may pass over them all.
                return shape;
            }
            // The node asked for is handed back as made, not read back from its record.
            let mut wanted = shape;
            for (leaf, ..) in leaves_of(fields(bytes, message), message_id, first, |number| (leaf_kind(number), ())) {
                let made = last.made;
                (last.nodes[made], last.made) = (Some(NodeRecord::pack(leaf)), made + 1);
                if message_id + made as u32 == first_id + target {
                    wanted = leaf;
                }
            }
            wanted
        })
    }

    /// The id after the subtree of the node `position` places after the first message of
    /// flat run `run` (`first`, as read with the moves pending on it) in `bytes`: a walk
    /// over siblings asks it of each message, whose leaves are then counted, not made.
    pub(in crate::model) fn flat_next(&self, run: usize, position: u32, first: &Node, bytes: &[u8]) -> NodeId {
        let (target, first_id) = (position + 1, self.runs[run].node);
        LAST_MESSAGE.with_borrow_mut(|last| {
            let at = self.start_for(last, run, target);
            let Ok((at, _, size)) = message_holding(bytes, first, at, target) else { return first_id + (target + 1) };
            (last.generation, last.run, last.id, last.at, last.size, last.made) =
                (self.generation, run, first_id + at.ids, at, size, 0);
            first_id + if target == at.ids { at.ids + size.0 } else { target + 1 }
        })
    }

    /// Where a read of the node `target` ids after the first message of flat run `run`
    /// starts: at the message read last, or after it, when the node is in it or near after
    /// it; else at the mark before it.
    fn start_for(&self, last: &LastMessage, run: usize, target: u32) -> At {
        let from_last = (last.generation, last.run) == (self.generation, run) && last.at.ids <= target;
        let (ids, bytes) = last.size;
        if from_last && target < last.at.ids + ids {
            return last.at;
        }
        if from_last && ids > 0 && target - last.at.ids < NEAR {
            return last.at.after((ids, bytes));
        }
        let first = self.runs[run].node;
        self.mark_before(first, first + target)
    }

    /// The message of flat run `run` (whose first, `first`, is read with the moves pending
    /// on it) that is `k` messages after its first, or its last when it holds fewer: its
    /// id and how many messages come before it. Found from the mark before it, so a
    /// lookup by index or a count of a run's messages reads at most [`MARK_EVERY`] of them.
    pub(in crate::model) fn flat_message(&self, run: usize, k: u32, first: &Node, bytes: &[u8]) -> (NodeId, u32) {
        let (first_id, end) = (self.runs[run].node, self.runs[run].end());
        let marks = self.flat_marks.partition_point(|mark| mark.id <= first_id)
            ..self.flat_marks.partition_point(|mark| mark.id.index() < end);
        let before = self.flat_marks[marks.clone()].partition_point(|mark| mark.index <= k);
        let marked = before.checked_sub(1).map(|m| self.flat_marks[marks.start + m]);
        let mut at = marked.map_or_else(At::default, |mark| At::marked(mark, first_id));
        while at.index < k {
            let Some((_, size)) = message_at(bytes, (first.start + at.offset) as usize) else { break };
            if first_id.index() + (at.ids + size.0) as usize >= end {
                break;
            }
            at = at.after(size);
        }
        (first_id + at.ids, at.index)
    }

    /// The messages of flat run `run` (whose first, `first`, is read with the moves pending
    /// on it) in `bytes`, from the one holding `from` on.
    pub(in crate::model) fn flat_messages<'a>(
        &self,
        run: usize,
        from: NodeId,
        first: Node,
        bytes: &'a [u8],
    ) -> Messages<'a> {
        let first_id = self.runs[run].node;
        let marked = self.mark_before(first_id, from);
        let at = message_holding(bytes, &first, marked, from - first_id).map_or_else(|at| at, |(at, ..)| at);
        Messages { bytes, first, first_id, end: self.runs[run].end(), at, last: first_id, fields: Vec::new() }
    }

    /// The flat run that holds `id`, if one does.
    pub(in crate::model) fn flat_run_of(&self, id: NodeId) -> Option<usize> {
        let run = self.runs.partition_point(|run| run.node <= id).checked_sub(1)?;
        (self.runs[run].shape == Shape::Flat && id.index() < self.runs[run].end()).then_some(run)
    }

    /// The message of flat run starting at `first` marked last before `id` (the first
    /// message when none is).
    fn mark_before(&self, first: NodeId, id: NodeId) -> At {
        let marked = self.flat_marks.partition_point(|mark| mark.id <= id).checked_sub(1);
        marked
            .map(|m| self.flat_marks[m])
            .filter(|mark| mark.id > first)
            .map_or_else(At::default, |mark| At::marked(mark, first))
    }
}

/// The node of message `message` of a flat run, `id`, `at` its place in the run whose first
/// message is `first` (as read), taking `ids` ids.
fn message_node(message: &RawField, first: &Node, id: NodeId, at: At, ids: u32) -> Node {
    tagged(message, Node { next: id + ids, index: first.index + at.index, ..*first })
}

/// The nodes of the leaves of message `id` of the flat run whose first message is `first`
/// (as read), made from its `fields`, in id order, each with its value as read with it
/// ([`RawField::scalar`]) and what `leaf(field_number)` gives besides its kind (the
/// field, to a reader that wants it: it is looked up once).
pub(in crate::model) fn leaves_of<'a, F>(
    fields: impl Iterator<Item = RawField> + Clone + 'a,
    id: NodeId,
    first: &'a Node,
    leaf: impl Fn(u32) -> (NodeKind, F) + 'a,
) -> impl Iterator<Item = (Node, u64, F)> + 'a {
    indexed(fields).zip(1..).map(move |((field, index), k)| {
        let (kind, besides) = leaf(field.tag.field_number);
        (leaf_node(&field, index, (id, k), kind, first), field.scalar, besides)
    })
}

/// The node of leaf `field`, the `index`th value of its field, the `k`th node under
/// message `id` of a flat run whose first message is `first` (as read).
pub(in crate::model) fn leaf_node(
    field: &RawField,
    index: u32,
    (id, k): (NodeId, u32),
    kind: NodeKind,
    first: &Node,
) -> Node {
    let (number, leaf_id) = (field.tag.field_number, id + k);
    tagged(field, Node { parent: Some(id), next: leaf_id + 1, field_number: number, index, ty: None, kind, ..*first })
}

/// Each of a message's leaves, its first [`MOST_LEAVES`], with its `[i]`: how many values
/// of its field came before it, counted only when its number may have come before.
pub(in crate::model) fn indexed(
    fields: impl Iterator<Item = RawField> + Clone,
) -> impl Iterator<Item = (RawField, u32)> {
    // The field numbers met, a bit each (modulo 64).
    let mut seen = 0u64;
    let all = fields.clone();
    fields.take(MOST_LEAVES).zip(0..).map(move |(field, made)| {
        let number = field.tag.field_number;
        let bit = 1u64 << (number % 64);
        let index = match seen & bit {
            0 => 0,
            _ => all.clone().take(made).filter(|f| f.tag.field_number == number).count() as u32,
        };
        seen |= bit;
        (field, index)
    })
}

/// The messages of a flat run from one on, each made from its bytes with its own span,
/// stepping from each to the next: a walk that reads every message of a run in turn needs
/// no mark and leaves the thread's last message alone. Each message's fields are read
/// once, for how many ids it takes and for its leaves.
pub(in crate::model) struct Messages<'a> {
    bytes: &'a [u8],
    first: Node,
    first_id: NodeId,
    /// One past the run's last id.
    end: usize,
    /// The next message.
    at: At,
    /// The message met last, and its fields.
    last: NodeId,
    fields: Vec<RawField>,
}

/// A message of a flat run as [`Messages`] meets it: its id and its node.
#[derive(Debug, Clone, Copy)]
pub(in crate::model) struct MadeMessage {
    pub(in crate::model) id: NodeId,
    pub(in crate::model) node: Node,
}

impl Iterator for Messages<'_> {
    type Item = MadeMessage;

    #[inline(always)]
    fn next(&mut self) -> Option<MadeMessage> {
        let id = self.first_id + self.at.ids;
        if id.index() >= self.end {
            return None;
        }
        let pos = (self.first.start + self.at.offset) as usize;
        let span = wire::read_field_inline(self.bytes, pos, self.bytes.len()).ok()?;
        self.fields.clear();
        self.fields.extend(fields(self.bytes, span));
        let size = (1 + self.fields.len() as u32, (span.end - span.start) as u64);
        let node = message_node(&span, &self.first, id, self.at, size.0);
        (self.at, self.last) = (self.at.after(size), id);
        Some(MadeMessage { id, node })
    }
}

/// What [`Messages::pass_over`] did with the next message of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Passed {
    /// It passed over the message: its id, its place among its field's values (its
    /// node's index) and how many ids it and its leaves take.
    Over { id: NodeId, index: u32, ids: u32 },
    /// A field of it stopped the pass: the message is still the next one.
    Stopped,
    /// The run has no message left.
    End,
}

impl Messages<'_> {
    /// Steps past the next message when `pass` passes each of its fields in turn, all
    /// numbers under a one-byte tag, each read with its value ([`RawField::scalar`]): no
    /// node is made. A reader that needs only the values (a search for digits) reads a
    /// run at the speed of its bytes, and leaves any message it cannot judge so to
    /// [`Iterator::next`].
    #[inline]
    pub(in crate::model) fn pass_over(&mut self, mut pass: impl FnMut(&RawField) -> bool) -> Passed {
        let id = self.first_id + self.at.ids;
        if id.index() >= self.end {
            return Passed::End;
        }
        let pos = (self.first.start + self.at.offset) as usize;
        let Ok(message) = wire::read_field_inline(self.bytes, pos, self.bytes.len()) else { return Passed::Stopped };
        let (mut at, mut leaves) = (message.value_start, 0);
        while at < message.value_end {
            let field = number_at(self.bytes, at, message.value_end);
            match field.filter(|field| leaves < MOST_LEAVES && pass(field)) {
                Some(field) => (at, leaves) = (field.end, leaves + 1),
                None => return Passed::Stopped,
            }
        }
        let (ids, index) = (1 + leaves as u32, self.first.index + self.at.index);
        self.at = self.at.after((ids, (message.end - message.start) as u64));
        Passed::Over { id, index, ids }
    }

    /// The id of the message met last.
    pub(in crate::model) fn last_met(&self) -> NodeId {
        self.last
    }

    /// The leaves of the message met last, in id order, each with its value as read with
    /// it ([`RawField::scalar`]) and what `leaf(field_number)` gives besides its kind.
    pub(in crate::model) fn leaves<'w, F>(
        &'w self,
        leaf: impl Fn(u32) -> (NodeKind, F) + 'w,
    ) -> impl Iterator<Item = (Node, u64, F)> + 'w {
        leaves_of(self.fields.iter().copied(), self.last, &self.first, leaf)
    }
}

/// The fields inside `message`, leaves that read clean, each number with its value: a
/// search or selector reading them compares the value read here, not read again.
pub(in crate::model) fn fields(bytes: &[u8], message: RawField) -> impl Iterator<Item = RawField> + Clone + '_ {
    let end = message.value_end;
    let mut pos = message.value_start;
    std::iter::from_fn(move || {
        if pos >= end {
            return None;
        }
        let field = number_at(bytes, pos, end).or_else(|| wire::read_field_inline(bytes, pos, end).ok())?;
        pos = field.end;
        Some(field)
    })
}

/// The number field at `pos` under a one-byte tag, with its value; `None` for anything
/// else.
fn number_at(bytes: &[u8], pos: usize, end: usize) -> Option<RawField> {
    // A tag of one byte, of field 1 to 15.
    let tag = *bytes.get(pos).filter(|tag| (8..0x80).contains(*tag))?;
    let (wire_type, at) = (WireType::from_bits(tag & 7)?, pos + 1);
    let (scalar, next) = match wire_type {
        WireType::Varint => wire::read_varint(bytes, at, end).ok().map(|(value, len)| (value, at + len))?,
        WireType::Fixed32 => (u64::from(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?)), at + 4),
        WireType::Fixed64 => (u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?), at + 8),
        _ => return None,
    };
    let tag = wire::Tag { field_number: u32::from(tag >> 3), wire_type };
    (next <= end).then_some(RawField {
        tag,
        start: pos,
        tag_len: 1,
        len_len: 0,
        value_start: pos + 1,
        value_end: next,
        end: next,
        scalar,
    })
}

/// How many leaves `message` holds, counted without reading their values.
fn leaves_in(bytes: &[u8], message: &RawField) -> u32 {
    let (mut pos, mut count) = (message.value_start, 0);
    while pos < message.value_end {
        pos = match wire::skim_field(bytes, pos, message.value_end) {
            Some((_, next)) => next,
            None => match wire::read_field_inline(bytes, pos, message.value_end) {
                Ok(field) => field.end,
                Err(_) => break,
            },
        };
        count += 1;
    }
    count
}

/// `shape` where `field` lies, with its tag's wire type and lengths.
pub(in crate::model) fn tagged(field: &RawField, shape: Node) -> Node {
    Node {
        start: field.start as u64,
        value_end: field.value_end as u64,
        wire: Some(field.tag.wire_type),
        lens: Node::pack_lens(field.tag_len, field.len_len, 0),
        ..shape
    }
}

/// What a node reads as when its bytes no longer read as they did when decoded, which
/// an edit decoding them again rules out: an empty error span at `at`.
pub(in crate::model) fn unreadable(id: NodeId, at: usize, parent: NodeId) -> Node {
    Node {
        start: at as u64,
        value_end: at as u64,
        parent: Some(parent),
        next: id + 1,
        field_number: 0,
        index: 0,
        ty: None,
        kind: NodeKind::Error,
        wire: None,
        lens: 0,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::tests::{decoded, kinds, len_field, same_nodes, varint};
    use crate::model::node::NodeId;
    use crate::model::redecode::tests::replaced;
    use crate::model::source::Source;
    use crate::model::{Document, redecode, value};

    /// A leaf of `jsonkinds.Inner`: `id` (1, a uint32: a larger value is a problem),
    /// `label` (2, a string) or one of `deltas` (3, sint64, not packed).
    fn leaf((field, value): (u8, u64), out: &mut Vec<u8>) {
        match field {
            1 => len_field(2, &b"label".repeat(value as usize % 4), out),
            2 => {
                varint(3 << 3, out);
                varint(value, out);
            }
            _ => {
                varint(1 << 3, out);
                varint(value, out);
            }
        }
    }

    /// A top-level piece of `jsonkinds.Kinds`: an `Inner` of `many_inner` (25) holding
    /// `leaves`; with `other`, a field that is not one (an `i32`, 1) instead; with `any`,
    /// the pieces inside an Any's payload of `Kinds` (31).
    fn piece(leaves: &[(u8, u64)], other: bool, out: &mut Vec<u8>) {
        if other {
            varint(1 << 3, out);
            varint(leaves.len() as u64, out);
            return;
        }
        let mut inner = Vec::new();
        for &l in leaves {
            leaf(l, &mut inner);
        }
        len_field(25, &inner, out);
    }

    /// `pieces`, at the top level or inside an Any's payload of `Kinds`.
    fn blob(pieces: &[(Vec<(u8, u64)>, bool)], in_any: bool) -> Vec<u8> {
        let mut bytes = Vec::new();
        for (leaves, other) in pieces {
            piece(leaves, *other, &mut bytes);
        }
        if !in_any {
            return bytes;
        }
        let mut any = Vec::new();
        len_field(1, b"type.googleapis.com/jsonkinds.Kinds", &mut any);
        len_field(2, &bytes, &mut any);
        let mut out = Vec::new();
        len_field(31, &any, &mut out);
        out
    }

    /// Leaves of mostly small values, a few out of `id`'s range; now and then more than
    /// a flat run's message holds.
    fn leaves() -> impl Strategy<Value = Vec<(u8, u64)>> {
        let value = prop_oneof![8 => 0u64..300, 1 => any::<u64>()];
        prop_oneof![
            20 => prop::collection::vec((0u8..3, value.clone()), 0..5),
            1 => prop::collection::vec((2u8..3, value), super::MOST_LEAVES..super::MOST_LEAVES + 3),
        ]
    }

    fn pieces() -> impl Strategy<Value = Vec<(Vec<(u8, u64)>, bool)>> {
        prop::collection::vec((leaves(), prop::bool::weighted(0.1)), 0..60)
    }

    /// How many top-level fields `bytes` holds.
    fn blob_count(bytes: &[u8]) -> usize {
        let mut pos = 0;
        std::iter::from_fn(|| {
            let field = crate::decode::wire::read_field(bytes, pos, bytes.len()).ok()?;
            pos = field.end;
            Some(())
        })
        .count()
    }

    /// Checks that a walk over the flat run of each message of `lean` that has one, from
    /// it to the run's end, meets the nodes and fields `full` (storing every node) reads.
    fn walks_read_as(lean: &Document, full: &Document) -> Result<(), TestCaseError> {
        for id in NodeId::ROOT.up_to(lean.end()) {
            let Some(mut walk) = lean.flat_walk(id, &lean.node(id)) else { continue };
            prop_assert_eq!(walk.message_field().map(|f| f.number), full.field_info(id).map(|f| f.number));
            let mut expected = id;
            while let Some(message) = walk.next() {
                prop_assert_eq!((message.id(), *message.node()), (expected, full.node(expected)));
                for leaf in walk.leaves() {
                    prop_assert_eq!((leaf.id, leaf.node), (expected + 1, full.node(expected + 1)));
                    let field = full.field_info(leaf.id);
                    prop_assert_eq!(leaf.field.map(|f| f.number), field.map(|f| f.number));
                    prop_assert_eq!(leaf.scalar(), value::scalar_of(full, &leaf.node, field));
                    expected = leaf.id;
                }
                expected = message.node().next;
            }
            prop_assert_eq!(Some(expected), lean.flat_run_end(id), "a walk from {} ends where its run does", id);
        }
        Ok(())
    }

    #[test]
    fn an_edit_of_a_flat_runs_first_message_after_ids_moved_before_it_reads_as_the_whole() {
        // A message too long for a flat run, then a run: the first edit gives the long one
        // a leaf more, which leaves the ids of the run moved, pending on its first message;
        // the second gives that message a leaf more, whose next is then stored back.
        let decoder = kinds();
        let long = |extra: usize| (vec![(2, 7); super::MOST_LEAVES + 1 + extra], false);
        let mut pieces = vec![long(0)];
        pieces.extend((0..12u64).map(|i| (vec![(0, i), (1, i)], false)));
        let mut doc = decoded(&decoder, &blob(&pieces, false), true);
        for (at, edited) in [(0, long(1)), (1, (vec![(0, 5), (1, 6), (2, 7)], false)), (0, long(3))] {
            pieces[at] = edited;
            let top = doc.top_level_from(NodeId::ROOT + 1).nth(at).unwrap();
            let node = doc.node(top);
            let span = node.start as usize..node.end() as usize;
            let mut put = Vec::new();
            piece(&pieces[at].0, false, &mut put);
            let delta = put.len() as isize - span.len() as isize;
            let inside = redecode::inside(&doc, &span).expect("the edit stays inside one top-level field");
            let source = Source::new(blob(&pieces, false));
            let (old, ..) = doc.into_old();
            doc = redecode::again(old, &decoder, &source, inside, delta).expect("decoded alone");
            let full = decoded(&decoder, &blob(&pieces, false), false);
            same_nodes(&doc, &full);
            walks_read_as(&doc, &full).unwrap();
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(150))]

        #[test]
        fn a_document_leaving_flat_runs_unstored_reads_as_one_storing_them(
            pieces in pieces(),
            in_any in any::<bool>(),
            cut_at in any::<prop::sample::Index>(),
        ) {
            let decoder = kinds();
            let bytes = blob(&pieces, in_any);
            let (lean_doc, full_doc) = (decoded(&decoder, &bytes, true), decoded(&decoder, &bytes, false));
            let (lean, full) = same_nodes(&lean_doc, &full_doc);
            // Read backwards and by siblings too: each read starts from what was read last.
            for id in NodeId::ROOT.up_to(full_doc.end()).rev() {
                prop_assert_eq!(lean_doc.node(id), full_doc.node(id));
                prop_assert!(lean_doc.children(id).eq(full_doc.children(id)), "the children of {}", id);
            }
            walks_read_as(&lean_doc, &full_doc)?;
            let tops = lean_doc.top_level_from(NodeId::ROOT + 1).zip(full_doc.top_level_from(NodeId::ROOT + 1));
            for (lean_top, full_top) in tops {
                prop_assert_eq!(lean_doc.node(lean_top), full_doc.node(full_top));
            }
            // Clean messages of few enough leaves side by side are a flat run: the leaves and
            // every message but the first are not stored.
            let flat = |(leaves, other): &(Vec<(u8, u64)>, bool)| {
                !other && leaves.len() <= super::MOST_LEAVES && leaves.iter().all(|&(f, v)| f != 0 || v <= u32::MAX.into())
            };
            let saves = pieces.windows(2).any(|w| flat(&w[0]) && flat(&w[1]));
            prop_assert!(!saves || lean < full, "{lean} of {full} stored");
            if !bytes.is_empty() {
                let cut = &bytes[..cut_at.index(bytes.len())];
                same_nodes(&decoded(&decoder, cut, true), &decoded(&decoder, cut, false));
            }
        }

        #[test]
        fn an_edit_of_a_message_in_a_flat_run_decodes_it_alone_and_reads_as_the_whole_again(
            pieces in prop::collection::vec(prop::collection::vec((0u8..3, 0u64..300), 0..5), 1..80),
            edited in any::<prop::sample::Index>(),
            new_leaves in prop::collection::vec((0u8..3, prop_oneof![8 => 0u64..300, 1 => any::<u64>()]), 0..6),
        ) {
            let decoder = kinds();
            let pieces: Vec<_> = pieces.into_iter().map(|leaves| (leaves, false)).collect();
            let bytes = blob(&pieces, false);
            let doc = decoded(&decoder, &bytes, true);
            // Every node read once, so that reads after the edit start from what was read.
            same_nodes(&doc, &decoded(&decoder, &bytes, false));
            let top = doc.top_level_from(NodeId::ROOT + 1).nth(edited.index(pieces.len())).unwrap();
            let node = doc.node(top);
            let span = node.start as usize..node.end() as usize;
            let mut new_piece = Vec::new();
            piece(&new_leaves, false, &mut new_piece);
            let inside = redecode::inside(&doc, &span);
            prop_assert!(inside.is_some(), "the edit stays inside one top-level field");
            let mut edited_bytes = bytes.clone();
            edited_bytes.splice(span.clone(), new_piece.iter().copied());
            let source = Source::new(edited_bytes.clone());
            let delta = new_piece.len() as isize - span.len() as isize;
            let clean = new_leaves.iter().all(|&(field, value)| field != 0 || value <= u64::from(u32::MAX));
            let (old, ..) = doc.into_old();
            let again = redecode::again(old, &decoder, &source, inside.unwrap(), delta);
            prop_assert_eq!(again.is_some(), clean, "decoded alone unless it has a problem");
            if let Some(again) = again {
                let full = decoded(&decoder, &edited_bytes, false);
                same_nodes(&again, &full);
                walks_read_as(&again, &full)?;
            }
        }

        #[test]
        fn whole_top_level_fields_taken_out_or_put_in_decode_alone_and_read_as_the_whole_again(
            pieces in prop::collection::vec(prop::collection::vec((0u8..3, 0u64..300), 0..5), 0..80),
            from in any::<prop::sample::Index>(),
            taken in 0usize..4,
            put in prop::collection::vec(prop::collection::vec((0u8..3, 0u64..300), 0..5), 0..3),
        ) {
            let decoder = kinds();
            let ids = |pieces: &[Vec<(u8, u64)>]| pieces.iter().map(|leaves| 1 + leaves.len()).sum::<usize>();
            let from = from.index(pieces.len() + 1);
            let taken = taken.min(pieces.len() - from);
            let ids_move = ids(&put) as isize - ids(&pieces[from..from + taken]) as isize;
            let pieces: Vec<_> = pieces.into_iter().map(|leaves| (leaves, false)).collect();
            let bytes = blob(&pieces, false);
            let put = blob(&put.into_iter().map(|leaves| (leaves, false)).collect::<Vec<_>>(), false);
            let doc = decoded(&decoder, &bytes, true);
            same_nodes(&doc, &decoded(&decoder, &bytes, false));
            // Pieces `from .. from + taken` replaced by `put` (none: a delete; none taken:
            // an insert), then put back.
            let tops: Vec<_> = doc.top_level_from(NodeId::ROOT + 1).collect();
            let start_of = |i: usize| tops.get(i).map_or(bytes.len(), |&id| doc.node(id).start as usize);
            let span = start_of(from)..start_of(from + taken);
            let mut edited = bytes.clone();
            edited.splice(span.clone(), put.iter().copied());
            let put_count = blob_count(&put);
            // Carried over unless nothing changes or no field is left (the whole is decoded
            // again then); with as many ids as before, whether depends on the runs.
            let carries = |len: usize, taken: usize, put: usize| len > 0 && taken + put > 0 && (taken, put) != (len, 0);
            let (again, whole) = replaced(doc, span.clone(), &put);
            if ids_move != 0 {
                prop_assert_eq!(again.is_some(), carries(pieces.len(), taken, put_count), "carried over");
            }
            let again = again.unwrap_or(whole);
            let full = decoded(&decoder, &edited, false);
            same_nodes(&again, &full);
            walks_read_as(&again, &full)?;
            let back = span.start..span.start + put.len();
            let (undone, _) = replaced(again, back, &bytes[span.clone()]);
            if ids_move != 0 {
                let len = pieces.len() - taken + put_count;
                prop_assert_eq!(undone.is_some(), carries(len, put_count, taken), "carried back");
            }
            if let Some(undone) = undone {
                let full = decoded(&decoder, &bytes, false);
                same_nodes(&undone, &full);
                walks_read_as(&undone, &full)?;
            }
        }
    }
}

#[cfg(test)]
mod path_tests {
    use std::sync::Arc;

    use super::super::tests::{decoded, len_field, varint};
    use crate::decode::registry::SchemaSources;
    use crate::decode::schema::Schema;
    use crate::model::node::NodeId;
    use crate::model::{Decoder, Document, query};

    /// Over a thousand entries of two numbers each (an index, and a value repeating every
    /// 100 entries), then one with a field its type does not declare and two more: decoded
    /// as two flat runs around a message stored, the first marked every 16; and with every
    /// node stored.
    fn entries() -> (Document, Document) {
        entries_in_a_run_of(1200)
    }

    /// [`entries`], the first flat run `count` entries long.
    fn entries_in_a_run_of(count: u64) -> (Document, Document) {
        let schema = Arc::new(Schema::load(&SchemaSources::default()).unwrap());
        let root = schema.pool.get_message_by_name("sample.virt.x86.Msrs");
        let decoder = Decoder::new(schema, root);
        let mut bytes = Vec::new();
        for i in (0..count).chain([count, count + 1, count + 2]) {
            let mut entry = Vec::new();
            varint(1 << 3, &mut entry);
            varint(0xc000_0080 + i, &mut entry);
            varint(2 << 3, &mut entry);
            varint(i % 100 * 7919, &mut entry);
            if i == count {
                // Field 9, not declared: this entry is not of a flat run.
                entry.extend_from_slice(&[9 << 3, 1]);
            }
            len_field(1, &entry, &mut bytes);
        }
        (decoded(&decoder, &bytes, true), decoded(&decoder, &bytes, false))
    }

    #[test]
    fn a_path_finds_a_message_of_a_flat_run_by_index_and_counts_the_run_where_it_names_nothing() {
        let (lean, full) = entries();
        let entries = full.top_level_from(NodeId::ROOT + 1).count();
        let stored = full.top_level_from(NodeId::ROOT + 1).nth(1200);
        assert!(entries > 1000 && lean.flat_run_end(NodeId::ROOT + 1) == stored, "a run of 1200 of {entries}");
        assert!(lean.flat_run_end(stored.unwrap()).is_none() && lean.flat_run_end(stored.unwrap() + 4).is_some());
        for k in (0..entries).rev().step_by(7).chain([0, 1, 15, 16, 17, entries - 1]) {
            let path = format!("entries[{k}].value");
            assert_eq!(lean.resolve(&path).unwrap(), full.resolve(&path).unwrap(), "{path}");
        }
        for path in [format!("entries[{entries}]"), "nosuch".to_owned(), "entries[3].nosuch".to_owned()] {
            let (said, expected) = (lean.resolve(&path).unwrap_err(), full.resolve(&path).unwrap_err());
            assert_eq!(said.to_string(), expected.to_string(), "{path}");
        }
    }

    #[test]
    fn a_selector_on_a_leaf_finds_the_messages_of_a_flat_run_a_decode_storing_them_finds() {
        let (lean, full) = entries();
        let value = |k: u64| k * 7919;
        let index = |k: u64| 0xc000_0080u64 + k;
        for (query, count) in [
            (format!("entries[value={}]", value(0)), 13),
            (format!("entries[value={}]", value(1)), 13),
            (format!("entries[value={}]", value(17)), 12),
            (format!("entries[value={}]", value(99)), 12),
        ] {
            assert_eq!(
                query::select(&lean, &query).map(|f| f.len()),
                Ok(count),
                "{query}: 12 entries, or 13 with the last three"
            );
        }
        for query in [
            format!("entries[value={}]", value(1)),
            format!("entries[index={}]", index(0)),
            format!("entries[index={}]", index(16)),
            format!("entries[index={}]", index(1199)),
            "entries[index=1]".to_owned(),
            // A number written otherwise than a row writes it reads as no value.
            format!("entries[index=0{}]", index(16)),
            format!("entries[index=+{}]", index(16)),
            format!("entries[value={} ]", value(1)),
            "entries[nosuch=1]".to_owned(),
            "nosuch[index=1]".to_owned(),
        ] {
            assert_eq!(query::select(&lean, &query), query::select(&full, &query), "{query}");
        }
    }

    #[test]
    fn a_selector_on_a_long_flat_run_read_on_both_cores_finds_what_one_pass_finds() {
        // A run long enough to be read in two halves, one on each core.
        let (lean, full) = entries_in_a_run_of(70_000);
        let run_end = lean.flat_run_end(NodeId::ROOT + 1);
        assert_eq!(run_end, full.top_level_from(NodeId::ROOT + 1).nth(70_000), "one run of 70,000");
        let index = |k: u64| 0xc000_0080u64 + k;
        for query in [
            // Values every hundredth entry holds, on both sides of the middle.
            format!("entries[value={}]", 0),
            format!("entries[value={}]", 99 * 7919),
            // The first, the last before the middle, the middle, the last of the run.
            format!("entries[index={}]", index(0)),
            format!("entries[index={}]", index(34_999)),
            format!("entries[index={}]", index(35_000)),
            format!("entries[index={}]", index(69_999)),
            "entries[index=1]".to_owned(),
        ] {
            let found = query::select(&lean, &query);
            assert_eq!(found, query::select(&full, &query), "{query}");
        }
        assert_eq!(query::select(&lean, "entries[value=0]").map(|f| f.len()), Ok(701), "700 in the run, 1 after");
    }
}
