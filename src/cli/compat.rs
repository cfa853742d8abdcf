//! `statescope compat FILE --to-proto-dir DIR`: would the other release restore this
//! blob? Each finding with its path, byte offset and value; exit 1 when anything would fail
//! restore, lose data or read differently, 0 when the other release reads it as this one.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};

use crate::cli::{CompatArgs, Outcome, ReportFormat};
use crate::compare::compat::{Finding, Verdict, blob_against};
use crate::compare::schemas::{Impact, schema_changes};
use crate::decode::registry::SchemaSources;
use crate::decode::schema::Schema;
use crate::model::Decoder;
use crate::model::value::terminal_safe;
use crate::open::{SchemaArgs, display_name};

/// Runs `compat`.
pub fn run(schema_args: &SchemaArgs, args: &CompatArgs, out: &mut impl Write) -> Result<Outcome> {
    if let [old, new] = args.schemas.as_slice() {
        return schemas(old, new, args, out);
    }
    let file = args.file.as_deref().ok_or_else(|| anyhow!("name a blob, or two schemas with --schema OLD NEW"))?;
    let other = SchemaSources {
        proto_files: args.to_proto.clone(),
        proto_dirs: args.to_proto_dir.clone(),
        descriptor_sets: args.to_descriptor_set.clone(),
    };
    if other.proto_files.is_empty() && other.proto_dirs.is_empty() && other.descriptor_sets.is_empty() {
        bail!("name the other release's schema: --to-proto-dir DIR, --to-descriptor-set FILE or --to-proto FILE");
    }
    let other = Arc::new(Schema::load(&other).context("cannot load the other release's schema")?);
    let schema = schema_args.load_schema()?;
    let label = display_name(file);
    let source = schema_args.read(file)?;
    let (ours, note) = schema_args.open(&schema, source.clone())?;
    if let Some(note) = note {
        eprintln!("statescope: {label}: {note}");
    }
    let root = ours.root_type().ok_or_else(|| anyhow!("no root type: name it with --type"))?;
    let their_root = other.pool.get_message_by_name(root.full_name()).ok_or_else(|| {
        anyhow!("the other release declares no {}: it cannot read this blob at all", root.full_name())
    })?;
    let theirs =
        Decoder::new(other, Some(their_root)).with_limits(schema_args.limits()).without_causes().decode(source);
    let found = blob_against(&ours, &theirs);
    if args.view {
        let notes = found
            .iter()
            .map(|f| (f.path.clone(), format!("{}: byte {}: {}", f.verdict.words(), f.offset, f.what)))
            .collect();
        let label = format!("{label}, as the other release reads it");
        crate::ui::run_with_notes(schema_args, file, ours, label, notes)?;
        return Ok(Outcome::Success);
    }
    for finding in &found {
        match args.format {
            ReportFormat::Json => writeln!(out, "{}", json(finding))?,
            ReportFormat::Text => writeln!(out, "{}", terminal_safe(&format!("{label}: {}", line(finding))))?,
        }
    }
    if args.format == ReportFormat::Text {
        let count = |v: Verdict| found.iter().filter(|f| f.verdict == v).count();
        let summary = if found.is_empty() {
            "the other release reads this blob as this one does".to_owned()
        } else {
            format!(
                "{} finding(s): {} fail restore, {} lose data, {} read differently",
                found.len(),
                count(Verdict::FailsRestore),
                count(Verdict::LosesData),
                count(Verdict::ReadsDifferently)
            )
        };
        writeln!(out, "{}", terminal_safe(&format!("{label}: {summary}")))?;
    }
    Ok(if found.is_empty() { Outcome::Success } else { Outcome::ProblemsFound })
}

/// A schema given as a folder, a `.proto` file or a descriptor set.
fn load(path: &Path) -> Result<Schema> {
    let mut sources = SchemaSources::default();
    if path.is_dir() {
        sources.proto_dirs.push(path.to_owned());
    } else if path.extension().is_some_and(|e| e == "proto") {
        sources.proto_files.push(path.to_owned());
    } else {
        sources.descriptor_sets.push(path.to_owned());
    }
    Schema::load(&sources).with_context(|| format!("cannot load the schema {}", path.display()))
}

/// `compat --schema OLD NEW`: each change with its impact both ways; exit 1 when one that
/// breaks or loses data is not accepted by `--allow`.
fn schemas(old: &Path, new: &Path, args: &CompatArgs, out: &mut impl Write) -> Result<Outcome> {
    let allowed: Vec<String> = match &args.allow {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the allowlist {}", path.display()))?
            .lines()
            .map(|l| l.split('#').next().unwrap_or("").trim().to_owned())
            .filter(|l| !l.is_empty())
            .collect(),
        None => Vec::new(),
    };
    let changes = schema_changes(&load(old)?, &load(new)?);
    let mut failing = 0;
    for c in &changes {
        let accepted = allowed.contains(&c.key);
        failing += usize::from(!accepted && c.worst() != Impact::Info);
        match args.format {
            ReportFormat::Json => writeln!(
                out,
                "{}",
                serde_json::json!({
                    "key": c.key, "what": c.what, "old_blobs": c.old_blobs.word(),
                    "new_blobs": c.new_blobs.word(), "allowed": accepted,
                })
            )?,
            ReportFormat::Text => {
                let mark = if accepted { " (allowed)" } else { "" };
                let line = format!(
                    "[{}] old blobs: {}, new blobs: {}{mark}: {}",
                    c.key,
                    c.old_blobs.word(),
                    c.new_blobs.word(),
                    c.what
                );
                writeln!(out, "{}", terminal_safe(&line))?;
            }
        }
    }
    if args.format == ReportFormat::Text {
        writeln!(out, "{} change(s), {failing} that break or lose data and are not allowed", changes.len())?;
    }
    Ok(if failing > 0 { Outcome::ProblemsFound } else { Outcome::Success })
}

/// `PATH: byte N: fails restore: WHAT (value here: V)`.
fn line(f: &Finding) -> String {
    let value = f.value.as_ref().map(|v| format!(" (value here: {v})")).unwrap_or_default();
    format!("{}: byte {}: {}: {}{value}", f.path, f.offset, f.verdict.words(), f.what)
}

fn json(f: &Finding) -> serde_json::Value {
    serde_json::json!({
        "path": f.path,
        "offset": f.offset,
        "verdict": f.verdict.words(),
        "what": f.what,
        "value": f.value,
    })
}
