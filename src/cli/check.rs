//! `statescope check FILE|DIR…`: every problem with its path and byte offset, for one dump
//! or thousands. Folders are walked; files are checked on every core and reported in
//! order; an unreadable file is reported and the others still checked (exit 2 at the end);
//! `--format json` gives one object per finding and per file, `--summary` a table of problem
//! kinds across the files.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Result;

use crate::cli::{CheckArgs, Outcome, ReportFormat};
use crate::model::Decoder;
use crate::model::parts::{PARTS_FROM, Pieces, cores};
use crate::model::value::terminal_safe;
use crate::open::{SchemaArgs, display_name};
use crate::render::check::{CheckFormat, CheckSummary, check_streaming};

/// One file's result: its report (empty when it went out as it was made), or why it could
/// not be read.
type Checked = std::result::Result<(Vec<u8>, CheckSummary), String>;

/// Runs `check`.
pub fn run(schema_args: &SchemaArgs, args: &CheckArgs, out: &mut impl Write) -> Result<Outcome> {
    let schema = schema_args.load_schema()?;
    let files = expand(&args.files);
    let format = if args.format == ReportFormat::Json { CheckFormat::Json } else { CheckFormat::Text };
    // The root type is found once: on the first file that reads (or given with --type).
    let mut shared: Option<Decoder> = None;
    if files.len() > 1
        // Standard input is never read ahead: it can be read once.
        && let Some((first, source)) =
            files.iter().filter(|f| *f != Path::new("-")).find_map(|f| schema_args.read(f).ok().map(|s| (f, s)))
    {
        let (decoder, note) = schema_args.decoder(&schema, &source)?;
        if let Some(note) = note {
            let root = root_name(&decoder);
            eprintln!("statescope: every file is decoded as {root}, found for {}: {note}", display_name(first));
        }
        shared = Some(decoder);
    }
    let jobs = args.jobs.map_or_else(cores, usize::from);
    // Checks one file, its report written to `report`: why the file could not be read
    // (`Ok(Err)`), or the report's write failing (`Err`).
    let check_one = |file: &Path, mut report: &mut dyn Write| -> std::io::Result<Result<CheckSummary, String>> {
        let label = display_name(file);
        // One file is mapped (the guard names it should it be cut short underneath); of
        // many read at once, each is read whole.
        let read = if files.len() == 1 { schema_args.read_mapped(file) } else { schema_args.read(file) };
        let source = match read {
            Ok(source) => source,
            Err(e) => return Ok(Err(crate::cli::one_line(&e))),
        };
        let decoder = match &shared {
            Some(decoder) => decoder.clone(),
            None => match schema_args.decoder(&schema, &source) {
                Ok((decoder, note)) => {
                    if let Some(note) = note {
                        eprintln!("statescope: {label}: {note}");
                    }
                    decoder
                }
                Err(e) => return Ok(Err(crate::cli::one_line(&e))),
            },
        };
        // A clean unit is only counted: check reports problems, and has no use for its nodes.
        let decoder = decoder.skimming_clean_fields();
        // One large file is cut in parts, one per core; many files already keep them busy.
        let threads = if files.len() == 1 && source.len() >= PARTS_FROM { jobs } else { 1 };
        let pieces = Pieces::per_thread(source.len(), threads);
        check_streaming(&decoder, source, &label, format, pieces, &mut report).map(Ok)
    };
    let results = match files.as_slice() {
        // One file's report goes out as it is made: in JSON it names every problem, many
        // times the file's size on a hostile one, which a buffer would hold whole.
        [file] => {
            let mut sink = std::io::sink();
            let report: &mut dyn Write = if args.summary { &mut sink } else { &mut *out };
            vec![check_one(file, report)?.map(|summary| (Vec::new(), summary))]
        }
        // Many files' reports are each held until their turn.
        _ => in_parallel(&files, jobs, &|file| {
            let mut report = Vec::new();
            match check_one(file, &mut report) {
                Ok(checked) => checked.map(|summary| (report, summary)),
                Err(e) => Err(e.to_string()),
            }
        }),
    };
    let mut found = false;
    let mut unreadable = 0;
    let mut kinds: BTreeMap<&'static str, (usize, usize)> = BTreeMap::new();
    for result in &results {
        match result {
            Ok((report, summary)) => {
                found |= summary.errors + summary.warnings > 0;
                for (code, count) in &summary.codes {
                    let entry = kinds.entry(code).or_default();
                    entry.0 += 1;
                    entry.1 += count;
                }
                if !args.summary {
                    out.write_all(report)?;
                }
            }
            Err(error) => {
                // One unreadable file must not hide the verdict on the others.
                out.flush()?;
                eprintln!("statescope: error: {}", terminal_safe(error));
                unreadable += 1;
            }
        }
    }
    if args.summary {
        write_summary(&kinds, &results, out)?;
    }
    if unreadable > 0 {
        out.flush()?;
        eprintln!("statescope: {unreadable} of {} file(s) could not be read", files.len());
        return Ok(Outcome::SomeUnreadable);
    }
    Ok(if found { Outcome::ProblemsFound } else { Outcome::Success })
}

fn root_name(decoder: &Decoder) -> String {
    decoder.root_type().map_or("raw wire fields".to_owned(), |m| m.full_name().to_owned())
}

/// The files named, with every regular file under a named folder (sorted; links to
/// folders are not followed, so a loop cannot hang it).
fn expand(args: &[PathBuf]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for arg in args {
        if !arg.is_dir() {
            files.push(arg.clone());
            continue;
        }
        let mut dirs = vec![arg.clone()];
        let mut found = Vec::new();
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                found.push(dir); // reported as unreadable when it is read
                continue;
            };
            for entry in entries.flatten() {
                let Ok(kind) = entry.file_type() else { continue };
                if kind.is_dir() {
                    dirs.push(entry.path());
                } else if kind.is_file() || kind.is_symlink() && entry.path().is_file() {
                    found.push(entry.path());
                }
            }
        }
        found.sort();
        files.extend(found);
    }
    files
}

/// Runs `check_one` on every file, on `jobs` threads, and gives the results in file order.
fn in_parallel(files: &[PathBuf], jobs: usize, check_one: &(dyn Fn(&Path) -> Checked + Sync)) -> Vec<Checked> {
    let next = AtomicUsize::new(0);
    let workers = jobs.min(files.len().max(1));
    let mut results: Vec<Option<Checked>> = (0..files.len()).map(|_| None).collect();
    let done: Vec<Vec<(usize, Checked)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(file) = files.get(i) else { break };
                        mine.push((i, check_one(file)));
                    }
                    mine
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_default()).collect()
    });
    for (i, result) in done.into_iter().flatten() {
        results[i] = Some(result);
    }
    results.into_iter().map(|r| r.unwrap_or_else(|| Err("not checked".to_owned()))).collect()
}

/// The table of problem kinds across the files, and the files' verdicts.
fn write_summary(
    kinds: &BTreeMap<&'static str, (usize, usize)>,
    results: &[Checked],
    out: &mut impl Write,
) -> Result<()> {
    writeln!(out, "{:<28} {:>8} {:>10}", "problem", "files", "problems")?;
    for (code, (files, total)) in kinds {
        writeln!(out, "{code:<28} {files:>8} {total:>10}")?;
    }
    let clean = results.iter().filter(|r| r.as_ref().is_ok_and(|(_, s)| s.errors + s.warnings == 0)).count();
    let unreadable = results.iter().filter(|r| r.is_err()).count();
    writeln!(
        out,
        "{} file(s): {clean} clean, {} with problems, {unreadable} unreadable",
        results.len(),
        results.len() - clean - unreadable
    )?;
    Ok(())
}
