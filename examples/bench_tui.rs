//! Benchmark for the browser: open time (map + decode) and frame time on a large blob made
//! of the real OpenVMM state repeated (Any-heavy), with `vm` of the sample VM's units
//! repeated under names of their own, or with `dense` of millions of small repeated
//! messages (`sample.virt.x86.Msrs`), with peak memory. Frames are drawn into
//! ratatui's TestBackend, so this measures statescope's work, not the terminal's.
//!
//! `cargo run --release --example bench_tui [-- SIZE_MB [dense|vm]]` (default 1024)

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use statescope::browser::{self, Action, App, Effect, PromptKey, Theme};
use statescope::{Decoder, Schema, SchemaSources, Source};

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// What the benchmark browses: a blob, its schema and root type, and the paths it goes to.
struct Workload {
    blob: PathBuf,
    sources: SchemaSources,
    root_type: &'static str,
    /// The top-level repeated field, and the leaf under its last value the goto names.
    repeated: &'static str,
    leaf: &'static str,
    /// A selector that matches none of the repeated field's values.
    matches_none: &'static str,
    /// The value edited: one in the first of the repeated field's values.
    edited: &'static str,
}

/// The blob of `mb` MB that `kind` (`dense`, `vm`, or the real state) names, made if missing.
fn workload(mb: usize, kind: Option<&str>) -> anyhow::Result<Workload> {
    let dir = std::env::temp_dir().join("statescope-bench");
    std::fs::create_dir_all(&dir)?;
    // A sample blob made by `make` of its size, kept for the next run.
    let made = |name: &str, make: fn(usize) -> Vec<u8>| -> anyhow::Result<PathBuf> {
        let blob = dir.join(format!("{name}-{mb}mb.bin"));
        if !blob.exists() {
            std::fs::write(&blob, make(mb << 20))?;
        }
        Ok(blob)
    };
    let units = |blob, sources, root_type| Workload {
        blob,
        sources,
        root_type,
        repeated: "units",
        leaf: "name",
        matches_none: "units[name=nosuch]",
        edited: "units[0].state.vmtime",
    };
    match kind {
        Some("vm") => {
            return Ok(units(
                made("vm", statescope::samples::large_vm)?,
                Default::default(),
                "sample.openvmm.SavedState",
            ));
        }
        Some("dense") => {
            return Ok(Workload {
                blob: made("msrs", statescope::samples::msr_entries)?,
                sources: SchemaSources::default(),
                root_type: "sample.virt.x86.Msrs",
                repeated: "entries",
                leaf: "index",
                matches_none: "entries[index=1]",
                edited: "entries[0].value",
            });
        }
        _ => {}
    }
    anyhow::ensure!(kind.is_none(), "the workload is `dense`, `vm` or, left out, the real state repeated");
    let openvmm = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/openvmm");
    let blob = dir.join(format!("openvmm-{mb}mb.bin"));
    if !blob.exists() {
        let real = std::fs::read(openvmm.join("state.bin"))?;
        let mut out = std::io::BufWriter::new(std::fs::File::create(&blob)?);
        let mut written = 0;
        while written < mb << 20 {
            std::io::Write::write_all(&mut out, &real)?;
            written += real.len();
        }
    }
    let sources = SchemaSources { proto_dirs: vec![openvmm.join("protos")], ..Default::default() };
    Ok(units(blob, sources, "openvmm.SavedState"))
}

fn main() -> anyhow::Result<()> {
    let mb: usize = std::env::args().nth(1).map_or(Ok(1024), |a| a.parse())?;
    let work = workload(mb, std::env::args().nth(2).as_deref())?;
    let blob = work.blob.clone();
    let schema = Arc::new(Schema::load(&work.sources)?);
    let root_type = schema.pool.get_message_by_name(work.root_type);
    let decoder = Decoder::new(schema, root_type.clone());

    let start = Instant::now();
    // What the browser shows first: the top-level fields in the first few MB, read alone.
    let (head, size) = Source::open_head(&blob, browser::PREVIEW_BYTES)?.expect("a regular file");
    let size = size as usize;
    let prefix = browser::preview_end(&head).unwrap_or(head.len());
    let preview = decoder.decode(Source::new(head[..prefix].to_vec()));
    let preview_app = App::new(preview, "preview".to_owned(), (200, 50));
    let mut terminal = Terminal::new(TestBackend::new(200, 50))?;
    terminal.draw(|f| browser::draw(f, &preview_app, Theme::from_env()))?;
    let preview_screen = start.elapsed();
    drop(preview_app);
    // Then, in the background, the whole file read and decoded.
    let doc = decoder.decode(Source::open(&blob, u64::MAX)?);
    let open = start.elapsed();
    let nodes = doc.node_count();
    let mut app = App::new(doc, "bench".to_owned(), (200, 50));
    let first_screen = start.elapsed();

    let mut frame_times = Vec::new();
    let mut frame = |app: &App| -> anyhow::Result<()> {
        let t = Instant::now();
        terminal.draw(|f| browser::draw(f, app, Theme::from_env()))?;
        frame_times.push(t.elapsed().as_secs_f64() * 1e3);
        Ok(())
    };
    frame(&app)?;
    frame(&app)?;
    for action in [Action::ExpandAll, Action::Last, Action::PageUp, Action::First] {
        app.update(action);
        frame(&app)?;
    }
    for i in 0..200 {
        app.update(if i % 3 == 0 { Action::PageDown } else { Action::Down });
        frame(&app)?;
    }
    // Every key that moves, folds or toggles, from the key to the frame drawn: the slowest.
    let keys = [
        Action::CollapseAll,
        Action::ExpandAll,
        Action::Last,
        Action::First,
        Action::ExpandOrEnter,
        Action::Down,
        Action::ExpandSubtree,
        Action::NextSibling,
        Action::PrevSibling,
        Action::Parent,
        Action::CollapseSubtree,
        Action::CollapseOrLeave,
        Action::Toggle,
        Action::HalfPageDown,
        Action::HalfPageUp,
        Action::PageDown,
        Action::PageUp,
        Action::Up,
        Action::CollapseToDepth(2),
        Action::CollapseToDepth(9),
        Action::CollapseToDepth(4),
        Action::NextProblem,
        Action::NextProblem,
        Action::PrevProblem,
        Action::ToggleDetail,
        Action::ToggleDetail,
        Action::ToggleHex,
        Action::ToggleHex,
        Action::ToggleHelp,
        Action::ToggleHelp,
        Action::Last,
        Action::PrevProblem,
        Action::First,
    ];
    let mut slowest_key = (0.0, String::new());
    let mut over_50_ms = Vec::new();
    for action in keys {
        let name = format!("{action:?}");
        let t = Instant::now();
        app.update(action);
        let updated = t.elapsed().as_secs_f64();
        frame(&app)?;
        let seconds = t.elapsed().as_secs_f64();
        if seconds > 0.05 {
            over_50_ms.push(format!("{name} {seconds:.3} s (update {updated:.3} s)"));
        }
        if seconds > slowest_key.0 {
            slowest_key = (seconds, name);
        }
    }
    // A search for a word and one for a number, each found nowhere: a word's characters
    // rule out the rows of most numbers without their labels written, a number's do not.
    // The fastest of three of each, on a machine shared with others.
    let mut search_once = |needle: &str| {
        let search = Instant::now();
        app.update(Action::StartSearch);
        for c in needle.chars() {
            app.update(Action::PromptKey(PromptKey::Char(c)));
        }
        app.update(Action::PromptSubmit);
        // The browser runs a long search a slice at a time between keystrokes.
        let mut slices = 1;
        while app.is_searching() {
            app.update(Action::Tick);
            slices += 1;
        }
        (search.elapsed(), slices)
    };
    let mut search_for = |needle: &str| (0..3).map(|_| search_once(needle)).min().expect("three searches");
    let (search, slices) = search_for("nonexistent-needle");
    let (number_search, number_slices) = search_for("98765432123");
    // Ten digits: as many as a 32-bit number's decimal, which is then written too.
    let (ten_digits, ten_slices) = search_for("9876543212");
    // The same ten digits again, backward (`N`): each piece of ids is read forward.
    let backward = (0..3)
        .map(|_| {
            let search = Instant::now();
            app.update(Action::SearchPrev);
            while app.is_searching() {
                app.update(Action::Tick);
            }
            search.elapsed()
        })
        .min()
        .expect("three searches");

    // An edit of a value in the first top-level field (of the real state, a unit of the
    // first copy, whose names are not yet taken): the view is updated once only that
    // field is decoded again.
    let type_text = |app: &mut App, text: &str| {
        for c in text.chars() {
            app.update(Action::PromptKey(PromptKey::Char(c)));
        }
    };
    // A `:` lookup: the event loop runs it beside the keyboard (Esc stops it); here it is
    // run at once and timed, from the key to the selection moved.
    let goto = |app: &mut App, query: &str, frame: &mut dyn FnMut(&App) -> anyhow::Result<()>| {
        app.update(Action::StartGoto);
        app.update(Action::PromptKey(PromptKey::DeleteToStart));
        type_text(app, query);
        let t = Instant::now();
        for effect in app.update(Action::PromptSubmit) {
            if let Effect::LookUp(query) = effect {
                let found = browser::select(app.doc(), &query);
                app.looked_up(&query, found);
            }
        }
        frame(app)?;
        anyhow::Ok(t.elapsed().as_secs_f64())
    };
    let fields = app.doc().children(statescope::NodeId::ROOT).count();
    let last = format!("{}[{}].{}", work.repeated, fields - 1, work.leaf);
    let gotos = [
        (format!("the last of {}", work.repeated), goto(&mut app, &last, &mut frame)?),
        (work.matches_none.to_owned(), goto(&mut app, work.matches_none, &mut frame)?),
        ("a missing field".to_owned(), goto(&mut app, "nosuch", &mut frame)?),
    ];
    goto(&mut app, work.edited, &mut frame)?;
    let edit = Instant::now();
    app.update(Action::EditValue);
    type_text(&mut app, "42");
    app.update(Action::PromptSubmit);
    frame(&app)?;
    let edit = edit.elapsed();
    let edited = app.message().to_owned();
    // Saving the edited gigabyte (what no edit touched copied from the file opened, the
    // whole synced before it is put in place), against `cp` of the file: alternately,
    // three times each, medians (new pages cost this machine more at some times than others);
    // and against `cp` then `sync` of the copy, which, like the save, waits for the disk.
    let saved = std::env::temp_dir().join("statescope-bench/saved-by-browser.bin");
    let (mut saves, mut copies, mut synced_copies) = (Vec::new(), Vec::new(), Vec::new());
    let mut saved_message = String::new();
    let copy = || -> anyhow::Result<()> {
        anyhow::ensure!(std::process::Command::new("cp").arg(&blob).arg(&saved).status()?.success(), "cp runs");
        Ok(())
    };
    for _ in 0..3 {
        let _ = std::fs::remove_file(&saved);
        app.update(Action::Save);
        app.update(Action::PromptKey(PromptKey::DeleteToStart));
        type_text(&mut app, &saved.display().to_string());
        let save = Instant::now();
        app.update(Action::PromptSubmit);
        saves.push(save.elapsed().as_secs_f64());
        saved_message = app.message().to_owned();
        std::fs::remove_file(&saved)?;
        let cp = Instant::now();
        copy()?;
        copies.push(cp.elapsed().as_secs_f64());
        std::fs::remove_file(&saved)?;
        let cp_then_sync = Instant::now();
        copy()?;
        anyhow::ensure!(std::process::Command::new("sync").arg(&saved).status()?.success(), "sync runs");
        synced_copies.push(cp_then_sync.elapsed().as_secs_f64());
    }
    std::fs::remove_file(&saved)?;
    std::fs::remove_file(saved.with_file_name("saved-by-browser.bin.edits"))?;
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (save, cp, cp_synced) = (median(&mut saves), median(&mut copies), median(&mut synced_copies));
    let undo = Instant::now();
    app.update(Action::Undo);
    frame(&app)?;
    let undo = undo.elapsed();
    // An action and its undo, each timed from the key to the frame drawn, with what the
    // action said.
    let done_and_undone = |app: &mut App, action: Action, frame: &mut dyn FnMut(&App) -> anyhow::Result<()>| {
        let done = Instant::now();
        app.update(action);
        frame(app)?;
        let (done, said) = (done.elapsed(), app.message().to_owned());
        let undone = Instant::now();
        app.update(Action::Undo);
        frame(app)?;
        anyhow::Ok((done, said, undone.elapsed()))
    };
    // Deleting that value moves the id of every node after it, and so does its undo.
    let (delete, deleted, undo_delete) = done_and_undone(&mut app, Action::Delete, &mut frame)?;
    // Deleting a whole top-level field halfway down (an entry, or a unit), then its undo,
    // which puts it back: every node after it moves, and the fields of its number after
    // it are counted again.
    let halfway = format!("{}[{}]", work.repeated, fields / 2);
    goto(&mut app, &halfway, &mut frame)?;
    let (delete_field, deleted_field, undo_delete_field) = done_and_undone(&mut app, Action::Delete, &mut frame)?;

    let worst_at = (0..frame_times.len()).max_by(|&a, &b| frame_times[a].total_cmp(&frame_times[b])).unwrap_or(0);
    frame_times.sort_by(f64::total_cmp);
    let median = frame_times[frame_times.len() / 2];
    let worst = frame_times[frame_times.len() - 1];
    println!("(frames 0 and 1 are the first screen drawn twice; 2-5 follow expand-all, last row, page up, first row)");
    println!("slowest frame: #{worst_at}");
    println!("blob: {} ({:.0} MB, {} nodes)", blob.display(), size as f64 / 1048576.0, nodes);
    println!("first screen (preview):   {:>8.3} s", preview_screen.as_secs_f64());
    println!(
        "whole document decoded:   {:>8.3} s (in the background while the preview is browsed)",
        open.as_secs_f64()
    );
    println!("browser over all of it:   {:>8.3} s", first_screen.as_secs_f64());
    println!("frame time, median:       {:>8.3} ms over {} frames (worst {:.3} ms)", median, frame_times.len(), worst);
    println!(
        "slowest of {} keys:        {:>8.3} s ({}), key to frame drawn; over 50 ms: {}",
        keys.len(),
        slowest_key.0,
        slowest_key.1,
        if over_50_ms.is_empty() { "none".to_owned() } else { over_50_ms.join(", ") }
    );
    println!(
        "search miss over all nodes:{:>7.3} s in {slices} slices (keys are read between slices), \
         `/nonexistent-needle`, fastest of 3",
        search.as_secs_f64()
    );
    println!(
        "search miss, a number:    {:>8.3} s in {number_slices} slices, `/98765432123`, fastest of 3",
        number_search.as_secs_f64()
    );
    println!(
        "search miss, ten digits:  {:>8.3} s in {ten_slices} slices, `/9876543212`, fastest of 3",
        ten_digits.as_secs_f64()
    );
    println!("search miss, backward:    {:>8.3} s, `N` after `/9876543212`, fastest of 3", backward.as_secs_f64());
    for (what, seconds) in gotos {
        println!("{:<26}{seconds:>8.3} s (beside the keys: Esc stops it)", format!("go to {what}:"));
    }
    println!(
        "edit of one value, drawn: {:>8.3} s ({edited}); its undo {:.3} s",
        edit.as_secs_f64(),
        undo.as_secs_f64()
    );
    println!(
        "delete of that value, drawn: {:>5.3} s ({deleted}); its undo {:.3} s",
        delete.as_secs_f64(),
        undo_delete.as_secs_f64()
    );
    println!(
        "delete of a whole {}, drawn: {:>5.3} s ({deleted_field}); its undo {:.3} s",
        work.repeated,
        delete_field.as_secs_f64(),
        undo_delete_field.as_secs_f64()
    );
    println!(
        "save of the edited file:  {save:>8.3} s ({saved_message}); cp of the file {cp:.3} s: {:.2}x; \
         cp then sync {cp_synced:.3} s: {:.2}x (medians of 3)",
        save / cp,
        save / cp_synced
    );
    println!(
        "peak RSS:                 {:>8.0} MB ({:.2}x the file)",
        peak_rss_mb(),
        peak_rss_mb() * 1048576.0 / size as f64
    );
    Ok(())
}
