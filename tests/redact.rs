//! `statescope redact`: the copy is as long as the dump, decodes to the same paths and
//! checks the same; no byte of a redacted value survives anywhere; replacements are
//! consistent with a key; the dump itself is never touched.

mod common;

use std::sync::Arc;

use common::{statescope, stdout};
use statescope::{Decoder, Editor, Rng, Schema, SchemaSources, Source};

/// Redacts `blob` (written to a file) with `extra` flags; returns the copy and stderr.
fn redact(dir: &std::path::Path, blob: &[u8], extra: &[&str]) -> (Vec<u8>, String) {
    let (input, output) = (dir.join("dump.bin"), dir.join("shared.bin"));
    std::fs::write(&input, blob).unwrap();
    let out =
        statescope(&[&["redact", input.to_str().unwrap(), "-o", output.to_str().unwrap()][..], extra].concat(), None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read(&input).unwrap(), blob, "the dump is untouched");
    (std::fs::read(&output).unwrap(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The paths of a blob and the problem codes, as `show` and `check` see them (but the
/// likely causes: the finder's guesses depend on values).
fn shape(decoder: &Decoder, blob: &[u8]) -> (Vec<String>, Vec<(String, &'static str)>) {
    let doc = decoder.decode(Source::new(blob.to_vec()));
    let paths = statescope::NodeId::ROOT.up_to(doc.end()).map(|id| doc.path_of(id).label()).collect();
    let problems = doc
        .problems()
        .iter()
        .filter(|p| p.kind.code() != "likely-cause")
        .map(|p| (doc.path_of(p.node).label(), p.kind.code()))
        .collect();
    (paths, problems)
}

#[test]
fn the_real_state_redacted_keeps_its_shape_and_loses_its_secrets() {
    let Some(openvmm) = common::openvmm() else { return };
    let dir = common::scratch_dir("redact-real");
    let original = std::fs::read(openvmm.join("state.bin")).unwrap();
    let protos = openvmm.join("protos");
    let schema = ["--proto-dir", protos.to_str().unwrap()];
    let (shared, report) = redact(dir.path(), &original, &schema);
    assert_eq!(shared.len(), original.len());
    for secret in [&b"OPENVMM-HIDDEN!!"[..], b"TX:hello-openvmm", b"RX:ping", b"SIMP-VP0", b"QUEUED#1"] {
        assert!(!shared.windows(secret.len()).any(|w| w == secret), "{} survived", String::from_utf8_lossy(secret));
    }
    for kept in [&b"partition"[..], b"type.googleapis.com/chipset.cmos_rtc.SavedState"] {
        assert!(shared.windows(kept.len()).any(|w| w == kept), "unit names and type URLs stay");
    }
    assert!(report.contains("units[*].state.cmos"), "{report}");
    let check =
        |blob: &std::path::Path| stdout(&statescope(&[&["check", blob.to_str().unwrap()][..], &schema].concat(), None));
    assert_eq!(
        check(&dir.path().join("shared.bin")).replace("shared.bin", "x"),
        check(&dir.path().join("dump.bin")).replace("dump.bin", "x")
    );
    // diff says only values changed.
    let out =
        statescope(
            &[
                &[
                    "diff",
                    dir.path().join("dump.bin").to_str().unwrap(),
                    dir.path().join("shared.bin").to_str().unwrap(),
                ][..],
                &schema,
            ]
            .concat(),
            None,
        );
    assert!(stdout(&out).lines().all(|l| l.contains(": changed ")), "{}", stdout(&out));
}

#[test]
fn a_key_makes_replacements_consistent_across_files_and_a_policy_decides() {
    let dir = common::scratch_dir("redact-key");
    let key = dir.path().join("key");
    std::fs::write(&key, b"support-ticket-4711").unwrap();
    let keyed = ["--key", key.to_str().unwrap(), "--type", statescope::samples::ROOT_TYPE];
    let (a, _) = redact(dir.path(), statescope::samples::VM_STATE, &keyed);
    let (b, _) = redact(dir.path(), statescope::samples::VM_STATE, &keyed);
    assert_eq!(a, b, "the same key, the same replacements");
    let policy = dir.path().join("policy");
    std::fs::write(
        &policy,
        "# the buffers stay, the vmtime offset goes\nkeep units[*].state.tx_buffer\nredact field:offset_from_host\n",
    )
    .unwrap();
    let (c, report) = redact(
        dir.path(),
        statescope::samples::VM_STATE,
        &[&keyed[..], &["--policy", policy.to_str().unwrap()]].concat(),
    );
    assert!(c.windows(7).any(|w| w == b"login: "), "kept by the policy");
    assert!(report.contains("units[*].state.offset_from_host"), "{report}");
}

#[test]
fn random_blobs_redact_to_the_same_length_and_shape() {
    let schema = Arc::new(Schema::load(&SchemaSources::default()).unwrap());
    let root = schema.pool.get_message_by_name(statescope::samples::ROOT_TYPE);
    let decoder = Decoder::new(schema, root);
    let dir = common::scratch_dir("redact-property");
    let mut rng = Rng::new(21);
    for index in 0..32 {
        // A mutated sample: damaged or odd in one place, as a customer dump may be.
        let mut editor = Editor::new(decoder.decode(Source::new(statescope::samples::VM_STATE.to_vec())));
        if let Some(m) = statescope::plan_mutation(editor.doc(), &mut rng, index) {
            let _ = editor.apply(m.op);
        }
        let blob = editor.doc().bytes().to_vec();
        let (shared, _) = redact(dir.path(), &blob, &["--type", statescope::samples::ROOT_TYPE]);
        assert_eq!(shared.len(), blob.len(), "mutation {index}");
        assert_eq!(shape(&decoder, &shared), shape(&decoder, &blob), "mutation {index}: the same paths and problems");
    }
}
