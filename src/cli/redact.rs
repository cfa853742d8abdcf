//! `statescope redact FILE -o OUT`: a copy to share, every value the policy marks replaced
//! with one of the same length; what was redacted, per path, on stderr or in a report.

use std::path::Path;

use anyhow::{Context, Result, anyhow};

use crate::cli::commands::{read_by, write_output};
use crate::cli::{Outcome, RedactArgs};
use crate::model::value::terminal_safe;
use crate::open::SchemaArgs;
use crate::redact::{Policy, redact};

/// Runs `redact`.
pub fn run(schema_args: &SchemaArgs, args: &RedactArgs) -> Result<Outcome> {
    let policy = match &args.policy {
        Some(path) => Policy::parse(&read_text(path, "policy")?).map_err(|e| anyhow!("{}: {e}", path.display()))?,
        None => Policy::default(),
    };
    // Without a key, one drawn for this run: consistent within the file, not across files.
    let key = match &args.key {
        Some(path) => std::fs::read(path).with_context(|| format!("cannot read the key {}", path.display()))?,
        None => {
            use std::hash::BuildHasher;
            std::collections::hash_map::RandomState::new().hash_one(std::process::id()).to_le_bytes().to_vec()
        }
    };
    let schema = schema_args.load_schema()?;
    let (doc, note) = schema_args.open(&schema, schema_args.read(&args.file)?)?;
    if let Some(note) = note {
        eprintln!("statescope: {note}");
    }
    let (bytes, report) = redact(&doc, &policy, &key);
    let mut protected = read_by(schema_args, &args.file);
    args.policy.iter().chain(&args.key).for_each(|p| protected.add(p));
    let written = write_output(&bytes, &protected, &args.output)?;
    let mut text = String::new();
    for (pattern, count) in &report.redacted {
        text.push_str(&format!("redacted {count:>6}  {pattern}\n"));
    }
    text.push_str(&format!(
        "{} value(s), {} byte(s) redacted; the output is as long as the input ({} bytes)\n",
        report.redacted.values().sum::<usize>(),
        report.bytes,
        bytes.len()
    ));
    match &args.report {
        Some(path) => crate::files::write_atomic(path, text.as_bytes(), &protected, args.output.write_options())
            .map(|_| ())
            .with_context(|| format!("cannot write the report {}", path.display()))?,
        None => text.lines().for_each(|line| eprintln!("{}", terminal_safe(line))),
    }
    eprintln!("statescope: wrote {written}");
    Ok(Outcome::Success)
}

fn read_text(path: &Path, what: &str) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read the {what} {}", path.display()))
}
