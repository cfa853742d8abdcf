//! The command line: clap definitions and the commands, each calling the same library code
//! the TUI uses. Exit codes: 0 success (or a clean check), 1 problems found, 2 usage or I/O.

mod check;
mod commands;
mod compat;
mod corpus;
mod diff;
mod explain;
mod get;
mod redact;
mod reduce;

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, anyhow};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::cli::commands::{edit_and_write, encode, mutate, show, types};
use crate::open::SchemaArgs;

/// Open, browse and patch VM saved-state blobs: protobuf with nested google.protobuf.Any
/// payloads, every Any resolved against registered descriptors.
#[derive(Debug, Parser)]
#[command(name = "statescope", version, after_help = EXAMPLES)]
pub struct Cli {
    /// The saved-state file to browse (`-` for standard input).
    pub file: Option<PathBuf>,
    /// What to do; without one, the file (or the built-in sample) opens in the browser.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Schema and decoding options (valid before or after the command).
    #[command(flatten)]
    pub schema: SchemaArgs,
    /// In the browser, leave the mouse to the terminal (its own text selection, no clicks
    /// or wheel in the browser).
    #[arg(long, global = true)]
    pub no_mouse: bool,
}

const EXAMPLES: &str = "\
Examples:
  statescope                                    browse the built-in sample VM state
  statescope state.bin --proto-dir protos/      browse a VMM snapshot with its schema folder
  statescope show state.bin --path units[2].state
  statescope check state.bin broken.bin         report problems; exit 1 if any
  statescope show --format text state.bin | protoc --encode=openvmm.SavedState ...
  cat state.bin | statescope show -             read standard input
  statescope explain state.bin --log vmm.log    point a failed restore into the blob
  statescope diff before.bin after.bin          what changed, field by field
  statescope reduce crash.bin --test 'vmm-restore {}' -o min.bin
                                                the smallest blob the test still fails on
  statescope compat state.bin --proto-dir old/ --to-proto-dir new/
                                                would the other release restore it?

Paths look like units[3].state.drives[0].path.lun: Any payloads are addressed as if
expanded, an Any's own URL is @type, unknown fields are #N.";

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Browse a file in the terminal (the default when only a FILE is given).
    View {
        /// The file (`-` for standard input); the built-in sample when absent.
        file: Option<PathBuf>,
    },
    /// Print the decoded tree, text format or JSON.
    Show(ShowArgs),
    /// Report every problem with its path and byte offset; exit 1 if any were found, 2 if
    /// a file could not be read (the others are still checked).
    Check(CheckArgs),
    /// List the registered message types.
    Types,
    /// Print one value (scalars as text, strings as they are, bytes as hex, messages as text format).
    Get(GetArgs),
    /// Set values by path and write the result; nothing else in the file changes. A path
    /// with a selector (`units[*].state.x`, `units[name=pit].state.last`) sets every match.
    Set {
        /// The file (`-` for standard input).
        file: PathBuf,
        /// `PATH=VALUE` pairs, applied in order.
        #[arg(required = true, value_name = "PATH=VALUE")]
        assignments: Vec<String>,
        /// Where to write (`-` for standard output).
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Replay an edit script (one edit per line) and write the result.
    Patch {
        /// The file (`-` for standard input).
        file: PathBuf,
        /// The edit script (as the browser writes beside what it saves; `-` for standard input).
        #[arg(long, value_name = "SCRIPT")]
        script: PathBuf,
        /// Where to write (`-` for standard output).
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Build a blob from protobuf text format or JSON (`--type` names the message).
    Encode {
        /// The text or JSON (`-` for standard input).
        input: PathBuf,
        /// Where to write (`-` for standard output).
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Write N fuzz seeds, each one structured mutation of FILE, with a manifest.
    Mutate(MutateArgs),
    /// Compare two blobs field by field, every Any decoded: units matched by name, other
    /// repeated fields by index (or `--key`). Exit 0 when equal, 1 when different.
    Diff(DiffArgs),
    /// Would another release restore this blob? Reads it with that release's schema and the
    /// VMM's restore rules: what fails, what is dropped, what reads as another value.
    Compat(CompatArgs),
    /// A copy to share: strings, byte arrays, GUIDs, unknown fields and undecodable bytes
    /// replaced with keyed values of the same length (unit names and type URLs kept), so
    /// offsets stay valid and the copy checks the same.
    Redact(RedactArgs),
    /// Fuzz corpus upkeep.
    #[command(subcommand)]
    Corpus(CorpusCommand),
    /// Shrink a blob while a test command still succeeds: deletes fields and units, then
    /// shrinks values, each step a splice (damage elsewhere is kept). Writes the smallest
    /// blob to OUT and the edits to it beside it (OUT.edits, replayable with `patch`).
    Reduce(ReduceArgs),
    /// Point a failed restore, as the VMM logged it, into the blob that failed: for each
    /// unit of `restore failed: {unit: chain, …}` (or each `decoding failed in …` line),
    /// the unit, the proto type of each Rust type path, the field or byte that fits the
    /// cause, the likely cause and the subtree around it. Exit 1 if a failure could not
    /// be pointed into the blob or a failure line was not understood.
    Explain {
        /// The saved state that failed to restore (`-` for standard input).
        file: PathBuf,
        /// The log holding the failure (`-` for standard input); other lines in it are
        /// passed over.
        #[arg(long, value_name = "LOG")]
        log: PathBuf,
    },
}

/// Where an edited file goes.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// The output file (`-` for standard output); written atomically, keeping an existing
    /// file's mode, owner and extended attributes. Only a regular file is ever written.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: PathBuf,
    /// Allow the output to be a file the command reads (the input, the script, a schema).
    #[arg(long)]
    pub force: bool,
    /// Refuse an output path that is a symbolic link, instead of writing where it points.
    #[arg(long)]
    pub no_follow: bool,
}

impl OutputArgs {
    /// How the output may treat what is at its path.
    pub fn write_options(&self) -> crate::files::WriteOptions {
        crate::files::WriteOptions { overwrite_protected: self.force, no_follow: self.no_follow }
    }
}

/// Options of `mutate`.
#[derive(Debug, Args)]
pub struct MutateArgs {
    /// The file to mutate.
    pub file: PathBuf,
    /// How many variants.
    #[arg(short = 'n', long = "count", default_value_t = 32)]
    pub count: usize,
    /// The seed: the same seed always gives the same files.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The folder to write into (created if missing).
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    pub output: PathBuf,
    /// Replace the seeds and manifest of an earlier run in that folder.
    #[arg(long)]
    pub force: bool,
    /// Only these kinds of mutation (comma-separated: value-max, length-lie, bit-flip, …).
    #[arg(long, value_delimiter = ',', value_name = "KINDS")]
    pub ops: Vec<crate::mutate::MutationKind>,
}

/// Options of `get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// `FILE PATH`, or `EXPR FILE…` for a query over many files. A path may select:
    /// `units[*].name`, `units[name=pit].state.last`; a repeated field without an index
    /// stands for all its elements.
    #[arg(required = true, num_args = 2.., value_name = "FILE PATH | EXPR FILE")]
    pub args: Vec<String>,
    /// Print a table (file, path, value) in this format, even for one value.
    #[arg(long, value_enum)]
    pub format: Option<TableFormat>,
}

/// Formats of a table of values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TableFormat {
    /// Tab-separated: file, path, value.
    Tsv,
    /// One JSON object per value.
    Json,
}

/// Options of `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Files or folders (walked) to check, on every core; `-` for standard input.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Output format: lines, or one JSON object per finding and one per file.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Print a table of problem kinds across the files instead of each problem.
    #[arg(long, conflicts_with = "format")]
    pub summary: bool,
    /// Threads to use: files are checked side by side, and one large file (4 MB or more)
    /// in parts, with the same report. Default: every core.
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
}

/// Options of `diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The first blob, A (`-` for standard input).
    pub a: PathBuf,
    /// The second blob, B.
    pub b: PathBuf,
    /// Match the elements of a repeated field by a key field instead of by index:
    /// `PATH=FIELD`, e.g. `units[*].state.drives=lun` (the root's units match by name).
    #[arg(long, value_name = "PATH=FIELD")]
    pub key: Vec<String>,
    /// Leave out differences at or under PATH (`*` for any step name, `[*]` for any index).
    #[arg(long, value_name = "PATH")]
    pub ignore: Vec<String>,
    /// Print counts per unit instead of each difference.
    #[arg(long)]
    pub stat: bool,
    /// Output format: a line per difference (`PATH: changed OLD → NEW (A bytes …, B bytes
    /// …)`), or a JSON object per difference (path, change, old, new, a, b, ranges).
    #[arg(long, value_enum, default_value_t = ReportFormat::Text, conflicts_with = "stat")]
    pub format: ReportFormat,
    /// Browse B with the differences marked (`}` and `{` jump between them).
    #[arg(long, conflicts_with_all = ["stat", "format"])]
    pub view: bool,
}

/// Options of `redact`.
#[derive(Debug, Args)]
pub struct RedactArgs {
    /// The dump (`-` for standard input); it is never modified.
    pub file: PathBuf,
    /// Rules of what to keep and redact (one a line: `keep|redact SELECTOR`, where the
    /// selector is a path pattern like `units[*].state.cmos`, `field:NAME`, `type:MESSAGE`
    /// or `any:MESSAGE`; the first rule that matches decides, then the default).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// A key file: the same key gives the same replacements across files.
    #[arg(long, value_name = "KEYFILE")]
    pub key: Option<PathBuf>,
    /// Write the list of redacted paths here instead of standard error.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Where the redacted copy goes.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// The `corpus` commands.
#[derive(Debug, Subcommand)]
pub enum CorpusCommand {
    /// Re-validate a seed folder against the current schema: what each seed decodes as and
    /// exercises, what check finds now, and which seeds went stale (exit 1 if any).
    Check {
        /// The folder of seeds (a `manifest.tsv` from `mutate` there is compared).
        dir: PathBuf,
    },
}

/// Options of `reduce`.
#[derive(Debug, Args)]
pub struct ReduceArgs {
    /// The blob to shrink.
    pub file: PathBuf,
    /// The test: a shell command that exits 0 while the blob is still interesting. `{}`
    /// stands for the candidate's path; without it the candidate is its standard input.
    /// For example: `statescope check {} --proto-dir protos | grep -q 'units.*cmos'`.
    #[arg(long, value_name = "CMD")]
    pub test: String,
    /// Stop after this many seconds with the smallest blob found so far.
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
    /// Where the smallest blob goes.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Options of `compat`.
#[derive(Debug, Args)]
pub struct CompatArgs {
    /// The blob (`-` for standard input), decoded with this release's schema (the usual
    /// flags).
    #[arg(required_unless_present = "schemas")]
    pub file: Option<PathBuf>,
    /// Compare two releases' schemas instead (folders, `.proto` files or descriptor sets):
    /// every change, for old blobs read by new code and new blobs read by old code.
    #[arg(long = "schema", num_args = 2, value_names = ["OLD", "NEW"], conflicts_with = "file")]
    pub schemas: Vec<PathBuf>,
    /// With `--schema`: a file of change keys (as printed in brackets) to accept; `#` starts
    /// a comment. Accepted changes do not fail the run.
    #[arg(long, value_name = "FILE", requires = "schemas")]
    pub allow: Option<PathBuf>,
    /// The other release's schema folder.
    #[arg(long, value_name = "DIR")]
    pub to_proto_dir: Vec<PathBuf>,
    /// The other release's descriptor set (`protoc -o`).
    #[arg(long, value_name = "FILE")]
    pub to_descriptor_set: Vec<PathBuf>,
    /// The other release's `.proto` files.
    #[arg(long, value_name = "FILE")]
    pub to_proto: Vec<PathBuf>,
    /// Output format: a line per finding, or a JSON object per line.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Browse the blob with the other release's verdict on each row it concerns (`}` and
    /// `{` jump between them).
    #[arg(long, conflicts_with_all = ["format", "schemas"])]
    pub view: bool,
}

/// Output formats of the commands that report findings (`check`, `diff`, `compat`): each
/// command's `--format` says what its lines and objects hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Lines, to read.
    Text,
    /// One JSON object a line, to parse.
    Json,
}

/// Options of `show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The file (`-` for standard input).
    pub file: PathBuf,
    /// Prefix every line with the node's byte offset and length.
    #[arg(long)]
    pub offsets: bool,
    /// Print only the subtree at this path (e.g. `units[2].state`).
    #[arg(long, value_name = "PATH")]
    pub path: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Tree)]
    pub format: Format,
    /// With `--format text`: print Any payloads as bytes, exactly as `protoc --decode` does.
    #[arg(long)]
    pub raw_any: bool,
    /// With `--format json`: name fields as the `.proto` and paths do (`offset_from_host`)
    /// rather than in canonical JSON's lowerCamelCase (`offsetFromHost`).
    #[arg(long)]
    pub proto_names: bool,
    /// Threads to use: the tree of a large file (4 MB or more) is decoded and written a
    /// part at a time on each, in order. Default: every core.
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
}

/// Output formats of `show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The annotated tree.
    Tree,
    /// Protobuf text format (accepted by `protoc --encode`), Any expanded.
    Text,
    /// Canonical protobuf JSON, `@type` for Any.
    Json,
}

/// What a command asks the process to exit with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Success,
    /// Exit 1: the command ran and found problems.
    ProblemsFound,
    /// Exit 2: the command ran, but some of its inputs could not be read (each was reported).
    SomeUnreadable,
}

/// Parses the command line, runs the command or the browser, and turns every error into
/// one line on stderr with a meaningful exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    crate::ui::terminal::use_mouse(!cli.no_mouse);
    let result = match &cli.command {
        Some(Command::View { file }) => crate::ui::run(&cli.schema, file.as_deref()).map(|()| Outcome::Success),
        Some(command) => run(&cli, command),
        None => crate::ui::run(&cli.schema, cli.file.as_deref()).map(|()| Outcome::Success),
    };
    match result {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::ProblemsFound) => ExitCode::from(1),
        Ok(Outcome::SomeUnreadable) => ExitCode::from(2),
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("statescope: error: {}", crate::model::value::terminal_safe(&one_line(&error)));
            ExitCode::from(2)
        }
    }
}

/// A reader that closed the pipe early (`| head`) is not an error.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|e| e.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe))
}

/// The error and its causes on one line.
pub(crate) fn one_line(error: &anyhow::Error) -> String {
    error.chain().map(|e| e.to_string()).collect::<Vec<_>>().join(": ")
}

/// Runs a parsed command (the browser is run by [`main`]).
fn run(cli: &Cli, command: &Command) -> Result<Outcome> {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let outcome = match command {
        Command::Show(args) => show(&cli.schema, args, &mut out)?,
        Command::Check(args) => check::run(&cli.schema, args, &mut out)?,
        Command::Types => types(&cli.schema, &mut out)?,
        Command::Get(args) => get::run(&cli.schema, args, &mut out)?,
        Command::Set { file, assignments, output } => {
            let script = commands::set_script(&cli.schema, file, assignments)?;
            edit_and_write(&cli.schema, file, &script, None, output)?
        }
        Command::Patch { file, script, output } => {
            if file == script && file.as_os_str() == "-" {
                return Err(anyhow!("FILE and --script cannot both be standard input (-): name one of them"));
            }
            let text = String::from_utf8(crate::open::read_named(script, "the edit script")?).map_err(|e| {
                anyhow!(
                    "the edit script is not UTF-8 text (byte {}); edits are written as UTF-8",
                    e.utf8_error().valid_up_to()
                )
            })?;
            edit_and_write(&cli.schema, file, &text, Some(script), output)?
        }
        Command::Encode { input, output } => encode(&cli.schema, input, output)?,
        Command::Mutate(args) => mutate(&cli.schema, args)?,
        Command::Diff(args) => diff::run(&cli.schema, args, &mut out)?,
        Command::Compat(args) => compat::run(&cli.schema, args, &mut out)?,
        Command::Reduce(args) => reduce::run(&cli.schema, args)?,
        Command::Redact(args) => redact::run(&cli.schema, args)?,
        Command::Corpus(CorpusCommand::Check { dir }) => corpus::check(&cli.schema, dir, &mut out)?,
        Command::Explain { file, log } => explain::explain(&cli.schema, file, log, &mut out)?,
        Command::View { .. } => return Err(anyhow!("`view` is handled by the terminal UI")),
    };
    out.flush()?;
    Ok(outcome)
}
