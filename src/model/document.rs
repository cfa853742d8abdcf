//! The document: the input bytes, the decoded node arena over them, and the schema overlay
//! that names each node. The bytes are the source of truth; everything else is derived.

use std::sync::Arc;

use prost_reflect::MessageDescriptor;

use crate::decode::schema::{FieldClass, FieldInfo, Schema, TypeIndex, TypeInfo, TypeTable};
use crate::model::decoder::{Decoder, Limits};
use crate::model::elided::{Elided, Place};
use crate::model::listed::ListedRun;
use crate::model::moves::Moves;
use crate::model::node::{Node, NodeId, NodeKind};
use crate::model::overlay::ArrayLengths;
use crate::model::path::{FieldPath, PathError};
use crate::model::problem::Problem;
use crate::model::record::NodeRecord;
use crate::model::source::{Buffer, Source};

/// A decoded saved-state blob: read-only once built (edits make a new one).
#[derive(Debug)]
pub struct Document {
    source: Source,
    /// The stored nodes in pre-order; node 0 is the root. Their offsets are as stored:
    /// read them through [`Document::node`], which applies the moves pending on them.
    pub(in crate::model) nodes: Buffer<NodeRecord>,
    /// The nodes not stored (packed values, flat runs of messages), and where each id's is.
    pub(in crate::model) elided: Elided,
    /// The moves (of bytes and ids) edits left pending on the nodes after the fields they
    /// changed.
    pub(in crate::model) moves: Moves,
    pub(in crate::model) types: TypeTable,
    /// Every problem, sorted by node.
    pub(in crate::model) problems: Vec<Problem>,
    decoder: Decoder,
    /// A streamed top-level field that was skimmed, not built, and how many fields were
    /// under it and the run of clean (or unknown) fields it ends
    /// ([`Decoder::skimming_clean_fields`]).
    pub(in crate::model) skimmed: Option<(NodeId, usize)>,
    /// A streamed top-level message that stands for a run of them left unbuilt
    /// ([`Decoder::listing_flat_runs`]).
    pub(in crate::model) listed: Option<ListedRun>,
    /// The length of the first fixed array of each type and field met by the whole
    /// decode, and those of the arrays an edit carried over took out: when the document
    /// has no array of another length, fields put in are held to them
    /// ([`super::redecode`]).
    pub(in crate::model) array_lengths: ArrayLengths,
}

impl Document {
    /// An empty document over `source`, for the builder to fill in.
    pub(in crate::model) fn empty(source: Source, decoder: Decoder) -> Self {
        Document {
            source,
            nodes: Buffer::default(),
            elided: Elided::default(),
            moves: Moves::default(),
            types: TypeTable::default(),
            problems: Vec::new(),
            decoder,
            skimmed: None,
            listed: None,
            array_lengths: ArrayLengths::default(),
        }
    }

    /// What the document of its bytes edited is made from ([`super::redecode::Old`]),
    /// its bytes and its decoder.
    pub(in crate::model) fn into_old(self) -> (super::redecode::Old, Source, Decoder) {
        let Document { source, decoder, nodes, elided, moves, types, problems, array_lengths, .. } = self;
        (super::redecode::Old { nodes, elided, moves, types, problems, array_lengths }, source, decoder)
    }

    /// Takes the message types interned, for another decode with the same schema to start
    /// from ([`Decoder::decode_with_types`]); the document can no longer read its nodes' types.
    pub(in crate::model) fn take_types(&mut self) -> TypeTable {
        std::mem::take(&mut self.types)
    }

    /// How many fields a skimming decoder counted without building them, in the top-level
    /// fields handed to a streaming hook from `top` on (each skimmed node itself not
    /// counted): those under a skimmed node, and in the run of clean top-level fields
    /// (or of unknown ones with no problem kept) before it that it stands for. 0 when none
    /// of them was skimmed.
    pub fn fields_skimmed_under(&self, top: NodeId) -> usize {
        self.skimmed.filter(|&(id, _)| id >= top).map_or(0, |(_, fields)| fields)
    }

    /// Gives the bytes back and decodes what `edit` makes of them, with the same decoder.
    /// The bytes are moved, not copied, and a splice in them moves the shorter side
    /// ([`Buffer`]). `changed` is the span of bytes (offsets before the edit) that the edit
    /// changes: when it stays inside one top-level field with no problem in or near it,
    /// only that field is decoded again, the problems after it are moved, and the move of
    /// the nodes after it is left pending until they are read; when it starts and ends
    /// where top-level fields do (whole fields taken out or put in), only the fields put in
    /// are decoded, and the renumbering of those after them is left pending too; anything
    /// else decodes the whole again.
    pub fn rewrite<T>(self, changed: std::ops::Range<usize>, edit: impl FnOnce(&mut Buffer) -> T) -> (Self, T) {
        let plan = super::redecode::plan(&self, &changed);
        let (old, source, decoder) = self.into_old();
        let mut bytes = source.into_buffer();
        let before = bytes.len() as isize;
        let result = edit(&mut bytes);
        let delta = bytes.len() as isize - before;
        let source = Source::from(bytes);
        let again = plan.and_then(|plan| super::redecode::carried(old, &decoder, &source, plan, delta));
        (again.unwrap_or_else(|| decoder.decode(source)), result)
    }

    /// Gives the bytes back.
    pub fn into_bytes(self) -> Vec<u8> {
        self.source.into_bytes()
    }

    /// The decoder this document was decoded with.
    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }

    /// How many nodes there are: the root first, each node's subtree right after it.
    pub fn node_count(&self) -> usize {
        self.elided.ids(self.nodes.len())
    }

    /// How many nodes start before byte `offset`: nodes start in pre-order, so these are
    /// the ids before the first node that starts at `offset` or later.
    pub fn nodes_starting_before(&self, offset: u64) -> usize {
        let (mut low, mut high) = (0, self.node_count());
        while low < high {
            let middle = low + (high - low) / 2;
            if self.node(NodeId::from_index(middle)).start < offset {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        low
    }

    /// Every problem, sorted by node.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// The input bytes, shared.
    pub(in crate::model) fn source(&self) -> &Source {
        &self.source
    }

    /// The input bytes.
    #[inline]
    pub fn bytes(&self) -> &[u8] {
        &self.source
    }

    /// The regular file the bytes are as read from, if they are (not after an edit).
    pub fn origin(&self) -> Option<&std::sync::Arc<super::source::Origin>> {
        self.source.origin()
    }

    /// The schema the document was decoded with.
    pub fn schema(&self) -> &Arc<Schema> {
        self.decoder.schema()
    }

    /// The root message type, if one was given or detected.
    pub fn root_type(&self) -> Option<&MessageDescriptor> {
        self.decoder.root_type()
    }

    /// The decoding limits in force.
    pub fn limits(&self) -> Limits {
        self.decoder.limits()
    }

    /// The node a path (`units[7].state.lun`) names.
    pub fn resolve(&self, path: &str) -> Result<NodeId, PathError> {
        crate::model::path::resolve(self, path)
    }

    /// The node a parsed path names.
    pub fn resolve_path(&self, path: &FieldPath) -> Result<NodeId, PathError> {
        crate::model::path::resolve_path(self, path)
    }

    /// The path of a node.
    pub fn path_of(&self, id: NodeId) -> FieldPath {
        crate::model::path::path_of(self, id)
    }

    /// A node's value as the tree shows it: a number (with its enum name or hex form), a
    /// quoted string, hex bytes, or a message's type.
    pub fn preview(&self, id: NodeId) -> String {
        crate::model::value::preview(self, id, usize::MAX)
    }

    /// The scalar value of a scalar node or packed value, read as its declared type.
    pub fn scalar(&self, id: NodeId) -> Option<crate::model::value::Scalar> {
        crate::model::value::scalar(self, id)
    }

    /// The full name of a message type the document was decoded with.
    pub fn type_name(&self, ty: TypeIndex) -> &str {
        &self.types.get(ty).name
    }

    /// The schema facts of a message type the document was decoded with.
    pub fn type_info_at(&self, ty: TypeIndex) -> &TypeInfo {
        self.types.get(ty)
    }

    /// The message type of field `field_index` (its place in `ty`'s fields), named
    /// `full_name`, when a node of the document may be of it: no node is of a type the
    /// decode has not met.
    pub fn met_type(&self, ty: TypeIndex, field_index: usize, full_name: &str) -> Option<TypeIndex> {
        self.types.child(ty, field_index).or_else(|| self.types.find(full_name))
    }

    /// Whether no problem is on any node from `id` up to, not including, `end` (a
    /// subtree, when `end` is its `next`).
    pub fn problem_free(&self, id: NodeId, end: NodeId) -> bool {
        let from = self.problems.partition_point(|p| p.node < id);
        self.problems.get(from).is_none_or(|p| p.node >= end)
    }

    /// The node with this id, where it lies in the bytes. Always inlined: most readers
    /// want one field of it, and a call would copy all 40 bytes out.
    #[inline(always)]
    pub fn node(&self, id: NodeId) -> Node {
        self.node_at(self.elided.locate(id))
    }

    /// The kind of node `id`, as [`Document::node`] gives it, read without making the
    /// node where it is stored: a pass over a million small top-level fields asks only
    /// this of each.
    #[inline]
    pub fn kind_of(&self, id: NodeId) -> NodeKind {
        match self.elided.locate(id) {
            Place::Stored(at) => self.nodes[at].kind(),
            place => self.node_at(place).kind,
        }
    }

    /// The node of the id at `place`.
    #[inline(always)]
    fn node_at(&self, place: Place) -> Node {
        match place {
            // Unpacked straight into the node given back: a node unpacked and then passed
            // through `applied` was copied on the stack, a wide load over narrow stores
            // that stalled each read (two thirds of a pass over a million nodes).
            Place::Stored(at) if self.moves.none_pending() => self.nodes[at].unpack(),
            Place::Stored(at) => self.moves.applied(at, self.nodes[at].unpack()),
            Place::Read(record) => record.unpack(),
            Place::Value { run, position } => self.value_node(run, position),
            Place::Cold { run, position } => self.cold_node(run, position),
        }
    }

    /// The node with this id, as [`Document::node`] gives it, unless it lies in a message
    /// left cold (its subtree not stored, decoded again when read): then that message. A reader
    /// that can pass over the message whole need not make the node, which decodes the
    /// message again.
    #[inline(always)]
    pub fn node_or_cold_message(&self, id: NodeId) -> Result<Node, NodeId> {
        match self.elided.locate(id) {
            Place::Cold { run, .. } => Err(self.elided.run_node(run)),
            place => Ok(self.node_at(place)),
        }
    }

    /// The node of a cold unit's subtree, from the unit decoded alone ([`super::cold`]).
    #[inline(never)]
    fn cold_node(&self, run: usize, position: u32) -> Node {
        super::cold::node(self, self.elided.generation(), self.elided.run_node(run), position)
    }

    /// The node of a packed value or a flat run's node that is not stored, read from its
    /// run's bytes.
    #[inline(never)]
    fn value_node(&self, run: usize, position: u32) -> Node {
        let first = self.node(self.elided.run_node(run));
        if !self.elided.is_flat(run) {
            return self.elided.value(run, position, &first, self.bytes());
        }
        // Every message of a flat run has the first's type, which declares each leaf.
        let fields = self.type_info(first.ty);
        self.elided.flat_node(run, position, &first, self.bytes(), |number| leaf_kind(fields, number))
    }

    /// The node with this id as stored: all but its offsets are as [`Document::node`]
    /// gives them (its ids moved by the moves pending), and it costs no look at the bytes.
    #[inline(always)]
    pub(in crate::model) fn stored(&self, id: NodeId) -> Node {
        match self.elided.locate(id) {
            Place::Stored(at) if self.moves.none_pending() => self.nodes[at].unpack(),
            Place::Stored(at) => self.moves.applied_but_offsets(at, self.nodes[at].unpack()),
            Place::Read(record) => record.unpack(),
            Place::Value { run, position } => self.value_shape(run, position),
            Place::Cold { run, position } => self.cold_node(run, position),
        }
    }

    /// [`Document::stored`] of a node that is not stored (a flat run's is read whole).
    #[inline(never)]
    fn value_shape(&self, run: usize, position: u32) -> Node {
        if self.elided.is_flat(run) {
            return self.value_node(run, position);
        }
        let packed = self.elided.run_node(run).index();
        self.elided.shape(run, position, &self.nodes[self.elided.stored_before(packed, self.nodes.len())].unpack())
    }

    /// For a packed value that is not stored but read from its run's bytes when asked for
    /// (a run that reads clean): its run's node, its place in the run and how many values
    /// the run holds. A reader of many values reads them faster from the run
    /// ([`crate::model::value::packed_values`]) than node by node.
    pub fn unstored_value(&self, id: NodeId) -> Option<(NodeId, u32, u32)> {
        match self.elided.locate(id) {
            Place::Value { run, position } if !self.elided.is_flat(run) => {
                Some((self.elided.run_node(run), position, self.elided.run_count(run)))
            }
            Place::Stored(_) | Place::Value { .. } | Place::Read(_) | Place::Cold { .. } => None,
        }
    }

    /// How many leaves message `id` (`node` as read) holds when it is a message of a flat
    /// run: each of them a declared field of its type that reads clean (a scalar, a string
    /// or bytes).
    pub fn flat_message_leaves(&self, id: NodeId, node: &Node) -> Option<u32> {
        if node.kind != NodeKind::Message {
            return None;
        }
        let flat = match self.elided.locate(id) {
            Place::Stored(_) => self.elided.starts_flat_run(id),
            // A cold unit's decode alone stores every node: it holds no flat run.
            Place::Cold { .. } => false,
            // Only a flat run's messages are messages among the other nodes not stored.
            Place::Read(_) | Place::Value { .. } => true,
        };
        flat.then(|| node.next - id - 1)
    }

    /// For message `id` (`node` as read) of a flat run: the message of its run whose index
    /// among its field's values is `index`, or the run's last when none is (`index` past
    /// it), with that message's index, and the id after the run. The run's messages are
    /// values of one field, side by side: a lookup by index or a count reads a few of them.
    pub fn flat_run_message(&self, id: NodeId, node: &Node, index: u32) -> Option<(NodeId, u32, NodeId)> {
        let (run, first) = self.flat_run_holding(id, node)?;
        let k = index.checked_sub(first.index)?;
        let (message, k) = self.elided.flat_message(run, k, &first, self.bytes());
        Some((message, first.index + k, NodeId::from_index(self.elided.run_end(run))))
    }

    /// When `id` (`node` as read) is a message of a flat run: its run, and the run's first
    /// message as read.
    pub(in crate::model) fn flat_run_holding(&self, id: NodeId, node: &Node) -> Option<(usize, Node)> {
        self.flat_message_leaves(id, node)?;
        let run = self.elided.flat_run_of(id)?;
        Some((run, self.node(self.elided.run_node(run))))
    }

    /// The id after the flat run that holds `id` (its messages are values of one field,
    /// of one type, side by side), if one does.
    pub fn flat_run_end(&self, id: NodeId) -> Option<NodeId> {
        self.elided.flat_run_end(id).map(NodeId::from_index)
    }

    /// Where the node of `id` is stored; `None` for a packed value that is not.
    pub(in crate::model) fn stored_at(&self, id: NodeId) -> Option<usize> {
        match self.elided.locate(id) {
            Place::Stored(at) => Some(at),
            Place::Value { .. } | Place::Read(_) | Place::Cold { .. } => None,
        }
    }

    /// The parent of a node; `None` for the root.
    pub fn parent(&self, id: NodeId) -> Option<NodeId> {
        match self.elided.locate(id) {
            Place::Stored(at) => self.nodes[at].parent().map(|parent| self.moves.before(at).id(parent)),
            Place::Read(record) => record.parent(),
            Place::Value { run, position } if self.elided.is_flat(run) => self.value_node(run, position).parent,
            Place::Value { run, .. } => Some(self.elided.run_node(run)),
            Place::Cold { run, position } => self.cold_node(run, position).parent,
        }
    }

    /// The id after a node's subtree: its next sibling, if it has one. A walk over
    /// siblings asks only this of each, which a flat run's message answers without making
    /// its leaves' nodes.
    #[inline(always)]
    pub(in crate::model) fn next_of(&self, id: NodeId) -> NodeId {
        match self.elided.locate(id) {
            Place::Stored(at) => self.moves.before(at).id(self.nodes[at].next()),
            Place::Read(record) => record.next(),
            Place::Value { run, position } if self.elided.is_flat(run) => self.flat_next(run, position),
            Place::Value { .. } => id + 1,
            Place::Cold { run, position } => self.cold_node(run, position).next,
        }
    }

    /// [`Document::next_of`] of a flat run's node that is not stored.
    #[inline(never)]
    fn flat_next(&self, run: usize, position: u32) -> NodeId {
        let first = self.node(self.elided.run_node(run));
        self.elided.flat_next(run, position, &first, self.bytes())
    }

    /// One past the last node id: the `next` of the root.
    pub fn end(&self) -> NodeId {
        NodeId::from_index(self.node_count())
    }

    /// The bytes of a node's value (inside tag and length prefix).
    pub fn value_bytes(&self, id: NodeId) -> &[u8] {
        self.value_bytes_of(&self.node(id))
    }

    /// [`Document::value_bytes`] of a node already read.
    pub fn value_bytes_of(&self, node: &Node) -> &[u8] {
        &self.bytes()[node.value_start() as usize..node.value_end as usize]
    }

    /// The message type a container node decodes its children with.
    pub fn message_type(&self, id: NodeId) -> Option<&MessageDescriptor> {
        self.message_type_of(&self.stored(id))
    }

    /// [`Document::message_type`] of a node already read.
    pub fn message_type_of(&self, node: &Node) -> Option<&MessageDescriptor> {
        self.type_info(node.ty).map(|t| &t.desc)
    }

    /// The schema facts of the message type a container node decodes its children with.
    pub fn type_info_of(&self, id: NodeId) -> Option<&TypeInfo> {
        self.type_info(self.stored(id).ty)
    }

    fn type_info(&self, ty: Option<TypeIndex>) -> Option<&TypeInfo> {
        ty.map(|ty| self.types.get(ty))
    }

    /// The precomputed schema facts of the field a node is an occurrence of. `None` for
    /// unknown fields, the root, error nodes and an Any's own payload field.
    pub fn field_info(&self, id: NodeId) -> Option<&FieldInfo> {
        self.field_info_of(&self.stored(id))
    }

    /// [`Document::field_info`] of a node already read.
    pub fn field_info_of(&self, node: &Node) -> Option<&FieldInfo> {
        let parent = match node.kind {
            NodeKind::Root | NodeKind::Error | NodeKind::AnyPayload => return None,
            NodeKind::Element => self.parent(node.parent?)?,
            _ => node.parent?,
        };
        self.type_info(self.stored(parent).ty)?.field(node.field_number)
    }

    /// [`Document::field_info_of`] of `node`, whose parent's type is `fields` (as
    /// [`Document::type_info_of`] finds it), given by a reader that has read its parent.
    #[inline(always)]
    pub(crate) fn field_among<'a>(&'a self, node: &Node, fields: Option<&'a TypeInfo>) -> Option<&'a FieldInfo> {
        if node.kind.is_field_of_parent() { fields?.field(node.field_number) } else { self.field_info_of(node) }
    }

    /// [`Document::field_info_of`] for nodes read one after another, most of them siblings:
    /// the type of the parent met last is kept, not read again for each of its children.
    pub fn fields_of_siblings(&self) -> FieldsOfSiblings<'_> {
        FieldsOfSiblings { doc: self, parent: None, fields: None }
    }

    /// The top-level fields from `first` on, in wire order: those a streaming decode's
    /// hook is handed at once.
    pub fn top_level_from(&self, first: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        let end = self.end();
        std::iter::successors(Some(first).filter(|&f| f < end), move |&id| Some(self.next_of(id)).filter(|&n| n < end))
    }

    /// The direct children of a node, in wire order, each with its node (read once) and
    /// its field ([`Document::field_info_of`]; the parent's type is looked up once for
    /// all of them): what a writer of every child asks of each.
    pub fn children_with_fields(&self, id: NodeId) -> ChildrenWithFields<'_> {
        let parent = self.stored(id);
        ChildrenWithFields { doc: self, fields: self.type_info(parent.ty), next: id + 1, end: parent.next }
    }

    /// The direct children of a node, in wire order.
    pub fn children(&self, id: NodeId) -> Children<'_> {
        let node = self.stored(id);
        Children { doc: self, next: id + 1, end: node.next }
    }

    /// The innermost node whose bytes (tag to end) hold byte `offset`; `None` past the end.
    /// Walks down from the root, skipping whole subtrees, so it costs the depth times the
    /// children looked at on the way, not the whole document.
    pub fn node_holding(&self, offset: u64) -> Option<NodeId> {
        if offset >= self.bytes().len() as u64 {
            return None;
        }
        let mut at = NodeId::ROOT;
        while let Some(child) = self.children(at).find(|&c| (self.node(c).start..self.node(c).end()).contains(&offset))
        {
            at = child;
        }
        Some(at)
    }

    /// The problems attached to a node.
    pub fn problems_of(&self, id: NodeId) -> &[Problem] {
        self.problems_of_after(id, &mut { usize::MAX })
    }

    /// [`Document::problems_of`] for a reader of nodes in order: `seen` is where the
    /// problems it was given last end (set past those given now), and those of `id` are
    /// looked for from there, a few steps on, rather than by halving all of them (a
    /// million problems, one on each field, took a fifteenth of `show`'s time so). A
    /// `seen` past a problem of `id` or beyond the end (as `usize::MAX` is) is not used.
    pub fn problems_of_after(&self, id: NodeId, seen: &mut usize) -> &[Problem] {
        if !self.stored(id).has_problem() {
            return &[];
        }
        let problems = &self.problems;
        // The problems are in node order: all before `seen` are of earlier nodes when the
        // last of them is.
        let usable = *seen <= problems.len() && (*seen == 0 || problems[*seen - 1].node < id);
        let from = match usable {
            true => {
                let rest = &problems[*seen..];
                *seen
                    + rest
                        .iter()
                        .take(8)
                        .position(|p| p.node >= id)
                        .unwrap_or_else(|| rest.partition_point(|p| p.node < id))
            }
            false => problems.partition_point(|p| p.node < id),
        };
        // A node has a few problems: they are counted from the first, not searched for.
        let count = problems[from..].iter().take_while(|p| p.node == id).count();
        *seen = from + count;
        &problems[from..from + count]
    }

    /// The problems shown on a node's row: its own, and for an Any those of its payload,
    /// which has no row of its own.
    pub fn row_problems(&self, id: NodeId) -> impl Iterator<Item = &Problem> {
        // Only an Any's children are looked through: the root's are the whole document.
        let payload = (self.stored(id).kind == NodeKind::Any).then(|| self.any_payload(id)).flatten();
        self.problems_of(id).iter().chain(payload.map_or(&[][..], |p| self.problems_of(p)))
    }

    /// Whether `ancestor` is `id` or one of its ancestors.
    pub fn contains(&self, ancestor: NodeId, id: NodeId) -> bool {
        id >= ancestor && id < self.stored(ancestor).next
    }

    /// Whether a node's children are an Any's `type_url` and `value`: an Any field, a
    /// root of type Any, or a payload that is itself an Any.
    pub fn is_any(&self, id: NodeId) -> bool {
        self.is_any_node(&self.stored(id))
    }

    /// [`Document::is_any`] of a node already read.
    pub fn is_any_node(&self, node: &Node) -> bool {
        self.type_info(node.ty).is_some_and(|t| t.is_any)
    }

    /// Whether paths and tree views pass through this node as if its children belonged
    /// to its parent: a resolved Any payload, unless the payload is itself an Any (which
    /// would make two `@type` fields meet at one level; it shows as `@value`).
    pub fn is_transparent(&self, id: NodeId) -> bool {
        self.is_transparent_node(&self.stored(id))
    }

    /// [`Document::is_transparent`] of a node already read.
    pub fn is_transparent_node(&self, node: &Node) -> bool {
        node.kind == NodeKind::AnyPayload && !self.is_any_node(node)
    }

    /// The Any type URL a resolved payload node was decoded by.
    pub fn any_type_url(&self, any: NodeId) -> Option<String> {
        self.children(any)
            .filter(|&c| self.stored(c).field_number == 1 && self.stored(c).kind == NodeKind::String)
            .last()
            .map(|c| String::from_utf8_lossy(self.value_bytes(c)).into_owned())
    }

    /// A state unit's name: the string of its field 1 (`None` for a node without one).
    pub fn unit_name(&self, unit: NodeId) -> Option<String> {
        let name = self
            .children(unit)
            .find(|&c| self.stored(c).field_number == 1 && self.stored(c).kind == NodeKind::String)?;
        Some(String::from_utf8_lossy(self.value_bytes(name)).into_owned())
    }

    /// The payload node of an Any node, when its URL resolved and its value decoded.
    pub fn any_payload(&self, any: NodeId) -> Option<NodeId> {
        self.children(any).filter(|&c| self.stored(c).kind == NodeKind::AnyPayload).last()
    }
}

/// Iterator over a node's direct children.
#[derive(Debug, Clone)]
pub struct Children<'a> {
    doc: &'a Document,
    next: NodeId,
    end: NodeId,
}

impl Iterator for Children<'_> {
    type Item = NodeId;
    fn next(&mut self) -> Option<NodeId> {
        if self.next >= self.end {
            return None;
        }
        let id = self.next;
        self.next = self.doc.next_of(id);
        Some(id)
    }
}

/// Iterator over a node's direct children, each with its node and its field
/// ([`Document::children_with_fields`]).
pub struct ChildrenWithFields<'a> {
    doc: &'a Document,
    /// The parent's type, which declares its children's fields.
    fields: Option<&'a TypeInfo>,
    next: NodeId,
    end: NodeId,
}

/// [`Document::field_info_of`], the parent's type kept from one node to the next
/// ([`Document::fields_of_siblings`]).
pub struct FieldsOfSiblings<'a> {
    doc: &'a Document,
    /// The parent met last, and its type.
    parent: Option<NodeId>,
    fields: Option<&'a TypeInfo>,
}

impl<'a> FieldsOfSiblings<'a> {
    /// [`Document::field_info_of`] of `node`.
    #[inline]
    pub fn of(&mut self, node: &Node) -> Option<&'a FieldInfo> {
        if node.parent != self.parent {
            self.parent = node.parent;
            self.fields = node.parent.and_then(|parent| self.doc.type_info_of(parent));
        }
        self.doc.field_among(node, self.fields)
    }
}

impl<'a> Iterator for ChildrenWithFields<'a> {
    type Item = (NodeId, Node, Option<&'a FieldInfo>);

    // Inlined into its reader, the node stays in registers: returned through the stack
    // in pieces, it was read back whole at a stall (an eighth of `--format text`).
    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        let child = Some(self.next).filter(|&child| child < self.end)?;
        let node = self.doc.node(child);
        self.next = node.next;
        let field = self.doc.field_among(&node, self.fields);
        Some((child, node, field))
    }
}

/// The kind of a leaf of field `number` in a message of a flat run, of type `fields`
/// (which declares each of its leaves).
pub(in crate::model) fn leaf_kind(fields: Option<&TypeInfo>, number: u32) -> NodeKind {
    leaf_kind_of(fields.and_then(|t| t.field(number)))
}

/// The kind of a leaf of a message of a flat run whose field is `field`.
pub(in crate::model) fn leaf_kind_of(field: Option<&FieldInfo>) -> NodeKind {
    match field.map(|f| &f.class) {
        Some(FieldClass::String) => NodeKind::String,
        Some(FieldClass::Bytes) => NodeKind::Bytes,
        _ => NodeKind::Scalar,
    }
}
