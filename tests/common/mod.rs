//! Helpers shared by the integration tests: paths to samples and the real OpenVMM state,
//! running the binary, running protoc (from the `protoc-bin-vendored` crate), and a real
//! terminal for the browser.
#![allow(dead_code)] // Each test crate uses a different subset.

pub mod terminal;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Set (as `.ci/run` does) to make a missing `../shared/openvmm` a failure, not a skip.
pub const REQUIRE_SHARED: &str = "STATESCOPE_REQUIRE_SHARED";

/// The real OpenVMM saved state folder beside the repository (`../shared/openvmm`), or
/// `None` when it is absent (a fresh clone on its own): the calling test then returns
/// early, and a notice naming it is written past the test harness's output capture, so
/// `cargo test` shows what was skipped and why. With [`REQUIRE_SHARED`] set it panics.
pub fn openvmm() -> Option<PathBuf> {
    let dir = root().join("../shared/openvmm");
    if dir.join("state.bin").is_file() {
        return Some(dir);
    }
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    assert!(
        std::env::var_os(REQUIRE_SHARED).is_none(),
        "{test}: {} is missing, and {REQUIRE_SHARED} says it must be there",
        dir.display()
    );
    let notice = format!(
        "note: skipped {test}: no ../shared/openvmm beside the clone (the real OpenVMM state); \
         CI sets {REQUIRE_SHARED}=1 and runs it\n"
    );
    // Straight to the process's stderr: `eprintln!` would be captured and hidden.
    let _ = std::io::stderr().write_all(notice.as_bytes());
    None
}

/// The protoc that the `protoc-bin-vendored` crate ships: no system install needed.
pub fn protoc_path() -> PathBuf {
    protoc_bin_vendored::protoc_bin_path().expect("protoc-bin-vendored has a protoc for this machine")
}

/// The folder of google's well-known `.proto` files that comes with that protoc.
pub fn protoc_include() -> PathBuf {
    protoc_bin_vendored::include_path().expect("protoc-bin-vendored ships the well-known types")
}

/// Every sample blob: (name, path).
pub fn sample_blobs() -> Vec<(String, PathBuf)> {
    let mut out = vec![("vm.state.bin".to_owned(), root().join("samples/vm.state.bin"))];
    let mut broken: Vec<_> = std::fs::read_dir(root().join("samples/broken"))
        .expect("samples/broken exists")
        .map(|e| e.expect("readable entry").path())
        .collect();
    broken.sort();
    out.extend(broken.into_iter().map(|p| (format!("broken-{}", p.file_name().unwrap().to_string_lossy()), p)));
    out
}

/// Runs the statescope binary with `args` (and optional standard input).
pub fn statescope(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_statescope"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("statescope runs");
    if let Some(input) = stdin {
        // A command may refuse before it reads its input, and exit: the pipe then breaks,
        // and what it said is what the test asks about.
        match child.stdin.take().unwrap().write_all(input) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            written => written.unwrap(),
        }
    }
    child.wait_with_output().expect("statescope finishes")
}

/// Standard output as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

/// Runs protoc with `args` and standard input; panics with its stderr when it fails.
pub fn protoc(args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new(protoc_path())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the vendored protoc runs");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(output.status.success(), "protoc {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    output.stdout
}

/// A descriptor set for the OpenVMM schema folder `openvmm/protos`, compiled by protoc
/// into `dir`.
pub fn openvmm_descriptor_set(openvmm: &Path, dir: &Path) -> PathBuf {
    let out = dir.join("openvmm.binpb");
    let protos = openvmm.join("protos");
    let mut files: Vec<String> =
        std::fs::read_dir(&protos).unwrap().map(|e| e.unwrap().path().display().to_string()).collect();
    files.sort();
    let mut args = vec!["-I".to_owned(), protos.display().to_string()];
    args.extend(["-I".to_owned(), protoc_include().display().to_string()]);
    args.push(format!("-o{}", out.display()));
    args.push("--include_imports".to_owned());
    args.extend(files);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    protoc(&args, b"");
    out
}

/// The sample schema's descriptor sets, as protoc's `--descriptor_set_in` takes them.
pub fn sample_descriptor_sets() -> String {
    format!(
        "{}:{}",
        root().join("src/decode/well_known_types.binpb").display(),
        root().join("samples/schema.binpb").display()
    )
}

/// A fresh, empty folder for one test's files, removed when dropped: never one left by an
/// earlier run whose process id was the same.
pub fn scratch_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("statescope-{name}-")).tempdir().expect("a temporary folder")
}

/// Fails, showing `text`, unless it holds every one of `expected`.
pub fn assert_contains_all(text: &str, expected: &[&str]) {
    for piece in expected {
        assert!(text.contains(piece), "missing `{piece}` in:\n{text}");
    }
}

/// A decoder of the built-in sample schema, rooted at the sample VM's type.
pub fn sample_decoder() -> statescope::Decoder {
    let schema = std::sync::Arc::new(statescope::Schema::load(&statescope::SchemaSources::default()).unwrap());
    let root = schema.pool.get_message_by_name(statescope::samples::ROOT_TYPE);
    statescope::Decoder::new(schema, root)
}

/// A decoder of the built-in sample schema, rooted at `root`.
pub fn sample_decoder_rooted_at(root: &str) -> statescope::Decoder {
    let schema = std::sync::Arc::clone(sample_decoder().schema());
    let root = schema.pool.get_message_by_name(root);
    assert!(root.is_some(), "{root:?} is in the sample schema");
    statescope::Decoder::new(schema, root)
}

/// A decoder with no root type, as a blob no registered type fits is read: raw wire fields.
pub fn raw_decoder() -> statescope::Decoder {
    statescope::Decoder::new(std::sync::Arc::clone(sample_decoder().schema()), None)
}

/// A `sample.virt.x86.Apic` of 40 top-level runs of its fixed array `registers`, their
/// values in range and out of range mixed at random, some runs long, some of another
/// length than the first: the decoder counts each run's values, and flags each value out
/// of range and each run of the wrong length.
pub fn apic_of_runs(dice: &mut Dice) -> Vec<u8> {
    let mut blob = Vec::new();
    varint_field(&mut blob, 1, 0xfee0_0000);
    for _ in 0..40 {
        let (count, bad_one_in) = ([8, 8, 8, 3, 600][dice.below(5) as usize], 1 + dice.below(4));
        let mut run = Vec::new();
        for _ in 0..count {
            let value = if dice.below(bad_one_in) == 0 { (1 << 32) + dice.below(1 << 40) } else { dice.below(1 << 32) };
            statescope::write_varint(&mut run, value);
        }
        len_field(&mut blob, 2, &run);
    }
    blob
}

/// A decoder of the real OpenVMM schema folder (`openvmm/protos`), rooted at its saved state.
pub fn openvmm_decoder(openvmm: &Path) -> statescope::Decoder {
    let sources = statescope::SchemaSources { proto_dirs: vec![openvmm.join("protos")], ..Default::default() };
    let schema = std::sync::Arc::new(statescope::Schema::load(&sources).unwrap());
    let root = schema.pool.get_message_by_name("openvmm.SavedState");
    statescope::Decoder::new(schema, root)
}

/// What `statescope check` reports on `bytes`, decoded in `parts` parts.
pub fn check_report(
    decoder: &statescope::Decoder,
    bytes: &[u8],
    parts: usize,
    format: statescope::CheckFormat,
) -> String {
    check_report_in(decoder, bytes, statescope::Pieces::per_thread(bytes.len(), parts), format)
}

/// `check`'s report on `bytes`, decoded in `pieces`.
pub fn check_report_in(
    decoder: &statescope::Decoder,
    bytes: &[u8],
    pieces: statescope::Pieces,
    format: statescope::CheckFormat,
) -> String {
    let mut out = Vec::new();
    let source = statescope::Source::new(bytes.to_vec());
    statescope::check_streaming(decoder, source, "blob", format, pieces, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// Mutants of a large healthy sample VM: up to `tries` of `statescope mutate`'s changes
/// (drawn from `seed`), each applied alone, with the change in words.
pub fn sample_mutants(decoder: &statescope::Decoder, seed: u64, tries: usize) -> Vec<(String, Vec<u8>)> {
    let healthy = statescope::samples::large_vm(30_000);
    let doc = decoder.decode(statescope::Source::new(healthy.clone()));
    let mut rng = statescope::Rng::new(seed);
    let mut mutants = Vec::new();
    for i in 0..tries {
        let Some(mutation) = statescope::plan_mutation(&doc, &mut rng, i) else { continue };
        let Ok(change) = mutation.op.plan(&doc) else { continue };
        let mut bytes = healthy.clone();
        change.apply(&mut bytes);
        mutants.push((mutation.op.to_string(), bytes));
    }
    mutants
}

/// A small pseudo-random source (xorshift), so every run sees the same blobs.
pub struct Dice(pub u64);

impl Dice {
    /// The next number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// `number` as a varint field holding `value`.
pub fn varint_field(out: &mut Vec<u8>, number: u64, value: u64) {
    statescope::write_varint(out, number << 3);
    statescope::write_varint(out, value);
}

/// `number` written length-delimited with `bytes`.
pub fn len_field(out: &mut Vec<u8>, number: u64, bytes: &[u8]) {
    statescope::write_varint(out, number << 3 | 2);
    statescope::write_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}
