//! The command line: clap definitions and the commands, each calling the same library code
//! the TUI uses. Exit codes: 0 success (or a clean check), 1 problems found, 2 usage or I/O.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::decode::detect;
use crate::decode::overlay::Limits;
use crate::decode::registry::{SchemaSources, build_pool};
use crate::decode::schema::Schema;
use crate::model::source::Source;
use crate::model::{Document, path};
use crate::render::{check, json, text, tree};

/// Open, browse and patch VM saved-state blobs: protobuf with nested google.protobuf.Any
/// payloads, every Any resolved against registered descriptors.
#[derive(Debug, Parser)]
#[command(name = "statescope", version, after_help = EXAMPLES)]
pub struct Cli {
    /// Schema and decoding options (valid before or after the command).
    #[command(flatten)]
    pub schema: SchemaArgs,
    /// What to do; without one, the file (or the built-in sample) opens in the browser.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The saved-state file to browse (`-` for standard input).
    pub file: Option<PathBuf>,
}

const EXAMPLES: &str = "\
Examples:
  statescope                                    browse the built-in sample VM state
  statescope state.bin --proto-dir protos/      browse a VMM snapshot with its schema folder
  statescope show state.bin --path units[2].state
  statescope check state.bin broken.bin         report problems; exit 1 if any
  statescope show --format text state.bin | protoc --encode=openvmm.SavedState ...
  cat state.bin | statescope show -             read standard input

Paths look like units[3].state.drives[0].path.lun: Any payloads are addressed as if
expanded, an Any's own URL is @type, unknown fields are #N.";

/// Options that say how to read bytes: schemas, root type and limits.
#[derive(Debug, Clone, Args, Default)]
pub struct SchemaArgs {
    /// Compile this .proto file at run time (repeatable).
    #[arg(long = "proto", value_name = "FILE", global = true)]
    pub proto: Vec<PathBuf>,
    /// Compile every .proto in this flat folder, as a VMM writes them (repeatable).
    #[arg(long = "proto-dir", value_name = "DIR", global = true)]
    pub proto_dir: Vec<PathBuf>,
    /// Load a descriptor set made by `protoc -o` or `buf build` (repeatable).
    #[arg(long = "descriptor-set", value_name = "FILE", global = true)]
    pub descriptor_set: Vec<PathBuf>,
    /// The root message type (full name); detected from the bytes when absent.
    #[arg(long = "type", value_name = "NAME", global = true)]
    pub root_type: Option<String>,
    /// Deepest message nesting to decode (deeper is shown raw).
    #[arg(long, value_name = "N", default_value_t = 100, global = true, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub max_depth: u32,
    /// Deepest chain of Any inside Any to decode.
    #[arg(long, value_name = "N", default_value_t = 32, global = true, value_parser = clap::value_parser!(u32).range(0..=1_000))]
    pub max_any_depth: u32,
}

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
    /// Report every problem with its path and byte offset; exit 1 if any were found.
    Check {
        /// Files to check (`-` for standard input).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// List the registered message types.
    Types,
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
}

impl SchemaArgs {
    /// Builds the schema from registered sets plus the files named here.
    pub fn load_schema(&self) -> Result<Arc<Schema>> {
        let sources = SchemaSources {
            proto_files: self.proto.clone(),
            proto_dirs: self.proto_dir.clone(),
            descriptor_sets: self.descriptor_set.clone(),
        };
        Ok(Arc::new(Schema::new(build_pool(&sources)?)))
    }

    /// Decoding limits from the flags.
    pub fn limits(&self) -> Limits {
        Limits { max_depth: self.max_depth, max_any_depth: self.max_any_depth }
    }

    /// Decodes `source`, with `--type` or a detected root type. Returns a note to show the
    /// user when the type was detected rather than given.
    pub fn open(&self, schema: &Arc<Schema>, source: Source) -> Result<(Document, Option<String>)> {
        let (root, note) = self.root_type(schema, &source)?;
        Ok((Document::decode(source, schema.clone(), root, self.limits()), note))
    }

    /// The root type: `--type`, or the best fit for the bytes (with a note saying so).
    pub fn root_type(
        &self,
        schema: &Schema,
        bytes: &[u8],
    ) -> Result<(Option<prost_reflect::MessageDescriptor>, Option<String>)> {
        Ok(match &self.root_type {
            Some(name) => (Some(find_type(schema, name)?), None),
            None => match detect::detect(bytes, schema) {
                Some(d) => {
                    let name = d.message.full_name().to_owned();
                    (Some(d.message), Some(format!("no --type given; decoding as {name} (best fit)")))
                }
                None => (None, Some("no --type given and no registered type fits; showing raw wire fields".to_owned())),
            },
        })
    }
}

/// Finds a message type by full name, suggesting near names when it is absent.
fn find_type(schema: &Schema, name: &str) -> Result<prost_reflect::MessageDescriptor> {
    let name = name.trim_start_matches('.');
    if let Some(m) = schema.resolve_type_url(name) {
        return Ok(m);
    }
    let needle = name.rsplit('.').next().unwrap_or(name).to_ascii_lowercase();
    let near: Vec<String> = schema
        .pool
        .all_messages()
        .map(|m| m.full_name().to_owned())
        .filter(|n| n.to_ascii_lowercase().contains(&needle))
        .take(8)
        .collect();
    if near.is_empty() {
        bail!("no message type `{name}` is registered; `statescope types` lists them, --proto-dir adds more")
    }
    bail!("no message type `{name}` is registered; did you mean: {}?", near.join(", "))
}

/// Opens a file (or `-`) with a message that names it.
pub fn read_source(path: &Path) -> Result<Source> {
    Source::open(path).with_context(|| format!("cannot read {}", display_name(path)))
}

/// The name used for a file in messages (`standard input` for `-`).
pub fn display_name(path: &Path) -> String {
    if path == Path::new("-") { "standard input".to_owned() } else { path.display().to_string() }
}

/// Runs a parsed command line (the TUI commands are run by the caller).
pub fn run(cli: &Cli, command: &Command) -> Result<Outcome> {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let outcome = match command {
        Command::Show(args) => show(&cli.schema, args, &mut out)?,
        Command::Check { files } => check_files(&cli.schema, files, &mut out)?,
        Command::Types => types(&cli.schema, &mut out)?,
        Command::View { .. } => return Err(anyhow!("`view` is handled by the terminal UI")),
    };
    out.flush()?;
    Ok(outcome)
}

fn show(schema_args: &SchemaArgs, args: &ShowArgs, out: &mut impl Write) -> Result<Outcome> {
    let schema = schema_args.load_schema()?;
    let source = read_source(&args.file)?;
    let (root, note) = schema_args.root_type(&schema, &source)?;
    if let Some(note) = note {
        eprintln!("statescope: {note}");
    }
    if args.format == Format::Tree && args.path.is_none() {
        let options = tree::TreeOptions { offsets: args.offsets };
        tree::write_tree_streaming(source, schema, root, schema_args.limits(), options, out)?;
        return Ok(Outcome::Success);
    }
    let doc = Document::decode(source, schema, root, schema_args.limits());
    let top = match &args.path {
        Some(p) => path::resolve(&doc, p)?,
        None => 0,
    };
    match args.format {
        Format::Tree => tree::write_tree(&doc, top, tree::TreeOptions { offsets: args.offsets }, out)?,
        Format::Text => {
            let omitted = text::write_text(&doc, top, text::TextOptions { expand_any: !args.raw_any }, out)?;
            if omitted > 0 {
                eprintln!(
                    "statescope: {omitted} field(s) do not decode and appear only as # comments; `statescope check` says why"
                );
            }
        }
        Format::Json => json::write_json(&doc, top, out)?,
    }
    Ok(Outcome::Success)
}

fn check_files(schema_args: &SchemaArgs, files: &[PathBuf], out: &mut impl Write) -> Result<Outcome> {
    let schema = schema_args.load_schema()?;
    let mut found = false;
    for file in files {
        let source = read_source(file)?;
        let label = display_name(file);
        let (root, note) = schema_args.root_type(&schema, &source)?;
        if let Some(note) = note {
            eprintln!("statescope: {label}: {note}");
        }
        let summary = check::check_streaming(source, schema.clone(), root, schema_args.limits(), &label, out)?;
        found |= summary.errors + summary.warnings > 0;
    }
    Ok(if found { Outcome::ProblemsFound } else { Outcome::Success })
}

fn types(schema_args: &SchemaArgs, out: &mut impl Write) -> Result<Outcome> {
    let schema = schema_args.load_schema()?;
    let mut names: Vec<String> = schema.pool.all_messages().map(|m| m.full_name().to_owned()).collect();
    names.sort();
    for name in names {
        writeln!(out, "{name}")?;
    }
    Ok(Outcome::Success)
}
