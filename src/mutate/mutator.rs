//! A structure-aware mutator for coverage-guided fuzzers (cargo-fuzz's custom mutator
//! hook): it decodes the input, picks a node and a mutation, and applies it through the
//! editor's splice planner, so every length prefix around it, at every Any level, stays
//! right. Most mutations keep the blob well-formed (values at their boundaries, elements
//! and units deleted or copied, Rust-enum variants switched, an Any's payload declared as
//! another registered type, a unit taken from a second input); at a set rate it makes one
//! of `mutate`'s structural corruptions instead. Deterministic for a seed; never panics.

use std::sync::Arc;

use prost_reflect::MessageDescriptor;

use crate::decode::schema::{Schema, TYPE_URL_PREFIX};
use crate::decode::wire::{self, WireType};
use crate::edit::Editor;
use crate::edit::op::EditOp;
use crate::model::node::NodeKind;
use crate::model::path::{Segment, path_of};
use crate::model::source::Source;
use crate::model::{Decoder, Document};
use crate::mutate::{MutationKind, Rng, nodes_where, plan_kind, scalar_of};

/// How a [`Mutator`] mutates.
#[derive(Debug, Clone, Copy)]
pub struct MutatorOptions {
    /// Out of 100 mutations, how many are structural corruptions (truncation, length lies,
    /// wrong wire types, bit flips, …) rather than well-formed changes.
    pub corruption_percent: u8,
}

impl Default for MutatorOptions {
    fn default() -> Self {
        MutatorOptions { corruption_percent: 10 }
    }
}

/// What one call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutated {
    /// A well-formed change of this kind.
    Structured(&'static str),
    /// One of `mutate`'s corruptions.
    Corrupted(MutationKind),
    /// A unit of the other input added (crossover).
    Crossed,
}

/// A structure-aware mutator over one schema and root type.
#[derive(Debug, Clone)]
pub struct Mutator {
    decoder: Decoder,
    options: MutatorOptions,
    /// Type URLs of the messages a payload may be declared as (type confusion).
    urls: Vec<String>,
}

/// The corruptions, as `mutate` makes them.
const CORRUPTIONS: [MutationKind; 8] = [
    MutationKind::Truncate,
    MutationKind::LengthLie,
    MutationKind::WrongWireType,
    MutationKind::BitFlip,
    MutationKind::OverlongVarint,
    MutationKind::UnknownField,
    MutationKind::InvalidUtf8,
    MutationKind::ValueOutOfRange,
];

/// The well-formed changes, in the order they are tried from a random start.
const STRUCTURED: [&str; 7] = [
    "value-boundary",
    "value-boundary",
    "delete-element",
    "copy-element",
    "enum-switch",
    "type-confusion",
    "duplicate-unit",
];

impl Mutator {
    /// A mutator for blobs of `root` (or schema-less) under `schema`.
    pub fn new(schema: Arc<Schema>, root: Option<MessageDescriptor>, options: MutatorOptions) -> Self {
        let urls = schema
            .pool
            .all_messages()
            .filter(|m| schema.is_root_candidate(m) && !m.full_name().starts_with("google."))
            .map(|m| format!("{TYPE_URL_PREFIX}{}", m.full_name()))
            .collect();
        Mutator { decoder: Decoder::new(schema, root).without_causes(), options, urls }
    }

    /// Mutates `data` in place, keeping it at most `max_size` bytes; the same `data` and
    /// `seed` give the same result. `None` when no mutation applied (then `data` is as it
    /// was).
    pub fn mutate(&self, data: &mut Vec<u8>, max_size: usize, seed: u64) -> Option<Mutated> {
        let doc = self.decoder.decode(Source::new(data.clone()));
        let mut rng = Rng::new(seed);
        let corrupt = rng.below(100) < usize::from(self.options.corruption_percent);
        let start = rng.below(if corrupt { CORRUPTIONS.len() } else { STRUCTURED.len() });
        let planned = if corrupt {
            (0..CORRUPTIONS.len()).find_map(|i| {
                let kind = CORRUPTIONS[(start + i) % CORRUPTIONS.len()];
                Some((plan_kind(&doc, &mut rng, kind)?, Mutated::Corrupted(kind)))
            })
        } else {
            (0..STRUCTURED.len()).find_map(|i| {
                let kind = STRUCTURED[(start + i) % STRUCTURED.len()];
                Some((self.structured(&doc, &mut rng, kind)?, Mutated::Structured(kind)))
            })
        };
        let (op, done) = planned?;
        let mut editor = Editor::new(doc);
        editor.apply(op).ok()?;
        let bytes = editor.doc().bytes();
        (bytes.len() <= max_size && bytes != data.as_slice()).then(|| {
            *data = bytes.to_vec();
            done
        })
    }

    /// Adds a top-level field (a unit) of `other` to `data`, after one of its own
    /// (crossover); top-level fields are independent, so no length changes.
    pub fn crossover(&self, data: &mut Vec<u8>, other: &[u8], max_size: usize, seed: u64) -> Option<Mutated> {
        let mut rng = Rng::new(seed);
        let fields = |bytes: &[u8]| {
            let mut spans = Vec::new();
            let mut pos = 0;
            while let Ok(f) = wire::read_field(bytes, pos, bytes.len()) {
                spans.push(pos..f.end);
                pos = f.end;
            }
            spans
        };
        let theirs = fields(other);
        let unit = other.get(theirs.get(rng.below(theirs.len().max(1)))?.clone())?;
        let ours = fields(data);
        let at = ours.get(rng.below(ours.len() + 1)).map_or(ours.last().map_or(0, |s| s.end), |s| s.start);
        (data.len() + unit.len() <= max_size).then(|| {
            data.splice(at..at, unit.iter().copied());
            Mutated::Crossed
        })
    }

    /// A well-formed change of `kind`, planned on `doc`.
    fn structured(&self, doc: &Document, rng: &mut Rng, kind: &str) -> Option<EditOp> {
        match kind {
            "value-boundary" => {
                let id = rng.pick(&nodes_where(doc, |id| scalar_of(doc, id)))?;
                let value = boundary(&doc.field_info(id)?.kind, rng)?;
                Some(EditOp::Set { path: path_of(doc, id), value })
            }
            "delete-element" => {
                let elements = nodes_where(doc, |id| {
                    doc.parent(id) == Some(crate::model::NodeId::ROOT) || doc.field_info(id).is_some_and(|f| f.is_list)
                });
                Some(EditOp::Delete { path: path_of(doc, rng.pick(&elements)?) })
            }
            "copy-element" => {
                let messages = nodes_where(doc, |id| {
                    doc.node(id).kind == NodeKind::Message && doc.field_info(id).is_some_and(|f| f.is_list)
                });
                Some(EditOp::Duplicate { path: path_of(doc, rng.pick(&messages)?) })
            }
            "enum-switch" => enum_switch(doc, rng),
            "type-confusion" => {
                let anys = nodes_where(doc, |id| doc.node(id).kind == NodeKind::Any);
                let id = rng.pick(&anys)?;
                let url = self.urls.get(rng.below(self.urls.len().max(1)))?.clone();
                Some(EditOp::Set { path: path_of(doc, id).child(Segment::named("@type")), value: url })
            }
            _ => plan_kind(doc, rng, MutationKind::DuplicateUnit),
        }
    }
}

/// A Rust enum (a message of one oneof) switched to another declared variant, written as
/// a unit variant is (tag, zero length).
fn enum_switch(doc: &Document, rng: &mut Rng) -> Option<EditOp> {
    let variants = nodes_where(doc, |id| {
        doc.parent(id).and_then(|p| doc.type_info_of(p)).is_some_and(|t| t.enum_like) && doc.field_info(id).is_some()
    });
    let id = rng.pick(&variants)?;
    let info = doc.type_info_of(doc.parent(id)?)?;
    let others: Vec<u32> = info.fields.iter().map(|f| f.number).filter(|&n| n != doc.node(id).field_number).collect();
    let number = rng.pick(&others)?;
    let mut bytes = Vec::new();
    wire::write_varint(&mut bytes, (u64::from(number) << 3) | WireType::Len as u64);
    bytes.push(0);
    Some(EditOp::ReplaceRaw { target: crate::edit::op::Target::Path(path_of(doc, id)), bytes })
}

/// A boundary value of a scalar kind: its extremes, zero, one, or just inside an extreme.
fn boundary(kind: &prost_reflect::Kind, rng: &mut Rng) -> Option<String> {
    use prost_reflect::Kind;
    let pick = rng.below(4);
    match (kind, pick) {
        (Kind::Bool, _) => Some((pick.is_multiple_of(2)).to_string()),
        (Kind::Float | Kind::Double | Kind::Enum(_), _) => super::extreme(kind, pick.is_multiple_of(2)),
        (_, 0) => Some("0".to_owned()),
        (_, 1) => Some("1".to_owned()),
        (_, _) => {
            let extreme: i128 = super::extreme(kind, pick == 2)?.parse().ok()?;
            Some((if pick == 2 { extreme - 1 } else { extreme + 1 }).to_string())
        }
    }
}
