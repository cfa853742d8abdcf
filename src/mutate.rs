//! Fuzz seeds: from one good blob, many variants that each carry one structured mutation
//! (value extremes, out-of-range values, broken enums, deleted required fields, swapped or
//! unknown type URLs, truncation, length lies, duplicated units, wrong wire types, bit
//! flips, over-long varints, unknown fields, invalid UTF-8). Every mutation is an edit
//! script line, so the manifest says exactly what changed and each seed can be replayed.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};

use crate::cli::{MutateArgs, Outcome, SchemaArgs, read_source};
use crate::decode::schema::FieldClass;
use crate::decode::wire::{WireType, write_varint};
use crate::edit::Editor;
use crate::edit::op::{EditOp, Target};
use crate::model::node::{NodeId, NodeKind};
use crate::model::{Document, path};

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
    pub kind: &'static str,
    /// The edit that makes it.
    pub op: EditOp,
}

/// The kinds of mutation, tried in turn until one applies to the document.
const KINDS: &[&str] = &[
    "value-max",
    "value-min",
    "value-out-of-range",
    "enum-unknown-variant",
    "enum-no-variant",
    "delete-required",
    "swap-type-url",
    "unknown-type-url",
    "truncate",
    "length-lie",
    "duplicate-unit",
    "wrong-wire-type",
    "bit-flip",
    "overlong-varint",
    "unknown-field",
    "invalid-utf8",
];

/// Plans mutation number `index` for `doc`, drawing choices from `rng`.
pub fn plan(doc: &Document, rng: &mut Rng, index: usize) -> Option<Mutation> {
    for attempt in 0..KINDS.len() {
        let kind = KINDS[(index % KINDS.len() + attempt) % KINDS.len()];
        if let Some(op) = plan_kind(doc, rng, kind) {
            return Some(Mutation { kind, op });
        }
    }
    None
}

fn nodes_where(doc: &Document, keep: impl Fn(NodeId) -> bool) -> Vec<NodeId> {
    (1..doc.nodes.len() as NodeId).filter(|&id| !doc.is_transparent(id) && keep(id)).collect()
}

fn scalar_of(doc: &Document, id: NodeId) -> bool {
    let node = doc.node(id);
    matches!(node.kind, NodeKind::Scalar | NodeKind::Element)
        && !node.has_problem
        && doc.field_info(id).is_some_and(|f| matches!(f.class, FieldClass::Scalar(_)))
}

fn plan_kind(doc: &Document, rng: &mut Rng, kind: &str) -> Option<EditOp> {
    let p = |id: NodeId| path::path_of(doc, id);
    let len = doc.bytes().len();
    match kind {
        "value-max" | "value-min" => {
            let id = rng.pick(&nodes_where(doc, |id| scalar_of(doc, id)))?;
            let field = doc.field_info(id)?;
            let value = extreme(&field.kind, kind == "value-max")?;
            Some(EditOp::Set { path: p(id), value })
        }
        "value-out-of-range" => {
            let narrow = |id| {
                scalar_of(doc, id)
                    && doc.node(id).kind == NodeKind::Scalar
                    && doc.field_info(id).is_some_and(|f| f.range.is_some())
            };
            let id = rng.pick(&nodes_where(doc, narrow))?;
            let node = doc.node(id);
            let mut bytes = Vec::new();
            bytes.extend_from_slice(&doc.bytes()[node.start as usize..node.value_start as usize]);
            write_varint(&mut bytes, 1 << 33);
            Some(EditOp::ReplaceRaw { target: Target::Path(p(id)), bytes })
        }
        "enum-unknown-variant" | "enum-no-variant" => {
            let enums = nodes_where(doc, |id| {
                doc.type_info_of(id).is_some_and(|t| t.enum_like) && doc.children(id).next().is_some()
            });
            let id = rng.pick(&enums)?;
            let variant = doc.children(id).next()?;
            if kind == "enum-no-variant" {
                return Some(EditOp::Delete { path: p(variant) });
            }
            let unused = doc.type_info_of(id)?.fields.iter().map(|f| f.number).max()? + 1;
            let node = doc.node(variant);
            let mut bytes = Vec::new();
            write_varint(&mut bytes, (u64::from(unused) << 3) | WireType::Len as u64);
            bytes.extend_from_slice(&doc.bytes()[node.start as usize + node.tag_len as usize..node.end() as usize]);
            Some(EditOp::ReplaceRaw { target: Target::Path(p(variant)), bytes })
        }
        "delete-required" => {
            let required = nodes_where(doc, |id| {
                let parent = doc.node(id).parent;
                doc.type_info_of(parent).is_some_and(|t| t.packed_only.contains(&doc.node(id).field_number))
                    && doc.node(id).kind == NodeKind::Packed
            });
            Some(EditOp::Delete { path: p(rng.pick(&required)?) })
        }
        "swap-type-url" | "unknown-type-url" => {
            let anys = nodes_where(doc, |id| doc.node(id).kind == NodeKind::Any && doc.any_type_url(id).is_some());
            let id = rng.pick(&anys)?;
            let url = if kind == "swap-type-url" {
                let own = doc.any_type_url(id)?;
                let others: Vec<String> =
                    anys.iter().filter_map(|&a| doc.any_type_url(a)).filter(|u| *u != own).collect();
                others.get(rng.below(others.len().max(1)))?.clone()
            } else {
                "type.googleapis.com/statescope.fuzz.NoSuchState".to_owned()
            };
            Some(EditOp::Set { path: format!("{}.@type", p(id)), value: url })
        }
        "truncate" => {
            let top = nodes_where(doc, |id| doc.node(id).parent == 0 && doc.node(id).end() - doc.node(id).start > 2);
            let node = doc.node(rng.pick(&top)?);
            let inside = node.start as usize + 1 + rng.below((node.end() - node.start - 1) as usize);
            Some(EditOp::Truncate { offset: inside.min(len - 1) })
        }
        "length-lie" => {
            let lens = nodes_where(doc, |id| crate::edit::splice::has_length_prefix(doc, id));
            let id = rng.pick(&lens)?;
            let parent_end = doc.node(doc.node(id).parent).value_end;
            Some(EditOp::SetLength {
                path: p(id),
                length: parent_end - doc.node(id).value_start + 1 + rng.below(16) as u64,
            })
        }
        "duplicate-unit" => {
            let top = nodes_where(doc, |id| doc.node(id).parent == 0 && doc.node(id).kind != NodeKind::Error);
            Some(EditOp::Duplicate { path: p(rng.pick(&top)?) })
        }
        "wrong-wire-type" => {
            let tagged = nodes_where(doc, |id| scalar_of(doc, id) && doc.node(id).kind == NodeKind::Scalar);
            let id = rng.pick(&tagged)?;
            let wire = match doc.node(id).wire? {
                WireType::Varint => WireType::Fixed64,
                _ => WireType::Varint,
            };
            Some(EditOp::SetWire { path: p(id), wire: wire as u8 })
        }
        "bit-flip" => (len > 0).then(|| EditOp::Flip { offset: rng.below(len), bit: rng.below(8) as u8 }),
        "overlong-varint" => {
            let varints = nodes_where(doc, |id| scalar_of(doc, id) && doc.node(id).wire == Some(WireType::Varint));
            Some(EditOp::Overlong { path: p(rng.pick(&varints)?) })
        }
        "unknown-field" => {
            let messages = nodes_where(doc, |id| {
                matches!(doc.node(id).kind, NodeKind::Message | NodeKind::Any) && doc.type_info_of(id).is_some()
            });
            let id = rng.pick(&messages)?;
            let mut bytes = Vec::new();
            write_varint(&mut bytes, (536_870_000 << 3) | WireType::Varint as u64);
            write_varint(&mut bytes, rng.next_u64() >> 40);
            Some(EditOp::InsertRaw { path: p(id), bytes })
        }
        "invalid-utf8" => {
            let strings = nodes_where(doc, |id| doc.node(id).kind == NodeKind::String && !doc.node(id).has_problem);
            let id = rng.pick(&strings)?;
            let mut bytes = doc.value_bytes(id).to_vec();
            let at = rng.below(bytes.len() + 1);
            bytes.insert(at, 0xff);
            Some(EditOp::SetRaw { path: p(id), bytes })
        }
        _ => None,
    }
}

/// The largest or smallest value of a scalar kind, as `set` takes it.
fn extreme(kind: &prost_reflect::Kind, max: bool) -> Option<String> {
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

/// `statescope mutate`: writes the variants and `manifest.tsv` into the output folder.
pub fn run(schema_args: &SchemaArgs, args: &MutateArgs) -> Result<Outcome> {
    let schema = schema_args.load_schema()?;
    let (original, _) = schema_args.open(&schema, read_source(&args.file)?)?;
    std::fs::create_dir_all(&args.output).with_context(|| format!("cannot create {}", args.output.display()))?;
    let mut rng = Rng::new(args.seed);
    let mut manifest = String::from("file\tkind\tcheck\tedit\n");
    let mut editor = Editor::new(original);
    let mut written = 0;
    for index in 0..args.count {
        let Some(mutation) = plan(editor.doc(), &mut rng, index) else { break };
        if let Err(e) = editor.apply(mutation.op.clone()) {
            anyhow::bail!("mutation {index} ({}) did not apply: {e}", mutation.op);
        }
        let name = format!("seed-{index:04}-{}.bin", mutation.kind);
        write_seed(&args.output.join(&name), editor.doc().bytes())?;
        let problems = editor.doc().problems.len();
        let check = if problems == 0 { "clean".to_owned() } else { format!("{problems} problem(s)") };
        let _ = writeln!(manifest, "{name}\t{}\t{check}\t{}", mutation.kind, mutation.op);
        editor.undo();
        written += 1;
    }
    write_seed(&args.output.join("manifest.tsv"), manifest.as_bytes())?;
    eprintln!("statescope: wrote {written} seed(s) and manifest.tsv to {}", args.output.display());
    Ok(Outcome::Success)
}

fn write_seed(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::files::write_atomic(path, bytes, None, true)?;
    Ok(())
}
