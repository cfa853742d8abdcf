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
    /// Print one value (scalars as text, strings as they are, bytes as hex, messages as text format).
    Get {
        /// The file (`-` for standard input).
        file: PathBuf,
        /// The path, e.g. `units[7].state.channel.drives[0].path.lun`.
        path: String,
    },
    /// Set values by path and write the result; nothing else in the file changes.
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
        /// The edit script (as the browser writes beside what it saves).
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
}

/// Where an edited file goes.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// The output file (`-` for standard output); written atomically.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: PathBuf,
    /// Allow the output to be the input file itself.
    #[arg(long)]
    pub force: bool,
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
        Command::Get { file, path } => get(&cli.schema, file, path, &mut out)?,
        Command::Set { file, assignments, output } => {
            let script: Vec<String> = assignments
                .iter()
                .map(|a| match a.split_once('=') {
                    Some((path, value)) => Ok(format!("set {path} {value}")),
                    None => Err(anyhow!("`{a}` is not PATH=VALUE")),
                })
                .collect::<Result<_>>()?;
            edit_and_write(&cli.schema, file, &script.join("\n"), output)?
        }
        Command::Patch { file, script, output } => {
            let text = std::fs::read_to_string(script).with_context(|| format!("cannot read {}", script.display()))?;
            edit_and_write(&cli.schema, file, &text, output)?
        }
        Command::Encode { input, output } => encode(&cli.schema, input, output)?,
        Command::Mutate(args) => crate::mutate::run(&cli.schema, args)?,
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

fn get(schema_args: &SchemaArgs, file: &Path, p: &str, out: &mut impl Write) -> Result<Outcome> {
    let schema = schema_args.load_schema()?;
    let (doc, _) = schema_args.open(&schema, read_source(file)?)?;
    let id = path::resolve(&doc, p)?;
    let node = doc.node(id);
    match node.kind {
        crate::model::NodeKind::Scalar | crate::model::NodeKind::Element => {
            let v = crate::model::value::scalar(&doc, id).ok_or_else(|| anyhow!("{p}: the value is unreadable"))?;
            writeln!(out, "{}", crate::model::value::scalar_text(&v))?;
        }
        crate::model::NodeKind::String if !node.has_problem => {
            writeln!(out, "{}", String::from_utf8_lossy(doc.value_bytes(id)))?;
        }
        crate::model::NodeKind::String | crate::model::NodeKind::Bytes | crate::model::NodeKind::Error => {
            writeln!(out, "{}", crate::model::value::hex_preview(doc.value_bytes(id), usize::MAX))?;
        }
        _ => {
            text::write_text(&doc, id, text::TextOptions { expand_any: true }, out)?;
        }
    }
    Ok(Outcome::Success)
}

/// Applies an edit script to FILE and writes the result where `output` says.
fn edit_and_write(schema_args: &SchemaArgs, file: &Path, script: &str, output: &OutputArgs) -> Result<Outcome> {
    let schema = schema_args.load_schema()?;
    let (doc, _) = schema_args.open(&schema, read_source(file)?)?;
    let mut editor = crate::edit::Editor::new(doc);
    let count = editor.apply_script(script).map_err(|(line, e)| anyhow!("edit {line}: {e}; nothing was written"))?;
    write_output(editor.into_doc().bytes(), file, output)?;
    eprintln!("statescope: {count} edit(s) applied; wrote {}", display_name(&output.output));
    Ok(Outcome::Success)
}

/// Writes bytes to `-o` (standard output for `-`, refused when that is a terminal).
fn write_output(bytes: &[u8], input: &Path, output: &OutputArgs) -> Result<()> {
    if output.output == Path::new("-") {
        use std::io::IsTerminal;
        if std::io::stdout().is_terminal() {
            bail!("refusing to write binary to a terminal; redirect it or give -o FILE");
        }
        let mut stdout = io::stdout().lock();
        stdout.write_all(bytes)?;
        stdout.flush()?;
        return Ok(());
    }
    crate::files::write_atomic(&output.output, bytes, Some(input), output.force)?;
    Ok(())
}

fn encode(schema_args: &SchemaArgs, input: &Path, output: &OutputArgs) -> Result<Outcome> {
    use prost::Message as _;
    let schema = schema_args.load_schema()?;
    let name =
        schema_args.root_type.as_deref().ok_or_else(|| anyhow!("encode needs --type NAME (the message to build)"))?;
    let desc = find_type(&schema, name)?;
    let source = read_source(input)?;
    let text = std::str::from_utf8(&source).context("the input is not UTF-8 text")?;
    let message = if text.trim_start().starts_with('{') {
        let mut de = serde_json::Deserializer::from_str(text);
        let m = prost_reflect::DynamicMessage::deserialize(desc, &mut de)
            .context("not valid protobuf JSON for this type")?;
        de.end().context("trailing characters after the JSON")?;
        m
    } else {
        prost_reflect::DynamicMessage::parse_text_format(desc, text).context("not valid text format for this type")?
    };
    write_output(&message.encode_to_vec(), input, output)?;
    Ok(Outcome::Success)
}
