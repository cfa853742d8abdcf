//! The browser driven through its action/update layer, rendered into ratatui's TestBackend
//! and compared with snapshots: navigation, folding, search, go-to, Any rows, error rows
//! and help.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};

use crate::decode::registry::SchemaSources;
use crate::decode::schema::Schema;
use crate::model::source::Source;
use crate::model::{Decoder, NodeId};
use crate::ui::app::{Action, App, Effect};
use crate::ui::keymap;
use crate::ui::view::{self, Theme};

const SIZE: (u16, u16) = (110, 32);

/// The registered schemas, loaded once for every test here.
fn sample_decoder() -> Decoder {
    static SCHEMA: OnceLock<Arc<Schema>> = OnceLock::new();
    let schema = SCHEMA.get_or_init(|| Arc::new(Schema::load(&SchemaSources::default()).unwrap()));
    let root = schema.pool.get_message_by_name(crate::samples::ROOT_TYPE);
    Decoder::new(Arc::clone(schema), root)
}

fn open(file: &str) -> App {
    let bytes = std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap();
    App::new(sample_decoder().decode(Source::new(bytes)), file.to_owned(), SIZE)
}

/// Presses keys as typed: each character is a key; `<Enter>`, `<Esc>` and friends are named.
/// Keys become actions through the same mapping the event loop uses. Returns the effects.
fn press(app: &mut App, keys: &str) -> Vec<Effect> {
    let mut effects = Vec::new();
    let mut rest = keys;
    while !rest.is_empty() {
        let (code, len) = match rest {
            s if s.starts_with("<Enter>") => (KeyCode::Enter, 7),
            s if s.starts_with("<Esc>") => (KeyCode::Esc, 5),
            s if s.starts_with("<Down>") => (KeyCode::Down, 6),
            s if s.starts_with("<Right>") => (KeyCode::Right, 7),
            s if s.starts_with("<PgDn>") => (KeyCode::PageDown, 6),
            s if s.starts_with("<BS>") => (KeyCode::Backspace, 4),
            s if s.starts_with("<Up>") => (KeyCode::Up, 4),
            s if s.starts_with("<Left>") => (KeyCode::Left, 6),
            s if s.starts_with("<Home>") => (KeyCode::Home, 6),
            s if s.starts_with("<Tab>") => (KeyCode::Tab, 5),
            s if s.starts_with("<C-r>") => (KeyCode::Null, 5),
            s if s.starts_with("<C-w>") => (KeyCode::F(23), 5),
            s => {
                let c = s.chars().next().unwrap();
                (KeyCode::Char(c), c.len_utf8())
            }
        };
        rest = &rest[len..];
        let key = match code {
            KeyCode::Null => KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL),
            KeyCode::F(23) => KeyEvent::new(KeyCode::Char('w'), KeyModifiers::CONTROL),
            code => KeyEvent::new(code, KeyModifiers::NONE),
        };
        let action = keymap::action_for_event(&Event::Key(key), app.input_mode());
        for effect in app.update(action.unwrap_or_else(|| panic!("{code:?} is bound"))) {
            match effect {
                // What the event loop does beside the keyboard, done here and now.
                Effect::LookUp(query) => {
                    let found = crate::model::query::select(app.doc(), &query);
                    app.looked_up(&query, found);
                }
                other => effects.push(other),
            }
        }
    }
    effects
}

fn screen(app: &App) -> String {
    screen_at(app, SIZE)
}

/// The screen at another terminal size.
fn screen_at(app: &App, size: (u16, u16)) -> String {
    let mut terminal = Terminal::new(TestBackend::new(size.0, size.1)).unwrap();
    terminal.draw(|frame| view::draw(frame, app, Theme::from_env())).unwrap();
    let buffer = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..buffer.area.height {
        let line: String = (0..buffer.area.width).map(|x| buffer[(x, y)].symbol()).collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[test]
fn opens_on_the_units() {
    let app = open("samples/vm.state.bin");
    insta::assert_snapshot!("open", screen(&app));
}

#[test]
fn navigates_and_folds() {
    let mut app = open("samples/vm.state.bin");
    press(&mut app, "jjl<Right>l");
    insta::assert_snapshot!("expand-pit", screen(&app));
    assert_eq!(selected_path(&app), "units[1].name");
    press(&mut app, "hh");
    assert_eq!(selected_path(&app), "units[1]");
    assert!(!app.rows().is_expanded(app.selected()), "the second h collapses");
    press(&mut app, "JJ");
    assert_eq!(selected_path(&app), "units[3]");
    press(&mut app, "K");
    assert_eq!(selected_path(&app), "units[2]");
    press(&mut app, "G");
    insta::assert_snapshot!("last-row", screen(&app));
    press(&mut app, "g3");
    insta::assert_snapshot!("three-levels", screen(&app));
    press(&mut app, "0");
    assert_eq!(app.selected(), NodeId::ROOT);
}

#[test]
fn any_rows_open_through_both_layers() {
    let mut app = open("samples/vm.state.bin");
    press(&mut app, ":");
    assert_eq!(app.input_mode(), keymap::InputMode::Prompt);
    press(&mut app, "units[7].state.channel.drives[0].path.lun<Enter>");
    assert_eq!(selected_path(&app), "units[7].state.channel.drives[0].path.lun");
    insta::assert_snapshot!("storvsp-lun", screen(&app));
}

#[test]
fn searches_names_and_values() {
    let mut app = open("samples/vm.state.bin");
    press(&mut app, "/12345678901234<Enter>");
    assert_eq!(selected_path(&app), "units[1].state.last");
    press(&mut app, "/lun<Enter>");
    let first = app.selected();
    press(&mut app, "n");
    assert_ne!(app.selected(), first, "n finds the next match");
    assert_eq!(app.message(), "/lun: match 2 of 2");
    press(&mut app, "N");
    assert_eq!(app.selected(), first, "N goes back");
    insta::assert_snapshot!("search-lun", screen(&app));
    press(&mut app, "nn");
    assert_eq!((app.selected(), app.message()), (first, "/lun: match 1 of 2 (from the top again)"));
    press(&mut app, "/no such thing<Enter>");
    assert!(app.message().contains("not found"));
}

#[test]
fn search_steps_through_packed_values_not_stored_as_through_rows() {
    let mut app = open("samples/vm.state.bin");
    let query = "(0x1000";
    // Every row whose label holds the query, in order, as each label reads node by node:
    // packed values read from their run, or from a decode of the message of numbers they
    // are in, left cold.
    let doc = app.doc();
    let matches = rows_holding(doc, query);
    let not_stored = |id: NodeId| doc.unstored_value(id).is_some() || doc.node_or_cold_message(id).is_err();
    assert!(matches.len() > 3 && matches.iter().any(|&id| not_stored(id)), "{matches:?}");
    press(&mut app, &format!("/{query}<Enter>"));
    let mut met = vec![app.selected()];
    for _ in 1..matches.len() {
        press(&mut app, "n");
        met.push(app.selected());
    }
    assert_eq!(met, matches, "forward, from the top");
    for expected in matches.iter().rev().skip(1) {
        press(&mut app, "N");
        assert_eq!(app.selected(), *expected, "backward");
    }
}

/// The rows whose label holds `query` (lowered), in order, each label read node by node.
fn rows_holding(doc: &crate::model::Document, query: &str) -> Vec<NodeId> {
    let rows = NodeId::ROOT.up_to(doc.end()).filter(|&id| !doc.is_transparent(id));
    let holds = |&id: &NodeId| {
        let mut line = String::new();
        crate::render::tree::label(doc, id, &doc.node(id), &mut line);
        line.to_ascii_lowercase().contains(query)
    };
    rows.filter(holds).collect()
}

#[test]
fn search_passes_over_the_leaves_of_flat_messages_only_where_none_can_hold_the_query() {
    // Entries of two numbers each, not stored but read from their bytes (a flat run).
    let schema = Arc::new(Schema::load(&SchemaSources::default()).unwrap());
    let root = schema.pool.get_message_by_name("sample.virt.x86.Msrs");
    let doc = Decoder::new(schema, root).decode(Source::new(crate::samples::msr_entries(2_000)));
    let second = NodeId::ROOT + 4;
    assert!(doc.flat_message_leaves(second, &doc.node(second)) == Some(2), "entries[1]: a flat message of two leaves");
    let mut app = App::new(doc, "msrs".to_owned(), SIZE);
    // A type's name (the entries' rows only: their leaves are passed over), a field's name
    // (every value row), a number's hex (some index rows), digits (in indices and values,
    // looked for there alone) and pieces across a label's parts.
    for query in ["msrentry", "value", "(0xc000008", "4 (0x", "entries[1", "12", "]: s", "= 3"] {
        let matches = rows_holding(app.doc(), query);
        assert!(matches.len() > 3, "{query}: {matches:?}");
        press(&mut app, "<Home>");
        press(&mut app, &format!("/{query}<Enter>"));
        let mut met = vec![app.selected()];
        for _ in 1..matches.len().min(200) {
            press(&mut app, "n");
            met.push(app.selected());
        }
        assert_eq!(met[..], matches[..met.len()], "{query}, forward from the top");
        for expected in matches[..met.len()].iter().rev().skip(1).take(20) {
            press(&mut app, "N");
            assert_eq!(app.selected(), *expected, "{query}, backward");
        }
    }
}

#[test]
fn error_rows_are_marked_and_reachable() {
    let mut app = open("samples/broken/truncated.bin");
    insta::assert_snapshot!("truncated-open", screen(&app));
    press(&mut app, "]");
    assert_eq!(selected_path(&app), "units[6].state.vps[1].data.@type");
    insta::assert_snapshot!("truncated-problem", screen(&app));
}

#[test]
fn help_lists_every_key_and_closes() {
    let mut app = open("samples/vm.state.bin");
    press(&mut app, "?");
    let text = screen(&app);
    for (keys, help) in keymap::help_lines() {
        assert!(text.contains(help), "help shows `{help}` ({keys})");
    }
    insta::assert_snapshot!("help", text);
    press(&mut app, "j");
    assert!(!app.showing_help());
    assert_eq!(app.selected(), NodeId::ROOT, "the key that closes help does nothing else");
    press(&mut app, "?");
    assert!(press(&mut app, "q").is_empty(), "q closes the help, not the browser");
    assert!(!app.showing_help());
    assert_eq!(press(&mut app, "q"), [Effect::Quit]);
}

#[test]
fn panes_toggle_and_copy_goes_to_the_clipboard() {
    let mut app = open("samples/vm.state.bin");
    press(&mut app, "tx");
    assert_eq!((app.panes().detail, app.panes().hex), (None, None));
    assert_eq!(press(&mut app, "jy"), vec![Effect::Copy("units[0]".to_owned())]);
    insta::assert_snapshot!("no-side-panes", screen(&app));
}

#[test]
fn mouse_and_resize() {
    let mut app = open("samples/vm.state.bin");
    app.update(Action::Click(5, 4));
    assert_eq!(selected_path(&app), "units[2]");
    app.update(Action::Click(5, 4));
    assert!(app.rows().is_expanded(app.selected()), "a second click expands");
    app.update(Action::Scroll(3));
    app.update(Action::Resize(60, 12));
    press(&mut app, "<PgDn><PgDn>");
    let text = screen(&app);
    assert!(text.contains("▸") || text.contains("▾"));
}

fn selected_path(app: &App) -> String {
    app.doc().path_of(app.selected()).to_string()
}

fn clear_prompt(app: &mut App) {
    let n = app.prompt().map_or(0, |p| p.text().chars().count());
    for _ in 0..n {
        app.update(Action::PromptKey(crate::ui::prompt::PromptKey::Backspace));
    }
}

/// Goes to `path` and sets its value to `value` through the edit prompt.
fn edit_at(app: &mut App, path: &str, value: &str) {
    press(app, &format!(":{path}<Enter>e"));
    clear_prompt(app);
    press(app, &format!("{value}<Enter>"));
}

/// A fresh folder for one test (`statescope-tui-TAG-…`, removed when dropped) holding the
/// sample as `name`: the folder and the file.
fn sample_in_folder(tag: &str, name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = scratch_dir(tag);
    let input = dir.path().join(name);
    std::fs::write(&input, crate::samples::VM_STATE).unwrap();
    (dir, input)
}

/// A fresh, empty folder for one test (`statescope-tui-TAG-…`), removed when dropped.
fn scratch_dir(tag: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("statescope-tui-{tag}-")).tempdir().expect("a temporary folder")
}

/// Presses `w`, types `target` over the offered name, and submits.
fn save_as(app: &mut App, target: &Path) {
    press(app, "w");
    clear_prompt(app);
    for c in target.display().to_string().chars() {
        app.update(Action::PromptKey(crate::ui::prompt::PromptKey::Char(c)));
    }
    press(app, "<Enter>");
}

#[test]
fn edit_a_lun_then_undo_and_redo() {
    let mut app = open("samples/vm.state.bin");
    let original = app.doc().bytes().to_vec();
    press(&mut app, ":units[7].state.channel.drives[0].path.lun<Enter>e");
    assert_eq!(app.prompt().map(|p| p.text()), Some("2"), "the prompt starts from the value");
    clear_prompt(&mut app);
    press(&mut app, "7<Enter>");
    assert!(app.prompt().is_none());
    assert_eq!(selected_path(&app), "units[7].state.channel.drives[0].path.lun", "the selection stays");
    insta::assert_snapshot!("edited-lun", screen(&app));
    let edited = app.doc().bytes().to_vec();
    let changed: Vec<usize> = (0..original.len()).filter(|&i| original[i] != edited[i]).collect();
    assert_eq!(changed.len(), 1);
    press(&mut app, "u");
    assert_eq!(app.doc().bytes(), &original[..]);
    press(&mut app, "<C-r>");
    assert_eq!(app.doc().bytes(), &edited[..]);
}

#[test]
fn an_invalid_value_keeps_the_prompt_and_says_why() {
    let mut app = open("samples/vm.state.bin");
    press(&mut app, ":units[1].state.timers.field1[0].gate<Enter>e");
    clear_prompt(&mut app);
    press(&mut app, "maybe<Enter>");
    assert_eq!(app.prompt().map(|p| p.text()), Some("maybe"), "what was typed stays");
    assert!(app.message().contains("true, false"), "{}", app.message());
    assert!(!app.editor().is_dirty());
    insta::assert_snapshot!("invalid-value", screen(&app));
    press(&mut app, "<Esc>");
    assert!(app.prompt().is_none());
}

#[test]
fn delete_append_and_structure() {
    let mut app = open("samples/vm.state.bin");
    press(&mut app, "jjj");
    assert_eq!(selected_path(&app), "units[2]");
    press(&mut app, "d");
    assert_eq!(app.doc().problems().len(), 0);
    assert_eq!(selected_path(&app), "units[2]", "the selection is on the unit that took its place");
    assert_eq!(app.doc().preview(app.selected()), app.doc().preview(app.doc().resolve("units[2]").unwrap()));
    let names: Vec<String> = (0..7)
        .map(|i| {
            let doc = app.doc();
            doc.preview(doc.resolve(&format!("units[{i}].name")).unwrap())
        })
        .collect();
    assert_eq!(names[2], "\"rtc\"", "units after the deleted one move up");
    press(&mut app, "gja");
    let doc = app.doc();
    let last = doc.resolve("units[7].name").unwrap();
    assert_eq!(doc.preview(last), "\"vmtime\"", "a appends a copy of units[0]");
    insta::assert_snapshot!("after-delete-append", screen(&app));
    press(&mut app, "uu");
    assert!(!app.editor().is_dirty());
}

#[test]
fn a_save_copies_what_no_edit_touched_from_the_file_opened_unless_it_changed() {
    let (scratch, input) = sample_in_folder("copy-save", "vm.bin");
    let dir = scratch.path();
    let doc = sample_decoder().decode(Source::open(&input, u64::MAX).unwrap());
    let mut app = App::new(doc, "vm.bin".to_owned(), SIZE).with_file(input.clone(), &[]);
    // A value of the same length, a longer name (every length prefix around it follows),
    // and an undo and redo of it.
    edit_at(&mut app, "units[6].state.vps[0].data.registers.rip", "0xffffffff81000040");
    edit_at(&mut app, "units[1].name", "\"a-name-longer-than-before\"");
    press(&mut app, "u<C-r>");
    let copied = |app: &App| app.editor().extents().iter().filter(|p| p.copied_from.is_some()).count();
    assert!(copied(&app) >= 2, "the spans around the edits are copied from the file");
    save_as(&mut app, &dir.join("a.bin"));
    assert!(app.message().starts_with("saved"), "{}", app.message());
    assert_eq!(std::fs::read(dir.join("a.bin")).unwrap(), app.doc().bytes());
    // Another program changes the file opened (same size): a save writes every byte from
    // memory. The file's times move on the kernel's clock tick: wait past one.
    std::thread::sleep(std::time::Duration::from_millis(50));
    let mut changed = crate::samples::VM_STATE.to_vec();
    changed[40] ^= 0x01;
    std::fs::write(&input, &changed).unwrap();
    assert!(app.editor().origin_changed());
    assert_eq!(copied(&app), 0);
    save_as(&mut app, &dir.join("b.bin"));
    assert_eq!(std::fs::read(dir.join("b.bin")).unwrap(), app.doc().bytes());
}

#[test]
fn save_writes_atomically_beside_a_script_and_guards_the_input() {
    let (scratch, input) = sample_in_folder("save", "vm.bin");
    let dir = scratch.path();
    let mut app = open("samples/vm.state.bin").with_file(input.clone(), &[]);
    edit_at(&mut app, "units[6].state.vps[0].data.registers.rip", "0xffffffff81000040");
    assert_eq!(press(&mut app, "q"), [], "unsaved edits stop the first q");
    assert!(app.message().contains("unsaved"));
    press(&mut app, "w");
    assert_eq!(app.prompt().map(|p| p.text().to_owned()), Some(dir.join("vm.edited.bin").display().to_string()));
    press(&mut app, "<Enter>");
    let saved = std::fs::read(dir.join("vm.edited.bin")).unwrap();
    assert_eq!(saved, app.doc().bytes());
    let script = std::fs::read_to_string(dir.join("vm.edited.bin.edits")).unwrap();
    assert!(script.contains("set units[6].state.vps[0].data.registers.rip 0xffffffff81000040"), "{script}");
    assert!(!app.editor().is_dirty());
    // Saving over the opened file asks first, and n keeps it.
    save_as(&mut app, &input);
    assert!(app.message().contains("overwrite"), "{}", app.message());
    press(&mut app, "n<Enter>");
    assert_eq!(std::fs::read(&input).unwrap(), crate::samples::VM_STATE, "the input is untouched");
    assert_eq!(press(&mut app, "q"), [Effect::Quit], "nothing unsaved: q quits");
}

#[test]
fn a_long_search_runs_in_slices_and_esc_stops_it() {
    let doc = sample_decoder().decode(Source::new(crate::samples::large_vm(2 << 20)));
    assert!(doc.node_count() > 400_000, "large enough to need several slices");
    let mut app = App::new(doc, "large".to_owned(), SIZE);
    // Each slice then looks at a piece or two, on a fast build too.
    app.search_slice_time = std::time::Duration::ZERO;
    press(&mut app, "/no such value<Enter>");
    assert!(app.is_searching(), "the search yields to the keyboard");
    assert!(app.message().contains("searching"), "{}", app.message());
    press(&mut app, "<Esc>");
    assert!(!app.is_searching());
    assert_eq!(app.message(), "search stopped");
    press(&mut app, "n");
    while app.is_searching() {
        app.update(Action::Tick);
    }
    assert!(app.message().ends_with("not found"), "{}", app.message());
}

#[test]
fn folds_before_and_after_an_edit_survive_it() {
    let mut app = open("samples/vm.state.bin");
    let goto = |app: &mut App, p: &str| {
        press(app, ":");
        clear_prompt(app);
        press(app, &format!("{p}<Enter>"));
        assert_eq!(selected_path(app), p);
    };
    goto(&mut app, "units[1]");
    press(&mut app, "l");
    goto(&mut app, "units[6]");
    press(&mut app, "l");
    goto(&mut app, "units[3]");
    press(&mut app, "l");
    // Deleting a field inside units[3] changes the node count between the two open units.
    goto(&mut app, "units[3].state.addr");
    press(&mut app, "d");
    assert!(app.editor().is_dirty());
    // The id the deleted field had is another field's now: the selection goes up.
    assert_eq!(selected_path(&app), "units[3].state", "the nearest field above the one deleted");
    let doc = app.doc();
    let one = doc.resolve("units[1]").unwrap();
    let six = doc.resolve("units[6]").unwrap();
    let three = doc.resolve("units[3]").unwrap();
    assert!(app.rows().is_expanded(one), "a unit before the edit stays open");
    assert!(app.rows().is_expanded(six), "a unit after the edit stays open, at its new id");
    assert!(app.rows().is_expanded(three), "the edited unit stays open: its ancestors keep their ids");
    press(&mut app, "u");
    let doc = app.doc();
    assert!(app.rows().is_expanded(doc.resolve("units[6]").unwrap()), "and across the undo");
}

#[test]
fn saving_over_any_file_that_was_opened_asks_first() {
    // Opened `st.edits` as the blob; saving as `st` would write the script over it.
    let (scratch, input) = sample_in_folder("guard", "st.edits");
    let dir = scratch.path();
    let mut app = open("samples/vm.state.bin").with_file(input.clone(), &[]);
    edit_at(&mut app, "units[0].name", "renamed");
    save_as(&mut app, &dir.join("st"));
    assert!(app.message().contains("st.edits is a file you opened: overwrite it?"), "{}", app.message());
    press(&mut app, "n<Enter>");
    assert_eq!(std::fs::read(&input).unwrap(), crate::samples::VM_STATE, "the opened file is untouched");
    assert!(!dir.join("st").exists(), "and nothing was half-saved");
}

#[test]
fn a_save_whose_script_cannot_be_written_replaces_nothing() {
    let scratch = scratch_dir("half");
    let dir = scratch.path();
    let target = dir.join("out.bin");
    std::fs::write(&target, b"previous").unwrap();
    // The script's place is taken by a folder, as a full disk would refuse it.
    std::fs::create_dir_all(dir.join("out.bin.edits")).unwrap();
    let mut app = open("samples/vm.state.bin");
    edit_at(&mut app, "units[0].name", "renamed");
    save_as(&mut app, &target);
    assert!(app.message().starts_with("not saved: "), "{}", app.message());
    assert_eq!(std::fs::read(&target).unwrap(), b"previous", "the target was not replaced");
    assert!(app.editor().is_dirty(), "the edit is still unsaved, and q will say so");
}

#[test]
fn a_value_with_spaces_replays_to_the_same_bytes() {
    let mut app = open("samples/vm.state.bin");
    edit_at(&mut app, "units[0].name", "  padded  ");
    let edited = app.doc().bytes().to_vec();
    let name = app.doc().resolve("units[0].name").unwrap();
    assert_eq!(app.doc().preview(name), "\"  padded  \"", "applied as typed");
    let mut replay = crate::edit::Editor::new(sample_decoder().decode(Source::new(crate::samples::VM_STATE.to_vec())));
    replay.apply_script(&app.editor().script()).unwrap();
    assert_eq!(replay.doc().bytes(), &edited[..], "the recorded script gives the same bytes");
}

#[test]
fn go_to_takes_a_query_and_says_how_many_match() {
    let mut app = open("samples/vm.state.bin");
    press(&mut app, ":units[name=pit].state.last<Enter>");
    assert_eq!(selected_path(&app), "units[1].state.last");
    // The prompt opens on the current path: clear it first.
    press(&mut app, &format!(":{}units[*].name<Enter>", "<BS>".repeat("units[1].state.last".len())));
    assert_eq!(selected_path(&app), "units[0].name");
    assert!(app.message().contains("(1 of 8 matches of units[*].name)"), "{}", app.message());
}

#[test]
fn go_to_asks_the_event_loop_to_look_up_and_moves_only_on_the_answer() {
    let mut app = open("samples/vm.state.bin");
    let before = selected_path(&app);
    assert!(press(&mut app, ":units[3]").is_empty());
    let effects = app.update(Action::PromptSubmit);
    let [Effect::LookUp(query)] = &effects[..] else { panic!("one lookup asked for: {effects:?}") };
    assert!(query.ends_with("units[3]"), "{query}");
    assert_eq!(selected_path(&app), before, "nothing moves before the answer");
    assert!(app.message().contains("Esc stops"), "{}", app.message());
    app.looked_up(query, Err(crate::model::path::PathError::Stopped));
    assert_eq!(selected_path(&app), before, "a stopped lookup goes nowhere");
    assert_eq!(app.message(), "lookup stopped");
    let far = "units[7].state.channel.drives[0].path.lun";
    let found = crate::model::query::select(app.doc(), far);
    app.looked_up(far, found);
    assert_eq!(selected_path(&app), far);
}

#[test]
fn strings_show_as_text_and_hostile_characters_escaped() {
    // A unit whose name is text with an accent, a Greek letter, a screen clear, an OSC 52
    // clipboard write and a right-to-left override.
    let name = "gäst-α \u{1b}[2J \u{1b}]52;c;aGk=\u{7} \u{202e}x";
    let mut unit = vec![0x0a, name.len() as u8];
    unit.extend_from_slice(name.as_bytes());
    let mut blob = vec![0x0a, unit.len() as u8];
    blob.extend_from_slice(&unit);
    let mut app = App::new(sample_decoder().decode(Source::new(blob)), "hostile".to_owned(), SIZE);
    press(&mut app, "jlj");
    let text = screen(&app);
    assert!(text.contains(r#"name: string = "gäst-α \x1b[2J \x1b]52;c;aGk=\x07"#), "the tree row: {text}");
    assert!(text.contains(r"\u{202e}x"), "the detail pane: {text}");
    assert!(!text.contains('\u{1b}') && !text.contains('\u{202e}'), "nothing reaches the terminal raw");
}

#[test]
fn prompts_edit_like_readline() {
    let mut app = open("samples/vm.state.bin");
    // `e` offers the value selected: typing replaces it (11932 → 70000, not 1193270000).
    press(&mut app, ":units[1].state.timers.field1[0].cr<Enter>e70000<Enter>");
    assert_eq!(app.doc().preview(app.selected()), "70000 (0x11170)");
    // Moving first keeps the offered text and edits it where the cursor is.
    press(&mut app, "e<Home>1<Enter>");
    assert_eq!(app.doc().preview(app.selected()), "170000 (0x29810)");
    // Ctrl-W deletes a word; ↑ brings back what `:` ran before.
    press(&mut app, ":<C-w><Esc>");
    press(&mut app, ":<Up><Enter>");
    assert_eq!(selected_path(&app), "units[1].state.timers.field1[0].cr");
}

#[test]
fn problems_are_counted_byte_offsets_reached_and_values_copied_as_set_takes_them() {
    let mut app = open("samples/broken/truncated.bin");
    assert_eq!(app.problem_counts(), (1, 0));
    press(&mut app, "]");
    assert!(app.message().starts_with("problem 1 of 1: byte 1334"), "{}", app.message());
    press(&mut app, "]");
    assert!(app.message().starts_with("problem 1 of 1 (from the first again)"), "{}", app.message());
    let mut app = open("samples/vm.state.bin");
    press(&mut app, ":@1767<Enter>");
    assert_eq!(selected_path(&app), "units[7].state.channel.drives[0].path.lun");
    press(&mut app, ":@0x6e7<Enter>");
    assert_eq!(selected_path(&app), "units[7].state.channel.drives[0].path.lun", "0x6e7 is 1767");
    press(&mut app, ":units[1].state.last<Enter>");
    assert_eq!(press(&mut app, "Y"), [Effect::Copy("12345678901234".to_owned())], "no hex aside");
    press(&mut app, ":units[0].name<Enter>");
    assert_eq!(press(&mut app, "Y"), [Effect::Copy("vmtime".to_owned())], "no quotes");
}

#[test]
fn search_finds_text_inside_bytes() {
    let mut app = open("samples/vm.state.bin");
    press(&mut app, "/scope-demo<Enter>");
    assert_eq!(selected_path(&app), "units[3].state.cmos", "the CMOS text is found in its bytes");
}

#[test]
fn one_byte_of_a_bytes_value_is_changed_in_place() {
    let mut app = open("samples/vm.state.bin");
    press(&mut app, ":units[3].state.cmos<Enter>e@16=ffee<Enter>");
    let cmos = app.doc().value_bytes(app.selected()).to_vec();
    assert_eq!((cmos.len(), cmos[16], cmos[17]), (256, 0xff, 0xee), "two bytes changed, the length kept");
    press(&mut app, "e@255=0011<Enter>");
    assert!(app.message().contains("runs past it"), "{}", app.message());
}

#[test]
fn quitting_with_unsaved_edits_asks_again_after_another_key() {
    let mut app = open("samples/vm.state.bin");
    press(&mut app, ":units[1].state.last<Enter>e1<Enter>");
    assert!(press(&mut app, "q").is_empty(), "the first q warns");
    press(&mut app, "x");
    assert!(press(&mut app, "q").is_empty(), "another key in between: q warns again");
    assert_eq!(press(&mut app, "q"), [Effect::Quit]);
}

#[test]
fn help_fits_an_80_by_24_terminal() {
    let bytes = std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/vm.state.bin")).unwrap();
    let mut app = App::new(sample_decoder().decode(Source::new(bytes)), "small".to_owned(), (80, 24));
    press(&mut app, "?");
    let text = screen_at(&app, (80, 24));
    for (keys, help) in keymap::help_lines() {
        let apart = [" ", "│"].iter().any(|after| text.contains(&format!("{help}{after}")));
        assert!(apart, "`{help}` ({keys}) is whole at 80x24, and apart from the next column:\n{text}");
    }
}

#[test]
fn a_typed_value_is_checked_as_it_is_typed() {
    let mut app = open("samples/vm.state.bin");
    press(&mut app, ":units[1].state.timers.field1[0].cr<Enter>e99999999999");
    assert!(app.message().starts_with("✗ ") && app.message().contains("uint32, 0 to 4294967295"), "{}", app.message());
    press(&mut app, "<BS><BS><BS><BS><BS><BS>");
    assert_eq!(app.message(), "✓ uint32, 0 to 4294967295");
    press(&mut app, "<Esc>:units[3].state.cmos<Enter>");
    let text = screen(&app);
    assert!(text.contains("[256 bytes at 410 (0x19a)]"), "where the value starts: {text}");
    assert!(text.contains("│   0  30 00 15 00 09 00 06 28  0......("), "a hex dump with offsets in the value: {text}");
    assert!(text.contains("│  56  00 00 00 00 00 00 00 00  ........"), "whole bytes a line: {text}");
}

#[test]
fn a_deleted_fields_neighbour_is_not_marked_edited() {
    let mut app = open("samples/vm.state.bin");
    press(&mut app, ":units[1].state.timers.field1[0].ce<Enter>dl");
    let text = screen(&app);
    assert!(text.contains("      cr: uint32 = 11932"), "the neighbour stays unmarked: {text}");
    assert!(text.contains("*~ field1[0]"), "what held it is marked, its length prefix fixed up: {text}");
}

#[test]
fn the_problem_list_goes_to_the_problem_chosen() {
    let mut app = open("samples/broken/truncated.bin");
    press(&mut app, "!");
    assert_eq!(app.problem_list(), Some(0));
    assert!(screen(&app).contains("1 problem(s): j/k move, Enter goes there"), "{}", screen(&app));
    press(&mut app, "j<Enter>");
    assert_eq!(app.problem_list(), None);
    assert_eq!(selected_path(&app), "units[6].state.vps[1].data.@type");
    let mut clean = open("samples/vm.state.bin");
    press(&mut clean, "!");
    assert_eq!((clean.problem_list(), clean.message()), (None, "no problems in this file"));
}

#[test]
fn what_y_copies_sets_the_same_bytes_again() {
    let mut app = open("samples/vm.state.bin");
    let original = app.doc().bytes().to_vec();
    for path in ["units[1].state.last", "units[0].name", "units[4].state.tx_buffer", "units[0].state.offset_from_host"]
    {
        press(&mut app, &format!(":{}{path}<Enter>", "<BS>".repeat(80)));
        let effects = press(&mut app, "Y");
        let [Effect::Copy(text)] = effects.as_slice() else { panic!("one copy: {effects:?}") };
        let mut editor = crate::edit::Editor::new(sample_decoder().decode(Source::new(original.clone())));
        editor.apply(crate::edit::op::EditOp::Set { path: path.parse().unwrap(), value: text.clone() }).unwrap();
        assert_eq!(editor.doc().bytes(), &original[..], "{path}: `{text}` sets the same bytes");
    }
}

#[test]
fn search_finds_text_and_hex_deep_inside_bytes_values() {
    let mut app = open("samples/vm.state.bin");
    // Byte 64 of the CMOS RAM: far past what the row shows.
    press(&mut app, "/scope-demo<Enter>");
    assert_eq!(selected_path(&app), "units[3].state.cmos");
    assert_eq!(app.message(), "/scope-demo: match 1 of 1");
    press(&mut app, "g/53 54 41 54 45<Enter>");
    assert_eq!(selected_path(&app), "units[3].state.cmos", "hex bytes, spaces allowed");
}

#[test]
fn the_hex_pane_overwrites_one_byte_as_an_undoable_raw_edit() {
    let mut app = open("samples/vm.state.bin");
    let original = app.doc().bytes().to_vec();
    // :@1767 puts the cursor on the LUN's value byte; Tab gives the keys to the hex pane.
    press(&mut app, ":@1767<Enter><Tab>");
    assert_eq!(app.hex_cursor().at, Some(1767));
    assert!(
        app.message().starts_with("byte 1767 (0x6e7) is in the value of units[7].state.channel.drives[0].path.lun")
    );
    press(&mut app, "0");
    assert_eq!(app.doc().bytes(), &original[..], "one digit writes nothing yet");
    assert!(screen(&app).contains("0_"), "the half-typed byte shows: {}", screen(&app));
    press(&mut app, "7");
    let changed: Vec<usize> = (0..original.len()).filter(|&i| original[i] != app.doc().bytes()[i]).collect();
    assert_eq!(changed, [1767]);
    assert_eq!(app.doc().bytes()[1767], 7);
    assert!(app.editor().script().contains("set-byte 1767 0x07"), "{}", app.editor().script());
    assert_eq!(app.hex_cursor().at, Some(1768), "the cursor moves on");
    insta::assert_snapshot!("hex-edited", screen(&app));
    press(&mut app, "u");
    assert_eq!(app.doc().bytes(), &original[..], "u undoes it like any edit");

    // Back onto the LUN's tag: the pane warns before anything is typed.
    press(&mut app, "hh");
    assert_eq!(app.hex_cursor().at, Some(1766));
    assert!(
        app.message().starts_with("⚠ byte 1766 (0x6e6) is in the tag of units[7].state.channel.drives[0].path.lun")
    );
    assert!(screen(&app).contains("hex @1766 (0x6e6) ⚠ a tag byte"), "{}", screen(&app));
    press(&mut app, "<Esc>");
    assert_eq!(app.input_mode(), keymap::InputMode::Tree, "Esc gives the keys back");
}

#[test]
fn length_prefixes_an_edit_fixed_up_are_marked_apart_from_the_edit() {
    let mut app = open("samples/vm.state.bin");
    press(&mut app, ":units[1].name<Enter>epit-longer<Enter>");
    let text = screen(&app);
    assert!(text.contains("* name: string = \"pit-longer\""), "the edit: {text}");
    assert!(text.contains("*~ units[1]"), "the unit holds the edit and its length was fixed up: {text}");
    assert!(text.contains("* sample.openvmm.SavedState"), "the root has no length prefix: {text}");
    assert!(!text.contains("~ units[0]") && !text.contains("* units[0]"), "{text}");
}

#[test]
fn a_long_message_wraps_instead_of_being_cut_and_the_note_stays_on_the_root() {
    let note = "no --type given; decoding as sample.openvmm.SavedState (best fit); \
                sample.other.Thing fits almost as well: --type chooses"
        .to_owned();
    let bytes = std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/vm.state.bin")).unwrap();
    let app = App::new(sample_decoder().decode(Source::new(bytes)), "vm.state.bin".to_owned(), (80, 24))
        .with_note(note.clone());
    let text = screen_at(&app, (80, 24));
    let joined: String = text.lines().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join(" ");
    let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words(&joined).contains(&words(&note)), "the whole note is on screen: {text}");
    assert!(text.lines().last().unwrap().contains("? help"), "{text}");
    let mut app = app;
    press(&mut app, "j");
    assert!(!screen_at(&app, (80, 24)).contains("almost as well"), "said once");
    press(&mut app, "g");
    app.update(Action::Resize(SIZE.0, SIZE.1));
    assert!(screen(&app).contains("note      no --type given"), "and kept on the root's detail: {}", screen(&app));
}

#[test]
fn showing_n_levels_shows_every_row_down_to_that_depth_and_none_below() {
    // The rows a `1`-`9` key leaves, against every row of the document told by its depth.
    for file in ["samples/vm.state.bin"] {
        let mut app = open(file);
        for depth in 1..=9u8 {
            press(&mut app, &depth.to_string());
            let rows = app.rows();
            let shown: Vec<NodeId> = std::iter::successors(Some(NodeId::ROOT), |&id| rows.next(id)).collect();
            let expected: Vec<NodeId> = NodeId::ROOT
                .up_to(app.doc().end())
                .filter(|&id| !app.doc().is_transparent(id) && rows.depth(id) <= usize::from(depth))
                .collect();
            assert_eq!(shown, expected, "{file}: {depth} level(s)");
            let backwards: Vec<NodeId> = std::iter::successors(Some(rows.last()), |&id| rows.prev(id)).collect();
            assert!(backwards.iter().rev().eq(&shown), "{file}: {depth} level(s) walked back");
        }
        // A row collapsed after the level was chosen hides its subtree, and only that.
        press(&mut app, "2");
        let unit = app.doc().resolve("units[1]").unwrap();
        app.select(unit);
        press(&mut app, "h");
        let rows = app.rows();
        let shown: Vec<NodeId> = std::iter::successors(Some(NodeId::ROOT), |&id| rows.next(id)).collect();
        let expected: Vec<NodeId> = NodeId::ROOT
            .up_to(app.doc().end())
            .filter(|&id| !app.doc().is_transparent(id) && rows.depth(id) <= 2)
            .filter(|&id| id == unit || !app.doc().contains(unit, id))
            .collect();
        assert_eq!(shown, expected, "{file}: two levels, units[1] collapsed");
        let backwards: Vec<NodeId> = std::iter::successors(Some(rows.last()), |&id| rows.prev(id)).collect();
        assert!(backwards.iter().rev().eq(&shown), "{file}: walked back with units[1] collapsed");
    }
}

#[test]
fn search_finds_text_across_the_seams_of_a_large_bytes_value_and_at_its_end() {
    let decoder = sample_decoder();
    let uart = decoder.schema().pool.get_message_by_name("sample.serial.uart16550.SavedState");
    for at in [0, 65_536 - 5, 65_536 - 1, 2 * 65_536 - 9, 200_000 - 9] {
        // tx_buffer (11): 200,000 bytes of zeros, "SeamText!" at `at`; a last field after it.
        let mut value = vec![0u8; 200_000];
        value[at..at + 9].copy_from_slice(b"SeamText!");
        let mut bytes = vec![0x08, 0x01, 0x5a];
        crate::decode::wire::write_varint(&mut bytes, value.len() as u64);
        bytes.extend_from_slice(&value);
        bytes.extend_from_slice(&[0x10, 0x01]);
        let doc = Decoder::new(Arc::clone(decoder.schema()), uart.clone()).decode(Source::new(bytes));
        let mut app = App::new(doc, "uart".to_owned(), SIZE);
        press(&mut app, "/seamtext!<Enter>");
        assert_eq!(
            (selected_path(&app).as_str(), app.message()),
            ("tx_buffer", "/seamtext!: match 1 of 1"),
            "text at {at}"
        );
        press(&mut app, "g/53 65 61 6d<Enter>");
        assert_eq!(
            (selected_path(&app).as_str(), app.message()),
            ("tx_buffer", "/53 65 61 6d: match 1 of 1"),
            "hex at {at}"
        );
    }
}
