//! Hostile paths and hostile files, one test per finding of the safety review: writes go
//! only to regular files and never over what was read, temporary files cannot be hijacked,
//! metadata survives a replace, nothing unbounded is read, and nothing hangs. Every test
//! checks that the original files, links and nodes are unchanged afterwards.

mod common;

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{statescope, stdout};

const SAMPLE: &str = "samples/vm.state.bin";

/// A fresh folder for one test, removed when dropped.
fn folder(name: &str) -> tempfile::TempDir {
    common::scratch_dir(&format!("safety-{name}"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `statescope set SAMPLE units[0].name=x -o OUT [extra…]`.
fn set_to(out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["set", SAMPLE, "units[0].name=x", "-o", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    statescope(&args, None)
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Says on stderr, past the test harness's capture, that a check was skipped and why.
fn skip(what: &str) {
    use std::io::Write;
    let _ = std::io::stderr().write_all(format!("note: skipped: {what}\n").as_bytes());
}

#[test]
fn output_to_a_link_to_the_input_is_refused_by_both_names() {
    let scratch = folder("link-to-input");
    let dir = scratch.path();
    let (input, link) = (dir.join("in.bin"), dir.join("link.bin"));
    std::fs::copy(SAMPLE, &input).unwrap();
    std::os::unix::fs::symlink("in.bin", &link).unwrap();
    let out = statescope(&["set", input.to_str().unwrap(), "units[0].name=x", "-o", link.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    let said = format!("{} (the same file as {}) is a file this command read", link.display(), input.display());
    assert!(stderr(&out).contains(&said), "{}", stderr(&out));
    assert_eq!(std::fs::read(&input).unwrap(), std::fs::read(SAMPLE).unwrap(), "the input is untouched");
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link stays a link");
}

#[test]
fn output_to_a_fifo_a_folder_or_a_device_is_refused_and_they_stay() {
    let scratch = folder("special");
    let dir = scratch.path();
    let fifo = dir.join("fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let out = set_to(&fifo, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is a FIFO, not a regular file"), "{}", stderr(&out));
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo(), "the FIFO is still a FIFO");

    let out = set_to(dir, &["--force"]);
    assert!(stderr(&out).contains("is a folder, not a regular file"), "{}", stderr(&out));

    // A device node of our own (like /dev/null), made only where we may.
    let null = dir.join("null");
    if is_root() && Command::new("mknod").arg(&null).args(["c", "1", "3"]).status().unwrap().success() {
        let out = set_to(&null, &["--force"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr(&out).contains("is a character device"), "{}", stderr(&out));
        assert!(std::fs::metadata(&null).unwrap().file_type().is_char_device(), "the device node stays");
    } else {
        skip("device node output: making one needs root");
    }
}

#[test]
fn a_symlink_is_written_through_and_stays_a_link_unless_refused() {
    let scratch = folder("symlink");
    let dir = scratch.path();
    let target = dir.join("target.bin");
    std::fs::write(&target, b"old").unwrap();
    let link = dir.join("link.bin");
    std::os::unix::fs::symlink("target.bin", &link).unwrap();
    let out = set_to(&link, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("through the link"), "{}", stderr(&out));
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link is not replaced");
    assert_ne!(std::fs::read(&target).unwrap(), b"old", "its target got the bytes");

    std::fs::write(&target, b"old").unwrap();
    let out = set_to(&link, &["--no-follow"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is a symbolic link; not followed"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&target).unwrap(), b"old");
}

#[test]
fn planted_temporary_names_do_not_redirect_the_write() {
    let scratch = folder("hijack");
    let dir = scratch.path();
    let victim = dir.join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    // The names the old writer used for the next pids: all links to the victim.
    let me = std::process::id();
    for pid in me..me + 2000 {
        let _ = std::os::unix::fs::symlink(&victim, dir.join(format!(".out.bin.statescope-{pid}.tmp")));
    }
    let out_file = dir.join("out.bin");
    let out = set_to(&out_file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious", "the planted links were not followed");
    assert!(std::fs::symlink_metadata(&out_file).unwrap().file_type().is_file(), "out.bin is a regular file");
}

#[test]
fn a_temporary_file_left_by_a_killed_save_is_removed_by_the_next() {
    let scratch = folder("stale");
    let dir = scratch.path();
    let stale = dir.join(".out.bin.statescope-4194303-abcdef.tmp");
    std::fs::write(&stale, vec![0u8; 4096]).unwrap();
    let out = set_to(&dir.join("out.bin"), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stale.exists(), "the leftover of a process that is gone was removed");
    let left: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(left, [std::ffi::OsString::from("out.bin")], "and this save left nothing behind");
}

#[test]
fn force_keeps_mode_owner_and_attributes_and_says_when_hard_links_part() {
    let scratch = folder("force");
    let dir = scratch.path();
    let input = dir.join("dump.bin");
    std::fs::copy(SAMPLE, &input).unwrap();
    std::fs::set_permissions(&input, std::fs::Permissions::from_mode(0o600)).unwrap();
    let attributes = xattr::set(&input, "user.statescope.test", b"kept").is_ok();
    let other = dir.join("other-name.bin");
    std::fs::hard_link(&input, &other).unwrap();
    let before = std::fs::metadata(&input).unwrap();

    let path = input.to_str().unwrap();
    let out = statescope(&["set", path, "units[0].name=edited", "-o", path], None);
    assert_eq!(out.status.code(), Some(2), "the input is not replaced without --force");
    assert_eq!(std::fs::read(&input).unwrap(), std::fs::read(SAMPLE).unwrap());
    let out = statescope(&["set", path, "units[0].name=edited", "-o", path, "--force"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("had 2 hard links"), "a broken hard link is said: {}", stderr(&out));

    let after = std::fs::metadata(&input).unwrap();
    assert_eq!(after.mode() & 0o7777, 0o600, "a private dump stays private");
    assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
    if attributes {
        assert_eq!(xattr::get(&input, "user.statescope.test").unwrap().as_deref(), Some(&b"kept"[..]));
    } else {
        skip("extended attributes: the temporary folder's file system takes no user attributes");
    }
    assert_eq!(std::fs::read(&other).unwrap(), std::fs::read(SAMPLE).unwrap(), "the other name keeps the old bytes");
}

#[test]
fn a_new_output_file_gets_the_usual_mode() {
    let scratch = folder("mode");
    let dir = scratch.path();
    let out_file = dir.join("new.bin");
    assert!(set_to(&out_file, &[]).status.success());
    let mode = std::fs::metadata(&out_file).unwrap().mode() & 0o777;
    assert_eq!(mode & 0o600, 0o600, "readable and writable by its owner: {mode:o}");
    assert_eq!(mode & 0o022, 0, "not writable by others under the usual umask: {mode:o}");
}

#[test]
fn output_to_standard_output_says_so() {
    let out = statescope(&["set", SAMPLE, "units[0].name=x", "-o", "-"], None);
    assert!(out.status.success());
    assert!(stderr(&out).contains("wrote standard output"), "{}", stderr(&out));
    assert_eq!(out.stdout.len(), std::fs::metadata(SAMPLE).unwrap().len() as usize - 5);
}

#[test]
fn mutate_never_writes_over_its_input_or_an_earlier_run() {
    let scratch = folder("mutate");
    let dir = scratch.path();
    let seeds = dir.join("seeds");
    let run = |seed: &Path, force: bool| {
        let mut args = vec!["mutate", seed.to_str().unwrap(), "-n", "20", "-o", seeds.to_str().unwrap()];
        if force {
            args.push("--force");
        }
        statescope(&args, None)
    };
    assert!(run(Path::new(SAMPLE), false).status.success());
    let manifest = std::fs::read(seeds.join("manifest.tsv")).unwrap();
    let out = run(Path::new(SAMPLE), false);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("already holds the seeds of an earlier run"), "{}", stderr(&out));
    assert_eq!(std::fs::read(seeds.join("manifest.tsv")).unwrap(), manifest, "the manifest is untouched");

    // A seed of the earlier run, mutated again into the same folder: it is an input.
    let seed = std::fs::read_dir(&seeds)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("seed-0000-"));
    let seed = seed.expect("the first seed");
    let original = std::fs::read(&seed).unwrap();
    let out = run(&seed, true);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is a file this command read"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&seed).unwrap(), original, "the seed it read is untouched");
}

#[test]
fn every_seed_differs_from_its_input() {
    let scratch = folder("seeds");
    let dir = scratch.path();
    let out = statescope(&["mutate", SAMPLE, "-n", "300", "--seed", "11", "-o", dir.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let original = std::fs::read(SAMPLE).unwrap();
    let same: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("seed-"))
        .filter(|e| std::fs::read(e.path()).unwrap() == original)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(same.is_empty(), "seeds identical to the input test nothing: {same:?}");
}

#[test]
fn deeply_nested_text_format_is_refused_not_a_stack_overflow() {
    let text = "units { state { ".repeat(2500);
    let out = statescope(&["encode", "--type", statescope::samples::ROOT_TYPE, "-", "-o", "-"], Some(text.as_bytes()));
    assert_eq!(out.status.code(), Some(2), "an error, not a crash: {}", stderr(&out));
    assert!(stderr(&out).contains("nests 5000 messages deep, more than --max-depth 100"), "{}", stderr(&out));
}

#[test]
fn unbounded_inputs_are_read_only_up_to_the_limit() {
    let out = statescope(&["show", "/dev/zero", "--max-input", "1M"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("holds more than 1048576 bytes (--max-input)"), "{}", stderr(&out));
    let out = statescope(&["check", "-", "--max-input", "1K"], Some(&[0u8; 4096]));
    assert!(stderr(&out).contains("standard input holds more than 1024 bytes"), "{}", stderr(&out));
    let out = statescope(&["types", "--proto", "/dev/zero"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not a regular file"), "{}", stderr(&out));
}

#[test]
fn a_fifo_in_a_schema_folder_is_refused_not_waited_on() {
    let scratch = folder("protofifo");
    let dir = scratch.path();
    std::fs::write(dir.join("a.proto"), "syntax = \"proto3\";\npackage a;\nmessage A { uint32 x = 1; }\n").unwrap();
    assert!(Command::new("mkfifo").arg(dir.join("b.proto")).status().unwrap().success());
    let mut child = Command::new(env!("CARGO_BIN_EXE_statescope"))
        .args(["types", "--proto-dir", dir.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A hang guard, not a timing check: the command either answers or is stuck for good.
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("statescope waited on the FIFO");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("b.proto: not a regular file"), "{}", stderr(&out));
}

#[test]
fn two_schema_files_of_one_name_are_an_error_not_a_silent_choice() {
    let (a, b) = (folder("proto-a"), folder("proto-b"));
    let (a, b) = (a.path(), b.path());
    std::fs::write(a.join("x.proto"), "syntax = \"proto3\";\npackage x;\nmessage A { uint32 a = 1; }\n").unwrap();
    std::fs::write(b.join("x.proto"), "syntax = \"proto3\";\npackage x;\nmessage B { uint32 b = 1; }\n").unwrap();
    let (pa, pb) = (a.join("x.proto"), b.join("x.proto"));
    let out = statescope(&["types", "--proto", pa.to_str().unwrap(), "--proto", pb.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("are both named x.proto"), "{}", stderr(&out));
    // The same file named twice is fine.
    let out = statescope(&["types", "--proto", pa.to_str().unwrap(), "--proto", pa.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn path_lookups_on_huge_repeated_fields_answer_with_a_bounded_message() {
    // 40,000 units and 3,000 distinct unknown fields at the root: a wrong path must still
    // answer, naming what is there briefly.
    let mut blob = Vec::new();
    for _ in 0..40_000 {
        blob.extend_from_slice(&[0x0a, 0x03, 0x0a, 0x01, b'u']);
    }
    for n in 100u64..3100 {
        statescope::write_varint(&mut blob, n << 3);
        blob.push(1);
    }
    let ty = statescope::samples::ROOT_TYPE;
    let out = statescope(&["get", "-", "unitz[1].name", "--type", ty], Some(&blob));
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("there: did you mean `units`? units[0..40000], #100, #101"), "{err}");
    assert!(err.contains("and 2977 more field(s)"), "{err}");
    assert!(err.len() < 1000, "one short line: {err}");
    let out = statescope(&["get", "-", "units[39999].name", "--type", ty], Some(&blob));
    assert_eq!(stdout(&out), "u\n");
}

#[test]
fn nested_groups_decode_once_however_deep() {
    // A million nested groups: refused past the scanner's nesting bound, in one pass.
    let mut blob = vec![0x0b; 1 << 20];
    blob.extend(std::iter::repeat_n(0x0c, 1 << 20));
    let out = statescope(&["check", "-"], Some(&blob));
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("groups nested more than 65536 levels deep"), "{}", stdout(&out));
    // Deep but within the bound, at a raised --max-depth: decoded to that depth.
    let mut blob = vec![0x0b; 5000];
    blob.extend(std::iter::repeat_n(0x0c, 5000));
    let out = statescope(&["check", "-", "--max-depth", "10000"], Some(&blob));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn a_file_cut_short_while_a_command_reads_it_is_said_not_a_crash() {
    use std::io::Read;
    // Large enough to be mapped, not copied, by a lookup; its values are read from the
    // mapping as they are printed.
    let scratch = folder("cut-short");
    let dir = scratch.path();
    let blob = dir.join("big.bin");
    std::fs::write(&blob, statescope::samples::large_vm(4 << 20)).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_statescope"))
        .args(["show", blob.to_str().unwrap(), "--path", "units[*]", "--type", statescope::samples::ROOT_TYPE])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once it prints, the file is mapped; it then waits on the pipe while the file is cut.
    let mut output = child.stdout.take().unwrap();
    let mut first = [0u8; 4096];
    output.read_exact(&mut first).unwrap();
    std::fs::OpenOptions::new().write(true).open(&blob).unwrap().set_len(0).unwrap();
    let mut rest = Vec::new();
    output.read_to_end(&mut rest).unwrap();
    let status = child.wait().unwrap();
    let mut said = String::new();
    child.stderr.take().unwrap().read_to_string(&mut said).unwrap();
    assert_eq!(status.code(), Some(2), "exit 2, not killed by SIGBUS: {status:?} {said}");
    assert!(said.contains("big.bin was cut short by another program while it was being read"), "{said}");
}

#[test]
fn an_input_tells_when_another_program_changed_it() {
    // `set`, `patch` and the browser's save copy the spans an edit leaves alone from the
    // file read; a file changed after it was read must not be taken for the bytes the
    // edits were planned on. A large file is mapped, a small one read into memory.
    let scratch = folder("changed-input");
    let dir = scratch.path();
    for (name, size) in [("big.bin", 2 << 20), ("small.bin", 4 << 10)] {
        let blob = dir.join(name);
        std::fs::write(&blob, statescope::samples::large_vm(size)).unwrap();
        let source = if size > 1 << 20 {
            statescope::Source::open_mapped(&blob, u64::MAX).unwrap()
        } else {
            statescope::Source::open(&blob, u64::MAX).unwrap()
        };
        let origin = source.origin().expect("a regular file is the bytes' origin").clone();
        assert!(origin.unchanged().unwrap(), "{name}");
        // The file's times move on the kernel's clock tick: wait past one.
        std::thread::sleep(Duration::from_millis(50));
        {
            use std::io::{Seek, Write};
            let mut file = std::fs::OpenOptions::new().write(true).open(&blob).unwrap();
            file.seek(std::io::SeekFrom::Start(100)).unwrap();
            file.write_all(&[0x55]).unwrap();
        }
        assert!(!origin.unchanged().unwrap(), "{name}: a byte written in place, same size: changed");
    }
}
