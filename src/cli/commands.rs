//! The commands that print or write: show, types, get, set, patch, encode and mutate.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};

use crate::cli::{Format, MutateArgs, Outcome, OutputArgs, ShowArgs};
use crate::edit::Editor;
use crate::files::{Extent, Protected, WriteOptions, Written};
use crate::model::{NodeId, parts, query, value};
use crate::mutate::{Rng, plan_among};
use crate::open::{SchemaArgs, find_type};
use crate::render::{json, text, tree};

pub fn show(schema_args: &SchemaArgs, args: &ShowArgs, out: &mut impl Write) -> Result<Outcome> {
    let schema = schema_args.load_schema()?;
    // Mapped: a lookup touches only the pages it needs, and the whole file's output does
    // not wait for a copy of it first.
    let source = schema_args.read_mapped(&args.file)?;
    let (decoder, note) = schema_args.decoder(&schema, &source)?;
    if let Some(note) = note {
        eprintln!("statescope: {note}");
    }
    // A whole file's tree, text format or JSON: in parts on every core (or `-j N`).
    let pieces = parts::Pieces::for_output(source.len(), args.jobs.map_or_else(parts::cores, usize::from));
    if args.format == Format::Tree && args.path.is_none() {
        let options = tree::TreeOptions { offsets: args.offsets };
        let written = tree::write_tree_streaming(&decoder, source, options, pieces, out)?;
        written.say_advice();
        return Ok(Outcome::Success);
    }
    // Text format and JSON stream too, when the top level is in the order they print.
    let source = match args.format {
        Format::Json if args.path.is_none() => {
            match json::write_json_streaming(&decoder, source, args.proto_names, pieces, out)? {
                Ok(()) => return Ok(Outcome::Success),
                Err(source) => source,
            }
        }
        Format::Text if args.path.is_none() => {
            let options = text::TextOptions { expand_any: !args.raw_any };
            match text::write_text_streaming(&decoder, source, options, pieces, out)? {
                Ok(omitted) => {
                    say_omitted(omitted);
                    return Ok(Outcome::Success);
                }
                Err(source) => source,
            }
        }
        _ => source,
    };
    // With --path, a path that names no top-level field is refused as a decode would
    // refuse it, and only the top-level field it starts in is built.
    let absent = args.path.as_deref().and_then(|p| query::absent_without_decoding(p, decoder.root_type(), &source));
    if let Some(error) = absent {
        return Err(error.into());
    }
    let focus = args.path.as_deref().and_then(|p| query::focus(p, decoder.root_type()));
    let doc = match focus {
        Some(focus) => decoder.with_focus(focus).decode(source),
        None => decoder.decode(source),
    };
    let tops = match &args.path {
        Some(p) => query::select(&doc, p)?,
        None => vec![NodeId::ROOT],
    };
    let mut written = tree::TreeWritten::default();
    for top in tops {
        written.schema_advice_left_out |= show_one(&doc, top, args, out)?.schema_advice_left_out;
    }
    written.say_advice();
    Ok(Outcome::Success)
}

/// Says on stderr how many fields text format left out as comments.
fn say_omitted(omitted: usize) {
    if omitted > 0 {
        eprintln!(
            "statescope: {omitted} field(s) do not decode and appear only as # comments; `statescope check` says why"
        );
    }
}

/// Writes one subtree as `show` was asked; what a tree leaves to say once after it.
fn show_one(
    doc: &crate::model::Document,
    top: NodeId,
    args: &ShowArgs,
    out: &mut impl Write,
) -> Result<tree::TreeWritten> {
    match args.format {
        Format::Tree => return Ok(tree::write_tree(doc, top, tree::TreeOptions { offsets: args.offsets }, out)?),
        Format::Text => say_omitted(text::write_text(doc, top, text::TextOptions { expand_any: !args.raw_any }, out)?),
        Format::Json => json::write_json(doc, top, args.proto_names, out)?,
    }
    Ok(tree::TreeWritten::default())
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

/// The edit script of `set`'s `PATH=VALUE` assignments: the `=` that splits them is the
/// first outside brackets (a selector holds one); a path with a selector becomes one edit
/// per node it selects in FILE.
pub fn set_script(schema_args: &SchemaArgs, file: &Path, assignments: &[String]) -> Result<String> {
    let mut lines = Vec::new();
    let mut doc = None;
    for a in assignments {
        let mut depth = 0i32;
        let split = a.char_indices().find(|&(_, c)| {
            depth += match c {
                '[' => 1,
                ']' => -1,
                _ => 0,
            };
            c == '=' && depth == 0
        });
        let Some((at, _)) = split else { bail!("`{a}` is not PATH=VALUE") };
        let (path, value) = (&a[..at], &a[at + 1..]);
        if !crate::model::query::has_selectors(path) {
            lines.push(format!("set {path} {value}"));
            continue;
        }
        if doc.is_none() {
            let schema = schema_args.load_schema()?;
            doc = Some(schema_args.open(&schema, schema_args.read(file)?)?.0);
        }
        let doc = doc.as_ref().expect("just decoded");
        for id in crate::model::query::select(doc, path)? {
            lines.push(format!("set {} {value}", doc.path_of(id)));
        }
    }
    Ok(lines.join("\n"))
}

/// Applies an edit script (read from `script_file`, if it came from one) to FILE and
/// writes the result where `output` says.
pub fn edit_and_write(
    schema_args: &SchemaArgs,
    file: &Path,
    script: &str,
    script_file: Option<&Path>,
    output: &OutputArgs,
) -> Result<Outcome> {
    let schema = schema_args.load_schema()?;
    // A large file is mapped, not read; the spans the edits leave alone are copied from it
    // in the kernel.
    let source = schema_args.read_mapped(file)?;
    let (decoder, _) = schema_args.decoder(&schema, &source)?;
    let origin = source.mapped_from().cloned();
    // Each edit decodes only the top-level fields it touches: memory near the file's size.
    let (edited, count) = crate::edit::lean::apply_script_lean(&decoder, source, script)
        .map_err(|(line, e)| anyhow!("edit {line}: {e}; nothing was written"))?;
    let mut protected = read_by(schema_args, file);
    script_file.into_iter().for_each(|s| protected.add(s));
    // The spans copied from the file must be the bytes the edits were planned on.
    let input_unchanged = || match &origin {
        Some(origin) if !origin.unchanged().with_context(|| format!("cannot read {}", file.display()))? => {
            Err(anyhow!(
                "{} changed while it was being edited; nothing was written. Copy the file and edit the copy",
                file.display()
            ))
        }
        _ => Ok(()),
    };
    let written = write_extents(&edited.extents(), &protected, output, input_unchanged)?;
    eprintln!("statescope: {count} edit(s) applied; wrote {written}");
    Ok(Outcome::Success)
}

/// The files a command that opened `input` has read: it, and the schema files.
pub(super) fn read_by(schema_args: &SchemaArgs, input: &Path) -> Protected {
    let mut protected = Protected::default();
    protected.add(input);
    schema_args.schema_files().iter().for_each(|f| protected.add(f));
    protected
}

/// Writes bytes to `-o` (standard output for `-`, refused when that is a terminal), never
/// over a `protected` file unless `--force`. Returns what was written, for the message.
pub(super) fn write_output(bytes: &[u8], protected: &Protected, output: &OutputArgs) -> Result<String> {
    write_extents(&[Extent::bytes(bytes)], protected, output, || Ok(()))
}

/// [`write_output`] of bytes in extents; `still_valid` is asked, once they are all written,
/// whether they may be put in place (a file is then left as it was if not).
fn write_extents(
    extents: &[Extent],
    protected: &Protected,
    output: &OutputArgs,
    still_valid: impl FnOnce() -> Result<()>,
) -> Result<String> {
    if output.output == Path::new("-") {
        use std::io::IsTerminal;
        if std::io::stdout().is_terminal() {
            bail!("refusing to write binary to a terminal; redirect it or give -o FILE");
        }
        let mut stdout = io::stdout().lock();
        extents.iter().try_for_each(|p| stdout.write_all(p.bytes))?;
        stdout.flush()?;
        still_valid()?;
        return Ok("standard output".to_owned());
    }
    let staged = crate::files::stage(&output.output, extents, protected, output.write_options())?;
    still_valid()?;
    Ok(said(&output.output, &staged.commit()?))
}

/// Tells the user what a write needs them to know, and names the file written.
fn said(named: &Path, written: &Written) -> String {
    for warning in &written.warnings {
        eprintln!("statescope: warning: {warning}");
    }
    if written.path == named {
        named.display().to_string()
    } else {
        format!("{} (through the link {})", written.path.display(), named.display())
    }
}

pub fn encode(schema_args: &SchemaArgs, input: &Path, output: &OutputArgs) -> Result<Outcome> {
    use prost::Message as _;
    let schema = schema_args.load_schema()?;
    let name =
        schema_args.root_type.as_deref().ok_or_else(|| anyhow!("encode needs --type NAME (the message to build)"))?;
    let desc = find_type(&schema, name)?;
    let source = schema_args.read(input)?;
    let text = std::str::from_utf8(&source).context("the input is not UTF-8 text")?;
    let message = if text.trim_start().starts_with('{') {
        let mut de = serde_json::Deserializer::from_str(text);
        let m = prost_reflect::DynamicMessage::deserialize(desc, &mut de)
            .context("not valid protobuf JSON for this type")?;
        de.end().context("trailing characters after the JSON")?;
        m
    } else {
        // prost-reflect's text parser recurses once per level: bound it first, as JSON is.
        let depth = text_format_depth(text);
        if depth > schema_args.max_depth as usize {
            bail!("the text nests {depth} messages deep, more than --max-depth {}", schema_args.max_depth);
        }
        prost_reflect::DynamicMessage::parse_text_format(desc, text).context("not valid text format for this type")?
    };
    let written = write_output(&message.encode_to_vec(), &read_by(schema_args, input), output)?;
    eprintln!("statescope: wrote {written}");
    Ok(Outcome::Success)
}

/// How deeply messages nest in protobuf text format (`{ }` and `< >` outside strings and
/// comments), read in one pass without recursion.
fn text_format_depth(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' => {
                // Skip the string, escapes included.
                while let Some(s) = chars.next() {
                    match s {
                        '\\' => {
                            chars.next();
                        }
                        s if s == c => break,
                        _ => {}
                    }
                }
            }
            '#' => {
                chars.by_ref().find(|&s| s == '\n');
            }
            '{' | '<' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            '}' | '>' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// `statescope mutate`: writes the variants and `manifest.tsv` into the output folder.
pub fn mutate(schema_args: &SchemaArgs, args: &MutateArgs) -> Result<Outcome> {
    let schema = schema_args.load_schema()?;
    let (original, _) = schema_args.open(&schema, schema_args.read(&args.file)?)?;
    let manifest_path = args.output.join("manifest.tsv");
    if manifest_path.exists() && !args.force {
        bail!(
            "{} already holds the seeds of an earlier run (manifest.tsv); choose another folder, or pass --force \
             to replace them",
            args.output.display()
        );
    }
    std::fs::create_dir_all(&args.output).with_context(|| format!("cannot create {}", args.output.display()))?;
    // Seeds never go over the input or a schema, even with --force.
    let protected = read_by(schema_args, &args.file);
    let options = WriteOptions::default();
    let mut rng = Rng::new(args.seed);
    let mut manifest = String::from("file\tkind\tcheck\tedit\n");
    let mut editor = Editor::new(original);
    let mut written = 0;
    let kinds = if args.ops.is_empty() { &crate::mutate::MutationKind::ALL[..] } else { &args.ops[..] };
    for index in 0..args.count {
        let Some(mutation) = plan_changing(&mut editor, &mut rng, index, kinds)? else { break };
        let name = format!("seed-{index:04}-{}.bin", mutation.kind);
        crate::files::write_atomic(&args.output.join(&name), editor.doc().bytes(), &protected, options)?;
        let check = problem_codes(editor.doc());
        let _ = writeln!(manifest, "{name}\t{}\t{check}\t{}", mutation.kind, mutation.op);
        editor.undo();
        written += 1;
    }
    crate::files::write_atomic(&manifest_path, manifest.as_bytes(), &protected, options)?;
    eprintln!("statescope: wrote {written} seed(s) and manifest.tsv to {}", args.output.display());
    Ok(Outcome::Success)
}

/// What a check of `doc` finds, in one cell: `clean`, or each problem's code and path
/// (`wire-type-mismatch@units[4].state.lcr`), the first few.
pub(super) fn problem_codes(doc: &crate::model::Document) -> String {
    const SHOWN: usize = 6;
    let problems = doc.problems();
    if problems.is_empty() {
        return "clean".to_owned();
    }
    let mut cell: Vec<String> =
        problems.iter().take(SHOWN).map(|p| format!("{}@{}", p.kind.code(), doc.path_of(p.node).label())).collect();
    if problems.len() > SHOWN {
        cell.push(format!("+{} more", problems.len() - SHOWN));
    }
    value::terminal_safe(&cell.join(" ").replace('\t', " ")).into_owned()
}

/// Plans and applies mutation `index`, drawing again (a few times) when the mutation would
/// leave the bytes as they were (a value set to what it already is): a seed identical to
/// its input tests nothing.
fn plan_changing(
    editor: &mut Editor,
    rng: &mut Rng,
    index: usize,
    kinds: &[crate::mutate::MutationKind],
) -> Result<Option<crate::mutate::Mutation>> {
    let did_not_apply =
        |mutation: &crate::mutate::Mutation, e| anyhow!("mutation {index} ({}) did not apply: {e}", mutation.op);
    for _ in 0..crate::mutate::MutationKind::ALL.len() {
        let Some(mutation) = plan_among(editor.doc(), rng, index, kinds) else { return Ok(None) };
        let change = mutation.op.plan(editor.doc()).map_err(|e| did_not_apply(&mutation, e))?;
        if change.changes_nothing() {
            continue;
        }
        editor.apply(mutation.op.clone()).map_err(|e| did_not_apply(&mutation, e))?;
        return Ok(Some(mutation));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::text_format_depth;

    #[test]
    fn text_format_depth_counts_braces_outside_strings_and_comments() {
        assert_eq!(text_format_depth("a { b < c: 1 > } d {}"), 2);
        assert_eq!(text_format_depth("name: \"{{{{\" # {{{{\nx { y: '}}\\'}' }"), 1);
        assert_eq!(text_format_depth(&"a {".repeat(5000)), 5000);
    }
}
