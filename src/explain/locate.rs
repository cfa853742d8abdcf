//! Pointing a restore failure into the blob: the unit by its name, each Rust type path of
//! the chain to the proto message it was generated as, and the field or byte that fits the
//! VMM's cause, with the likely cause the decoder found for that unit.

use prost_reflect::MessageDescriptor;

use crate::explain::log::{Failure, rust_type_parts};
use crate::model::problem::{Problem, ProblemKind, Severity};
use crate::model::{Document, NodeId, NodeKind};

/// A failure from the log, pointed into the blob.
#[derive(Debug)]
pub struct Explanation<'a> {
    /// The failure as the log tells it.
    pub failure: &'a Failure,
    /// The unit it is about (for a bare `decoding failed` line, the unit of that type).
    pub unit: Option<NodeId>,
    /// Each Rust type path of the chain, outermost first, with the proto message it maps to.
    pub types: Vec<(String, Option<String>)>,
    /// What in the blob fits the cause.
    pub finding: Finding,
    /// The single fault that explains the unit's damage, if the decoder found one.
    pub likely_cause: Option<Problem>,
}

/// What in the blob fits a failure's cause.
#[derive(Debug)]
pub enum Finding {
    /// A problem the decoder found that is what the VMM's cause says.
    Fits(Problem),
    /// No problem is what the cause says, but this is the unit's first (the cause may be a
    /// consequence of it).
    First(Problem),
    /// A field that fits the cause although its bytes decode (a fixed array whose length
    /// the restoring release's type does not take; a unit name the VM does not have).
    Field(NodeId, String),
    /// Nothing in the blob fits: why, and what to suspect.
    Nothing(String),
}

impl Explanation<'_> {
    /// Whether the failure was pointed at something in the blob.
    pub fn is_located(&self) -> bool {
        !matches!(self.finding, Finding::Nothing(_))
    }

    /// The node the explanation points at, for showing its subtree.
    pub fn node(&self) -> Option<NodeId> {
        match &self.finding {
            Finding::Fits(p) | Finding::First(p) => Some(p.node),
            Finding::Field(node, _) => Some(*node),
            Finding::Nothing(_) => self.unit,
        }
    }
}

/// The names of the blob's units, in order.
pub fn unit_names(doc: &Document) -> Vec<(NodeId, String)> {
    doc.children(NodeId::ROOT).filter_map(|unit| Some((unit, doc.unit_name(unit)?))).collect()
}

/// Points `failure` into `doc`.
pub fn explain<'a>(doc: &Document, failure: &'a Failure) -> Explanation<'a> {
    let units = unit_names(doc);
    let unit = match &failure.unit {
        Some(name) => named_unit(doc, &units, name, &failure.cause),
        None => unit_of_type(doc, &units, failure),
    };
    let types = failure
        .types
        .iter()
        .map(|rust| (rust.clone(), unit.and_then(|u| proto_type(doc, u, rust))))
        .collect::<Vec<_>>();
    let innermost = types.last().and_then(|(_, proto)| proto.clone());
    let likely_cause = unit
        .and_then(|u| doc.problems_of(u).iter().find(|p| matches!(p.kind, ProblemKind::LikelyCause { .. })).cloned());
    let finding = match unit {
        None => Finding::Nothing(match &failure.unit {
            Some(name) => format!("the blob has no unit named `{name}`"),
            None => "no unit of the blob decodes as the failing type".to_owned(),
        }),
        Some(unit) => find(doc, unit, failure, innermost.as_deref()),
    };
    Explanation { failure, unit, types, finding, likely_cause }
}

/// The unit named `name`; for a duplicate, the second one (the one the VMM refuses).
fn named_unit(doc: &Document, units: &[(NodeId, String)], name: &str, cause: &str) -> Option<NodeId> {
    let mut named = units.iter().filter(|(_, n)| n == name).map(|&(id, _)| id);
    let first = named.next();
    if cause == "duplicate unit name" {
        let flagged = units.iter().map(|&(id, _)| id).find(|&id| {
            doc.problems_of(id)
                .iter()
                .any(|p| matches!(&p.kind, ProblemKind::DuplicateUnitName { name: n } if n.escaped(doc) == name))
        });
        return flagged.or(first);
    }
    first
}

/// For a failure with no unit name: the units whose payload best fits the outermost type
/// (its name, and most package words in the module path), and of those the first with a
/// problem that fits the cause.
fn unit_of_type(doc: &Document, units: &[(NodeId, String)], failure: &Failure) -> Option<NodeId> {
    let (outer, modules) = rust_type_parts(failure.types.first()?);
    let scored: Vec<(NodeId, usize)> = units
        .iter()
        .filter_map(|&(unit, _)| {
            let (_, payload) = subtree_types(doc, unit).find(|&(node, _)| is_payload(doc, node))?;
            (payload.name() == outer).then(|| (unit, package_score(payload.full_name(), &modules)))
        })
        .collect();
    let best = scored.iter().map(|&(_, score)| score).max()?;
    let of_type: Vec<NodeId> = scored.iter().filter(|&&(_, score)| score == best).map(|&(unit, _)| unit).collect();
    of_type
        .iter()
        .copied()
        .find(|&unit| unit_problems(doc, unit).any(|p| fits(&failure.cause, &p.kind)))
        .or(of_type.first().copied())
}

/// Whether `node` is an Any's payload (a unit's state).
fn is_payload(doc: &Document, node: NodeId) -> bool {
    doc.node(node).kind == NodeKind::AnyPayload
}

/// The typed message nodes of a subtree, with their messages.
fn subtree_types(doc: &Document, top: NodeId) -> impl Iterator<Item = (NodeId, &MessageDescriptor)> {
    top.up_to(doc.node(top).next).filter_map(move |id| Some((id, doc.message_type(id)?)))
}

/// How many words of a message's package are in a Rust module path (`chipset.cmos_rtc`
/// and `chipset::cmos_rtc::save_restore::state`: 2).
fn package_score(full_name: &str, modules: &[&str]) -> usize {
    let package = full_name.rsplit_once('.').map_or("", |(p, _)| p);
    package.split('.').filter(|word| modules.contains(word)).count()
}

/// The problems of a unit's subtree, in offset order of their nodes.
fn unit_problems(doc: &Document, unit: NodeId) -> impl Iterator<Item = &Problem> {
    doc.problems().iter().filter(move |p| doc.contains(unit, p.node))
}

/// The proto message a Rust type path was generated as: a message of that name in the
/// unit's bytes (else in the schema), the one whose package shares most words with the
/// module path (`chipset::cmos_rtc::save_restore::state` and `chipset.cmos_rtc`).
fn proto_type(doc: &Document, unit: NodeId, rust: &str) -> Option<String> {
    let (name, modules) = rust_type_parts(rust);
    let in_unit = subtree_types(doc, unit).filter(|(_, m)| m.name() == name).map(|(_, m)| m.full_name().to_owned());
    let best = |candidates: Vec<String>| candidates.into_iter().rev().max_by_key(|c| package_score(c, &modules));
    best(in_unit.collect()).or_else(|| {
        best(doc.schema().pool.all_messages().filter(|m| m.name() == name).map(|m| m.full_name().to_owned()).collect())
    })
}

/// What in `unit` fits the failure's cause.
fn find(doc: &Document, unit: NodeId, failure: &Failure, innermost: Option<&str>) -> Finding {
    let cause = failure.cause.as_str();
    if cause == "unknown unit name" {
        let name = doc.children(unit).next().unwrap_or(unit);
        let why = "the restoring VM has no unit of this name: it was configured with other devices than the VM \
                   that saved (the bytes are not at fault)";
        return Finding::Field(name, why.to_owned());
    }
    let within = |p: &Problem| innermost.is_none_or(|ty| has_ancestor_of_type(doc, unit, p.node, ty));
    let fitting: Vec<&Problem> = unit_problems(doc, unit).filter(|p| fits(cause, &p.kind)).collect();
    if let Some(p) = fitting.iter().find(|p| within(p)).or(fitting.first()) {
        return Finding::Fits((*p).clone());
    }
    if cause.contains("array length")
        && let Some(field) = fixed_array_in(doc, unit, innermost)
    {
        let why = "a fixed array (packed repr only): the restoring release's array takes another number of \
                   values than this one holds";
        return Finding::Field(field, why.to_owned());
    }
    let first = unit_problems(doc, unit)
        .filter(|p| p.kind.severity() == Severity::Error && !matches!(p.kind, ProblemKind::LikelyCause { .. }))
        .min_by_key(|p| p.offset);
    match first {
        Some(p) => Finding::First(p.clone()),
        None => Finding::Nothing(
            "the unit's bytes decode cleanly as the loaded schema reads them: is the schema the restoring \
             release's? (a type or field it changed would fail there and not here)"
                .to_owned(),
        ),
    }
}

/// Whether `id` lies inside a message of type `ty` within `unit`.
fn has_ancestor_of_type(doc: &Document, unit: NodeId, id: NodeId, ty: &str) -> bool {
    let mut cur = Some(id);
    while let Some(node) = cur.filter(|&n| doc.contains(unit, n)) {
        if doc.message_type(node).is_some_and(|m| m.full_name() == ty) {
            return true;
        }
        cur = doc.parent(node);
    }
    false
}

/// The first packed-only field of the unit, inside a message of type `ty` if given.
fn fixed_array_in(doc: &Document, unit: NodeId, ty: Option<&str>) -> Option<NodeId> {
    unit.up_to(doc.node(unit).next).find(|&id| {
        doc.field_info(id).is_some_and(|f| f.packed_only) && ty.is_none_or(|ty| has_ancestor_of_type(doc, unit, id, ty))
    })
}

/// Whether a problem the decoder found is what the VMM's cause says.
fn fits(cause: &str, kind: &ProblemKind) -> bool {
    use crate::decode::wire::WireErrorKind as W;
    match kind {
        ProblemKind::WireTypeMismatch { vmm_says, .. } => cause == *vmm_says,
        ProblemKind::Truncated { .. } => cause.starts_with("eof parsing"),
        ProblemKind::Wire { reason, .. } | ProblemKind::NotParsedAs { reason, .. } => match reason {
            W::TruncatedVarint => cause == "eof parsing a varint",
            W::TruncatedFixed { .. } => cause.starts_with("eof parsing a fixed"),
            W::LengthPastEnd { .. } => cause.starts_with("eof parsing"),
            W::OverlongVarint => cause == "varint too big",
            W::InvalidWireType(n) => cause == format!("unknown wire type {n}"),
            _ => false,
        },
        ProblemKind::OutOfRange { .. } => cause == "varint too big" || cause.contains("out of range"),
        ProblemKind::InvalidUtf8 => cause == "invalid UTF-8 string",
        ProblemKind::MissingRequiredField { .. } => cause == "missing required field",
        ProblemKind::UnpackedFixedArray => cause.contains("array length") || cause == "expected a byte array",
        ProblemKind::WrongArrayLength { .. } => cause.contains("array length"),
        ProblemKind::MissingEnumVariant { .. } => cause == "missing enum variant",
        ProblemKind::TypeUrlMismatch { .. } | ProblemKind::UnknownTypeUrl { .. } => {
            cause.starts_with("protobuf type mismatch")
        }
        ProblemKind::DuplicateUnitName { .. } => cause == "duplicate unit name",
        _ => false,
    }
}
