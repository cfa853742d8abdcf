//! The one way a [`Document`] is filled in: the overlay adds nodes, problems and types
//! through this builder while it decodes, and once [`Builder::finish`] hands the document
//! out, nothing outside the model can change it.

use crate::decode::schema::TypeTable;
use crate::decode::wire::WireType;
use crate::model::cold;
use crate::model::decoder::Decoder;
use crate::model::document::Document;
use crate::model::listed::ListedRun;
use crate::model::node::{Node, NodeId, NodeKind};
use crate::model::problem::{Problem, ProblemKind};
use crate::model::record::NodeRecord;
use crate::model::source::Source;

/// A document under construction.
#[derive(Debug)]
pub(crate) struct Builder {
    doc: Document,
    /// Whether the values of a clean packed run are left unstored ([`Builder::elide_values`]).
    elides: bool,
    /// How many bytes of stored nodes are kept before clean top-level messages are left
    /// cold ([`Builder::leave_cold`]).
    hot_bytes: u64,
    /// How many problems were ever recorded, counted or taken back included.
    found: usize,
}

/// Which problems a problem counted rather than kept is alike with
/// ([`Builder::problem_counted_past`]): those a report counts under one line.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AlikeOn {
    /// Those on its own node: the values of a packed run out of range.
    Node,
    /// Those on the other fields of its message, this one: fields the message does not
    /// declare (they share one place, `#*`, whatever their numbers).
    Message(NodeId),
}

impl Builder {
    /// Starts an empty document over `source`.
    pub(crate) fn new(source: Source, decoder: Decoder) -> Self {
        Builder { doc: Document::empty(source, decoder), elides: false, hot_bytes: u64::MAX, found: 0 }
    }

    /// The same builder, leaving the values of clean packed runs unstored: a document kept
    /// whole (the browser's) takes half the memory on the real state.
    pub(crate) fn eliding(self) -> Self {
        let hot_bytes = self.doc.decoder().hot_bytes(self.doc.bytes().len());
        Builder { elides: true, hot_bytes, ..self }
    }

    /// Whether the values of clean packed runs are to be left unstored.
    pub(crate) fn elides(&self) -> bool {
        self.elides
    }

    /// Starts an empty document over `source` with types already interned: the nodes it
    /// adds can then join those of the document the types came from.
    pub(crate) fn with_types(source: Source, decoder: Decoder, types: TypeTable) -> Self {
        let mut doc = Document::empty(source, decoder);
        doc.types = types;
        Builder { doc, elides: false, hot_bytes: u64::MAX, found: 0 }
    }

    /// The finished document, its problems sorted by node.
    pub(crate) fn finish(mut self) -> Document {
        self.sort_problems_from(0);
        self.doc
    }

    /// The document so far, for a streaming hook to read.
    pub(crate) fn document(&self) -> &Document {
        &self.doc
    }

    /// The input bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        self.doc.bytes()
    }

    /// The decoder the document is built for.
    pub(crate) fn decoder(&self) -> &Decoder {
        self.doc.decoder()
    }

    /// How many nodes there are so far; also the id the next node gets.
    pub(crate) fn node_count(&self) -> usize {
        self.doc.node_count()
    }

    /// Adds a node; returns its id.
    pub(crate) fn push(&mut self, node: Node) -> NodeId {
        let id = NodeId::from_index(self.doc.node_count());
        self.doc.elided.push_stored(self.doc.nodes.len());
        self.doc.nodes.push(NodeRecord::pack(node));
        id
    }

    /// A node added earlier.
    pub(crate) fn node(&self, id: NodeId) -> Node {
        self.doc.node(id)
    }

    /// Sets where the subtree of a node added earlier and stored ends: the id after it.
    #[inline]
    pub(crate) fn set_next(&mut self, id: NodeId, next: NodeId) {
        let at = self.doc.stored_at(id).expect("only stored nodes are changed");
        self.doc.nodes[at].set_next(next);
    }

    /// The parent of a node added earlier.
    #[inline]
    pub(crate) fn parent(&self, id: NodeId) -> Option<NodeId> {
        self.doc.parent(id)
    }

    /// Changes a node added earlier and stored (not a packed value left unstored), to
    /// link or re-classify it.
    pub(crate) fn update(&mut self, id: NodeId, change: impl FnOnce(&mut Node)) {
        let at = self.doc.stored_at(id).expect("only stored nodes are changed");
        self.doc.nodes[at].update(change);
    }

    /// Takes the values of the packed run `packed`, the last nodes added, out of the
    /// stored ones: they read from its bytes from now on, as they were added.
    pub(crate) fn elide_values(&mut self, packed: NodeId, wire: WireType) {
        let first = self.doc.stored_at(packed).expect("a run's node is stored") + 1;
        let doc = &mut self.doc;
        doc.elided.elide(&doc.nodes[first - 1].unpack(), packed, &doc.nodes[first..], first, wire);
        doc.nodes.truncate(first);
    }

    /// Takes the leaves of message `message`, the last nodes added, out of the stored ones,
    /// and the message too when it follows the last message of a flat run of its field
    /// ([`crate::model::elided`]): they read from its bytes from now on, as they were
    /// added. A message that joins no run starts one only when `followed` by another of
    /// its field. The message must have been built by the overlay's flat loop (clean
    /// leaves).
    pub(crate) fn elide_flat(&mut self, message: NodeId, followed: bool) {
        let at = self.doc.stored_at(message).expect("a message just built is stored");
        let doc = &mut self.doc;
        if doc.nodes.len() - at - 1 > crate::model::elided::MOST_FLAT_LEAVES {
            return;
        }
        let node = doc.nodes[at].unpack();
        let joins = doc.elided.flat_to_join(message, node.start).map(|first| doc.node(first)).filter(|first| {
            (first.parent, first.field_number, first.ty, first.kind)
                == (node.parent, node.field_number, node.ty, node.kind)
        });
        match joins {
            Some(first) => {
                doc.elided.join_flat(message, &doc.nodes[at..], &first, at);
                doc.nodes.truncate(at);
            }
            None if followed => {
                doc.elided.start_flat(message, &doc.nodes[at..], at + 1);
                doc.nodes.truncate(at + 1);
            }
            None => {}
        }
    }

    /// Leaves the subtree of message `message`, just built and clean, unstored when it is
    /// worth it: its nodes are read from a decode of it alone from now on
    /// ([`crate::model::cold`]). Worth it is a message of numbers all the way down (a
    /// search reads it from its bytes), or a top-level one once the nodes stored take
    /// more than the bytes kept; either storing enough nodes and taking few enough bytes.
    pub(crate) fn leave_cold(&mut self, message: NodeId, top_level: bool) {
        let doc = &mut self.doc;
        // Most messages hold a few nodes: they are let go before their node is looked up.
        let count = doc.node_count() - message.index() - 1;
        if !self.elides || count < cold::FEWEST_NODES {
            return;
        }
        let Some(at) = doc.stored_at(message) else { return };
        let node = doc.nodes[at].unpack();
        let Some(ty) = node.ty.filter(|_| matches!(node.kind, NodeKind::Message | NodeKind::AnyPayload)) else {
            return;
        };
        let small = node.end() - node.start <= cold::MOST_BYTES;
        let full = top_level && (doc.nodes.len() * std::mem::size_of::<NodeRecord>()) as u64 > self.hot_bytes;
        // A top-level message of numbers was left cold as its frame ended.
        let cold = doc.elided.is_cold(message);
        if cold || !small || !(full || doc.types.get(ty).numbers_only) || node.has_problem() {
            return;
        }
        doc.nodes.truncate(at + 1);
        doc.elided.leave_cold(message, count, at + 1);
    }

    /// Keeps the lengths of the fixed arrays a whole decode met, each the first of its
    /// type and field ([`Document::array_lengths`]).
    pub(crate) fn keep_array_lengths(&mut self, lengths: crate::model::overlay::ArrayLengths) {
        self.doc.array_lengths = lengths;
    }

    /// Takes back every node from the `nodes`th id on and every problem from `problems` on.
    pub(crate) fn truncate(&mut self, nodes: usize, problems: usize) {
        self.drop_nodes_from(nodes);
        self.doc.problems.truncate(problems);
        self.doc.skimmed = None;
        self.doc.listed = None;
    }

    /// Drops the nodes from the `nodes`th id on, added since with no problem of their own.
    pub(crate) fn drop_nodes_from(&mut self, nodes: usize) {
        let doc = &mut self.doc;
        let stored = doc.elided.stored_before(nodes, doc.nodes.len());
        doc.nodes.truncate(stored);
        doc.elided.truncate(nodes, stored);
    }

    /// Says that the fields under top-level field `top`, and in the run before it that it
    /// stands for, were counted, `fields` of them, not built.
    pub(crate) fn skimmed(&mut self, top: NodeId, fields: usize) {
        self.doc.skimmed = Some((top, fields));
    }

    /// Records `top`, a top-level message, as the node that stands for the run of `count`
    /// messages from byte `start` on that it ends ([`Decoder::listing_flat_runs`]), of
    /// messages of any shape that read clean when `clean`
    /// ([`Decoder::listing_clean_messages`]).
    pub(crate) fn listed(&mut self, top: NodeId, start: usize, count: u32, clean: bool) {
        self.doc.listed = Some(ListedRun { node: top, start, count, clean });
    }

    /// The problems so far, in the order they were found.
    pub(crate) fn problems(&self) -> &[Problem] {
        &self.doc.problems
    }

    /// Records a problem on `node` at byte `offset`.
    #[inline(always)]
    pub(crate) fn problem(&mut self, node: NodeId, offset: usize, kind: ProblemKind) {
        // Pushed before the node is marked: the kind goes into its place with no call
        // between (held across one, it was copied through the stack and stalled on it).
        self.doc.problems.push(Problem { node, offset: offset as u64, kind, more_alike: 0 });
        self.found += 1;
        self.mark_problem(node, true);
    }

    /// Records a problem as [`Self::problem`] does, unless the `kept` + 1 problems recorded
    /// last are all alike with it (the same kind on the same place, as `on` says): then it
    /// is counted on the last of them ([`Problem::more_alike`]), not kept.
    pub(crate) fn problem_counted_past(
        &mut self,
        node: NodeId,
        offset: usize,
        kind: ProblemKind,
        (on, kept): (AlikeOn, usize),
    ) {
        let doc = &self.doc;
        let alike = |p: &Problem| {
            std::mem::discriminant(&p.kind) == std::mem::discriminant(&kind)
                && match on {
                    AlikeOn::Node => p.node == node,
                    AlikeOn::Message(message) => doc.node(p.node).parent == Some(message),
                }
        };
        let problems = &doc.problems;
        let counting = problems.last().is_some_and(|last| last.more_alike > 0 && alike(last))
            || (problems.len() > kept && problems.iter().rev().take(kept + 1).all(alike));
        if counting {
            self.count_on_last();
        } else {
            self.problem(node, offset, kind);
        }
    }

    /// Counts one more problem on the last one recorded ([`Problem::more_alike`]), as
    /// [`Self::problem_counted_past`] does once it is alike with those before: for a
    /// caller that knows it is (the last already counts others like it), without comparing.
    pub(crate) fn count_on_last(&mut self) {
        let last = self.doc.problems.last_mut().expect("a problem to count on");
        last.more_alike = last.more_alike.saturating_add(1);
        self.found += 1;
    }

    /// How many problems were ever recorded here, counted or taken back included: a
    /// message in which none was found since it began is clean whatever was taken back.
    pub(crate) fn problems_found(&self) -> usize {
        self.found
    }

    /// Forgets problem `i`, and clears its node's mark when that was its last problem.
    pub(crate) fn remove_problem(&mut self, i: usize) {
        let node = self.doc.problems.remove(i).node;
        let still = self.doc.problems.iter().any(|p| p.node == node);
        self.mark_problem(node, still);
    }

    /// Marks whether `node` has a problem. Only a run with no problem leaves its values
    /// unstored, so every node a problem is found on is stored.
    #[inline]
    fn mark_problem(&mut self, node: NodeId, has: bool) {
        let at = self.doc.stored_at(node);
        debug_assert!(at.is_some(), "problems are found on stored nodes");
        if let Some(at) = at {
            self.doc.nodes[at].set_has_problem(has);
        }
    }

    /// Sorts the problems found since `from` by node, as a streaming hook expects them.
    /// They mostly come in order already; then no room is taken to sort them (a hostile
    /// blob's run of a million values out of range would take as much again).
    pub(crate) fn sort_problems_from(&mut self, from: usize) {
        let found = &mut self.doc.problems[from..];
        if !found.is_sorted_by_key(|p| (p.node, p.offset)) {
            found.sort_by_key(|p| (p.node, p.offset));
        }
    }

    /// The message types interned so far.
    pub(crate) fn types(&self) -> &TypeTable {
        &self.doc.types
    }

    /// The message types, to intern more.
    pub(crate) fn types_mut(&mut self) -> &mut TypeTable {
        &mut self.doc.types
    }
}
