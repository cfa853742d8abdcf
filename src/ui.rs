//! The terminal browser (ratatui + crossterm) over the document model: events become
//! actions, `App::update` applies them, `view::draw` renders the result.

pub mod app;
pub mod clipboard;
pub mod folds;
pub mod keymap;
pub mod layout;
pub mod lookup;
pub mod node_set;
pub mod prompt;
pub mod rows;
pub mod terminal;
pub mod view;

#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use ratatui::crossterm::event::{self, Event, KeyCode};
use ratatui::widgets::Paragraph;

use crate::model::source::Source;
use crate::model::{Document, NodeId};
use crate::open::{SchemaArgs, display_name};
use crate::render::tree;
use crate::ui::app::{Action, App, Effect};
use crate::ui::terminal::TerminalGuard;
use crate::ui::view::Theme;

/// Opens `file` (or the built-in sample) in the terminal browser. Without a terminal on
/// standard output it prints the tree instead, so `statescope FILE | less` works.
pub fn run(schema_args: &SchemaArgs, file: Option<&Path>) -> Result<()> {
    let schema = schema_args.load_schema()?;
    let label = file.map_or_else(|| "built-in sample (samples/vm.state.bin)".to_owned(), display_name);
    if !std::io::stdout().is_terminal() {
        let source = read_whole(schema_args, file)?;
        let (decoder, note) = schema_args.decoder(&schema, &source)?;
        if let Some(note) = &note {
            eprintln!("statescope: {note}");
        }
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        let pieces = crate::model::parts::Pieces::for_output(source.len(), crate::model::parts::cores());
        let written = tree::write_tree_streaming(&decoder, source, tree::TreeOptions::default(), pieces, &mut out)?;
        std::io::Write::flush(&mut out)?;
        written.say_advice();
        return Ok(());
    }
    let Opening { note, preview, decoding, size } = open(schema_args, &schema, file)?;
    let mut guard = TerminalGuard::enter()?;
    let area = guard.terminal.size()?;
    let mut pending = Some(decoding);
    // A large file opens on its preview; anything else waits for the whole document.
    let (doc, preview) = match preview {
        Some(doc) => (doc, true),
        None => {
            let decoding = pending.take().expect("just set");
            if !wait_for(&mut guard, &decoding, &label, size)? {
                return Ok(());
            }
            (join(decoding)?, false)
        }
    };
    let mut app = App::new(doc, label, (area.width, area.height));
    if preview {
        app = app.with_preview();
    }
    if let Some(file) = file.filter(|f| *f != Path::new("-")) {
        app = app.with_file(file.to_path_buf(), &schema_args.schema_files());
    }
    let while_decoding =
        preview.then(|| format!("showing the first {} MB while the rest decodes…", PREVIEW_BYTES >> 20));
    // The detection note is said once, whole, and stays in the root's detail pane.
    if let Some(note) = note {
        app = app.with_note(note);
    }
    if let Some(text) = while_decoding {
        app.notify(format!("{text} {}", app.message()));
    }
    let copied = browse(&mut guard, app, pending)?;
    drop(guard);
    for text in &copied {
        println!("{text}");
    }
    Ok(())
}

/// The whole of `file`, or of the built-in sample.
fn read_whole(schema_args: &SchemaArgs, file: Option<&Path>) -> Result<Source> {
    match file {
        Some(path) => schema_args.read(path),
        None => Ok(Source::new(crate::samples::VM_STATE.to_vec())),
    }
}

/// A document on its way: the note on a detected type, the preview to show first (a large
/// file's first few MB), the decode of the whole in the background, and the input's size.
struct Opening {
    note: Option<String>,
    preview: Option<Document>,
    decoding: Decoding,
    size: usize,
}

/// The whole document, read and decoded in the background.
type Decoding = std::thread::JoinHandle<Result<Document>>;

/// Starts opening `file`. A large regular file is read only as far as its preview before
/// the first screen: the rest is read, and the whole decoded, in the background.
fn open(
    schema_args: &SchemaArgs,
    schema: &std::sync::Arc<crate::decode::schema::Schema>,
    file: Option<&Path>,
) -> Result<Opening> {
    let head = match file {
        Some(path) => Source::open_head(path, PREVIEW_BYTES)
            .with_context(|| format!("cannot read {}", display_name(path)))?
            .filter(|(_, size)| *size >= 4 * PREVIEW_BYTES as u64),
        None => None,
    };
    if let (Some(path), Some((head, size))) = (file, head)
        && let Some(end) = preview_end(&head)
    {
        // The type is told from the whole fields of the head, as from the whole file.
        let (decoder, note) = schema_args.decoder(schema, &head[..end])?;
        if decoder.root_type().is_none_or(|r| r.full_name() != crate::decode::schema::ANY_TYPE) {
            let preview = Some(decoder.decode(Source::new(head[..end].to_vec())));
            let (background, args, path) = (decoder.clone(), schema_args.clone(), path.to_path_buf());
            let decoding = std::thread::spawn(move || Ok(background.decode(args.read(&path)?)));
            return Ok(Opening { note, preview, decoding, size: size as usize });
        }
    }
    let source = read_whole(schema_args, file)?;
    let (decoder, note) = schema_args.decoder(schema, &source)?;
    let size = source.len();
    let preview =
        preview_prefix(&source, decoder.root_type()).map(|end| decoder.decode(Source::new(source[..end].to_vec())));
    let background = decoder.clone();
    let decoding = std::thread::spawn(move || Ok(background.decode(source)));
    Ok(Opening { note, preview, decoding, size })
}

/// Opens `doc` (read from `file`) in the browser with notes on its rows, each given by the
/// path it concerns (`diff --view`, `compat --view`): `}` and `{` jump between them and the
/// detail pane shows them. A note whose path `doc` lacks (what only the other side has)
/// goes on the nearest field above it, with its path.
pub fn run_with_notes(
    schema_args: &SchemaArgs,
    file: &Path,
    doc: Document,
    label: String,
    notes: Vec<(String, String)>,
) -> Result<()> {
    if !std::io::stdout().is_terminal() {
        return Err(anyhow!("--view needs a terminal; without it the findings are printed"));
    }
    let notes = notes
        .into_iter()
        .map(|(path, text)| match nearest_node(&doc, &path) {
            (node, true) => (node, text),
            (node, false) => (node, format!("{path}: {text}")),
        })
        .collect();
    let differences = app::Differences::new(&doc, notes);
    let mut guard = TerminalGuard::enter()?;
    let area = guard.terminal.size()?;
    let mut app = App::new(doc, label, (area.width, area.height)).with_differences(differences);
    if file != Path::new("-") {
        app = app.with_file(file.to_path_buf(), &schema_args.schema_files());
    }
    let copied = browse(&mut guard, app, None)?;
    drop(guard);
    copied.iter().for_each(|text| println!("{text}"));
    Ok(())
}

/// The node `path` names in `doc`, or (for what only the other blob has) the nearest field
/// above it; and whether it is the node itself.
fn nearest_node(doc: &Document, path: &str) -> (NodeId, bool) {
    let Ok(mut p) = crate::model::path::FieldPath::parse(path) else { return (NodeId::ROOT, false) };
    let mut exact = true;
    loop {
        if let Ok(id) = crate::model::path::resolve_path(doc, &p) {
            return (id, exact);
        }
        exact = false;
        match p.parent() {
            Some(up) => p = up,
            None => return (NodeId::ROOT, false),
        }
    }
}

/// The event loop: draws, reads a key (or continues a search), applies it, and carries
/// out its effects, until the user quits. Swaps in the whole document when a background
/// decode finishes. Returns everything copied, for printing after the terminal is back.
fn browse(guard: &mut TerminalGuard, mut app: App, mut pending: Option<Decoding>) -> Result<Vec<String>> {
    let theme = Theme::from_env();
    let mut copied = Vec::new();
    // Keys pressed while a lookup ran, applied after it in order.
    let mut typed_ahead = VecDeque::new();
    loop {
        guard.terminal.draw(|frame| view::draw(frame, &app, theme))?;
        if pending.as_ref().is_some_and(|d| d.is_finished()) {
            app.replace_document(join(pending.take().expect("checked"))?);
            continue;
        }
        let action = if let Some(action) = typed_ahead.pop_front() {
            Some(action)
        } else if pending.is_some() && !event::poll(Duration::from_millis(100))? {
            continue;
        } else if app.is_searching() && !event::poll(Duration::ZERO)? {
            Some(Action::Tick)
        } else {
            keymap::action_for_event(&event::read()?, app.input_mode())
        };
        for effect in action.map(|a| app.update(a)).unwrap_or_default() {
            match effect {
                Effect::Copy(text) => {
                    guard.write_raw(&clipboard::osc52(&text))?;
                    copied.push(text);
                }
                Effect::LookUp(query) => {
                    // A lookup that takes a while says so (and that Esc stops it); a quick
                    // one just moves, with no flash of that message.
                    let started = std::time::Instant::now();
                    let mut said = false;
                    let doc = app.doc();
                    let next = || {
                        if !said && started.elapsed() > SAY_LOOKING_AFTER {
                            guard.terminal.draw(|frame| view::draw(frame, &app, theme))?;
                            said = true;
                        }
                        next_event()
                    };
                    let look = |stop: &_| crate::model::query::select_until(doc, &query, stop);
                    let found = lookup::beside_keys(look, next, &mut typed_ahead)?;
                    app.looked_up(&query, found);
                }
                Effect::Quit => return Ok(copied),
            }
        }
    }
}

/// How long a lookup runs before the screen says it is looking.
const SAY_LOOKING_AFTER: Duration = Duration::from_millis(30);

/// The next terminal event, if one comes within a moment.
fn next_event() -> Result<Option<Event>> {
    Ok(if event::poll(Duration::from_millis(5))? { Some(event::read()?) } else { None })
}

/// The document a background read and decode made.
fn join(decoding: Decoding) -> Result<Document> {
    decoding.join().map_err(|_| anyhow!("decoding failed unexpectedly"))?
}

/// How much of a large file the preview decodes.
pub const PREVIEW_BYTES: usize = 4 << 20;

/// For a file much larger than the preview, the end of the last whole top-level field
/// within the first `PREVIEW_BYTES`: decoding that prefix gives exactly the first nodes
/// of the whole document, so it can be shown while the rest decodes.
pub fn preview_prefix(bytes: &[u8], root: Option<&prost_reflect::MessageDescriptor>) -> Option<usize> {
    if bytes.len() < 4 * PREVIEW_BYTES || root.is_some_and(|r| r.full_name() == crate::decode::schema::ANY_TYPE) {
        return None;
    }
    preview_end(bytes)
}

/// The end of the last whole top-level field within the first `PREVIEW_BYTES` of `bytes`
/// (a large file's head, or all of it).
pub fn preview_end(bytes: &[u8]) -> Option<usize> {
    let mut end = 0;
    while let Ok(field) = crate::decode::wire::read_field(bytes, end, bytes.len()) {
        if field.end > PREVIEW_BYTES {
            break;
        }
        end = field.end;
    }
    (end > 0).then_some(end)
}

/// Shows progress while the document decodes; false if the user quit first.
fn wait_for(guard: &mut TerminalGuard, decoding: &Decoding, label: &str, size: usize) -> Result<bool> {
    let mut ticks = 0usize;
    while !decoding.is_finished() {
        let spinner = ['|', '/', '-', '\\'][ticks % 4];
        let text = format!("{spinner} decoding {label} ({:.1} MB)… q quits", size as f64 / 1048576.0);
        guard.terminal.draw(|frame| frame.render_widget(Paragraph::new(text), frame.area()))?;
        ticks += 1;
        if event::poll(Duration::from_millis(100))?
            && let Event::Key(key) = event::read()?
            && (key.code == KeyCode::Char('q') || keymap::action_for(key) == Some(Action::Quit))
        {
            return Ok(false);
        }
    }
    Ok(true)
}
