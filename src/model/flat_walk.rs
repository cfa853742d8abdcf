//! Walking a flat run's rows (its messages, each followed by its leaves) straight from the
//! bytes, one message after the next: a reader of every row of a run, as a search is, makes
//! each node once rather than reading it by id from the mark before it.

use prost_reflect::Kind;

use crate::decode::schema::{FieldInfo, TypeInfo};
use crate::decode::wire::{RawField, WireType};
use crate::model::document::{Document, leaf_kind_of};
pub(crate) use crate::model::elided::flat::Passed;
use crate::model::elided::flat::{MadeMessage, Messages};
use crate::model::node::{Node, NodeId, NodeKind};
use crate::model::value::{self, Scalar};

/// The messages of one flat run from one on, in id order ([`Document::flat_walk`]).
pub struct FlatWalk<'a> {
    messages: Messages<'a>,
    /// The messages' type, which declares each of their leaves.
    ty: Option<&'a TypeInfo>,
    /// The field the messages are values of.
    field: Option<&'a FieldInfo>,
}

/// A message of a flat run, made from its bytes by a [`FlatWalk`].
pub struct FlatMessage(MadeMessage);

impl FlatMessage {
    /// Its id.
    pub fn id(&self) -> NodeId {
        self.0.id
    }

    /// Its node, as [`Document::node`] reads it.
    pub fn node(&self) -> &Node {
        &self.0.node
    }
}

/// A leaf of a message of a flat run, made from its bytes by a [`FlatWalk`] (or by a
/// listed run's message, [`crate::model::listed::ListedMessage::leaves`]).
pub struct FlatLeaf<'a> {
    /// Its id.
    pub id: NodeId,
    /// Its node, as [`Document::node`] reads it.
    pub node: Node,
    /// Its field, as [`Document::field_info_of`] finds it.
    pub field: Option<&'a FieldInfo>,
    /// Its value's bits, read with its node ([`crate::decode::wire::RawField::scalar`]).
    pub(in crate::model) raw: u64,
}

impl FlatLeaf<'_> {
    /// Its value's bits as read with its node, as [`value::raw_of`] reads them from the
    /// bytes for a number (0 for a string or bytes).
    pub fn bits(&self) -> u64 {
        self.raw
    }

    /// Its value when it is an unsigned integer (`uint32`, `uint64`, `fixed32`, `fixed64`):
    /// [`FlatLeaf::scalar`]'s [`Scalar::Unsigned`], read without making a [`Scalar`] (the
    /// run reads clean: its numbers read as declared).
    #[inline]
    pub fn unsigned(&self) -> Option<u64> {
        match self.field?.kind {
            Kind::Uint32 | Kind::Fixed32 => Some(u64::from(self.raw as u32)),
            Kind::Uint64 | Kind::Fixed64 => Some(self.raw),
            _ => None,
        }
    }

    /// Its value as [`value::scalar_of`] reads it from the bytes (`None` but for a number),
    /// from what the walk read: a reader of millions of leaves reads none twice.
    pub fn scalar(&self) -> Option<Scalar> {
        let number = matches!(self.node.wire, Some(WireType::Varint | WireType::Fixed32 | WireType::Fixed64));
        (number && self.node.kind == NodeKind::Scalar).then(|| value::scalar_from_raw(self.raw, &self.node, self.field))
    }
}

impl Document {
    /// When `id` (`node` as read) is a message of a flat run ([`Document::flat_message_leaves`]):
    /// the messages of its run from it on, each made from its bytes as the walk reaches it.
    pub fn flat_walk(&self, id: NodeId, node: &Node) -> Option<FlatWalk<'_>> {
        let (run, first) = self.flat_run_holding(id, node)?;
        let ty = first.ty.map(|ty| self.types.get(ty));
        let field = self.field_info_of(node);
        Some(FlatWalk { messages: self.elided.flat_messages(run, id, first, self.bytes()), ty, field })
    }
}

impl<'a> FlatWalk<'a> {
    /// The type of the run's messages.
    pub fn message_type(&self) -> Option<&'a TypeInfo> {
        self.ty
    }

    /// The field the run's messages are values of.
    pub fn message_field(&self) -> Option<&'a FieldInfo> {
        self.field
    }

    /// Steps past the next message when `pass` passes each of its fields, without making
    /// its nodes ([`Passed`]): each a number of the run's type under a one-byte tag, read
    /// with its value ([`RawField::scalar`]).
    #[inline]
    pub(crate) fn pass_over(&mut self, pass: impl FnMut(&RawField) -> bool) -> Passed {
        self.messages.pass_over(pass)
    }

    /// The leaves of the message met last, in id order.
    pub fn leaves<'w>(&'w self) -> impl Iterator<Item = FlatLeaf<'a>> + use<'w, 'a> {
        let (ty, id) = (self.ty, self.messages.last_met());
        let leaves = self.messages.leaves(move |number| {
            let field = ty.and_then(|t| t.field(number));
            (leaf_kind_of(field), field)
        });
        leaves.zip(1u32..).map(move |((node, raw, field), k)| FlatLeaf { id: id + k, node, field, raw })
    }
}

impl Iterator for FlatWalk<'_> {
    type Item = FlatMessage;

    #[inline(always)]
    fn next(&mut self) -> Option<FlatMessage> {
        self.messages.next().map(FlatMessage)
    }
}
