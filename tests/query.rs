//! One path language everywhere: `[*]`, `[field=value]` and whole repeated fields in `get`,
//! `show --path` and `set`; queries over many files; absent scalars read as their default;
//! a mistyped name says what is near.

mod common;

use common::{statescope, stdout};

const TY: [&str; 2] = ["--type", statescope::samples::ROOT_TYPE];

fn get(args: &[&str]) -> (Option<i32>, String, String) {
    let out = statescope(&[&["get"][..], args, &TY].concat(), None);
    (out.status.code(), stdout(&out), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn selectors_pick_elements_by_index_star_and_key() {
    let s = "samples/vm.state.bin";
    let (_, names, _) = get(&[s, "units[*].name"]);
    assert_eq!(names.lines().count(), 8, "{names}");
    assert!(names.starts_with("samples/vm.state.bin\tunits[0].name\tvmtime\n"), "{names}");
    assert_eq!(get(&[s, "units[name=pit].state.last"]).1, "12345678901234\n");
    assert_eq!(get(&[s, "units"]).1.lines().count(), 8, "a repeated field without an index is all of it");
    let (_, packed, _) = get(&[s, "units[2].state.redirection_entries"]);
    assert_eq!(packed.lines().take(2).collect::<Vec<_>>(), ["65536", "65537"], "a packed run prints its values");
    // A scalar the blob leaves out reads as its default, said to be absent.
    let (code, value, err) = get(&[s, "units[7].state.channel.drives[0].path.target"]);
    assert_eq!((code, value.as_str()), (Some(0), "0\n"));
    assert!(err.contains("is absent: it reads as its proto3 default"), "{err}");
    // A mistyped name says what is near.
    let (code, _, err) = get(&[s, "units[0].state.ofset_from_host"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("did you mean `offset_from_host`?"), "{err}");
}

#[test]
fn a_query_over_many_files_prints_a_table() {
    let dir = common::scratch_dir("query");
    let other = dir.path().join("other.bin");
    let set = statescope(
        &[&["set", "samples/vm.state.bin", "units[name=pit].state.last=7", "-o", other.to_str().unwrap()][..], &TY]
            .concat(),
        None,
    );
    assert!(set.status.success(), "{}", String::from_utf8_lossy(&set.stderr));
    let (_, table, _) = get(&["units[name=pit].state.last", "samples/vm.state.bin", other.to_str().unwrap()]);
    let rows: Vec<Vec<&str>> = table.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0][2], rows[1][2]), ("12345678901234", "7"));
    let (_, json, _) = get(&["units[name=pit].state.last", "samples/vm.state.bin", "--format", "json"]);
    let object: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(object["path"], "units[1].state.last");
}

#[test]
fn set_and_show_take_selectors_too() {
    let dir = common::scratch_dir("query-set");
    let out_file = dir.path().join("set.bin");
    let out = statescope(
        &[
            &[
                "set",
                "samples/vm.state.bin",
                "units[*].state.timers.field1[*].control=9",
                "-o",
                out_file.to_str().unwrap(),
            ][..],
            &TY,
        ]
        .concat(),
        None,
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("3 edit(s) applied"), "every match is set");
    let (_, values, _) = get(&[out_file.to_str().unwrap(), "units[*].state.timers.field1[*].control"]);
    assert!(values.lines().all(|l| l.ends_with("\t9")) && values.lines().count() == 3, "{values}");
    let shown =
        stdout(&statescope(&[&["show", "samples/vm.state.bin", "--path", "units[name=rtc]"][..], &TY].concat(), None));
    assert!(shown.starts_with("units[3]: sample.state_unit.SavedStateUnit\n  name: string = \"rtc\""), "{shown}");
}

#[test]
fn an_any_root_shows_its_payloads_fields_at_its_top_level_apart_from_its_own() {
    // An Any root: its payload (a field 5 the payload's type lacks) is shown in the root's
    // step, beside a field 5 of the Any itself.
    let url = b"type.googleapis.com/sample.chipset.cmos_rtc.SavedState";
    let mut any = [&[0x0a, url.len() as u8][..], url, &[0x12, 2, 0x28, 17]].concat();
    any.extend([0x28, 3]);
    let any_root =
        |args: &[&str]| stdout(&statescope(&[args, &["--type", "google.protobuf.Any"]].concat(), Some(&any)));
    assert_eq!(any_root(&["get", "-", "#5"]), "17\n", "the payload's field");
    assert_eq!(any_root(&["get", "-", "@#5"]), "3\n", "the Any's own field");
    // The payload passed through has no row of its own, at the top level as below it.
    let tree = any_root(&["show", "-"]);
    let rows: Vec<_> = tree.lines().filter(|l| !l.trim_start().starts_with(['!', '?'])).collect();
    assert_eq!(
        rows[1..],
        [
            "  @type: string = \"type.googleapis.com/sample.chipset.cmos_rtc.SavedState\"",
            "  #5: varint = 17 (0x11)",
            "  @#5: varint = 3"
        ],
        "{tree}"
    );
}
