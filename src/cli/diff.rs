//! `statescope diff A B`: the field-level differences of two blobs, as lines, per-unit
//! counts (`--stat`) or JSON lines; exit 0 when equal, 1 when different, as diff(1).

use std::io::Write;
use std::path::Path;

use anyhow::{Result, anyhow, bail};

use crate::cli::{DiffArgs, Outcome, ReportFormat};
use crate::compare::diff::{Change, Difference, Options, diff};
use crate::model::value::terminal_safe;
use crate::open::{SchemaArgs, display_name};

/// Decodes both blobs with the same schema and writes their differences.
pub fn run(schema_args: &SchemaArgs, args: &DiffArgs, out: &mut impl Write) -> Result<Outcome> {
    if args.a == Path::new("-") && args.b == Path::new("-") {
        bail!("only one of the two blobs can be standard input");
    }
    let keys = args
        .key
        .iter()
        .map(|k| k.split_once('=').map(|(p, f)| (p.to_owned(), f.to_owned())))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| anyhow!("--key takes PATH=FIELD, like `units=name`"))?;
    let options = Options { keys, ignore: args.ignore.clone() };

    let schema = schema_args.load_schema()?;
    let open = |path: &Path| -> Result<_> {
        let (doc, note) = schema_args.open(&schema, schema_args.read(path)?)?;
        if let Some(note) = note {
            eprintln!("statescope: {}: {note}", display_name(path));
        }
        Ok(doc)
    };
    let (a, b) = (open(&args.a)?, open(&args.b)?);
    let found = diff(&a, &b, &options);
    if args.view {
        let notes = found.iter().map(|d| (d.path.clone(), d.describe())).collect();
        let label = format!("{} → {}", display_name(&args.a), display_name(&args.b));
        crate::ui::run_with_notes(schema_args, &args.b, b, label, notes)?;
        return Ok(Outcome::Success);
    }
    if args.stat {
        write_stat(&found, &b, out)?;
    } else if args.format == ReportFormat::Json {
        for d in &found {
            writeln!(out, "{}", json(d))?;
        }
    } else {
        for d in &found {
            writeln!(out, "{}", terminal_safe(&format!("{}: {}", d.path, d.describe())))?;
        }
    }
    Ok(if found.is_empty() { Outcome::Success } else { Outcome::ProblemsFound })
}

fn json(d: &Difference) -> serde_json::Value {
    let span = |r: &Option<std::ops::Range<u64>>| r.as_ref().map(|r| serde_json::json!([r.start, r.end]));
    serde_json::json!({
        "path": d.path,
        "change": d.change.word(),
        "old": d.old,
        "new": d.new,
        "a": span(&d.a),
        "b": span(&d.b),
        "ranges": d.ranges.iter().map(|(x, y)| serde_json::json!([[x.start, x.end], [y.start, y.end]])).collect::<Vec<_>>(),
    })
}

/// Counts per top-level field (a unit, with its name from B).
fn write_stat(found: &[Difference], b: &crate::model::Document, out: &mut impl Write) -> Result<()> {
    let mut units: Vec<(String, [usize; 4])> = Vec::new();
    for d in found {
        let top = d.path.split(['.']).next().unwrap_or(&d.path).to_owned();
        let i = match units.iter().position(|(u, _)| *u == top) {
            Some(i) => i,
            None => {
                units.push((top, [0; 4]));
                units.len() - 1
            }
        };
        let k = match d.change {
            Change::Changed => 0,
            Change::Added => 1,
            Change::Removed => 2,
            Change::TypeChanged => 3,
        };
        units[i].1[k] += 1;
    }
    for (unit, [changed, added, removed, retyped]) in &units {
        let name = b.resolve(unit).ok().and_then(|id| b.unit_name(id)).map(|n| format!(" ({n})")).unwrap_or_default();
        let line = format!("{unit}{name}: {changed} changed, {added} added, {removed} removed, {retyped} type changed");
        writeln!(out, "{}", terminal_safe(&line))?;
    }
    writeln!(out, "{} difference(s) in {} top-level field(s)", found.len(), units.len())?;
    Ok(())
}
