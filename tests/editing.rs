//! Editing invariants: no edit means identical bytes; a schema-aware edit changes its value
//! and nothing else; undo restores the exact bytes; scripts replay; mutate is
//! deterministic, replayable, and check flags what it breaks.

mod common;

use std::path::Path;
use std::sync::{Arc, OnceLock};

use proptest::prelude::*;
use statescope::{Decoder, Document, EditOp, Editor, FieldClass, NodeId, NodeKind, Schema, SchemaSources, Source};

fn schema() -> Arc<Schema> {
    static SCHEMA: OnceLock<Arc<Schema>> = OnceLock::new();
    SCHEMA.get_or_init(|| Arc::new(Schema::load(&SchemaSources::default()).unwrap())).clone()
}

fn open(bytes: &[u8]) -> Document {
    let s = schema();
    let root = s.pool.get_message_by_name(statescope::samples::ROOT_TYPE);
    Decoder::new(s, root).decode(Source::new(bytes.to_vec()))
}

/// Every node but the root, in pre-order.
fn below_root(doc: &Document) -> impl Iterator<Item = NodeId> + '_ {
    (NodeId::ROOT + 1).up_to(doc.end())
}

/// Every node's path with its value, except containers.
fn leaves(doc: &Document) -> Vec<(String, String)> {
    below_root(doc)
        .filter(|&id| !doc.node(id).is_container() && !doc.is_transparent(id))
        .map(|id| (doc.path_of(id).to_string(), doc.preview(id)))
        .collect()
}

/// A value of the right type for a scalar field, drawn from `seed`.
fn value_for(kind: &prost_reflect::Kind, seed: u64) -> Option<String> {
    use prost_reflect::Kind;
    Some(match kind {
        Kind::Uint32 | Kind::Fixed32 => (seed as u32).to_string(),
        Kind::Uint64 | Kind::Fixed64 => seed.to_string(),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => (seed as i32).to_string(),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => (seed as i64).to_string(),
        Kind::Bool => (seed % 2 == 1).to_string(),
        _ => return None,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn no_edit_means_identical_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut editor = Editor::new(open(&bytes));
        editor.apply_script("# nothing\n\n").unwrap();
        prop_assert_eq!(editor.doc().bytes(), &bytes[..]);
        prop_assert!(!editor.is_dirty());
    }

    #[test]
    fn a_schema_aware_edit_changes_its_value_and_nothing_else(pick in any::<prop::sample::Index>(), seed in any::<u64>()) {
        let doc = open(statescope::samples::VM_STATE);
        let scalars: Vec<NodeId> = below_root(&doc)
            .filter(|&id| matches!(doc.node(id).kind, NodeKind::Scalar | NodeKind::Element))
            .filter(|&id| doc.field_info(id).is_some_and(|f| matches!(f.class, FieldClass::Scalar(_))))
            .collect();
        let id = scalars[pick.index(scalars.len())];
        let Some(new_value) = value_for(&doc.field_info(id).unwrap().kind, seed) else { return Ok(()) };
        let target = doc.path_of(id);
        let before = leaves(&doc);
        let mut editor = Editor::new(doc);
        editor.apply(EditOp::Set { path: target.clone(), value: new_value.clone() }).unwrap();
        let after = editor.doc();
        prop_assert!(after.problems().is_empty(), "{:?}", after.problems());
        let edited = after.resolve_path(&target).unwrap();
        let shown = after.scalar(edited).unwrap().to_string();
        prop_assert_eq!(&shown, &new_value);
        let target = target.to_string();
        let expected: Vec<_> = before.iter().filter(|(p, _)| *p != target).cloned().collect();
        let actual: Vec<_> = leaves(after).into_iter().filter(|(p, _)| *p != target).collect();
        prop_assert_eq!(actual, expected, "every other field is unchanged");
    }

    #[test]
    fn a_focused_replay_gives_the_bytes_the_editor_gave(seed in any::<u64>(), steps in 1usize..10) {
        // Random edits of every kind through the editor (whole document each time), then
        // the recorded script replayed the lean way (each edit decoding only what it
        // touches): the same bytes.
        let original = statescope::samples::VM_STATE.to_vec();
        let mut editor = Editor::new(open(&original));
        let mut rng = statescope::Rng::new(seed);
        for i in 0..steps {
            let Some(m) = statescope::plan_mutation(editor.doc(), &mut rng, (seed as usize).wrapping_add(i)) else { break };
            let _ = editor.apply(m.op);
        }
        let s = schema();
        let decoder = Decoder::new(s.clone(), s.pool.get_message_by_name(statescope::samples::ROOT_TYPE));
        let (lean, count) = statescope::apply_script_lean(&decoder, original.into(), &editor.script()).unwrap();
        prop_assert_eq!(count, editor.edit_count());
        prop_assert_eq!(&lean.to_vec()[..], editor.doc().bytes());
    }

    #[test]
    fn undo_restores_the_exact_bytes(seed in any::<u64>(), steps in 1usize..12) {
        let original = statescope::samples::VM_STATE.to_vec();
        let mut editor = Editor::new(open(&original));
        let mut rng = statescope::Rng::new(seed);
        let mut snapshots = vec![original.clone()];
        for i in 0..steps {
            let Some(m) = statescope::plan_mutation(editor.doc(), &mut rng, (seed as usize).wrapping_add(i)) else { break };
            if editor.apply(m.op).is_ok() {
                snapshots.push(editor.doc().bytes().to_vec());
            }
        }
        let done = snapshots.len() - 1;
        for expected in snapshots.iter().rev().skip(1) {
            prop_assert!(editor.undo());
            prop_assert_eq!(editor.doc().bytes(), &expected[..]);
        }
        prop_assert!(!editor.undo());
        for expected in snapshots.iter().skip(1) {
            prop_assert!(editor.redo());
            prop_assert_eq!(editor.doc().bytes(), &expected[..]);
        }
        prop_assert_eq!(editor.script().lines().filter(|l| !l.starts_with('#')).count(), done);
    }
}

#[test]
fn editing_a_lun_and_a_register_changes_only_those_bytes() {
    let original = statescope::samples::VM_STATE;
    let mut editor = Editor::new(open(original));
    editor
        .apply_script(
            "set units[7].state.channel.drives[0].path.lun 3\nset units[6].state.vps[0].data.registers.rip 0xffffffff81000010\n",
        )
        .unwrap();
    let edited = editor.doc().bytes();
    assert_eq!(edited.len(), original.len());
    let changed: Vec<usize> = (0..original.len()).filter(|&i| original[i] != edited[i]).collect();
    assert_eq!(changed.len(), 2, "one byte of the LUN, one of the rip varint: {changed:?}");
    // A value that needs a longer varint grows its field and every enclosing length prefix.
    editor
        .apply(EditOp::Set { path: "units[7].state.channel.drives[0].path.lun".parse().unwrap(), value: "300".into() })
        .unwrap();
    let grown = editor.doc().bytes();
    assert_eq!(grown.len(), original.len() + 1);
    assert!(editor.doc().problems().is_empty());
    let lun = editor.doc().resolve("units[7].state.channel.drives[0].path.lun").unwrap();
    assert_eq!(editor.doc().scalar(lun), Some(statescope::Scalar::Unsigned(300)));
}

#[test]
fn schema_aware_edits_refuse_and_explain() {
    let mut editor = Editor::new(open(statescope::samples::VM_STATE));
    let refuse = |editor: &mut Editor, line: &str| {
        let err = editor.apply(EditOp::parse(line).unwrap()).unwrap_err().to_string();
        assert!(!editor.is_dirty(), "{line} changed nothing");
        err
    };
    assert!(refuse(&mut editor, "set units[7].state.channel.drives[0].path.lun -1").contains("from 0 to 4294967295"));
    assert!(refuse(&mut editor, "set units[1].state.timers.field1[0].gate maybe").contains("true, false"));
    assert!(refuse(&mut editor, "set units[3].state.cmos zz").contains("hex"));
    assert!(refuse(&mut editor, "set units[1].state.timers 1").contains("edit its fields"));
    assert!(refuse(&mut editor, "set units[0].state.nosuch 1").contains("no field `nosuch`"));
    assert!(refuse(&mut editor, "append units[0].name").contains("not repeated"));
    assert!(EditOp::parse("frobnicate x").unwrap_err().to_string().contains("edits are set, delete"));
}

#[test]
fn script_lines_read_back_as_the_same_edits() {
    let lines = [
        "set units[0].name hello world",
        "delete units[2]",
        "duplicate units[1]",
        "insert units[1] from units[0]",
        "append units from units[3]",
        "add units[2].state.id",
        "replace-raw @10+2 ffee",
        "replace-raw units[0].name 0a0161",
        "set-raw units[0].name ff",
        "truncate 100",
        "flip 12 7",
        "set-length units[0].state 9999",
        "set-wire units[0].name 5",
        "overlong units[1].state.last",
        "insert-raw units[1].state f8ffff0101",
    ];
    for line in lines {
        assert_eq!(EditOp::parse(line).unwrap().to_string(), line);
    }
    // Values that would not survive as one line are written quoted, and read back the same.
    // Either way, replaying the line sets the same string.
    let unquote = |v: &str| statescope::unquote(v).unwrap();
    for value in
        ["two\nlines", " padded ", "\"quoted\"", "\"quoted\nnewline\"", "", "tab\there", "caf\u{e9}\r", "plain"]
    {
        let op = EditOp::Set { path: "units[0].name".parse().unwrap(), value: value.into() };
        let line = op.to_string();
        assert_eq!(line.lines().count(), 1, "{line}");
        let EditOp::Set { value: back, .. } = EditOp::parse(&line).unwrap() else { panic!("{line}") };
        assert_eq!(unquote(&back), unquote(value), "{line}");
    }
}

#[test]
fn structural_and_raw_edits_apply_and_undo() {
    let original = statescope::samples::VM_STATE.to_vec();
    let script = "\
duplicate units[1]
append units from units[0]
insert units[0] from units[7]
delete units[3].state.timers.field1[1]
add units[4].state.id
set units[4].state.redirection_entries[24] 77
set units[1].state.@type type.googleapis.com/sample.vmtime.SavedState
set units[2].state.@value 08011002
set-length units[5].state 9999
";
    let mut editor = Editor::new(open(&original));
    assert_eq!(editor.apply_script(script), Ok(9));
    let doc = editor.doc();
    assert_eq!(doc.resolve("units[10]").map(|id| doc.node(id).kind), Ok(NodeKind::Message), "three units added");
    assert_eq!(
        doc.preview(doc.resolve("units[0].name").unwrap()),
        "\"partition\"",
        "after a duplicate, units[7] is the partition"
    );
    assert_eq!(doc.preview(doc.resolve("units[4].state.redirection_entries[24]").unwrap()), "77 (0x4d)");
    let lie = doc
        .problems()
        .iter()
        .find(|p| p.kind.describe(doc).contains("length 9999 runs past the end"))
        .expect("the length lie shows");
    assert_eq!(doc.path_of(lie.node).to_string(), "units[5].state", "on the field whose length lies");
    while editor.undo() {}
    assert_eq!(editor.doc().bytes(), &original[..]);
}

#[test]
fn a_large_file_patched_gives_the_editors_bytes_and_stays_as_it_was() {
    // Mapped (1 MB or more) and longer than one span of the write (16 MB): the spans an edit
    // leaves alone are copied from the input file by the kernel, the edited bytes from memory.
    let scratch = common::scratch_dir("large-patch");
    let dir = scratch.path();
    let big = statescope::samples::large_vm(18 << 20);
    let input = dir.join("big.bin");
    std::fs::write(&input, &big).unwrap();
    let last = open(&big).children(NodeId::ROOT).count() - 1;
    let scripts = [
        // One edit near the end: every length prefix around it follows.
        format!("set units[{last}].name \"renamed-last-unit\"\n"),
        // A bit flipped near the start: a change that leaves every length as it was.
        "flip 70 3\n".to_owned(),
        // Two edits: the second is planned on the bytes the first gave.
        format!("set units[1].name \"renamed\"\ndelete units[{}]\n", last - 1),
    ];
    for script in &scripts {
        let mut editor = Editor::new(open(&big));
        editor.apply_script(script).unwrap();
        let expected = editor.doc().bytes();
        assert_ne!(expected, &big[..], "{script}");
        std::fs::write(dir.join("s.edits"), script).unwrap();
        let (script_path, input_path) = (dir.join("s.edits"), input.to_str().unwrap().to_owned());
        let out = dir.join("out.bin");
        let patch = |output: &str| {
            let args = ["patch", &input_path, "--script", script_path.to_str().unwrap(), "-o", output];
            let run = common::statescope(&args, None);
            assert!(run.status.success(), "{script}: {}", String::from_utf8_lossy(&run.stderr));
            run.stdout
        };
        patch(out.to_str().unwrap());
        assert!(std::fs::read(&out).unwrap() == expected, "{script}: the file written differs from the editor's bytes");
        assert!(patch("-") == expected, "{script}: standard output differs from the editor's bytes");
    }
    assert!(std::fs::read(&input).unwrap() == big, "the input is as it was");
}

#[test]
fn mutate_is_deterministic_replayable_and_flagged() {
    // A fresh folder: mutate rightly refuses to write over an earlier run's seeds.
    let scratch = common::scratch_dir("mutate");
    let dir = scratch.path();
    let run = |out: &std::path::Path| {
        let out = common::statescope(
            &["mutate", "samples/vm.state.bin", "-n", "40", "--seed", "7", "-o", out.to_str().unwrap()],
            None,
        );
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    let (a, b) = (dir.join("a"), dir.join("b"));
    run(&a);
    run(&b);
    let manifest = std::fs::read_to_string(a.join("manifest.tsv")).unwrap();
    assert_eq!(manifest, std::fs::read_to_string(b.join("manifest.tsv")).unwrap());
    let rows: Vec<Vec<&str>> = manifest.lines().skip(1).map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), 40);
    let kinds: std::collections::HashSet<&str> = rows.iter().map(|r| r[1]).collect();
    assert!(kinds.len() >= 12, "many kinds of mutation: {kinds:?}");
    let script = dir.join("one.edits");
    for row in &rows {
        let (file, kind, edit) = (row[0], row[1], row[3]);
        let bytes = std::fs::read(a.join(file)).unwrap();
        assert_eq!(bytes, std::fs::read(b.join(file)).unwrap(), "same seed, same {file}");
        // The manifest's edit line replays to the same bytes.
        std::fs::write(&script, format!("{edit}\n")).unwrap();
        let replayed = dir.join("replayed.bin");
        let out = common::statescope(
            &["patch", "samples/vm.state.bin", "--script", script.to_str().unwrap(), "-o", replayed.to_str().unwrap()],
            None,
        );
        assert!(out.status.success(), "{edit}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(std::fs::read(&replayed).unwrap(), bytes, "{edit}");
        // Mutations that break the state are flagged by check.
        let breaking = [
            "value-out-of-range",
            "enum-unknown-variant",
            "enum-no-variant",
            "delete-required",
            "unknown-type-url",
            "truncate",
            "length-lie",
            "wrong-wire-type",
            "unknown-field",
            "invalid-utf8",
        ];
        if breaking.contains(&kind) {
            let check = common::statescope(&["check", a.join(file).to_str().unwrap()], None);
            assert_eq!(
                check.status.code(),
                Some(1),
                "check flags {file} ({edit}):\n{}",
                String::from_utf8_lossy(&check.stdout)
            );
        }
    }
}

#[test]
fn any_mutation_index_plans_without_overflow() {
    // Found by the edit fuzz target: a huge index overflowed when picking the kind.
    let doc = open(statescope::samples::VM_STATE);
    let mut rng = statescope::Rng::new(1);
    assert!(statescope::plan_mutation(&doc, &mut rng, usize::MAX).is_some());
}

#[test]
fn load_and_save_with_no_edit_is_byte_identical_for_every_sample() {
    let scratch = common::scratch_dir("roundtrip");
    let dir = scratch.path();
    let empty = dir.join("empty.edits");
    std::fs::write(&empty, "# no edits\n").unwrap();
    let mut blobs = common::sample_blobs();
    blobs.extend(common::openvmm().map(|dir| ("openvmm".to_owned(), dir.join("state.bin"))));
    for (name, blob) in blobs {
        let out = dir.join(format!("{name}.out"));
        let run = common::statescope(
            &["patch", blob.to_str().unwrap(), "--script", empty.to_str().unwrap(), "-o", out.to_str().unwrap()],
            None,
        );
        assert!(run.status.success(), "{name}: {}", String::from_utf8_lossy(&run.stderr));
        assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&blob).unwrap(), "{name} round-trips byte for byte");
    }
}

#[test]
fn patch_reads_its_script_from_standard_input_as_from_a_file() {
    let dir = common::scratch_dir("script-stdin");
    let (script, from_file, from_stdin) =
        (dir.path().join("e.edits"), dir.path().join("file.bin"), dir.path().join("stdin.bin"));
    let edits = "set units[0].name \"renamed\"\n";
    std::fs::write(&script, edits).unwrap();
    let blob = "samples/vm.state.bin";
    let run = |script: &str, out: &Path, stdin: Option<&[u8]>| {
        common::statescope(&["patch", blob, "--script", script, "-o", out.to_str().unwrap()], stdin)
    };
    let file_run = run(script.to_str().unwrap(), &from_file, None);
    assert!(file_run.status.success(), "{}", String::from_utf8_lossy(&file_run.stderr));
    let stdin_run = run("-", &from_stdin, Some(edits.as_bytes()));
    assert!(stdin_run.status.success(), "{}", String::from_utf8_lossy(&stdin_run.stderr));
    let edited = std::fs::read(&from_stdin).unwrap();
    assert_eq!(edited, std::fs::read(&from_file).unwrap());
    assert_ne!(edited, std::fs::read(blob).unwrap(), "the edit was applied");
    // Standard input can be the blob or the script, not both; a script must be UTF-8.
    let both = common::statescope(&["patch", "-", "--script", "-", "-o", "-"], Some(edits.as_bytes()));
    assert_eq!(both.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&both.stderr).contains("cannot both be standard input"));
    let not_utf8 = run("-", &dir.path().join("bad.bin"), Some(b"set units[0].name \"\xff\"\n"));
    assert_eq!(not_utf8.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&not_utf8.stderr).contains("not UTF-8 text (byte 19)"));
    assert!(!dir.path().join("bad.bin").exists(), "nothing is written");
}

/// What a document says about every node and problem, types by name: an edit's document,
/// decoded again only where the edit was, must say what a whole decode of its bytes says.
fn fingerprint(doc: &Document) -> Vec<String> {
    let nodes = (0..doc.node_count()).map(|i| {
        let id = NodeId::from_index(i);
        let node = doc.node(id);
        let ty = node.ty.map(|t| doc.type_name(t).to_owned());
        // Its parent and children as asked for alone: their ids are read without the
        // whole node, and must move with the edits before them as the node's do.
        let (parent, children) = (doc.parent(id), doc.children(id).collect::<Vec<_>>());
        format!("{node:?} {ty:?} {parent:?} {children:?}").replace(&format!("ty: {:?}", node.ty), "")
    });
    let problems = doc.problems().iter().map(|p| format!("{:?} {} {}", p.node, p.offset, p.kind.describe(doc)));
    nodes.chain(problems).collect()
}

#[test]
fn edits_that_move_the_ids_after_them_read_as_a_whole_decode() {
    // Values taken out of units and grown, one unit after another and back: each edit
    // moves the ids and bytes of every node after its unit, left pending on them.
    let mut editor = Editor::new(open(statescope::samples::VM_STATE));
    let ops = [
        "delete units[4].state.ier",
        "delete units[0].state.offset_from_host",
        "set units[1].state.last 1",
        "delete units[4].state.tx_buffer",
        "set units[0].state.vmtime 18446744073709551615",
        "delete units[4].state.lcr",
    ];
    for op in ops {
        let nodes = editor.doc().node_count();
        editor.apply(EditOp::parse(op).unwrap()).unwrap_or_else(|e| panic!("{op}: {e}"));
        assert!(editor.doc().node_count() != nodes || op.starts_with("set"), "{op} takes nodes out");
        assert_eq!(fingerprint(editor.doc()), fingerprint(&open(editor.doc().bytes())), "after {op}");
    }
    while editor.undo() {
        assert_eq!(fingerprint(editor.doc()), fingerprint(&open(editor.doc().bytes())));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(120))]

    #[test]
    fn an_edits_document_is_what_a_whole_decode_gives(seed in any::<u64>(), steps in 1usize..10) {
        let mut editor = Editor::new(open(statescope::samples::VM_STATE));
        let mut rng = statescope::Rng::new(seed);
        for i in 0..steps {
            // A value set inside one unit (decoded again alone), or any of mutate's changes.
            let leaves: Vec<NodeId> = below_root(editor.doc())
                .filter(|&id| editor.doc().node(id).kind == NodeKind::Scalar && editor.doc().field_info(id).is_some())
                .collect();
            let pick = leaves[(seed as usize).wrapping_add(i * 7919) % leaves.len()];
            let kind = editor.doc().field_info(pick).unwrap().kind.clone();
            let op = match (i % 2, value_for(&kind, seed.rotate_left(i as u32))) {
                (0, Some(value)) => EditOp::parse(&format!("set {} {value}", editor.doc().path_of(pick))).ok(),
                _ => statescope::plan_mutation(editor.doc(), &mut rng, i).map(|m| m.op),
            };
            let Some(op) = op else { continue };
            if editor.apply(op).is_err() {
                continue;
            }
            let (got, want) = (fingerprint(editor.doc()), fingerprint(&open(editor.doc().bytes())));
            let first = got.iter().zip(&want).position(|(a, b)| a != b);
            prop_assert!(got == want, "after {}: {:?} / {:?}", editor.script(), first.map(|i| &got[i]), first.map(|i| &want[i]));
        }
        while editor.undo() {
            prop_assert_eq!(fingerprint(editor.doc()), fingerprint(&open(editor.doc().bytes())));
        }
    }
}

#[test]
fn every_value_of_the_real_state_set_reads_as_a_whole_decode_reads_it() {
    let Some(openvmm) = common::openvmm() else { return };
    let decoder = common::openvmm_decoder(&openvmm);
    let once = std::fs::read(openvmm.join("state.bin")).unwrap();
    // Once, and three times over: every unit name is then taken again, a problem on each
    // unit of the later copies, which move with the edits before them.
    for state in [once.clone(), once.repeat(3)] {
        set_every_value(&decoder, state);
    }
}

fn set_every_value(decoder: &Decoder, state: Vec<u8>) {
    let mut editor = Editor::new(decoder.decode(Source::new(state.clone())));
    let scalars: Vec<String> = below_root(editor.doc())
        .filter(|&id| editor.doc().node(id).kind == NodeKind::Scalar && editor.doc().field_info(id).is_some())
        .map(|id| editor.doc().path_of(id).to_string())
        .collect();
    let mut set = 0;
    for (i, path) in scalars.iter().enumerate() {
        let Ok(id) = editor.doc().resolve(path) else {
            continue;
        };
        let kind = editor.doc().field_info(id).unwrap().kind.clone();
        // Values of every size: the field, and the lengths around it, grow and shrink.
        let Some(value) = value_for(&kind, [0, 1, 300, u64::MAX / 3][i % 4]) else { continue };
        if editor.apply(EditOp::parse(&format!("set {path} {value}")).unwrap()).is_err() {
            continue;
        }
        set += 1;
        let whole = decoder.decode(Source::new(editor.doc().bytes().to_vec()));
        assert_eq!(fingerprint(editor.doc()), fingerprint(&whole), "set {path} {value}");
    }
    assert!(set > 100, "only {set} values were set");
    while editor.undo() {}
    assert_eq!(editor.doc().bytes(), &state[..]);
    assert_eq!(fingerprint(editor.doc()), fingerprint(&decoder.decode(Source::new(state))));
}
