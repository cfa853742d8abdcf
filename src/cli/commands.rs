//! The commands that print or write: show, check, types, get, set, patch, encode and
//! mutate.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};

use crate::cli::{Format, MutateArgs, Outcome, OutputArgs, ShowArgs};
use crate::edit::Editor;
use crate::model::{NodeId, NodeKind, path, value};
use crate::mutate::{Rng, plan};
use crate::open::{SchemaArgs, display_name, find_type, read_source};
use crate::render::{check, json, text, tree};

pub fn show(schema_args: &SchemaArgs, args: &ShowArgs, out: &mut impl Write) -> Result<Outcome> {
    let schema = schema_args.load_schema()?;
    let source = read_source(&args.file)?;
    let (decoder, note) = schema_args.decoder(&schema, &source)?;
    if let Some(note) = note {
        eprintln!("statescope: {note}");
    }
    if args.format == Format::Tree && args.path.is_none() {
        let options = tree::TreeOptions { offsets: args.offsets };
        tree::write_tree_streaming(&decoder, source, options, out)?;
        return Ok(Outcome::Success);
    }
    let doc = decoder.decode(source);
    let top = match &args.path {
        Some(p) => path::resolve(&doc, p)?,
        None => NodeId::ROOT,
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

pub fn check_files(schema_args: &SchemaArgs, files: &[PathBuf], out: &mut impl Write) -> Result<Outcome> {
    let schema = schema_args.load_schema()?;
    let mut found = false;
    for file in files {
        let source = read_source(file)?;
        let label = display_name(file);
        let (decoder, note) = schema_args.decoder(&schema, &source)?;
        if let Some(note) = note {
            eprintln!("statescope: {label}: {note}");
        }
        let summary = check::check_streaming(&decoder, source, &label, out)?;
        found |= summary.errors + summary.warnings > 0;
    }
    Ok(if found { Outcome::ProblemsFound } else { Outcome::Success })
}

pub fn types(schema_args: &SchemaArgs, out: &mut impl Write) -> Result<Outcome> {
    let schema = schema_args.load_schema()?;
    let mut names: Vec<String> = schema.pool.all_messages().map(|m| m.full_name().to_owned()).collect();
    names.sort();
    for name in names {
        writeln!(out, "{name}")?;
    }
    Ok(Outcome::Success)
}

pub fn get(schema_args: &SchemaArgs, file: &Path, p: &str, out: &mut impl Write) -> Result<Outcome> {
    let schema = schema_args.load_schema()?;
    let (doc, _) = schema_args.open(&schema, read_source(file)?)?;
    let id = path::resolve(&doc, p)?;
    let node = doc.node(id);
    match node.kind {
        NodeKind::Scalar | NodeKind::Element => {
            let v = value::scalar(&doc, id).ok_or_else(|| anyhow!("{p}: the value is unreadable"))?;
            writeln!(out, "{v}")?;
        }
        NodeKind::String if !node.has_problem => {
            writeln!(out, "{}", String::from_utf8_lossy(doc.value_bytes(id)))?;
        }
        NodeKind::String | NodeKind::Bytes | NodeKind::Error => {
            writeln!(out, "{}", value::hex_preview(doc.value_bytes(id), usize::MAX))?;
        }
        _ => {
            text::write_text(&doc, id, text::TextOptions { expand_any: true }, out)?;
        }
    }
    Ok(Outcome::Success)
}

/// Applies an edit script to FILE and writes the result where `output` says.
pub fn edit_and_write(schema_args: &SchemaArgs, file: &Path, script: &str, output: &OutputArgs) -> Result<Outcome> {
    let schema = schema_args.load_schema()?;
    let (doc, _) = schema_args.open(&schema, read_source(file)?)?;
    let mut editor = Editor::new(doc);
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

pub fn encode(schema_args: &SchemaArgs, input: &Path, output: &OutputArgs) -> Result<Outcome> {
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

/// `statescope mutate`: writes the variants and `manifest.tsv` into the output folder.
pub fn mutate(schema_args: &SchemaArgs, args: &MutateArgs) -> Result<Outcome> {
    let schema = schema_args.load_schema()?;
    let (original, _) = schema_args.open(&schema, read_source(&args.file)?)?;
    std::fs::create_dir_all(&args.output).with_context(|| format!("cannot create {}", args.output.display()))?;
    let mut rng = Rng::new(args.seed);
    let mut manifest = String::from("file\tkind\tcheck\tedit\n");
    let mut editor = Editor::new(original);
    let mut written = 0;
    for index in 0..args.count {
        let Some(mutation) = plan(editor.doc(), &mut rng, index) else { break };
        if let Err(e) = editor.apply(mutation.op.clone()) {
            bail!("mutation {index} ({}) did not apply: {e}", mutation.op);
        }
        let name = format!("seed-{index:04}-{}.bin", mutation.kind);
        write_seed(&args.output.join(&name), editor.doc().bytes())?;
        let problems = editor.doc().problems().len();
        let check = if problems == 0 { "clean".to_owned() } else { format!("{problems} problem(s)") };
        let _ = writeln!(manifest, "{name}\t{}\t{check}\t{}", mutation.kind, mutation.op);
        editor.undo();
        written += 1;
    }
    write_seed(&args.output.join("manifest.tsv"), manifest.as_bytes())?;
    eprintln!("statescope: wrote {written} seed(s) and manifest.tsv to {}", args.output.display());
    Ok(Outcome::Success)
}

fn write_seed(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::files::write_atomic(path, bytes, None, true)?;
    Ok(())
}
