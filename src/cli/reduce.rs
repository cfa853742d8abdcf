//! `statescope reduce FILE --test CMD -o OUT`: the smallest blob, made from FILE by deleting
//! fields and shrinking values, for which CMD still succeeds; with the edit script from
//! FILE to it beside it, and what it kept.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::cli::commands::{read_by, write_output};
use crate::cli::{Outcome, ReduceArgs};
use crate::model::source::Source;
use crate::model::value::terminal_safe;
use crate::open::{SchemaArgs, display_name};
use crate::reduce::reduce;

/// Runs `reduce`.
pub fn run(schema_args: &SchemaArgs, args: &ReduceArgs) -> Result<Outcome> {
    let schema = schema_args.load_schema()?;
    let source = schema_args.read(&args.file)?;
    let (decoder, note) = schema_args.decoder(&schema, &source)?;
    if let Some(note) = note {
        eprintln!("statescope: {note}");
    }
    let scratch = tempfile::Builder::new().prefix("statescope-reduce-").tempdir()?;
    let counter = std::sync::atomic::AtomicUsize::new(0);
    let test = |bytes: &[u8]| -> bool {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        run_test(&args.test, bytes, &scratch.path().join(format!("candidate-{n}.bin"))).unwrap_or(false)
    };
    let original = source.into_bytes();
    if !test(&original) {
        bail!(
            "the test does not succeed on {} itself: nothing to keep (it must exit 0 on the blob)",
            display_name(&args.file)
        );
    }
    let deadline = args.timeout.map(|s| Instant::now() + Duration::from_secs(s));
    let size = original.len();
    let show = std::io::stderr().is_terminal();
    let mut progress = |now: usize, tests: usize| {
        if show {
            let done = 40 - (40 * now / size.max(1)).min(40);
            eprint!("\r[{}{}] {size} → {now} bytes, {tests} tests ", "#".repeat(done), " ".repeat(40 - done));
        }
    };
    let started = Instant::now();
    let reduction = reduce(&decoder, original, &test, deadline, &mut progress);
    if show {
        eprintln!();
    }
    let protected = read_by(schema_args, &args.file);
    let written = write_output(&reduction.bytes, &protected, &args.output)?;
    if args.output.output != Path::new("-") {
        let script = args.output.output.with_extension("edits");
        let mut text =
            format!("# statescope reduce {}: {} edit(s)\n", display_name(&args.file), reduction.script.len());
        reduction.script.iter().for_each(|line| text.push_str(&format!("{line}\n")));
        crate::files::write_atomic(&script, text.as_bytes(), &protected, args.output.write_options())?;
        eprintln!("statescope: the edits from {} are in {}", display_name(&args.file), script.display());
    }
    let stopped = if reduction.timed_out { " (stopped at --timeout)" } else { "" };
    eprintln!(
        "statescope: {size} → {} bytes in {} test(s), {:.1} s{stopped}; wrote {written}",
        reduction.bytes.len(),
        reduction.tests,
        started.elapsed().as_secs_f64()
    );
    // What it kept: the problems of the smallest blob, as check reports them.
    let kept = decoder.decode(Source::new(reduction.bytes));
    let mut err = std::io::stderr().lock();
    for problem in kept.problems() {
        let line = format!(
            "statescope: kept: {}: byte {}: {}",
            kept.path_of(problem.node).label(),
            problem.offset,
            problem.kind.describe(&kept)
        );
        writeln!(err, "{}", terminal_safe(&line))?;
    }
    Ok(Outcome::Success)
}

/// Runs the test command on one candidate: `{}` in it becomes the candidate's path (else
/// the candidate is its standard input). Success is exit 0.
fn run_test(command: &str, bytes: &[u8], path: &Path) -> Result<bool> {
    std::fs::write(path, bytes)?;
    let quoted = format!("'{}'", path.display().to_string().replace('\'', r"'\''"));
    let on_stdin = !command.contains("{}");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command.replace("{}", &quoted))
        .stdin(if on_stdin { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    if on_stdin && let Some(mut stdin) = child.stdin.take() {
        // A test that does not read all of it is no error.
        let _ = stdin.write_all(bytes);
    }
    let status = child.wait()?;
    let _ = std::fs::remove_file(path);
    Ok(status.success())
}
