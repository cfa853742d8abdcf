//! Helpers shared by the integration tests: paths to samples and the real OpenVMM state,
//! running the binary, and running protoc.
#![allow(dead_code)] // Each test crate uses a different subset.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The real OpenVMM saved state folder beside the repository (`../shared/openvmm`).
pub fn openvmm() -> PathBuf {
    root().join("../shared/openvmm")
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
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    child.wait_with_output().expect("statescope finishes")
}

/// Standard output as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

/// Runs protoc with `args` and standard input; panics with its stderr when it fails.
pub fn protoc(args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new("protoc")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("protoc is installed (Debian: protobuf-compiler)");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(output.status.success(), "protoc {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    output.stdout
}

/// A descriptor set for the OpenVMM schema folder, compiled by protoc into `dir`.
pub fn openvmm_descriptor_set(dir: &Path) -> PathBuf {
    let out = dir.join("openvmm.binpb");
    let protos = openvmm().join("protos");
    let mut files: Vec<String> =
        std::fs::read_dir(&protos).unwrap().map(|e| e.unwrap().path().display().to_string()).collect();
    files.sort();
    let mut args = vec!["-I".to_owned(), protos.display().to_string()];
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
