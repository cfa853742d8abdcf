//! `statescope diff`: blobs re-encoded by Google's encoder (`protoc --encode`, from the
//! text format with every Any expanded) and reordered compare equal; changes made through
//! that independent encoder, one inside an Any inside an Any, are reported exactly; a random
//! single edit made with statescope's editor is reported at exactly its path.

mod common;

use std::sync::Arc;

use common::{protoc, statescope, stdout};
use statescope::{Decoder, Editor, NodeId, NodeKind, Rng, Schema, SchemaSources, Source};

/// The blob re-encoded by protoc from statescope's text format (every Any expanded).
fn reencoded(blob: &[u8], root: &str, schema_args: &[&str], sets: &str, edit: impl Fn(String) -> String) -> Vec<u8> {
    let out = statescope(&[&["show", "--format", "text", "--type", root, "-"][..], schema_args].concat(), Some(blob));
    assert!(out.status.success());
    let text = edit(stdout(&out));
    protoc(&[&format!("--encode={root}"), &format!("--descriptor_set_in={sets}")], text.as_bytes())
}

/// The blob's top-level fields (its units) in reverse order.
fn units_reversed(blob: &[u8]) -> Vec<u8> {
    let mut fields = Vec::new();
    let mut pos = 0;
    while pos < blob.len() {
        let (mut len, mut shift, mut at) = (0usize, 0, pos + 1);
        loop {
            let b = blob[at];
            len |= usize::from(b & 0x7f) << shift;
            at += 1;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        fields.push(&blob[pos..at + len]);
        pos = at + len;
    }
    fields.into_iter().rev().flatten().copied().collect()
}

/// Runs `diff` on two blobs written to files; returns the exit code and the output.
fn diff(a: &[u8], b: &[u8], extra: &[&str]) -> (Option<i32>, String) {
    let dir = common::scratch_dir("diff");
    let (pa, pb) = (dir.path().join("a.bin"), dir.path().join("b.bin"));
    std::fs::write(&pa, a).unwrap();
    std::fs::write(&pb, b).unwrap();
    let out = statescope(&[&["diff", pa.to_str().unwrap(), pb.to_str().unwrap()][..], extra].concat(), None);
    (out.status.code(), stdout(&out))
}

const SAMPLE: [&str; 2] = ["--type", statescope::samples::ROOT_TYPE];

#[test]
fn a_reordered_blob_written_by_another_encoder_is_equal() {
    let sets = common::sample_descriptor_sets();
    let original = statescope::samples::VM_STATE;
    let other = units_reversed(&reencoded(original, statescope::samples::ROOT_TYPE, &[], &sets, |t| t));
    assert_ne!(other, original, "the bytes differ");
    assert_eq!(diff(original, &other, &SAMPLE), (Some(0), String::new()));
}

#[test]
fn changes_made_through_protoc_are_reported_exactly() {
    let sets = common::sample_descriptor_sets();
    let original = statescope::samples::VM_STATE;
    let changed = reencoded(original, statescope::samples::ROOT_TYPE, &[], &sets, |text| {
        let text = text.replacen("lun: 2\n", "lun: 3\n", 1); // inside an Any inside an Any
        let text = text.replacen("      last: 12345678901234\n", "", 1);
        let text = text.replacen("redirection_entries: 65540\n", "redirection_entries: 7\n", 1);
        text.replacen("STATESCOPE-DEMO!", "STATESCOPE-TEST!", 1)
    });
    let (code, out) = diff(original, &changed, &SAMPLE);
    assert_eq!(code, Some(1));
    let paths: Vec<&str> = out.lines().map(|l| l.split(": ").next().unwrap()).collect();
    assert_eq!(
        paths,
        [
            "units[1].state.last",
            "units[2].state.redirection_entries[4]",
            "units[3].state.cmos",
            "units[7].state.channel.drives[0].path.lun"
        ],
        "{out}"
    );
    assert!(out.contains("units[1].state.last: removed 12345678901234"), "{out}");
    assert!(out.contains("units[2].state.redirection_entries[4]: changed 65540 → 7"), "{out}");
    assert!(out.contains("; value bytes 75..76, 77..79 differ)"), "DEMO → TEST, where they differ: {out}");
    assert!(out.contains("units[7].state.channel.drives[0].path.lun: changed 2 → 3"), "{out}");
    // Left out on request, counted per unit, or as JSON.
    let (_, ignored) = diff(original, &changed, &[&SAMPLE[..], &["--ignore", "units[*].state.c*"]].concat());
    assert_eq!(ignored.lines().count(), 2, "{ignored}");
    let (_, stat) = diff(original, &changed, &[&SAMPLE[..], &["--stat"]].concat());
    assert!(stat.contains("units[7] (storvsp:ba6163d9-04a1-4d29-b605-72e2ffb1dc7f): 1 changed, 0 added"), "{stat}");
    let (_, json) = diff(original, &changed, &[&SAMPLE[..], &["--format", "json"]].concat());
    let first: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(first["path"], "units[1].state.last");
    assert_eq!(first["change"], "removed");
}

#[test]
fn the_real_state_reordered_and_reencoded_is_equal() {
    let Some(openvmm) = common::openvmm() else { return };
    let dir = common::scratch_dir("diff-set");
    let set = common::openvmm_descriptor_set(&openvmm, dir.path());
    let set = set.to_str().unwrap();
    let original = std::fs::read(openvmm.join("state.bin")).unwrap();
    let schema = ["--descriptor-set", set];
    let other = units_reversed(&reencoded(&original, "openvmm.SavedState", &schema, set, |t| t));
    let args = [&schema[..], &["--type", "openvmm.SavedState"]].concat();
    assert_eq!(diff(&original, &other, &args), (Some(0), String::new()));
    let changed = reencoded(&original, "openvmm.SavedState", &schema, set, |t| t.replacen("vmtime: ", "vmtime: 1", 1));
    let (code, out) = diff(&original, &changed, &args);
    assert_eq!((code, out.lines().count()), (Some(1), 1), "{out}");
    assert!(out.starts_with("units[0].state.vmtime: changed "), "{out}");
}

#[test]
fn a_random_single_edit_is_reported_at_its_path() {
    let schema = Arc::new(Schema::load(&SchemaSources::default()).unwrap());
    let root = schema.pool.get_message_by_name(statescope::samples::ROOT_TYPE);
    let decoder = Decoder::new(schema, root);
    let original = decoder.decode(Source::new(statescope::samples::VM_STATE.to_vec()));
    // Every scalar leaf (not a unit name: that is how units are matched).
    let leaves: Vec<NodeId> = NodeId::ROOT
        .up_to(original.end())
        .filter(|&id| original.node(id).kind == NodeKind::Scalar && original.field_info(id).is_some())
        .collect();
    let mut rng = Rng::new(11);
    for _ in 0..40 {
        let id = leaves[rng.below(leaves.len())];
        let path = original.path_of(id).to_string();
        let value = original.scalar(id).unwrap().to_string();
        let new = if value == "true" {
            "false".to_owned()
        } else if value == "0" || value == "false" {
            "1".to_owned()
        } else {
            "0".to_owned()
        };
        let mut editor = Editor::new(decoder.decode(Source::new(statescope::samples::VM_STATE.to_vec())));
        editor.apply_script(&format!("set {path} {new}")).unwrap_or_else(|e| panic!("set {path} {new}: {e:?}"));
        let (code, out) = diff(statescope::samples::VM_STATE, editor.doc().bytes(), &SAMPLE);
        assert_eq!(code, Some(1), "{path}");
        let reported: Vec<&str> = out.lines().map(|l| l.split(": ").next().unwrap()).collect();
        assert_eq!(reported, [path.as_str()], "set {path} {new}:\n{out}");
    }
}
