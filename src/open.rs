//! Opening inputs the way every front end (the commands and the browser) does: the schema
//! and decoding flags, building the schema from them, reading a file or standard input,
//! and choosing the root type (given or detected).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::decode::detect;
use crate::decode::registry::SchemaSources;
use crate::decode::schema::Schema;
use crate::model::source::Source;
use crate::model::value::terminal_safe;
use crate::model::{Decoder, Document, Limits};

/// Options that say how to read bytes: schemas, root type and limits.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Schema options (before or after the command)")]
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
    /// Most bytes read from standard input, a FIFO or a device (K, M, G suffixes).
    #[arg(long, value_name = "SIZE", default_value = "1G", global = true, value_parser = parse_size)]
    pub max_input: u64,
}

/// Reads a size such as `4096`, `64K`, `512M` or `2G` (powers of 1024).
fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, shift) = match text.char_indices().last() {
        Some((i, 'k' | 'K')) => (&text[..i], 10),
        Some((i, 'm' | 'M')) => (&text[..i], 20),
        Some((i, 'g' | 'G')) => (&text[..i], 30),
        _ => (text, 0),
    };
    let n: u64 = digits.parse().map_err(|_| format!("`{text}` is not a size (like 4096, 64K, 512M, 2G)"))?;
    n.checked_mul(1 << shift).ok_or_else(|| format!("`{text}` is too large"))
}

impl SchemaArgs {
    /// Reads a file (or `-`), within `--max-input` for streams, with a message that names it.
    pub fn read(&self, path: &Path) -> Result<Source> {
        Source::open(path, self.max_input).with_context(|| format!("cannot read {}", display_name(path)))
    }

    /// Like [`SchemaArgs::read`], for a lookup or a check of one file: a large file is
    /// mapped ([`Source::open_mapped`]), so a value near its start does not wait for the
    /// rest, and a check does not pay for a copy.
    pub fn read_mapped(&self, path: &Path) -> Result<Source> {
        Source::open_mapped(path, self.max_input).with_context(|| format!("cannot read {}", display_name(path)))
    }

    /// The schema files named on the command line (a folder's `.proto` files included):
    /// files a command reads, and so must not write over.
    pub fn schema_files(&self) -> Vec<PathBuf> {
        let in_dirs = self.proto_dir.iter().flat_map(|dir| {
            std::fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.path()).filter(|p| p.is_file())
        });
        self.proto.iter().chain(&self.descriptor_set).cloned().chain(in_dirs).collect()
    }

    /// Builds the schema from registered sets plus the files named here, telling the user
    /// on stderr of any registered file that was left out.
    pub fn load_schema(&self) -> Result<Arc<Schema>> {
        let sources = SchemaSources {
            proto_files: self.proto.clone(),
            proto_dirs: self.proto_dir.clone(),
            descriptor_sets: self.descriptor_set.clone(),
        };
        let schema = Schema::load(&sources)?;
        for collision in schema.collisions() {
            eprintln!("statescope: warning: {}", terminal_safe(&collision.to_string()));
        }
        let schema = Arc::new(schema);
        // A command is one process, and the schema serves it to the end: its tables are
        // left for the exit to take back, rather than freed one by one (a tenth of the time
        // the real 21 KB state took with its 43-file `--proto-dir`).
        std::mem::forget(Arc::clone(&schema));
        Ok(schema)
    }

    /// Decoding limits from the flags.
    pub fn limits(&self) -> Limits {
        Limits { max_depth: self.max_depth, max_any_depth: self.max_any_depth }
    }

    /// The decoder for `bytes`: `--type` or a detected root type, and the limits. Returns
    /// a note to show the user when the type was detected rather than given.
    pub fn decoder(&self, schema: &Arc<Schema>, bytes: &[u8]) -> Result<(Decoder, Option<String>)> {
        let (root, note) = self.root_type(schema, bytes)?;
        Ok((Decoder::new(Arc::clone(schema), root).with_limits(self.limits()), note))
    }

    /// Decodes `source`, with `--type` or a detected root type. Returns a note to show the
    /// user when the type was detected rather than given.
    pub fn open(&self, schema: &Arc<Schema>, source: Source) -> Result<(Document, Option<String>)> {
        let (decoder, note) = self.decoder(schema, &source)?;
        Ok((decoder.decode(source), note))
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
                    let close = d.runner_up.filter(|(_, score)| *score * 10 >= d.score * 9);
                    let also = close
                        .map(|(other, _)| format!("; {other} fits almost as well: --type chooses"))
                        .unwrap_or_default();
                    // Said when detection had only an intact prefix to go by.
                    let prefix = if d.damaged { " for the part that parses; the blob is damaged or cut" } else { "" };
                    let note = format!("no --type given; decoding as {name} (best fit{prefix}){also}");
                    (Some(d.message), Some(terminal_safe(&note).into_owned()))
                }
                None => (None, Some("no --type given and no registered type fits; showing raw wire fields".to_owned())),
            },
        })
    }
}

/// Finds a message type by full name, suggesting near names when it is absent.
pub fn find_type(schema: &Schema, name: &str) -> Result<prost_reflect::MessageDescriptor> {
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

/// The bytes of a file that is not the blob (an edit script, a log), or of standard input
/// for `-`; `what` names it in the error.
pub fn read_named(path: &Path, what: &str) -> Result<Vec<u8>> {
    use std::io::Read as _;
    if path != Path::new("-") {
        return std::fs::read(path).with_context(|| format!("cannot read {what} {}", path.display()));
    }
    let mut bytes = Vec::new();
    std::io::stdin().read_to_end(&mut bytes).with_context(|| format!("cannot read {what} from standard input"))?;
    Ok(bytes)
}

/// The name used for a file in messages (`standard input` for `-`).
pub fn display_name(path: &Path) -> String {
    if path == Path::new("-") { "standard input".to_owned() } else { path.display().to_string() }
}
