//! The runs of top-level messages a listing decode hands over as one node each
//! ([`crate::model::Decoder::listing_flat_runs`]): their messages and leaves made from the
//! bytes as a writer lists them, each node as a full decode builds it.

use crate::decode::schema::{FieldInfo, TypeInfo};
use crate::decode::wire::{self, RawField};
use crate::model::document::{Document, leaf_kind_of};
use crate::model::elided::flat::{fields, indexed, leaf_node, tagged};
use crate::model::flat_walk::FlatLeaf;
use crate::model::node::{Node, NodeId};

mod clean;

pub use clean::{CleanMessages, CleanRow, RowShape};

/// A run of top-level messages of one field, handed over as its last one's node.
#[derive(Debug, Clone, Copy)]
pub(in crate::model) struct ListedRun {
    /// The last message's node.
    pub(in crate::model) node: NodeId,
    /// Where the first message's tag starts.
    pub(in crate::model) start: usize,
    /// How many messages the run holds.
    pub(in crate::model) count: u32,
    /// Whether its messages are of any shape, read clean
    /// ([`crate::model::Decoder::listing_clean_messages`]), not of leaves only.
    pub(in crate::model) clean: bool,
}

/// The messages of a listed run, one at a time ([`ListedMessages::next_message`]).
pub struct ListedMessages<'a> {
    bytes: &'a [u8],
    /// Where the next message starts, and where the run ends.
    pos: usize,
    end: usize,
    /// The messages not yet made.
    left: u32,
    /// The run's node, and the next message's `[i]`.
    id: NodeId,
    index: u32,
    /// The run's node as read: what every message's node shares.
    shape: Node,
    /// The messages' type, which declares each of their leaves, and their field.
    ty: &'a TypeInfo,
    field: Option<&'a FieldInfo>,
    /// The fields of the message made last.
    fields: Vec<RawField>,
}

/// A message of a listed run, with its fields read.
pub struct ListedMessage<'m, 'a> {
    /// The id of the node that stands for the run: of the message's field and type, and
    /// under the root, as the message is. Its leaves' ids are numbered on from it (the
    /// document holds no node under it) and their parent is it, so a reader that looks up
    /// a leaf's parent finds what the message's own node would tell.
    pub id: NodeId,
    /// Its node, as a full decode builds it but for its id.
    pub node: Node,
    ty: &'a TypeInfo,
    fields: &'m [RawField],
}

impl Document {
    /// When `id` is a node that stands for a run of top-level messages a listing decoder
    /// left unbuilt ([`crate::model::Decoder::listing_flat_runs`]): the run's messages,
    /// from its first.
    pub fn listed_messages(&self, id: NodeId) -> Option<ListedMessages<'_>> {
        let run = self.listed.filter(|run| run.node == id && !run.clean)?;
        let shape = self.node(id);
        let ty = self.type_info_of(id)?;
        let index = shape.index.checked_sub(run.count - 1)?;
        let (pos, end) = (run.start, shape.end() as usize);
        let (bytes, field) = (self.bytes(), self.field_info_of(&shape));
        Some(ListedMessages { bytes, pos, end, left: run.count, id, index, shape, ty, field, fields: Vec::new() })
    }
}

impl<'a> ListedMessages<'a> {
    /// The field the messages are values of.
    pub fn field(&self) -> Option<&'a FieldInfo> {
        self.field
    }

    /// The next message of the run, `None` past its last.
    pub fn next_message(&mut self) -> Option<ListedMessage<'_, 'a>> {
        self.left = self.left.checked_sub(1)?;
        // The decode read each message clean: every one reads again.
        let message = wire::read_field_inline(self.bytes, self.pos, self.end).ok()?;
        self.fields.clear();
        self.fields.extend(fields(self.bytes, message));
        let (id, ids) = (self.id, 1 + self.fields.len() as u32);
        let node = tagged(&message, Node { next: id + ids, index: self.index, ..self.shape });
        (self.pos, self.index) = (message.end, self.index + 1);
        Some(ListedMessage { id, node, ty: self.ty, fields: &self.fields })
    }
}

impl<'a> ListedMessage<'_, 'a> {
    /// Its type, which declares each of its leaves.
    pub fn message_type(&self) -> &'a TypeInfo {
        self.ty
    }

    /// Its leaves in id order, their ids numbered as [`ListedMessage::id`] is.
    pub fn leaves(&self) -> impl Iterator<Item = FlatLeaf<'a>> + '_ {
        self.leaf_values().map(|leaf| self.leaf(&leaf))
    }

    /// Its leaves in id order as a row needs them, with no node made: a writer of
    /// millions makes one only for a leaf it does not write from these
    /// ([`ListedMessage::leaf`]).
    pub fn leaf_values(&self) -> impl Iterator<Item = ListedLeaf<'a>> + '_ {
        let ty = self.ty;
        let leaves = indexed(self.fields.iter().copied()).zip(1u32..);
        leaves.map(move |((raw, index), k)| ListedLeaf { field: ty.field(raw.tag.field_number), index, k, raw })
    }

    /// Leaf `leaf`, with its node, as [`ListedMessage::leaves`] makes it.
    pub fn leaf(&self, leaf: &ListedLeaf<'a>) -> FlatLeaf<'a> {
        let (id, kind) = (self.id + leaf.k, leaf_kind_of(leaf.field));
        let node = leaf_node(&leaf.raw, leaf.index, (self.id, leaf.k), kind, &self.node);
        FlatLeaf { id, node, field: leaf.field, raw: leaf.raw.scalar }
    }
}

/// A leaf of a listed message, with no node made ([`ListedMessage::leaf_values`]).
pub struct ListedLeaf<'a> {
    /// Its field, declared (the run read clean).
    pub field: Option<&'a FieldInfo>,
    /// How many values of its field came before it in its message: its `[i]`.
    pub index: u32,
    /// Its place under its message, counted from 1: its id's distance from the message's.
    k: u32,
    raw: RawField,
}

impl ListedLeaf<'_> {
    /// Its value's bits as read ([`RawField::scalar`]): a number's, 0 for a string or bytes.
    pub fn bits(&self) -> u64 {
        self.raw.scalar
    }
}
