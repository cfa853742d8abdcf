//! The nodes a document does not store: the values of clean packed runs, and clean
//! messages of leaves side by side with their leaves (a flat run, [`flat`]). Their ids keep
//! their places in pre-order, and each node is made from its run's bytes when it is read.
//! Half the nodes of the real OpenVMM state are packed values; a node of 32 bytes for each
//! of them made a browser's memory three times the file, and three for each 17-byte entry
//! of a dense list of small messages made it seven times.

pub(in crate::model) mod flat;

pub(super) use flat::MOST_LEAVES as MOST_FLAT_LEAVES;

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::decode::wire::{PackedRun, Plain, WireType};
use crate::model::halves::on_both_cores;
use crate::model::node::{Node, NodeId, NodeKind};
use crate::model::record::NodeRecord;

/// Every how many values of a varint run the offset of one is kept: a value is read from
/// the one kept before it, fewer than this many values on.
const CHECKPOINT_EVERY: usize = 32;

/// How many ids a [`Block`] says are stored or not.
const BLOCK: usize = 64;

/// How the nodes of a run not stored lie in its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// The values of a clean packed run, of this wire type (varint, fixed32 or fixed64).
    Packed(WireType),
    /// Clean messages of leaves side by side, siblings of one field, each followed by its
    /// leaves: the first message is the run's stored node ([`flat`]).
    Flat,
    /// Every node under a clean message, the run's stored node: read from a decode of
    /// that message alone ([`crate::model::cold`]).
    Cold,
}

/// A run of nodes not stored: a clean packed run's values, or a flat run of messages.
#[derive(Debug, Clone, Copy)]
struct Run {
    /// The run's stored node (the packed run's own, or the flat run's first message); the
    /// nodes not stored are the ids right after it.
    node: NodeId,
    /// How many ids after it are not stored.
    count: u32,
    /// How they lie in the bytes.
    shape: Shape,
    /// Where the offsets of every [`CHECKPOINT_EVERY`]th value but the first (which is
    /// at the run's value start) start in [`Elided::checkpoints`] (packed varint runs
    /// only: fixed-width values are found by width, and a flat run's messages are marked
    /// in [`Elided::flat_marks`]). Less than the ids, so 32 bits.
    checkpoints_at: u32,
}

impl Run {
    /// One past its last value's id.
    fn end(&self) -> usize {
        self.node.index() + 1 + self.count as usize
    }
}

/// [`BLOCK`] ids, from a multiple of [`BLOCK`] on: which are stored, and what comes before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Block {
    /// How many stored ids come before the block's first.
    stored_before: u32,
    /// At most how many runs have their node before the block's first id: where the search
    /// for a value's run starts.
    runs_before: u32,
    /// Bit `i` set: the block's `i`th id is stored.
    stored: u64,
}

impl Block {
    /// How many stored ids come before the block's `bit`th.
    #[inline(always)]
    fn stored_below(&self, bit: usize) -> usize {
        self.stored_before as usize + (self.stored & ((1u64 << bit) - 1)).count_ones() as usize
    }
}

/// Where the node of an id is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    /// In the arena of stored nodes, at this position.
    Stored(usize),
    /// Not stored: the node `position` places after the first not stored of run `run`.
    Value { run: usize, position: u32 },
    /// Not stored, but made when its flat run's message was read last on this thread.
    Read(NodeRecord),
    /// Not stored: the node `position` places after the stored message of cold run `run`,
    /// in its subtree.
    Cold { run: usize, position: u32 },
}

/// The value of a varint run read last on a thread: a reader of a run's values reads
/// them one after another, and each is read several times (its label, its type, its
/// value), so the next read starts from here when it is closer than the offset kept.
#[derive(Debug, Clone, Copy)]
struct LastRead {
    /// [`Elided::generation`] of the runs it was read from.
    generation: u64,
    run: usize,
    position: u32,
    /// Its offset from the run's value start.
    offset: u64,
}

thread_local! {
    static LAST_READ: Cell<Option<LastRead>> = const { Cell::new(None) };
}

/// Where each [`Elided::generation`] comes from.
static GENERATIONS: AtomicU64 = AtomicU64::new(0);

/// A generation no other runs have had.
fn new_generation() -> u64 {
    GENERATIONS.fetch_add(1, Ordering::Relaxed)
}

/// The runs of nodes a document does not store, and where every id is.
#[derive(Debug, Default)]
pub(super) struct Elided {
    /// In id order.
    runs: Vec<Run>,
    /// Offsets of values from their run's value start (see [`Run::checkpoints_at`]).
    checkpoints: Vec<u64>,
    /// Where every [`flat::MARK_EVERY`]th message of each flat run starts, in id order.
    flat_marks: Vec<flat::Mark>,
    /// Where the last message of the last flat run ends, while another may join it.
    flat_end: Option<u64>,
    /// Every [`BLOCK`] ids; empty while no run is elided, when every id is stored.
    blocks: Vec<Block>,
    /// How many ids there are (kept while blocks are).
    ids: usize,
    /// How many of them are values not stored.
    elided: usize,
    /// Changes whenever a run that was read may be gone or read otherwise: a value read
    /// last on a thread is used again only from the runs of the same generation.
    generation: u64,
}

impl Elided {
    /// How many ids there are when `stored` nodes are stored.
    #[inline]
    pub(super) fn ids(&self, stored: usize) -> usize {
        stored + self.elided
    }

    /// Where the node of `id` is.
    #[inline(always)]
    pub(super) fn locate(&self, id: NodeId) -> Place {
        let i = id.index();
        if self.blocks.is_empty() {
            return Place::Stored(i);
        }
        let block = self.blocks[i / BLOCK];
        if block.stored >> (i % BLOCK) & 1 == 1 {
            return Place::Stored(block.stored_below(i % BLOCK));
        }
        if let Some(record) = flat::read_last(self.generation, id) {
            return Place::Read(record);
        }
        self.value_place(block, id)
    }

    /// [`Elided::locate`] of a value not stored: its run is the last to start before it.
    #[inline(never)]
    fn value_place(&self, block: Block, id: NodeId) -> Place {
        let mut run = (block.runs_before as usize).saturating_sub(1);
        while self.runs.get(run + 1).is_some_and(|next| next.node < id) {
            run += 1;
        }
        let position = id - self.runs[run].node - 1;
        match self.runs[run].shape {
            Shape::Cold => Place::Cold { run, position },
            Shape::Packed(_) | Shape::Flat => Place::Value { run, position },
        }
    }

    /// The stored node of run `run`.
    pub(super) fn run_node(&self, run: usize) -> NodeId {
        self.runs[run].node
    }

    /// How many values run `run` holds.
    pub(super) fn run_count(&self, run: usize) -> u32 {
        self.runs[run].count
    }

    /// Whether run `run` is a flat run of messages rather than a packed run's values.
    #[inline]
    pub(super) fn is_flat(&self, run: usize) -> bool {
        self.runs[run].shape == Shape::Flat
    }

    /// How many of the ids before `ids` are stored, of the `stored` stored in all.
    pub(super) fn stored_before(&self, ids: usize, stored: usize) -> usize {
        if self.blocks.is_empty() {
            return ids;
        }
        if ids >= self.ids {
            return stored;
        }
        self.blocks[ids / BLOCK].stored_below(ids % BLOCK)
    }

    /// Says that the next id (`stored` nodes being stored before it) is a stored node.
    #[inline]
    pub(super) fn push_stored(&mut self, stored: usize) {
        if !self.blocks.is_empty() {
            self.append(1, true, stored);
        }
    }

    /// Adds `n` ids, stored or not, after the last, `stored` nodes being stored before them.
    fn append(&mut self, n: usize, stored: bool, stored_before: usize) {
        let end = self.ids + n;
        for (block, mask) in block_masks(self.ids..end) {
            if block == self.blocks.len() {
                let before = stored_before + if stored { block * BLOCK - self.ids } else { 0 };
                self.blocks.push(Block {
                    stored_before: before as u32,
                    runs_before: self.runs.len() as u32,
                    stored: 0,
                });
            }
            if stored {
                self.blocks[block].stored |= mask;
            }
        }
        self.ids = end;
    }

    /// Takes the `values` of packed node `packed` (the last nodes stored, `stored` being
    /// stored before them) out of the stored ones: from now on they are read from the
    /// bytes. Their starts are kept every [`CHECKPOINT_EVERY`] values.
    pub(super) fn elide(
        &mut self,
        packed: &Node,
        packed_id: NodeId,
        values: &[NodeRecord],
        stored: usize,
        wire: WireType,
    ) {
        self.unstore_from(packed_id.index() + 1, stored);
        let checkpoints_at = self.checkpoints.len() as u32;
        if wire == WireType::Varint {
            let value_start = packed.value_start();
            self.checkpoints.extend(values.iter().step_by(CHECKPOINT_EVERY).skip(1).map(|v| v.start() - value_start));
        }
        let shape = Shape::Packed(wire);
        self.runs.push(Run { node: packed_id, count: values.len() as u32, shape, checkpoints_at });
        self.append(values.len(), false, stored);
        self.elided += values.len();
        self.flat_end = None;
    }

    /// Takes the subtree of the stored message `message` (the last ids added, `stored`
    /// nodes being stored up to and with it) out of the stored ones: its `count` nodes are
    /// read from a decode of the message alone from now on.
    pub(super) fn leave_cold(&mut self, message: NodeId, count: usize, stored: usize) {
        self.unstore_from(message.index() + 1, stored);
        self.runs.push(Run { node: message, count: count as u32, shape: Shape::Cold, checkpoints_at: 0 });
        self.append(count, false, stored);
        self.elided += count;
        self.flat_end = None;
    }

    /// Whether the subtree of `message` is already left cold (the last run).
    pub(super) fn is_cold(&self, message: NodeId) -> bool {
        self.runs.last().is_some_and(|run| run.shape == Shape::Cold && run.node == message)
    }

    /// The generation of the runs, new with every change to them: a node of a cold run
    /// read from runs of another generation may have been read from other bytes.
    pub(super) fn generation(&self) -> u64 {
        self.generation
    }

    /// Takes the ids from `first` on (the last added, `stored` being stored before them)
    /// out of the stored ones, to be added again as not stored.
    fn unstore_from(&mut self, first: usize, stored: usize) {
        // Taking back the runs after `first` may leave none, and every id stored.
        self.truncate(first, stored);
        if self.blocks.is_empty() {
            self.ids = 0;
            self.generation = new_generation();
            self.append(first, true, 0);
        }
    }

    /// Forgets every id from `ids` on (`stored` of those before it being stored).
    pub(super) fn truncate(&mut self, ids: usize, stored: usize) {
        if self.blocks.is_empty() || ids >= self.ids {
            return;
        }
        while let Some(run) = self.runs.last_mut().filter(|run| run.end() > ids) {
            self.generation = new_generation();
            self.flat_end = None;
            if run.shape == Shape::Flat && run.node.index() < ids {
                // A flat run is cut where a message of it ends: the messages before stay.
                let kept = (ids - run.node.index() - 1) as u32;
                self.elided -= (run.count - kept) as usize;
                run.count = kept;
                break;
            }
            debug_assert!(run.node.index() >= ids, "a run's values are taken back with its node");
            self.elided -= run.count as usize;
            // Only packed runs keep offsets: the others' `checkpoints_at` says nothing.
            if let Shape::Packed(_) = run.shape {
                self.checkpoints.truncate(run.checkpoints_at as usize);
            }
            self.runs.pop();
        }
        while self.flat_marks.last().is_some_and(|mark| mark.id.index() >= ids) {
            self.flat_marks.pop();
        }
        if self.runs.is_empty() {
            *self = Elided::default();
            return;
        }
        self.blocks.truncate(ids.div_ceil(BLOCK));
        if !ids.is_multiple_of(BLOCK) {
            self.blocks.last_mut().expect("ids > 0").stored &= (1u64 << (ids % BLOCK)) - 1;
        }
        self.ids = ids;
        debug_assert_eq!(self.stored_before(ids, stored), stored);
    }

    /// The node of the value at `position` of run `run`, its run's node `packed` being
    /// where it lies in `bytes`.
    pub(super) fn value(&self, run: usize, position: u32, packed: &Node, bytes: &[u8]) -> Node {
        let Run { shape, checkpoints_at, .. } = self.runs[run];
        let Shape::Packed(wire) = shape else { unreachable!("a flat run's nodes are read by Elided::flat_node") };
        let value_start = packed.value_start() as usize;
        // Fixed-width values are stepped over all at once; varints from the closest of
        // the offset kept before the value and the value read last.
        let kept = match wire {
            WireType::Varint => position as usize / CHECKPOINT_EVERY * CHECKPOINT_EVERY,
            _ => 0,
        };
        let last = LAST_READ.get().filter(|last| {
            (last.generation, last.run) == (self.generation, run) && (kept as u32..=position).contains(&last.position)
        });
        let (from_position, offset) = match (last, kept / CHECKPOINT_EVERY) {
            (Some(last), _) => (last.position, last.offset),
            (None, 0) => (0, 0),
            (None, k) => (kept as u32, self.checkpoints[checkpoints_at as usize + k - 1]),
        };
        let from = value_start + offset as usize;
        let mut values = PackedRun::new(from..packed.value_end as usize, wire);
        let skipped = values.skip_plain(bytes, position - from_position, Plain::Unchecked);
        // The run read clean when it was decoded, and edits decode it again.
        let value = values.nth_in(bytes, (position - from_position - skipped) as usize);
        let span = value.map_or(from..from, |v| v.offset..v.offset + v.len);
        let offset = (span.start - value_start) as u64;
        LAST_READ.set(Some(LastRead { generation: self.generation, run, position, offset }));
        Node { start: span.start as u64, value_end: span.end as u64, ..self.shape(run, position, packed) }
    }

    /// The node of a value as [`Elided::value`] makes it, but for its offsets (those of
    /// its run's node): what is known without reading the bytes.
    pub(super) fn shape(&self, run: usize, position: u32, packed: &Node) -> Node {
        let id = self.runs[run].node + (position + 1);
        Node {
            start: packed.start,
            value_end: packed.value_end,
            parent: Some(self.runs[run].node),
            next: id + 1,
            field_number: packed.field_number,
            index: position,
            ty: None,
            kind: NodeKind::Element,
            wire: None,
            lens: 0,
        }
    }

    /// The runs of `old` with those in top-level field `top` (up to, not including, id
    /// `next`) replaced by those of `fresh` (a document of the root and that field alone,
    /// decoded again), and those after it moved by `ids_move` places; `ids` in all. When
    /// every id stays where it was and stored or not, only the field's runs change (the
    /// offsets kept for the runs replaced stay behind, a few for each edit).
    pub(super) fn spliced(
        mut old: Elided,
        top: NodeId,
        next: NodeId,
        fresh: &Elided,
        ids_move: isize,
        ids: usize,
    ) -> Self {
        let moved =
            |id: NodeId, by: isize| NodeId::from_index(id.index().checked_add_signed(by).expect("ids in range"));
        let offset = old.checkpoints.len() as u32;
        old.checkpoints.extend_from_slice(&fresh.checkpoints);
        let in_fresh = fresh.runs.iter().map(|run| Run {
            node: moved(run.node, top.index() as isize - 1),
            checkpoints_at: run.checkpoints_at + offset,
            ..*run
        });
        let field = old.runs.partition_point(|run| run.node < top)..old.runs.partition_point(|run| run.node < next);
        let same_places = |old: &Elided| {
            let places = |run: &Run| (run.node, run.count, run.shape);
            old.runs[field.clone()].iter().map(places).eq(in_fresh.clone().map(|run| places(&run)))
        };
        let marks = old.flat_marks.partition_point(|m| m.id < top)..old.flat_marks.partition_point(|m| m.id < next);
        let fresh_marks = fresh.flat_marks.iter().map(|m| m.at(moved(m.id, top.index() as isize - 1)));
        let marks_after = marks.start + fresh.flat_marks.len();
        old.flat_marks.splice(marks, fresh_marks);
        if ids_move == 0 && !old.blocks.is_empty() && same_places(&old) {
            old.runs.splice(field, in_fresh);
            old.generation = new_generation();
            old.flat_end = None;
            return old;
        }
        for mark in &mut old.flat_marks[marks_after..] {
            mark.id = moved(mark.id, ids_move);
        }
        let taken: usize = old.runs[field.clone()].iter().map(|run| run.count as usize).sum();
        let runs_move = fresh.runs.len() as isize - field.len() as isize;
        let tail = field.start + fresh.runs.len();
        let mut runs = old.runs;
        runs.splice(field, in_fresh);
        // A gigabyte has millions of runs after an early unit: both cores move them.
        on_both_cores(&mut runs[tail..], |part, _| {
            part.iter_mut().for_each(|run| run.node = moved(run.node, ids_move))
        });
        if old.blocks.is_empty() || runs.is_empty() {
            return Elided::from_runs(runs, old.checkpoints, old.flat_marks, old.blocks, ids);
        }
        let edit = BlocksEdit { top: top.index(), next: next.index(), ids_move, fresh_elided: fresh.elided, runs_move };
        let blocks = edit.moved(old.blocks, old.ids, &runs, ids);
        debug_assert!(blocks == marked(&runs, Vec::new(), ids), "the blocks moved are those marked again");
        let elided = old.elided - taken + fresh.elided;
        Elided {
            runs,
            checkpoints: old.checkpoints,
            flat_marks: old.flat_marks,
            flat_end: None,
            blocks,
            ids,
            elided,
            generation: new_generation(),
        }
    }

    /// The places of `ids` ids of which the nodes of `runs` are not stored, its blocks made
    /// in the memory of `blocks` (those of the places before an edit: on the dense gigabyte
    /// they are 47 MB, whose new pages' faults were a third of carrying an edit over).
    fn from_runs(
        runs: Vec<Run>,
        checkpoints: Vec<u64>,
        flat_marks: Vec<flat::Mark>,
        blocks: Vec<Block>,
        ids: usize,
    ) -> Self {
        if runs.is_empty() {
            return Elided::default();
        }
        let blocks = marked(&runs, blocks, ids);
        let elided = runs.iter().map(|run| run.count as usize).sum();
        Elided { runs, checkpoints, flat_marks, flat_end: None, blocks, ids, elided, generation: new_generation() }
    }
}

/// The blocks of `ids` ids of which the nodes of `runs` are not stored, made in the memory
/// of `blocks`, each half on a core (a gigabyte has millions).
fn marked(runs: &[Run], mut blocks: Vec<Block>, ids: usize) -> Vec<Block> {
    blocks.clear();
    blocks.resize(ids.div_ceil(BLOCK), Block { stored_before: 0, runs_before: 0, stored: u64::MAX });
    if !ids.is_multiple_of(BLOCK) {
        blocks.last_mut().expect("ids > 0").stored = (1u64 << (ids % BLOCK)) - 1;
    }
    // The second half's counts of ids stored are then moved by the first's.
    let ((_, stored_low), (middle, _)) =
        on_both_cores(&mut blocks, |half, first| (first, mark_runs(half, first, runs)));
    for block in &mut blocks[middle..] {
        block.stored_before += stored_low;
    }
    blocks
}

/// An edit's change to the ids: those from `top` up to `next` (before it) replaced by the
/// ids of a field decoded again, `fresh_elided` of them not stored, and those after them
/// moved by `ids_move` places, their runs `runs_move` places in the runs.
struct BlocksEdit {
    top: usize,
    next: usize,
    ids_move: isize,
    fresh_elided: usize,
    runs_move: isize,
}

impl BlocksEdit {
    /// The blocks of the `ids` ids whose runs are `runs` (after the edit), made in place
    /// from `blocks`, those of the `old_ids` ids before it: the blocks the edited ids fall
    /// in are marked from the runs again, and every block after them is read from the
    /// blocks before the edit, its ids' places moved (on a gigabyte, four million blocks,
    /// which marked again from every run took most of an edit's time).
    fn moved(&self, mut blocks: Vec<Block>, old_ids: usize, runs: &[Run], ids: usize) -> Vec<Block> {
        let count = ids.div_ceil(BLOCK);
        let new_next = self.next.checked_add_signed(self.ids_move).expect("ids in range");
        let (head, tail) = (self.top / BLOCK, new_next.div_ceil(BLOCK).min(count));
        // What block `j` after the edit reads from: the ids from `j * BLOCK - ids_move` on
        // before it, stored ones as many more before them as the edit stored more before.
        let old_id = |j: usize| (j * BLOCK).checked_add_signed(-self.ids_move).expect("ids in range");
        let stored_field = (new_next - self.top - self.fresh_elided) as i64;
        let stored_more = stored_below(&blocks, old_ids, self.top) as i64 + stored_field
            - stored_below(&blocks, old_ids, self.next) as i64;
        // The ids before the edited blocks are as they were (their block may be past the
        // last before it: ids put in at the end).
        let head_stored_before = stored_below(&blocks, old_ids, head * BLOCK) as u32;
        let old_count = blocks.len();
        let move_block = |blocks: &mut Vec<Block>, j: usize| {
            let (old, from) = (&blocks[..old_count], old_id(j));
            let (at, bit) = (from / BLOCK, from % BLOCK);
            let word = |k: usize| old.get(k).map_or(0, |b| b.stored);
            let stored = if bit == 0 { word(at) } else { word(at) >> bit | word(at + 1) << (BLOCK - bit) };
            let stored_before = stored_below(old, old_ids, from) as i64 + stored_more;
            let hint = old.get(at).map_or(runs.len(), |b| b.runs_before as usize);
            let mut runs_before = hint.saturating_add_signed(self.runs_move).min(runs.len());
            while runs.get(runs_before).is_some_and(|run| run.node.index() < j * BLOCK) {
                runs_before += 1;
            }
            blocks[j] = Block { stored_before: stored_before as u32, runs_before: runs_before as u32, stored };
        };
        // Each block is read before it is written: after the edit, ids further on are read
        // from blocks before (a block taken out) or after (put in).
        if self.ids_move < 0 {
            (tail..count).for_each(|j| move_block(&mut blocks, j));
            blocks.truncate(count);
        } else {
            blocks.resize(count, Block { stored_before: 0, runs_before: 0, stored: 0 });
            (tail..count).rev().for_each(|j| move_block(&mut blocks, j));
        }
        let edited = &mut blocks[head..tail];
        edited.fill(Block { stored_before: 0, runs_before: 0, stored: u64::MAX });
        if tail == count && !ids.is_multiple_of(BLOCK) {
            edited.last_mut().expect("the last block is edited").stored = (1u64 << (ids % BLOCK)) - 1;
        }
        mark_runs(edited, head, runs);
        edited.iter_mut().for_each(|block| block.stored_before += head_stored_before);
        blocks
    }
}

/// How many of the ids before `id` are stored, by `blocks` (of `ids` ids).
fn stored_below(blocks: &[Block], ids: usize, id: usize) -> usize {
    match blocks.get(id.min(ids) / BLOCK) {
        Some(block) => block.stored_below(id.min(ids) % BLOCK),
        None => blocks.last().map_or(0, |last| last.stored_before as usize + last.stored.count_ones() as usize),
    }
}

/// Clears in `blocks` (those from block `first` on) the bits of the ids of `runs` that fall
/// in them, and counts in each the runs that start before it and the ids stored before it
/// among these blocks; the ids stored in them all.
fn mark_runs(blocks: &mut [Block], first: usize, runs: &[Run]) -> u32 {
    let (start, end) = (first * BLOCK, (first + blocks.len()) * BLOCK);
    let from = runs.partition_point(|run| run.end() <= start);
    for run in runs[from..].iter().take_while(|run| run.node.index() + 1 < end) {
        for (block, mask) in block_masks((run.node.index() + 1).max(start)..run.end().min(end)) {
            blocks[block - first].stored &= !mask;
        }
    }
    let (mut stored, mut run) = (0u32, runs.partition_point(|r| r.node.index() < start));
    for (i, block) in blocks.iter_mut().enumerate() {
        while runs.get(run).is_some_and(|r| r.node.index() < (first + i) * BLOCK) {
            run += 1;
        }
        block.stored_before = stored;
        block.runs_before = run as u32;
        stored += block.stored.count_ones();
    }
    stored
}

/// The blocks that the ids `ids` fall in, each with the bits of those ids in it.
fn block_masks(ids: std::ops::Range<usize>) -> impl Iterator<Item = (usize, u64)> {
    let mut at = ids.start;
    std::iter::from_fn(move || {
        let upto = ids.end.min((at / BLOCK + 1) * BLOCK);
        let bits = upto.checked_sub(at).filter(|&bits| bits > 0)?;
        let mask = if bits == BLOCK { u64::MAX } else { ((1u64 << bits) - 1) << (at % BLOCK) };
        let block = at / BLOCK;
        at = upto;
        Some((block, mask))
    })
}

#[cfg(test)]
pub(super) mod tests {
    use std::sync::{Arc, OnceLock};

    use proptest::prelude::*;

    use crate::decode::registry::SchemaSources;
    use crate::decode::schema::Schema;
    use crate::model::builder::Builder;
    use crate::model::node::NodeId;
    use crate::model::source::Source;
    use crate::model::{Decoder, Document};

    /// `jsonkinds.Kinds`: packed runs of int32 (19), double (20), bool (21) and an enum
    /// (22), and messages (25) with a packed run of sint64 (3).
    pub(in crate::model) fn kinds() -> Decoder {
        static SCHEMA: OnceLock<Arc<Schema>> = OnceLock::new();
        let schema = SCHEMA.get_or_init(|| {
            let proto = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/json_kinds.proto");
            Arc::new(Schema::load(&SchemaSources { proto_files: vec![proto], ..SchemaSources::default() }).unwrap())
        });
        Decoder::new(Arc::clone(schema), schema.pool.get_message_by_name("jsonkinds.Kinds"))
    }

    pub(in crate::model) fn decoded(decoder: &Decoder, bytes: &[u8], elides: bool) -> Document {
        let builder = Builder::new(Source::new(bytes.to_vec()), decoder.clone());
        let mut builder = if elides { builder.eliding() } else { builder };
        crate::model::overlay::build(&mut builder, None, true).unwrap();
        builder.finish()
    }

    /// The document with clean runs' values left unstored reads as the one storing them,
    /// node by node; returns how many nodes it stores and the other does.
    fn reads_the_same(decoder: &Decoder, bytes: &[u8]) -> (usize, usize) {
        same_nodes(&decoded(decoder, bytes, true), &decoded(decoder, bytes, false))
    }

    /// Whether `lean` reads as `full` node by node; how many nodes each stores.
    pub(in crate::model) fn same_nodes(lean: &Document, full: &Document) -> (usize, usize) {
        assert_eq!(lean.node_count(), full.node_count());
        for id in NodeId::ROOT.up_to(full.end()) {
            assert_eq!(lean.node(id), full.node(id), "node {id}");
            let (shape, stored) = (lean.stored(id), full.stored(id));
            assert_eq!((shape.parent, shape.next, shape.kind), (stored.parent, stored.next, stored.kind), "{id}");
            assert_eq!(lean.field_info(id).map(|f| f.number), full.field_info(id).map(|f| f.number));
            assert_eq!(lean.problems_of(id), full.problems_of(id), "node {id}");
            let with_fields = lean.children_with_fields(id).map(|(c, node, f)| (c, node, f.map(|f| f.number)));
            let each_read = full.children(id).map(|c| (c, full.node(c), full.field_info(c).map(|f| f.number)));
            assert!(with_fields.eq(each_read), "the children of {id} with their fields");
        }
        assert_eq!(lean.problems(), full.problems());
        (lean.nodes.len(), full.nodes.len())
    }

    pub(in crate::model) fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push(v as u8 | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    /// Field `number` holding `content` (length-delimited).
    pub(in crate::model) fn len_field(number: u64, content: &[u8], out: &mut Vec<u8>) {
        varint(number << 3 | 2, out);
        varint(content.len() as u64, out);
        out.extend_from_slice(content);
    }

    /// A packed run of field `number` (19-22), or a message of `Inner` holding one (25),
    /// cut by `cut` bytes (none when 0), or with `junk` after it.
    fn piece(number: u64, values: &[u64], cut: usize, junk: &[u8], out: &mut Vec<u8>) {
        let mut run = Vec::new();
        for &v in values {
            match number {
                20 => run.extend_from_slice(&v.to_le_bytes()),
                21 => varint(v % 3, &mut run),
                _ => varint(v, &mut run),
            }
        }
        run.truncate(run.len() - cut.min(run.len()));
        if number == 25 {
            let mut inner = Vec::new();
            varint(1 << 3, &mut inner);
            varint(values.len() as u64, &mut inner);
            len_field(3, &run, &mut inner);
            inner.extend_from_slice(junk);
            len_field(25, &inner, out);
        } else {
            len_field(number, &run, out);
            out.extend_from_slice(junk);
        }
    }

    /// Values of one to ten bytes, most small (int32 takes five at most: others are out of
    /// range, and a problem keeps a run's values stored).
    fn values() -> impl Strategy<Value = Vec<u64>> {
        let value = prop_oneof![8 => 0u64..300, 2 => any::<u64>(), 1 => 0u64..2];
        prop::collection::vec(value, 0..100)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn a_document_leaving_runs_unstored_reads_as_one_storing_them(
            pieces in prop::collection::vec(
                (prop::sample::select(vec![19u64, 20, 21, 22, 25]), values(), prop_oneof![4 => Just(0usize), 1 => 1usize..4],
                 prop_oneof![4 => Just(Vec::new()), 1 => prop::collection::vec(any::<u8>(), 1..6)]),
                0..12),
            cut_at in any::<prop::sample::Index>(),
        ) {
            let mut bytes = Vec::new();
            for (number, values, cut, junk) in &pieces {
                piece(*number, values, *cut, junk, &mut bytes);
            }
            reads_the_same(&kinds(), &bytes);
            // And cut anywhere: runs, messages and the top level end early.
            if !bytes.is_empty() {
                reads_the_same(&kinds(), &bytes[..cut_at.index(bytes.len())]);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(100))]

        #[test]
        fn an_edit_decoding_its_field_again_reads_as_the_whole_decoded_again(
            runs in prop::collection::vec(values(), 4),
            edited in values(),
            first in 0usize..3,
            as_many in any::<bool>(),
        ) {
            // Messages with a run each and a run at the top level between them, one message's
            // run edited to hold other values: the field is decoded again alone, the runs
            // after it move by the change in its count of nodes.
            let numbers = [25, 19, 25, 25];
            let mut bytes = Vec::new();
            let mut spans = Vec::new();
            for (number, values) in numbers.iter().zip(&runs) {
                let start = bytes.len();
                // In int32's range: a problem near the field makes the whole decoded again.
                let values: Vec<u64> = values.iter().map(|v| if *number == 19 { v % 1000 } else { *v }).collect();
                piece(*number, &values, 0, &[], &mut bytes);
                spans.push(start..bytes.len());
            }
            let target = [0, 2, 3][first];
            // As many values as before, some longer: every id stays, the offsets move.
            let edited = if as_many { runs[target].iter().map(|v| v.wrapping_add(1000)).collect() } else { edited };
            let mut new_piece = Vec::new();
            piece(25, &edited, 0, &[], &mut new_piece);
            let decoder = kinds();
            let doc = decoded(&decoder, &bytes, true);
            let span = spans[target].clone();
            prop_assert!(crate::model::redecode::inside(&doc, &span).is_some(), "decoded again alone");
            // Every value read before the edit, the last read last: it is read first after.
            same_nodes(&doc, &decoded(&decoder, &bytes, false));
            let (doc, ()) = doc.rewrite(span.clone(), |buffer| crate::model::source::Splicing::replace(buffer, span, &new_piece));
            let full = decoded(&decoder, doc.bytes(), false);
            let last = NodeId::from_index(full.node_count() - 1);
            prop_assert_eq!(doc.node(last), full.node(last));
            same_nodes(&doc, &full);
        }
    }

    #[test]
    fn a_document_taken_back_to_any_top_level_field_reads_as_one_storing_them() {
        let mut bytes = Vec::new();
        for (i, number) in [19u64, 25, 20, 19, 25, 21, 22, 25].into_iter().enumerate() {
            let values: Vec<u64> = (0..40 * i as u64).map(|v| v * 7 % 300).collect();
            piece(number, &values, 0, &[], &mut bytes);
        }
        let decoder = kinds();
        let build = |elides: bool| {
            let builder = Builder::new(Source::new(bytes.clone()), decoder.clone());
            let mut builder = if elides { builder.eliding() } else { builder };
            crate::model::overlay::build(&mut builder, None, true).unwrap();
            builder
        };
        let tops: Vec<usize> = build(false).document().top_level_from(NodeId::ROOT + 1).map(NodeId::index).collect();
        for &top in tops.iter().rev() {
            let (mut lean, mut full) = (build(true), build(false));
            for builder in [&mut lean, &mut full] {
                builder.truncate(top, 0);
                builder.set_next(NodeId::ROOT, NodeId::from_index(top));
            }
            let (lean, full) = (lean.finish(), full.finish());
            let (stored, all) = same_nodes(&lean, &full);
            assert!(stored < all || top <= tops[1], "taken back to {top}: {stored} of {all} stored");
            // And built on again: the ids after the cut are stored ones.
            let mut lean = build(true);
            lean.truncate(top, 0);
            let again = lean.push(full.node(NodeId::ROOT));
            assert_eq!(again, NodeId::from_index(top));
            assert_eq!(lean.document().stored_at(again), Some(stored));
        }
    }

    #[test]
    fn the_sample_keeps_fewer_nodes_and_reads_as_it_did() {
        let schema = Arc::new(Schema::load(&SchemaSources::default()).unwrap());
        let root = schema.pool.get_message_by_name("sample.openvmm.SavedState");
        let decoder = Decoder::new(schema, root);
        let (lean, full) = reads_the_same(&decoder, include_bytes!("../../samples/vm.state.bin"));
        assert!(lean < full, "the sample's packed runs are clean: {lean} nodes stored of {full}");
        assert!(size_of::<super::Run>() <= 16 && size_of::<super::Block>() <= 16, "the index stays small");
        // Long runs: values found from the offsets kept every CHECKPOINT_EVERY values.
        let mut bytes = Vec::new();
        let long: Vec<u64> = (0..1000u64).map(|i| i * i).collect();
        piece(19, &long, 0, &[], &mut bytes);
        piece(20, &long, 0, &[], &mut bytes);
        piece(25, &long, 0, &[], &mut bytes);
        let (lean, full) = reads_the_same(&kinds(), &bytes);
        assert!(lean + 2000 < full, "{lean} of {full}");
    }
}
