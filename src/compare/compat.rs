//! Would another release restore this blob? The same bytes decoded with this release's
//! schema (A) and with the other's (B): what B fails on that A does not (types it does not
//! declare, fields it requires, wire types it rejects), the fields B drops (data loss), and
//! the values B reads differently (a declared type changed under the same bytes).

use std::collections::HashSet;
use std::mem::{Discriminant, discriminant};

use crate::model::hash::KeyMap;
use crate::model::problem::{ProblemKind, Severity};
use crate::model::value::{interpret, packed_values};
use crate::model::{Document, NodeId, NodeKind};

/// How bad a finding is for the other release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    /// The restore fails.
    FailsRestore,
    /// The restore drops data: a field B does not know.
    LosesData,
    /// B reads the same bytes as another value.
    ReadsDifferently,
}

impl Verdict {
    /// The words for it.
    pub fn words(self) -> &'static str {
        match self {
            Verdict::FailsRestore => "fails restore",
            Verdict::LosesData => "data lost",
            Verdict::ReadsDifferently => "reads differently",
        }
    }
}

/// One thing the other release does differently with this blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// How bad.
    pub verdict: Verdict,
    /// Where, as this release names it.
    pub path: String,
    /// The byte it concerns.
    pub offset: u64,
    /// What B does, in the VMM's words where there are some.
    pub what: String,
    /// The value this release reads there.
    pub value: Option<String>,
}

/// Longest value shown.
const PREVIEW_LIMIT: usize = 96;

/// What B (the same bytes decoded with the other release's schema) does differently from
/// A, in byte order.
pub fn blob_against(a: &Document, b: &Document) -> Vec<Finding> {
    // The same field in both: the same bytes and field number (a message and its only
    // field can share their bytes, the root and a field too).
    let key = |doc: &Document, id: NodeId| {
        let node = doc.node(id);
        (node.start, node.end(), node.field_number, node.parent.is_none())
    };
    let mut at: KeyMap<(u64, u64, u32, bool), NodeId> = KeyMap::default();
    for id in NodeId::ROOT.up_to(a.end()) {
        at.entry(key(a, id)).or_insert(id);
    }
    let same_in_a = |y: NodeId| at.get(&key(b, y)).copied();
    let known: HashSet<(u64, Discriminant<ProblemKind>)> =
        a.problems().iter().map(|p| (p.offset, discriminant(&p.kind))).collect();
    let mut found = Vec::new();
    for p in b.problems() {
        if known.contains(&(p.offset, discriminant(&p.kind))) || matches!(p.kind, ProblemKind::LikelyCause { .. }) {
            continue; // the blob's own damage, not the other release's doing
        }
        let x = same_in_a(p.node);
        let path = x.map_or_else(|| b.path_of(p.node).label(), |x| a.path_of(x).label());
        let value = x.map(|x| shown(a, x)).filter(|v| !v.is_empty());
        let verdict = match (&p.kind, p.kind.severity()) {
            (ProblemKind::UnknownField { .. }, _) => Verdict::LosesData,
            (_, Severity::Error) => Verdict::FailsRestore,
            (_, Severity::Warning) => Verdict::LosesData,
        };
        let what = match &p.kind {
            ProblemKind::UnknownField { in_type } => {
                format!("the other release's {} has no such field: dropped on restore", b.type_name(*in_type))
            }
            ProblemKind::UnknownTypeUrl { url } => format!("{}{}", p.kind.describe(b), renamed_to(b, &url.lossy(b))),
            kind => kind.describe(b),
        };
        found.push(Finding { verdict, path, offset: p.offset, what, value });
    }
    for y in NodeId::ROOT.up_to(b.end()) {
        let Some(x) = same_in_a(y) else { continue };
        if let Some(finding) = read_differently(a, b, x, y) {
            found.push(finding);
        }
    }
    found.sort_by_key(|f| (f.offset, f.verdict));
    found
}

/// A node's value as this release shows it: a leaf's value, a message's summary.
fn shown(doc: &Document, id: NodeId) -> String {
    if doc.node(id).is_container() {
        crate::model::value::summary(doc, id, PREVIEW_LIMIT)
    } else {
        crate::model::value::preview(doc, id, PREVIEW_LIMIT)
    }
}

/// For a type URL the other release does not declare: the types it declares whose full
/// names hold the old one's parts in order (`vmtime.SavedState` → `vmtime.v2.SavedState`),
/// as a package moved or renamed keeps them.
fn renamed_to(b: &Document, url: &str) -> String {
    let old: Vec<&str> = url.rsplit('/').next().unwrap_or(url).split('.').collect();
    let keeps = |full: &str| {
        let mut parts = full.split('.');
        old.last() == full.rsplit('.').next().as_ref() && old.iter().all(|o| parts.any(|p| p == *o))
    };
    let schema = b.schema();
    let same: Vec<String> = schema
        .pool
        .all_messages()
        .filter(|m| schema.is_root_candidate(m) && keeps(m.full_name()))
        .map(|m| m.full_name().to_owned())
        .take(4)
        .collect();
    if same.is_empty() { String::new() } else { format!("; it declares {}: renamed?", same.join(", ")) }
}

/// A scalar (or packed value) that B reads as another value than A from the same bytes.
fn read_differently(a: &Document, b: &Document, x: NodeId, y: NodeId) -> Option<Finding> {
    let (nx, ny) = (a.node(x), b.node(y));
    let (fx, fy) = (a.field_info(x)?, b.field_info(y)?);
    if nx.has_problem() || ny.has_problem() {
        return None;
    }
    if let (NodeKind::Scalar, prost_reflect::Kind::Enum(e)) = (ny.kind, &fy.kind) {
        let raw = crate::model::value::raw_scalar(b, y)?;
        if e.get_value(raw as i32).is_none() {
            let what = format!("the other release's enum {} declares no value {}", e.full_name(), raw as i32);
            let value = Some(a.scalar(x)?.to_string());
            return Some(Finding {
                verdict: Verdict::FailsRestore,
                path: a.path_of(x).label(),
                offset: nx.value_start(),
                what,
                value,
            });
        }
    }
    let (path, offset, old, new) = match (nx.kind, ny.kind) {
        (NodeKind::Scalar, NodeKind::Scalar) => {
            let (old, new) = (a.scalar(x)?.to_string(), b.scalar(y)?.to_string());
            (a.path_of(x).label(), nx.value_start(), old, new)
        }
        (NodeKind::Packed, NodeKind::Packed) => {
            let mut pairs = packed_values(a, x).zip(packed_values(b, y)).enumerate();
            let (i, (vx, vy)) = pairs.find(|(_, (vx, vy))| {
                interpret(&fx.kind, vx.raw).to_string() != interpret(&fy.kind, vy.raw).to_string()
            })?;
            let (old, new) = (interpret(&fx.kind, vx.raw).to_string(), interpret(&fy.kind, vy.raw).to_string());
            (a.path_of(x).element(nx.index + i as u32).label(), vx.offset as u64, old, new)
        }
        _ => return None,
    };
    if old == new {
        return None;
    }
    let (tx, ty) = (crate::decode::schema::kind_name(&fx.kind), crate::decode::schema::kind_name(&fy.kind));
    let what = format!("the other release declares it {ty} (here {tx}): it reads {new}");
    Some(Finding { verdict: Verdict::ReadsDifferently, path, offset, what, value: Some(old) })
}
