//! Differential test of editing against protoc: a schema-aware edit gives the same message
//! as making the same change through protoc's text format (`protoc --decode`, change the
//! line, `protoc --encode`), with each Any payload on the way decoded, changed and
//! re-encoded by protoc too. The two results are compared as messages, by protoc.

mod common;

use common::{protoc, statescope, stdout};
use statescope::{c_escape, unescape};

/// Finds the line of `segments` (`name` or `name[i]`) in protoc's text output, within
/// lines `[start, end)` at `depth`. Returns the line index and, for a block, its end.
fn find(lines: &[String], segments: &[&str], mut start: usize, mut end: usize) -> (usize, usize) {
    for (depth, segment) in segments.iter().enumerate() {
        let (name, index) = match segment.split_once('[') {
            Some((n, i)) => (n, i.trim_end_matches(']').parse::<usize>().unwrap()),
            None => (*segment, 0),
        };
        let indent = "  ".repeat(depth);
        let mut seen = 0;
        let found = (start..end)
            .find(|&i| {
                let Some(rest) = lines[i].strip_prefix(&indent) else { return false };
                let hit = rest.starts_with(&format!("{name} {{")) || rest.starts_with(&format!("{name}: "));
                if hit && !rest.starts_with(' ') {
                    seen += 1;
                    return seen == index + 1;
                }
                false
            })
            .unwrap_or_else(|| panic!("`{segment}` not in protoc's text:\n{}", lines[start..end].join("\n")));
        if depth + 1 == segments.len() {
            let close = if lines[found].ends_with('{') {
                (found..end).find(|&i| lines[i] == format!("{indent}}}")).unwrap()
            } else {
                found
            };
            return (found, close);
        }
        let close = (found..end).find(|&i| lines[i] == format!("{indent}}}")).unwrap();
        start = found + 1;
        end = close;
    }
    unreachable!("segments is not empty")
}

/// Changes `chain[0]`'s field to `value` in `bytes` (a `type_name` message) the protoc way.
/// `chain` is the path split at each Any: every part but the last names an Any, whose
/// payload type follows it.
fn protoc_set(bytes: &[u8], type_name: &str, chain: &[(Vec<String>, String)], value: &str, sets: &str) -> Vec<u8> {
    let text =
        String::from_utf8(protoc(&[&format!("--decode={type_name}"), &format!("--descriptor_set_in={sets}")], bytes))
            .unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let (segments, inner_type) = &chain[0];
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let (at, close) = find(&lines, &segments, 0, lines.len());
    let indent = "  ".repeat(segments.len() - 1);
    if chain.len() == 1 {
        let name = segments.last().unwrap().split('[').next().unwrap();
        lines[at] = format!("{indent}{name}: {value}");
    } else {
        let value_line =
            (at..close).find(|&i| lines[i].trim_start().starts_with("value: \"")).expect("the Any has a value");
        let quoted = lines[value_line].trim_start().strip_prefix("value: ").unwrap();
        let payload = unescape(&quoted[1..quoted.len() - 1]).unwrap();
        let changed = protoc_set(&payload, inner_type, &chain[1..], value, sets);
        let mut escaped = String::new();
        c_escape(&changed, &mut escaped);
        lines[value_line] = format!("{}  value: \"{escaped}\"", indent);
    }
    protoc(
        &[&format!("--encode={type_name}"), &format!("--descriptor_set_in={sets}")],
        (lines.join("\n") + "\n").as_bytes(),
    )
}

/// The blob an edit is made to: its file, root type, and schema for statescope and protoc.
struct Subject<'a> {
    blob: &'a std::path::Path,
    root: &'a str,
    schema_args: &'a [&'a str],
    sets: &'a str,
}

fn check_edit(subject: &Subject, path: &str, value: &str, protoc_value: &str) {
    let Subject { blob, root, schema_args, sets } = *subject;
    let scratch = common::scratch_dir("editdiff");
    let dir = scratch.path();
    let ours = dir.join("ours.bin");
    let assignment = format!("{path}={value}");
    let mut args = vec!["set", "--type", root, blob.to_str().unwrap(), &assignment, "-o", ours.to_str().unwrap()];
    args.extend_from_slice(schema_args);
    let out = statescope(&args, None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // Split the path at each Any, with the payload type of each (read from the blob).
    let segments: Vec<String> = path.split('.').map(str::to_owned).collect();
    let mut chain = Vec::new();
    let mut part = Vec::new();
    for (i, segment) in segments.iter().enumerate() {
        part.push(segment.clone());
        let prefix = segments[..=i].join(".");
        let mut type_args = vec!["get", "--type", root, blob.to_str().unwrap()];
        let url_path = format!("{prefix}.@type");
        type_args.push(&url_path);
        type_args.extend_from_slice(schema_args);
        let got = statescope(&type_args, None);
        if got.status.success() && i + 1 < segments.len() {
            let url = stdout(&got).trim().to_owned();
            let inner = url.rsplit('/').next().unwrap().to_owned();
            chain.push((std::mem::take(&mut part), inner));
        }
    }
    chain.push((part, String::new()));
    let original = std::fs::read(blob).unwrap();
    let theirs = protoc_set(&original, root, &chain, protoc_value, sets);

    let decode = |bytes: &[u8]| protoc(&[&format!("--decode={root}"), &format!("--descriptor_set_in={sets}")], bytes);
    let ours_bytes = std::fs::read(&ours).unwrap();
    let (a, b) = (String::from_utf8(decode(&ours_bytes)).unwrap(), String::from_utf8(decode(&theirs)).unwrap());
    if a != b {
        let first = a.lines().zip(b.lines()).position(|(x, y)| x != y).unwrap_or(0);
        panic!(
            "`set {path}={value}` differs from the protoc text route at line {first}:\nours:   {}\nprotoc: {}",
            a.lines().nth(first).unwrap_or("").chars().take(300).collect::<String>(),
            b.lines().nth(first).unwrap_or("").chars().take(300).collect::<String>()
        );
    }
    assert_ne!(ours_bytes, original, "the edit changed something");
}

#[test]
fn sample_edits_match_protoc() {
    let blob = common::root().join("samples/vm.state.bin");
    let sets = common::sample_descriptor_sets();
    let subject = Subject { blob: &blob, root: statescope::samples::ROOT_TYPE, schema_args: &[], sets: &sets };
    for (path, value, protoc_value) in [
        ("units[7].state.channel.drives[0].path.lun", "9", "9"),
        ("units[6].state.vps[0].data.registers.rip", "0xffffffff81000010", "18446744071578845200"),
        ("units[0].state.offset_from_host", "-7", "-7"),
        ("units[1].state.timers.field1[0].cr", "4242", "4242"),
        ("units[6].state.vps[1].data.apic.registers[2]", "99", "99"),
        ("units[0].name", "hello world", "\"hello world\""),
        ("units[5].state.capabilities[0].field2.address", "0xfee01000", "4276097024"),
    ] {
        check_edit(&subject, path, value, protoc_value);
    }
}

#[test]
fn real_openvmm_edits_match_protoc() {
    let Some(openvmm) = common::openvmm() else { return };
    let scratch = common::scratch_dir("editdiff-set");
    let dir = scratch.path();
    let set = common::openvmm_descriptor_set(&openvmm, dir);
    let set = set.to_str().unwrap();
    let blob = openvmm.join("state.bin");
    let subject =
        Subject { blob: &blob, root: "openvmm.SavedState", schema_args: &["--descriptor-set", set], sets: set };
    for (path, value, protoc_value) in [
        ("units[2].state.last", "99", "99"),
        ("units[8].state.vps[0].data.registers.rip", "0xffffffff81000010", "18446744071578845200"),
        ("units[4].state.cmos", "00", "\"\\000\""),
    ] {
        check_edit(&subject, path, value, protoc_value);
    }
}
