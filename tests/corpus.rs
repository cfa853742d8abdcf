//! Corpus upkeep: `mutate --ops` picks the kinds, the manifest names each seed's problems,
//! and `corpus check` re-validates the seeds, naming the ones a schema change made stale.

mod common;

use common::{statescope, stdout};

#[test]
fn seeds_are_rechecked_and_a_schema_change_makes_them_stale() {
    let dir = common::scratch_dir("corpus");
    let seeds = dir.path().join("seeds");
    let ty = ["--type", statescope::samples::ROOT_TYPE];
    let out = statescope(
        &[
            &["mutate", "samples/vm.state.bin", "-n", "6", "--ops", "delete-required,unknown-type-url", "-o"][..],
            &[seeds.to_str().unwrap()],
            &ty,
        ]
        .concat(),
        None,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let manifest = std::fs::read_to_string(seeds.join("manifest.tsv")).unwrap();
    let kinds: Vec<&str> = manifest.lines().skip(1).map(|l| l.split('\t').nth(1).unwrap()).collect();
    assert_eq!(kinds, ["delete-required", "unknown-type-url"].repeat(3), "{manifest}");
    assert!(manifest.contains("\tmissing-required-field@units[5].state\t"), "problems are named: {manifest}");

    let out = statescope(&[&["corpus", "check", seeds.to_str().unwrap()][..], &ty].concat(), None);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("6 seed(s): 6 ok, 0 stale, 0 changed"), "{}", stdout(&out));

    // The next release renames vmtime's package: every seed holds a vmtime unit.
    let next = dir.path().join("next");
    std::fs::create_dir_all(&next).unwrap();
    for entry in std::fs::read_dir(common::root().join("samples/schema")).unwrap() {
        let path = entry.unwrap().path();
        let text =
            std::fs::read_to_string(&path).unwrap().replace("package sample.vmtime;", "package sample.vmtime.v2;");
        std::fs::write(next.join(path.file_name().unwrap()), text).unwrap();
    }
    let out = statescope(
        &[&["corpus", "check", seeds.to_str().unwrap(), "--proto-dir", next.to_str().unwrap()][..], &ty].concat(),
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("seed-0000-delete-required.bin\tstale\t"), "{text}");
    assert!(text.contains("6 seed(s): 0 ok, 6 stale"), "{text}");
}

#[test]
fn a_folder_of_seeds_and_an_unreadable_file_are_all_reported() {
    let dir = common::scratch_dir("triage");
    let seeds = dir.path().join("seeds");
    let ty = ["--type", statescope::samples::ROOT_TYPE];
    let out = statescope(
        &[&["mutate", "samples/vm.state.bin", "-n", "200", "-o", seeds.to_str().unwrap()][..], &ty].concat(),
        None,
    );
    assert!(out.status.success());
    std::fs::remove_file(seeds.join("manifest.tsv")).unwrap();
    let missing = dir.path().join("gone.bin");
    let args = [&["check", seeds.to_str().unwrap(), missing.to_str().unwrap()][..], &ty].concat();
    let out = statescope(&args, None);
    assert_eq!(out.status.code(), Some(2), "a file could not be read");
    let text = stdout(&out);
    let reported: std::collections::HashSet<&str> = text.lines().filter_map(|l| l.split(": ").next()).collect();
    assert_eq!(reported.len(), 200, "every seed has its lines");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("gone.bin") && stderr.contains("1 of 201 file(s) could not be read"), "{stderr}");
    // JSON: one object per finding, one summary per file; and the table.
    let out = statescope(&[&["check", seeds.to_str().unwrap(), "--format", "json"][..], &ty].concat(), None);
    let objects: Vec<serde_json::Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(objects.iter().filter(|o| o.get("summary").is_some()).count(), 200);
    assert!(objects.iter().any(|o| o["code"] == "missing-required-field" && o["path"].is_string()));
    let out = statescope(&[&["check", seeds.to_str().unwrap(), "--summary"][..], &ty].concat(), None);
    assert!(stdout(&out).contains("200 file(s): "), "{}", stdout(&out));
    assert!(stdout(&out).lines().any(|l| l.starts_with("missing-required-field")), "{}", stdout(&out));
}
