//! `statescope get`: values by path or query, from one file or many. `get FILE PATH`
//! prints the value as it is (a number, a string, hex bytes, a message as text format);
//! a query that selects many (`units[*].name`) or many files (`get EXPR FILE…`) prints a
//! table: file, path, value (`--format tsv|json`). A proto3 scalar the blob leaves out
//! reads as its default, said to be absent.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};

use crate::cli::{GetArgs, Outcome, TableFormat};
use crate::model::path::{FieldPath, PathError};
use crate::model::{Document, NodeId, NodeKind, query, value};
use crate::open::{SchemaArgs, display_name};
use crate::render::text;

/// Runs `get`.
pub fn run(schema_args: &SchemaArgs, args: &GetArgs, out: &mut impl Write) -> Result<Outcome> {
    let (expr, files) = split_args(&args.args)?;
    let schema = schema_args.load_schema()?;
    let table = args.format.is_some() || files.len() > 1;
    let mut rows = Vec::new();
    for file in &files {
        let source = schema_args.read_mapped(file)?;
        let (decoder, _) = schema_args.decoder(&schema, &source)?;
        // A path that names no top-level field is refused as a decode would refuse it.
        if let Some(error) = query::absent_without_decoding(expr, decoder.root_type(), &source) {
            return Err(error.into());
        }
        // Only the top-level field the query starts in is built.
        let decoder = match query::focus(expr, decoder.root_type()) {
            Some(focus) => decoder.with_focus(focus),
            None => decoder,
        };
        let doc = decoder.decode(source);
        let found = match query::select(&doc, expr) {
            Ok(found) => found,
            Err(error) => match absent_default(&doc, expr, &error) {
                Some(default) => {
                    eprintln!("statescope: {}: {expr} is absent: it reads as its proto3 default", display_name(file));
                    rows.push((display_name(file), expr.to_owned(), default));
                    continue;
                }
                None => return Err(error.into()),
            },
        };
        if !table && found.len() == 1 {
            write_value(&doc, found[0], out)?;
            return Ok(Outcome::Success);
        }
        for id in found {
            rows.push((display_name(file), doc.path_of(id).label(), one_line(&doc, id)));
        }
    }
    if !table && rows.len() == 1 {
        writeln!(out, "{}", value::terminal_safe(&rows[0].2))?;
        return Ok(Outcome::Success);
    }
    for (file, path, value) in rows {
        match args.format.unwrap_or(TableFormat::Tsv) {
            TableFormat::Tsv => {
                let cells = [file, path, value].map(|c| value::terminal_safe(&c.replace('\t', " ")).into_owned());
                writeln!(out, "{}", cells.join("\t"))?;
            }
            TableFormat::Json => {
                writeln!(out, "{}", serde_json::json!({ "file": file, "path": path, "value": value }))?
            }
        }
    }
    Ok(Outcome::Success)
}

/// The query and the files: `FILE PATH` (a file first, two words), else `EXPR FILE…`.
fn split_args(args: &[String]) -> Result<(&str, Vec<PathBuf>)> {
    let is_file = |a: &str| a == "-" || Path::new(a).is_file();
    match args {
        [file, expr] if is_file(file) && !is_file(expr) => Ok((expr, vec![PathBuf::from(file)])),
        [expr, files @ ..] if !files.is_empty() => {
            if let Some(missing) = files.iter().find(|f| !is_file(f)) {
                bail!("`{missing}` is not a file (get EXPR FILE…, or get FILE PATH)");
            }
            if files.iter().filter(|f| *f == "-").count() > 1 {
                bail!("standard input can be read once");
            }
            Ok((expr, files.iter().map(PathBuf::from).collect()))
        }
        _ => Err(anyhow!("give a file and a path: get FILE PATH, or get EXPR FILE…")),
    }
}

/// A value as `get` prints one alone.
fn write_value(doc: &Document, id: NodeId, out: &mut impl Write) -> Result<()> {
    let node = doc.node(id);
    match node.kind {
        NodeKind::Scalar | NodeKind::Element | NodeKind::String | NodeKind::Bytes | NodeKind::Error => {
            writeln!(out, "{}", value::terminal_safe(&one_line(doc, id)))?;
        }
        NodeKind::Packed => {
            let values: Vec<String> = doc.children(id).map(|e| one_line(doc, e)).collect();
            let values = if values.is_empty() {
                let kind = doc.field_info(id).map(|f| f.kind.clone());
                value::packed_values(doc, id)
                    .map(|v| kind.as_ref().map_or(v.raw.to_string(), |k| value::interpret(k, v.raw).to_string()))
                    .collect()
            } else {
                values
            };
            writeln!(out, "{}", values.join("\n"))?;
        }
        _ => {
            text::write_text(doc, id, text::TextOptions { expand_any: true }, out)?;
        }
    }
    Ok(())
}

/// A value on one line: as `set` takes it back, or a message's summary.
fn one_line(doc: &Document, id: NodeId) -> String {
    value::settable(doc, id).unwrap_or_else(|| value::summary(doc, id, 200))
}

/// For a path whose last field the blob leaves out but whose message declares it as a
/// scalar: the proto3 default, as text.
fn absent_default(doc: &Document, expr: &str, error: &PathError) -> Option<String> {
    let PathError::NotFound { .. } = error else { return None };
    let path = FieldPath::parse(expr).ok()?;
    let last = path.segments().last()?;
    if !last.indices.is_empty() {
        return None;
    }
    let parent = crate::model::path::resolve_path(doc, &path.parent()?).ok()?;
    // A field of an Any's payload is read in the payload's type.
    let holder = doc.any_payload(parent).unwrap_or(parent);
    let field = doc.message_type(holder)?.get_field_by_name(&last.name)?;
    use prost_reflect::Kind;
    Some(match field.kind() {
        _ if field.is_list() => return None,
        Kind::Bool => "false".to_owned(),
        Kind::String => String::new(),
        Kind::Bytes => String::new(),
        Kind::Float | Kind::Double => "0".to_owned(),
        Kind::Enum(e) => e.default_value().name().to_owned(),
        Kind::Message(_) => return None,
        _ => "0".to_owned(),
    })
}
