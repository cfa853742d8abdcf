//! `statescope corpus check DIR`: a fuzz seed corpus re-validated against the current
//! schema: what each seed decodes as and exercises, what `check` finds in it now, and
//! which seeds went stale (they name types or fields the schema no longer has, or no
//! longer find what their manifest recorded).

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

use crate::cli::Outcome;
use crate::cli::commands::problem_codes;
use crate::model::NodeId;
use crate::model::value::terminal_safe;
use crate::open::SchemaArgs;

/// Checks every seed in `dir`; exit 1 when one went stale.
pub fn check(schema_args: &SchemaArgs, dir: &Path, out: &mut impl Write) -> Result<Outcome> {
    let schema = schema_args.load_schema()?;
    let recorded: HashMap<String, String> = std::fs::read_to_string(dir.join("manifest.tsv"))
        .map(|text| {
            text.lines()
                .skip(1)
                .filter_map(|line| {
                    let cells: Vec<&str> = line.split('\t').collect();
                    Some((cells.first()?.to_string(), cells.get(2)?.to_string()))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut seeds: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the corpus {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            !name.starts_with('.') && name != "manifest.tsv" && !name.ends_with(".edits")
        })
        .collect();
    seeds.sort();
    let (mut stale, mut changed) = (0, 0);
    let mut exercised = BTreeSet::new();
    writeln!(out, "file\tverdict\ttypes\tcheck")?;
    for path in &seeds {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let (doc, _) = schema_args.open(&schema, schema_args.read(path)?)?;
        let types: BTreeSet<String> =
            NodeId::ROOT.up_to(doc.end()).filter_map(|id| Some(doc.message_type(id)?.full_name().to_owned())).collect();
        let now = problem_codes(&doc);
        // Stale: a type or field the schema lacks now that the manifest did not record.
        let before: BTreeSet<&str> = recorded.get(&name).map(|cell| cell.split(' ').collect()).unwrap_or_default();
        let gone = doc.root_type().is_none()
            || now.split(' ').any(|item| {
                (item.starts_with("unknown-type-url@") || item.starts_with("unknown-field@")) && !before.contains(item)
            });
        let verdict = match recorded.get(&name) {
            _ if gone => "stale",
            Some(cell) if *cell != now => "changed",
            _ => "ok",
        };
        stale += usize::from(verdict == "stale");
        changed += usize::from(verdict == "changed");
        writeln!(out, "{}\t{verdict}\t{}\t{now}", terminal_safe(&name), types.len())?;
        exercised.extend(types);
    }
    let declared = schema.pool.all_messages().filter(|m| schema.is_root_candidate(m)).count();
    writeln!(
        out,
        "{} seed(s): {} ok, {stale} stale, {changed} changed since their manifest; they exercise {} of {declared} \
         declared message types",
        seeds.len(),
        seeds.len() - stale - changed,
        exercised
            .iter()
            .filter(|t| schema.pool.get_message_by_name(t).is_some_and(|m| schema.is_root_candidate(&m)))
            .count()
    )?;
    Ok(if stale > 0 { Outcome::ProblemsFound } else { Outcome::Success })
}
