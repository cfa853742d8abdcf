//! No byte from the input reaches the terminal as something that acts on it: for blobs
//! whose names, type URLs, strings, unknown fields and payloads hold escape sequences,
//! OSC 52, C1 controls, bidi overrides and newlines, the real binary's `show`, `check` and
//! `get` print only text (and newlines between lines), and one problem stays one line.

mod common;

use proptest::prelude::*;
use statescope::write_varint;

/// What a terminal would act on: control characters other than the line break, and the
/// bidirectional and line-separator characters that reorder or break what is shown. An
/// oracle written apart from the one the tool uses.
fn acts_on_terminal(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(c as u32, 0x061c | 0x200e | 0x200f | 0x202a..=0x202e | 0x2066..=0x2069 | 0x2028 | 0x2029)
}

fn len_field(out: &mut Vec<u8>, number: u64, bytes: &[u8]) {
    write_varint(out, number << 3 | 2);
    write_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Text made of hostile pieces and ordinary ones.
fn hostile_text() -> impl Strategy<Value = Vec<u8>> {
    let pieces = prop_oneof![
        Just(b"\x1b[2J".to_vec()),
        Just(b"\x1b]52;c;aGVsbG8=\x07".to_vec()),
        Just(b"\x1b]0;pwned\x1b\\".to_vec()),
        Just("\u{202e}txt.exe".as_bytes().to_vec()),
        Just("\u{9b}31m".as_bytes().to_vec()),
        Just(b"\nfake.bin: ok\n".to_vec()),
        Just(b"\r\x08\x7f\x00".to_vec()),
        Just("gäst-α".as_bytes().to_vec()),
        Just(b"plain".to_vec()),
        any::<u8>().prop_map(|b| vec![b]),
    ];
    proptest::collection::vec(pieces, 1..6).prop_map(|p| p.concat())
}

/// The sample VM with one more unit: hostile name, hostile type URL (sometimes naming a
/// real type after the hostile host), a payload with a hostile string and unknown fields.
fn hostile_blob() -> impl Strategy<Value = Vec<u8>> {
    (hostile_text(), hostile_text(), hostile_text(), any::<bool>(), proptest::collection::vec(any::<u8>(), 0..24))
        .prop_map(|(name, host, string, real_type, noise)| {
            let mut url = host;
            url.extend_from_slice(if real_type { b"/sample.state_unit.SavedStateUnit" } else { b"/x.Y" });
            let mut payload = Vec::new();
            len_field(&mut payload, 1, &string);
            len_field(&mut payload, 77, &string);
            payload.extend_from_slice(&noise);
            let mut any = Vec::new();
            len_field(&mut any, 1, &url);
            len_field(&mut any, 2, &payload);
            let mut unit = Vec::new();
            len_field(&mut unit, 1, &name);
            len_field(&mut unit, 2, &any);
            let mut blob = statescope::samples::VM_STATE.to_vec();
            len_field(&mut blob, 1, &unit);
            blob
        })
}

fn assert_plain(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    if let Some(c) = text.chars().find(|&c| acts_on_terminal(c)) {
        panic!("{what} printed U+{:04X}:\n{text}", c as u32);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn show_check_and_get_print_only_text(blob in hostile_blob()) {
        let ty = ["--type", statescope::samples::ROOT_TYPE];
        let runs: [&[&str]; 5] = [
            &["show", "-"],
            &["check", "-"],
            &["get", "-", "units[8].name"],
            &["get", "-", "units[8].state.@type"],
            &["get", "-", "units[8].state"],
        ];
        for args in runs {
            let args: Vec<&str> = args.iter().chain(&ty).copied().collect();
            let out = common::statescope(&args, Some(&blob));
            assert!(out.status.code().is_some_and(|c| c <= 2), "{args:?} exited {:?}", out.status);
            assert_plain(&format!("{args:?} stdout"), &out.stdout);
            assert_plain(&format!("{args:?} stderr"), &out.stderr);
        }
        // One problem is one line: every check line names the file and a byte offset.
        let check = common::statescope(&["check", "-", "--type", statescope::samples::ROOT_TYPE], Some(&blob));
        for line in String::from_utf8_lossy(&check.stdout).lines() {
            prop_assert!(line.starts_with("standard input: "), "a forged line: {line}");
        }
    }
}

#[test]
fn a_hostile_type_url_is_escaped_where_it_is_shown() {
    // Text is shown as text (`gäst-α` as it is), only what acts on a terminal escaped.
    let mut any = Vec::new();
    len_field(&mut any, 1, b"\x1b]52;c;aGk=\x07evil/\xe2\x80\xaex.Y");
    len_field(&mut any, 2, &[0x08, 0x01]);
    let mut unit = Vec::new();
    len_field(&mut unit, 1, b"com1\x1b[2J");
    len_field(&mut unit, 2, &any);
    let mut blob = Vec::new();
    len_field(&mut blob, 1, &unit);
    let out = common::statescope(&["check", "-", "--type", statescope::samples::ROOT_TYPE], Some(&blob));
    let text = common::stdout(&out);
    assert!(text.contains(r"unknown saved state type `\x1b]52;c;aGk=\x07evil/\u{202e}x.Y`"), "{text}");
    let shown =
        common::stdout(&common::statescope(&["show", "-", "--type", statescope::samples::ROOT_TYPE], Some(&blob)));
    assert!(shown.contains(r#"name: string = "com1\x1b[2J""#), "{shown}");
}

#[test]
fn names_from_a_hostile_descriptor_set_are_escaped_too() {
    use prost::Message as _;
    use prost_reflect::prost_types::{
        self, DescriptorProto, FieldDescriptorProto, FileDescriptorProto, FileDescriptorSet,
    };
    // A schema whose message and field names carry escape sequences and a bidi override.
    let field = FieldDescriptorProto {
        name: Some("x\u{1b}]0;owned\u{7}".to_owned()),
        number: Some(1),
        r#type: Some(prost_types::field_descriptor_proto::Type::Uint32 as i32),
        label: Some(prost_types::field_descriptor_proto::Label::Optional as i32),
        ..Default::default()
    };
    let message = DescriptorProto { name: Some("M\u{202e}".to_owned()), field: vec![field], ..Default::default() };
    let file = FileDescriptorProto {
        name: Some("hostile.proto".to_owned()),
        package: Some("h\u{1b}[2J".to_owned()),
        message_type: vec![message],
        syntax: Some("proto3".to_owned()),
        ..Default::default()
    };
    let scratch = common::scratch_dir("hostile-schema");
    let dir = scratch.path();
    let set = dir.join("hostile.binpb");
    std::fs::write(&set, FileDescriptorSet { file: vec![file] }.encode_to_vec()).unwrap();
    let ty = "h\u{1b}[2J.M\u{202e}";
    for args in [["show", "-"], ["check", "-"]] {
        let out = common::statescope(
            &[&args[..], &["--descriptor-set", set.to_str().unwrap(), "--type", ty]].concat(),
            Some(&[0x08, 0x05, 0x10, 0x01]),
        );
        assert_plain(&format!("{args:?} stdout"), &out.stdout);
        assert_plain(&format!("{args:?} stderr"), &out.stderr);
        assert!(out.status.code().is_some_and(|c| c <= 2), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        if args[0] == "show" {
            assert!(common::stdout(&out).contains(r"  x\x1b]0;owned\x07: uint32 = 5"), "{}", common::stdout(&out));
        }
    }
}

#[test]
fn valid_utf8_is_shown_as_written_and_hostile_characters_escaped() {
    let mut unit = Vec::new();
    len_field(&mut unit, 1, "gäst-α \u{1b}[2J \u{1b}]52;c;aGk=\u{7} \u{202e}".as_bytes());
    let mut blob = Vec::new();
    len_field(&mut blob, 1, &unit);
    let ty = ["--type", statescope::samples::ROOT_TYPE];
    let shown = common::stdout(&common::statescope(&[&["show", "-"][..], &ty].concat(), Some(&blob)));
    assert!(shown.contains(r#"name: string = "gäst-α \x1b[2J \x1b]52;c;aGk=\x07 \u{202e}""#), "{shown}");
    // protoc's text format keeps its own escaping.
    let text =
        common::stdout(&common::statescope(&[&["show", "--format", "text", "-"][..], &ty].concat(), Some(&blob)));
    assert!(text.contains(r#"name: "g\303\244st-\316\261 \033[2J"#), "{text}");
}
