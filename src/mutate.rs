//! Fuzz seeds: from one good blob, many variants that each carry one structured mutation
//! (value extremes, out-of-range values, broken enums, deleted required fields, swapped or
//! unknown type URLs, truncation, length lies, duplicated units, wrong wire types, bit
//! flips, over-long varints, unknown fields, invalid UTF-8). Every mutation is an edit
//! script line, so the manifest says exactly what changed and each seed can be replayed.
//! This module plans; the `mutate` command writes the seeds.

mod mutator;

pub use mutator::{Mutated, Mutator, MutatorOptions};

use crate::decode::schema::FieldClass;
use crate::decode::wire::{WireType, write_varint};
use crate::edit::op::{EditOp, Target};
use crate::model::Document;
use crate::model::node::{NodeId, NodeKind};
use crate::model::path::{Segment, path_of};

/// A small deterministic generator (SplitMix64): the same seed gives the same seeds on
/// every machine and every run.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// One of `items`, if any.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> Option<T> {
        (!items.is_empty()).then(|| items[self.below(items.len())])
    }
}

/// One planned mutation.
#[derive(Debug, Clone)]
pub struct Mutation {
    /// Its kind, for the file name and manifest.
    pub kind: MutationKind,
    /// The edit that makes it.
    pub op: EditOp,
}

/// The kinds of mutation, each one edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MutationKind {
    /// A scalar set to its type's largest value.
    ValueMax,
    /// A scalar set to its type's smallest value.
    ValueMin,
    /// A 32-bit or bool field holding a 64-bit varint.
    ValueOutOfRange,
    /// A Rust enum whose variant is one it does not declare.
    EnumUnknownVariant,
    /// A Rust enum with its variant deleted.
    EnumNoVariant,
    /// A required fixed array deleted.
    DeleteRequired,
    /// An Any's type URL swapped for another one in the blob.
    SwapTypeUrl,
    /// An Any's type URL replaced by one no schema declares.
    UnknownTypeUrl,
    /// The file cut inside a top-level field.
    Truncate,
    /// A length prefix that claims more than there is.
    LengthLie,
    /// A top-level field (a unit) written twice.
    DuplicateUnit,
    /// A scalar's tag with another wire type.
    WrongWireType,
    /// One bit flipped anywhere.
    BitFlip,
    /// A varint written in ten bytes.
    OverlongVarint,
    /// A field no schema declares, added to a message.
    UnknownField,
    /// A string holding an invalid UTF-8 byte.
    InvalidUtf8,
}

impl MutationKind {
    /// Every kind, in the order [`plan`] takes them.
    pub const ALL: [MutationKind; 16] = [
        MutationKind::ValueMax,
        MutationKind::ValueMin,
        MutationKind::ValueOutOfRange,
        MutationKind::EnumUnknownVariant,
        MutationKind::EnumNoVariant,
        MutationKind::DeleteRequired,
        MutationKind::SwapTypeUrl,
        MutationKind::UnknownTypeUrl,
        MutationKind::Truncate,
        MutationKind::LengthLie,
        MutationKind::DuplicateUnit,
        MutationKind::WrongWireType,
        MutationKind::BitFlip,
        MutationKind::OverlongVarint,
        MutationKind::UnknownField,
        MutationKind::InvalidUtf8,
    ];

    /// The kind's name in seed file names and the manifest (`value-max`, …).
    pub fn name(self) -> &'static str {
        match self {
            MutationKind::ValueMax => "value-max",
            MutationKind::ValueMin => "value-min",
            MutationKind::ValueOutOfRange => "value-out-of-range",
            MutationKind::EnumUnknownVariant => "enum-unknown-variant",
            MutationKind::EnumNoVariant => "enum-no-variant",
            MutationKind::DeleteRequired => "delete-required",
            MutationKind::SwapTypeUrl => "swap-type-url",
            MutationKind::UnknownTypeUrl => "unknown-type-url",
            MutationKind::Truncate => "truncate",
            MutationKind::LengthLie => "length-lie",
            MutationKind::DuplicateUnit => "duplicate-unit",
            MutationKind::WrongWireType => "wrong-wire-type",
            MutationKind::BitFlip => "bit-flip",
            MutationKind::OverlongVarint => "overlong-varint",
            MutationKind::UnknownField => "unknown-field",
            MutationKind::InvalidUtf8 => "invalid-utf8",
        }
    }
}

impl std::str::FromStr for MutationKind {
    type Err = String;
    fn from_str(name: &str) -> Result<Self, String> {
        MutationKind::ALL.into_iter().find(|k| k.name() == name).ok_or_else(|| {
            let names: Vec<&str> = MutationKind::ALL.iter().map(|k| k.name()).collect();
            format!("`{name}` is not a mutation; they are {}", names.join(", "))
        })
    }
}

impl std::fmt::Display for MutationKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Plans mutation number `index` for `doc`, drawing choices from `rng`: kind number
/// `index` (cycling), or the next kind that applies to the document.
pub fn plan(doc: &Document, rng: &mut Rng, index: usize) -> Option<Mutation> {
    plan_among(doc, rng, index, &MutationKind::ALL)
}

/// [`plan`] with only `kinds` to choose from.
pub fn plan_among(doc: &Document, rng: &mut Rng, index: usize, kinds: &[MutationKind]) -> Option<Mutation> {
    (0..kinds.len()).find_map(|attempt| {
        let kind = kinds[(index % kinds.len() + attempt) % kinds.len()];
        plan_kind(doc, rng, kind).map(|op| Mutation { kind, op })
    })
}

/// The nodes (other than the root and pass-through Any payloads) that `keep` accepts.
pub(crate) fn nodes_where(doc: &Document, keep: impl Fn(NodeId) -> bool) -> Vec<NodeId> {
    (NodeId::ROOT + 1).up_to(doc.end()).filter(|&id| !doc.is_transparent(id) && keep(id)).collect()
}

pub(crate) fn scalar_of(doc: &Document, id: NodeId) -> bool {
    let node = doc.node(id);
    matches!(node.kind, NodeKind::Scalar | NodeKind::Element)
        && !node.has_problem()
        && doc.field_info(id).is_some_and(|f| matches!(f.class, FieldClass::Scalar(_)))
}

/// Whether a node is a top-level field: a unit of a whole-VM state.
fn top_level(doc: &Document, id: NodeId) -> bool {
    doc.parent(id) == Some(NodeId::ROOT)
}

pub(crate) fn plan_kind(doc: &Document, rng: &mut Rng, kind: MutationKind) -> Option<EditOp> {
    let len = doc.bytes().len();
    match kind {
        MutationKind::ValueMax => value_extreme(doc, rng, true),
        MutationKind::ValueMin => value_extreme(doc, rng, false),
        MutationKind::ValueOutOfRange => value_out_of_range(doc, rng),
        MutationKind::EnumUnknownVariant => enum_variant(doc, rng, true),
        MutationKind::EnumNoVariant => enum_variant(doc, rng, false),
        MutationKind::DeleteRequired => delete_required(doc, rng),
        MutationKind::SwapTypeUrl => type_url(doc, rng, true),
        MutationKind::UnknownTypeUrl => type_url(doc, rng, false),
        MutationKind::Truncate => truncate(doc, rng),
        MutationKind::LengthLie => length_lie(doc, rng),
        MutationKind::DuplicateUnit => {
            let top = nodes_where(doc, |id| top_level(doc, id) && doc.node(id).kind != NodeKind::Error);
            Some(EditOp::Duplicate { path: path_of(doc, rng.pick(&top)?) })
        }
        MutationKind::WrongWireType => wrong_wire_type(doc, rng),
        MutationKind::BitFlip => (len > 0).then(|| EditOp::Flip { offset: rng.below(len), bit: rng.below(8) as u8 }),
        MutationKind::OverlongVarint => {
            let varints = nodes_where(doc, |id| scalar_of(doc, id) && doc.node(id).wire == Some(WireType::Varint));
            Some(EditOp::Overlong { path: path_of(doc, rng.pick(&varints)?) })
        }
        MutationKind::UnknownField => unknown_field(doc, rng),
        MutationKind::InvalidUtf8 => invalid_utf8(doc, rng),
    }
}

fn value_extreme(doc: &Document, rng: &mut Rng, max: bool) -> Option<EditOp> {
    let id = rng.pick(&nodes_where(doc, |id| scalar_of(doc, id)))?;
    let value = extreme(&doc.field_info(id)?.kind, max)?;
    Some(EditOp::Set { path: path_of(doc, id), value })
}

fn value_out_of_range(doc: &Document, rng: &mut Rng) -> Option<EditOp> {
    let narrow = |id| {
        scalar_of(doc, id)
            && doc.node(id).kind == NodeKind::Scalar
            && doc.field_info(id).is_some_and(|f| f.range.is_some())
    };
    let id = rng.pick(&nodes_where(doc, narrow))?;
    let node = doc.node(id);
    let mut bytes = doc.bytes()[node.start as usize..node.value_start() as usize].to_vec();
    write_varint(&mut bytes, 1 << 33);
    Some(EditOp::ReplaceRaw { target: Target::Path(path_of(doc, id)), bytes })
}

/// A Rust enum's variant replaced by an undeclared one (`unknown`), or deleted.
fn enum_variant(doc: &Document, rng: &mut Rng, unknown: bool) -> Option<EditOp> {
    let enums =
        nodes_where(doc, |id| doc.type_info_of(id).is_some_and(|t| t.enum_like) && doc.children(id).next().is_some());
    let id = rng.pick(&enums)?;
    let variant = doc.children(id).next()?;
    if !unknown {
        return Some(EditOp::Delete { path: path_of(doc, variant) });
    }
    let unused = doc.type_info_of(id)?.fields.iter().map(|f| f.number).max()? + 1;
    let node = doc.node(variant);
    let mut bytes = Vec::new();
    write_varint(&mut bytes, (u64::from(unused) << 3) | WireType::Len as u64);
    bytes.extend_from_slice(&doc.bytes()[node.start as usize + usize::from(node.tag_len())..node.end() as usize]);
    Some(EditOp::ReplaceRaw { target: Target::Path(path_of(doc, variant)), bytes })
}

fn delete_required(doc: &Document, rng: &mut Rng) -> Option<EditOp> {
    let required = nodes_where(doc, |id| {
        let node = doc.node(id);
        let parent_type = node.parent.and_then(|parent| doc.type_info_of(parent));
        node.kind == NodeKind::Packed && parent_type.is_some_and(|t| t.packed_only.contains(&node.field_number))
    });
    Some(EditOp::Delete { path: path_of(doc, rng.pick(&required)?) })
}

/// An Any's type URL swapped for another one in the blob (`swap`), or for an unknown one.
fn type_url(doc: &Document, rng: &mut Rng, swap: bool) -> Option<EditOp> {
    let anys = nodes_where(doc, |id| doc.node(id).kind == NodeKind::Any && doc.any_type_url(id).is_some());
    let id = rng.pick(&anys)?;
    let url = if swap {
        let own = doc.any_type_url(id)?;
        let others: Vec<String> = anys.iter().filter_map(|&a| doc.any_type_url(a)).filter(|u| *u != own).collect();
        others.get(rng.below(others.len().max(1)))?.clone()
    } else {
        "type.googleapis.com/statescope.fuzz.NoSuchState".to_owned()
    };
    Some(EditOp::Set { path: path_of(doc, id).child(Segment::named("@type")), value: url })
}

fn truncate(doc: &Document, rng: &mut Rng) -> Option<EditOp> {
    let top = nodes_where(doc, |id| top_level(doc, id) && doc.node(id).end() - doc.node(id).start > 2);
    let node = doc.node(rng.pick(&top)?);
    let inside = node.start as usize + 1 + rng.below((node.end() - node.start - 1) as usize);
    Some(EditOp::Truncate { offset: inside.min(doc.bytes().len() - 1) })
}

fn length_lie(doc: &Document, rng: &mut Rng) -> Option<EditOp> {
    let lens = nodes_where(doc, |id| crate::edit::splice::has_length_prefix(doc, id));
    let id = rng.pick(&lens)?;
    let parent_end = doc.node(doc.parent(id)?).value_end;
    let length = parent_end - doc.node(id).value_start() + 1 + rng.below(16) as u64;
    Some(EditOp::SetLength { path: path_of(doc, id), length })
}

fn wrong_wire_type(doc: &Document, rng: &mut Rng) -> Option<EditOp> {
    let tagged = nodes_where(doc, |id| scalar_of(doc, id) && doc.node(id).kind == NodeKind::Scalar);
    let id = rng.pick(&tagged)?;
    let wire = match doc.node(id).wire? {
        WireType::Varint => WireType::Fixed64,
        _ => WireType::Varint,
    };
    Some(EditOp::SetWire { path: path_of(doc, id), wire: wire as u8 })
}

fn unknown_field(doc: &Document, rng: &mut Rng) -> Option<EditOp> {
    let messages = nodes_where(doc, |id| {
        matches!(doc.node(id).kind, NodeKind::Message | NodeKind::Any) && doc.type_info_of(id).is_some()
    });
    let id = rng.pick(&messages)?;
    let mut bytes = Vec::new();
    write_varint(&mut bytes, (536_870_000 << 3) | WireType::Varint as u64);
    write_varint(&mut bytes, rng.next_u64() >> 40);
    Some(EditOp::InsertRaw { path: path_of(doc, id), bytes })
}

fn invalid_utf8(doc: &Document, rng: &mut Rng) -> Option<EditOp> {
    let strings = nodes_where(doc, |id| doc.node(id).kind == NodeKind::String && !doc.node(id).has_problem());
    let id = rng.pick(&strings)?;
    let mut bytes = doc.value_bytes(id).to_vec();
    bytes.insert(rng.below(bytes.len() + 1), 0xff);
    Some(EditOp::SetRaw { path: path_of(doc, id), bytes })
}

/// The largest or smallest value of a scalar kind, as `set` takes it.
pub(crate) fn extreme(kind: &prost_reflect::Kind, max: bool) -> Option<String> {
    use prost_reflect::Kind;
    Some(match (kind, max) {
        (Kind::Int32 | Kind::Sint32 | Kind::Sfixed32, true) => i32::MAX.to_string(),
        (Kind::Int32 | Kind::Sint32 | Kind::Sfixed32, false) => i32::MIN.to_string(),
        (Kind::Int64 | Kind::Sint64 | Kind::Sfixed64, true) => i64::MAX.to_string(),
        (Kind::Int64 | Kind::Sint64 | Kind::Sfixed64, false) => i64::MIN.to_string(),
        (Kind::Uint32 | Kind::Fixed32, true) => u32::MAX.to_string(),
        (Kind::Uint64 | Kind::Fixed64, true) => u64::MAX.to_string(),
        (Kind::Uint32 | Kind::Fixed32 | Kind::Uint64 | Kind::Fixed64, false) => "0".to_owned(),
        (Kind::Bool, max) => max.to_string(),
        (Kind::Float | Kind::Double, true) => "inf".to_owned(),
        (Kind::Float | Kind::Double, false) => "nan".to_owned(),
        (Kind::Enum(e), max) => {
            let values: Vec<i32> = e.values().map(|v| v.number()).collect();
            (if max { values.iter().max() } else { values.iter().min() })?.to_string()
        }
        _ => return None,
    })
}
