//! Benchmark: `statescope show` and `check` against `protoc --decode` on the same generated
//! blob (100 MB by default), in the same run, reporting ratios, wall times and peak memory.
//!
//! `cargo build --release && cargo run --release --example bench_cli [-- SIZE_MB]`
//! protoc comes from the `protoc-bin-vendored` crate; peak memory needs GNU time
//! (`/usr/bin/time`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

struct Run {
    seconds: f64,
    peak_rss_mb: f64,
}

fn measure(label: &str, program: &Path, args: &[&str], stdin: Option<&Path>) -> Run {
    let mut best: Option<Run> = None;
    for _ in 0..3 {
        let run = run_once(label, program, args, stdin);
        if best.as_ref().is_none_or(|b| run.seconds < b.seconds) {
            best = Some(run);
        }
    }
    let best = best.expect("three runs");
    println!("{label:<44} {:>8.3} s {:>9.1} MB peak RSS", best.seconds, best.peak_rss_mb);
    best
}

/// One run of `program` under GNU time: its wall time and peak memory.
fn run_once(label: &str, program: &Path, args: &[&str], stdin: Option<&Path>) -> Run {
    let mut cmd = Command::new("/usr/bin/time");
    cmd.arg("-f").arg("%M").arg(program).args(args).stdout(Stdio::null()).stderr(Stdio::piped());
    if let Some(input) = stdin {
        cmd.stdin(std::fs::File::open(input).expect("blob opens"));
    }
    let start = Instant::now();
    let out = cmd.output().expect("command runs");
    let seconds = start.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // 0, or 1 for a check that found problems: anything else measured a failure.
    assert!(matches!(out.status.code(), Some(0 | 1)), "{label} failed: {stderr}");
    let kb: f64 = stderr.lines().last().and_then(|l| l.trim().parse().ok()).unwrap_or(f64::NAN);
    Run { seconds, peak_rss_mb: kb / 1024.0 }
}

/// One benchmark input: a blob, the schema flags for statescope and protoc, the root type.
struct Case {
    title: &'static str,
    blob: PathBuf,
    root_type: &'static str,
    statescope_schema: Vec<String>,
    protoc_schema: String,
    /// A path deep in the blob, for `get` and `show --path`.
    get: &'static str,
    /// One descriptor set with the whole schema, for prototext.
    prototext_schema: PathBuf,
    /// Whether the blob has no problem, so that JSON can show it.
    clean: bool,
}

/// prototext (`cargo install prototext`), if installed: it expands Any like statescope.
fn prototext() -> Option<PathBuf> {
    let home = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo/bin/prototext"));
    let on_path = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|p| p.join("prototext")).find(|p| p.is_file()));
    on_path.or(home.filter(|p| p.is_file()))
}

/// The median of `values` (an odd count of runs), which are left sorted.
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// One command of a case, compared with the others.
struct Contender {
    label: String,
    program: PathBuf,
    args: Vec<String>,
    stdin: Option<PathBuf>,
}

/// Rounds of a case's commands: each round runs every command once, one after the other,
/// so a machine shared with others slows them alike; each command's median is taken.
const ROUNDS: usize = 5;

/// The median run of each of `contenders`, run alternately, [`ROUNDS`] rounds of all of
/// them: its wall time, and its peak memory (the median of those too).
fn alternately(contenders: &[Contender]) -> Vec<Run> {
    let mut runs: Vec<Vec<Run>> = contenders.iter().map(|_| Vec::new()).collect();
    for _ in 0..ROUNDS {
        for (c, runs) in contenders.iter().zip(&mut runs) {
            let args: Vec<&str> = c.args.iter().map(String::as_str).collect();
            runs.push(run_once(&c.label, &c.program, &args, c.stdin.as_deref()));
        }
    }
    contenders
        .iter()
        .zip(runs)
        .map(|(c, runs)| {
            let run = Run {
                seconds: median(&mut runs.iter().map(|r| r.seconds).collect::<Vec<_>>()),
                peak_rss_mb: median(&mut runs.iter().map(|r| r.peak_rss_mb).collect::<Vec<_>>()),
            };
            println!("{:<44} {:>8.3} s {:>9.1} MB peak RSS", c.label, run.seconds, run.peak_rss_mb);
            run
        })
        .collect()
}

fn run_case(case: &Case, exe: &Path) {
    let size = std::fs::metadata(&case.blob).expect("blob exists").len();
    let blob = case.blob.to_str().expect("UTF-8 temp path");
    println!(
        "== {}: {} ({:.1} MB); medians of {ROUNDS} rounds, each running every command once in turn",
        case.title,
        case.blob.display(),
        size as f64 / 1048576.0
    );
    let ty = case.root_type;
    let with = |args: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        v.extend(case.statescope_schema.iter().cloned());
        v.extend(["--type".to_owned(), ty.to_owned(), blob.to_owned()]);
        v
    };
    let contender = |label: &str, program: &Path, args: Vec<String>, stdin: Option<&Path>| Contender {
        label: label.to_owned(),
        program: program.to_owned(),
        args,
        stdin: stdin.map(Path::to_owned),
    };
    let statescope = |label: &str, args: Vec<String>| contender(label, exe, args, None);
    let protoc_bin = protoc_bin_vendored::protoc_bin_path().expect("protoc-bin-vendored has a protoc for this machine");
    let mut contenders = vec![
        contender(
            "protoc --decode (Any left as bytes)",
            &protoc_bin,
            vec![format!("--decode={ty}"), case.protoc_schema.clone()],
            Some(&case.blob),
        ),
        contender("protoc --decode_raw", &protoc_bin, vec!["--decode_raw".into()], Some(&case.blob)),
        statescope("statescope show (every Any expanded)", with(&["show"])),
        statescope("statescope show --format text", with(&["show", "--format", "text"])),
        statescope("statescope check (every core)", with(&["check"])),
        statescope("statescope check -j 1 (one core)", with(&["check", "-j", "1"])),
    ];
    // `get FILE PATH`: the file first, then the schema options.
    let mut get_args: Vec<String> = vec!["get".into(), blob.into(), case.get.into()];
    get_args.extend(case.statescope_schema.iter().cloned());
    get_args.extend(["--type".to_owned(), ty.to_owned()]);
    contenders.push(statescope(&format!("statescope get {}", case.get), get_args));
    let unit = case.get.split('.').next().unwrap();
    contenders.push(statescope("statescope show --path (its unit)", with(&["show", "--path", unit])));
    if case.clean {
        contenders.push(statescope("statescope show --format json", with(&["show", "--format", "json"])));
    }
    let set = case.prototext_schema.to_str().expect("UTF-8 temp path");
    let prototext_exe = prototext();
    if let Some(prototext) = &prototext_exe {
        let args = ["--descriptor-set", set, "decode", "--type", ty, "--assume-binary", blob];
        let args = args.iter().map(|a| a.to_string()).collect();
        contenders.push(contender("prototext decode (every Any expanded)", prototext, args, None));
    }
    let mut runs = alternately(&contenders).into_iter();
    let mut next = || runs.next().expect("one run per contender");
    let (protoc, raw, show, text, check, check_one, get, path) =
        (next(), next(), next(), next(), next(), next(), next(), next());
    let json = case.clean.then(&mut next);
    let prototext = prototext_exe.map(|_| next());
    println!(
        "show  is {:>5.1}x faster than protoc --decode, {:>5.1}x than --decode_raw",
        protoc.seconds / show.seconds,
        raw.seconds / show.seconds
    );
    match &prototext {
        Some(p) => println!(
            "show  is {:>5.1}x faster than prototext decode (peak RSS / file: prototext {:.2})",
            p.seconds / show.seconds,
            p.peak_rss_mb * 1048576.0 / size as f64
        ),
        None => println!("prototext is not installed (cargo install prototext): no comparison with it"),
    }
    println!("text  is {:>5.1}x faster than protoc --decode", protoc.seconds / text.seconds);
    if let Some(json) = &json {
        println!(
            "json  is {:>5.1}x faster than protoc --decode (peak RSS / file {:.2})",
            protoc.seconds / json.seconds,
            json.peak_rss_mb * 1048576.0 / size as f64
        );
    }
    println!(
        "check is {:>5.1}x faster than protoc --decode, {:>5.1}x than --decode_raw ({:.1}x on one core)",
        protoc.seconds / check.seconds,
        raw.seconds / check.seconds,
        protoc.seconds / check_one.seconds
    );
    println!("get   takes {:.3} s, show --path {:.3} s", get.seconds, path.seconds);
    let per_size = |r: &Run| r.peak_rss_mb * 1048576.0 / size as f64;
    println!(
        "peak RSS / file size: show {:.2}, text {:.2}, check {:.2}, get {:.2}, protoc --decode {:.2}\n",
        per_size(&show),
        per_size(&text),
        per_size(&check),
        per_size(&get),
        per_size(&protoc)
    );
}

/// Copies of the real state up to `size` bytes, every `every`th with one single fault inside
/// a unit, in turn: a tag's wire type (cmos, byte 502), a bit in a tag (com1's lcr, 943), a
/// nested length that lies (cmos's, 503), a byte of a type URL (pit's, 193). Faults that
/// move a unit's end (a unit's own length, a byte inserted or dropped) put the top level
/// out of step for the rest of the concatenated copies, which are then one unreadable
/// span, and would measure less work, not the search.
fn damaged_copies(real: &[u8], size: usize, every: usize) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(size + real.len() + 1);
    let mut copy = 0;
    while bytes.len() < size {
        let mut state = real.to_vec();
        if copy % every == 0 {
            match (copy / every) % 4 {
                0 => state[502] &= !0x07,
                1 => state[943] ^= 0x01,
                2 => state[503] ^= 0x10,
                _ => state[193] ^= 0x01,
            }
        }
        bytes.extend_from_slice(&state);
        copy += 1;
    }
    bytes
}

fn main() -> anyhow::Result<()> {
    let mb: usize = std::env::args().nth(1).map_or(Ok(100), |a| a.parse())?;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let exe = root.join("target/release/statescope");
    anyhow::ensure!(exe.exists(), "build first: cargo build --release");
    let dir = std::env::temp_dir().join("statescope-bench");
    std::fs::create_dir_all(&dir)?;

    // The real OpenVMM state repeated: the composition of real saved state.
    let openvmm = root.join("../shared/openvmm");
    let real = std::fs::read(openvmm.join("state.bin"))?;
    let real_blob = dir.join(format!("openvmm-{mb}mb.bin"));
    if !real_blob.exists() {
        let mut bytes = Vec::with_capacity((mb << 20) + real.len());
        while bytes.len() < mb << 20 {
            bytes.extend_from_slice(&real);
        }
        std::fs::write(&real_blob, bytes)?;
    }
    let set = dir.join("openvmm.binpb");
    let protos = openvmm.join("protos");
    let mut protoc_args = protoc_folder_args(&protos)?;
    protoc_args.extend([format!("-o{}", set.display()), "--include_imports".to_owned()]);
    anyhow::ensure!(
        Command::new(protoc_bin_vendored::protoc_bin_path()?).args(&protoc_args).status()?.success(),
        "protoc compiles the OpenVMM schema"
    );
    let real_case = Case {
        title: "real OpenVMM state, repeated",
        blob: real_blob,
        root_type: "openvmm.SavedState",
        statescope_schema: vec!["--descriptor-set".to_owned(), set.display().to_string()],
        protoc_schema: format!("--descriptor_set_in={}", set.display()),
        get: "units[3000].name",
        prototext_schema: set.clone(),
        clean: false,
    };
    small_inputs(&exe, &openvmm, &dir)?;
    run_case(&real_case, &exe);

    // The same with single faults: how much the search for likely causes costs.
    let exe_str = exe.to_str().expect("UTF-8 path");
    let set_arg = set.display().to_string();
    let check_time = |blob: &Path| {
        let args = ["check", "--descriptor-set", &set_arg, "--type", "openvmm.SavedState", blob.to_str().unwrap()];
        measure(
            &format!("statescope check {}", blob.file_name().unwrap().to_string_lossy()),
            Path::new(exe_str),
            &args,
            None,
        )
    };
    println!("== damaged copies of the real state: check time as a ratio to the undamaged blob");
    let clean = check_time(&dir.join(format!("openvmm-{mb}mb.bin")));
    for every in [100, 10, 1] {
        let blob = dir.join(format!("openvmm-{mb}mb-fault-every-{every}.bin"));
        if !blob.exists() {
            std::fs::write(&blob, damaged_copies(&real, mb << 20, every))?;
        }
        let damaged = check_time(&blob);
        println!("a fault in every {every:>3} copies: {:.2}x the undamaged check", damaged.seconds / clean.seconds);
    }
    println!();

    // The built-in sample schema, as protoc reads it, and as one set for prototext (two
    // descriptor sets one after the other are one set: their files are a repeated field).
    let (well_known, sample_set) = (root.join("src/decode/well_known_types.binpb"), root.join("samples/schema.binpb"));
    let sample_schema = format!("--descriptor_set_in={}:{}", well_known.display(), sample_set.display());
    let sample_one_set = dir.join("sample-schema.binpb");
    std::fs::write(&sample_one_set, [std::fs::read(&well_known)?, std::fs::read(&sample_set)?].concat())?;

    // Dense: one message of millions of small repeated messages (MSR entries), no Any:
    // what protoc decodes slowest and a schema-guided walk must not.
    let msrs = dir.join(format!("msrs-{mb}mb.bin"));
    if !msrs.exists() {
        std::fs::write(&msrs, statescope::samples::msr_entries(mb << 20))?;
    }
    let msrs_case = Case {
        title: "dense: one message of small repeated messages (sample.virt.x86.Msrs)",
        blob: msrs,
        root_type: "sample.virt.x86.Msrs",
        get: "entries[3000000].value",
        statescope_schema: Vec::new(),
        protoc_schema: sample_schema.clone(),
        prototext_schema: sample_one_set.clone(),
        clean: true,
    };
    run_case(&msrs_case, &exe);

    // The sample VM with many VPs: small fields, the densest realistic shape.
    // Named by the block it repeats, so a blob cached by an older build (with other type
    // or unit names) is never measured by mistake.
    let sample_hash = statescope::samples::large_vm(1)
        .iter()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    let dense = dir.join(format!("dense-{mb}mb-{sample_hash:016x}.bin"));
    if !dense.exists() {
        std::fs::write(&dense, statescope::samples::large_vm(mb << 20))?;
    }
    run_case(
        &Case {
            title: "dense synthetic VM (many VPs, small fields)",
            blob: dense,
            root_type: statescope::samples::ROOT_TYPE,
            get: "units[5000].name",
            statescope_schema: Vec::new(),
            protoc_schema: sample_schema.clone(),
            prototext_schema: sample_one_set.clone(),
            clean: true,
        },
        &exe,
    );
    for case in [&msrs_case, &real_case] {
        on_a_gigabyte(case, &exe, &dir)?;
    }
    Ok(())
}

/// Every command on the real 21 KB state with its 43-file `--proto-dir` compiled each time,
/// as whole processes, best of 11 taken in turn (the target: within 15 ms each), beside
/// `protoc --decode` compiling the same folder for the same bytes.
fn small_inputs(exe: &Path, openvmm: &Path, dir: &Path) -> anyhow::Result<()> {
    let (state, protos) = (openvmm.join("state.bin"), openvmm.join("protos"));
    let (file, out) = (state.to_str().expect("UTF-8 path"), dir.join("small-out.bin"));
    let script = dir.join("small-flip.edits");
    std::fs::write(&script, "flip 100 0\n")?;
    let (out, script) = (out.to_str().expect("UTF-8 path"), script.to_str().expect("UTF-8 path"));
    let commands: [&[&str]; 10] = [
        &["show", file],
        &["show", file, "--format", "text"],
        &["show", file, "--format", "json"],
        &["check", file],
        &["get", file, "units[0].name"],
        &["show", file, "--path", "units[0]"],
        &["diff", file, file],
        &["set", file, "units[0].name=x", "-o", out],
        &["patch", file, "--script", script, "-o", out],
        &["types"],
    ];
    let schema = ["--proto-dir", protos.to_str().expect("UTF-8 path"), "--type", "openvmm.SavedState"];
    let mut protoc = Command::new(protoc_bin_vendored::protoc_bin_path()?);
    protoc.args(protoc_folder_args(&protos)?).arg("--decode=openvmm.SavedState");
    // Each run's words, and whether it reads the state on standard input (protoc does).
    let mut runs = vec![("protoc --decode (compiles the folder)".to_owned(), protoc, true)];
    for words in commands {
        let mut cmd = Command::new(exe);
        cmd.args(words).args(if words[0] == "types" { &schema[..2] } else { &schema[..] });
        let label = words.join(" ").replace(file, "STATE").replace(out, "OUT").replace(script, "EDITS");
        runs.push((format!("statescope {label}"), cmd, false));
    }
    let mut best = vec![f64::INFINITY; runs.len()];
    for _ in 0..11 {
        for ((label, cmd, reads_state), best) in runs.iter_mut().zip(&mut best) {
            if *reads_state {
                cmd.stdin(std::fs::File::open(&state)?);
            }
            let start = Instant::now();
            let status = cmd.stdout(Stdio::null()).stderr(Stdio::null()).status()?;
            *best = best.min(start.elapsed().as_secs_f64());
            anyhow::ensure!(status.code().is_some_and(|c| c <= 1), "{label} failed");
            let _ = std::fs::remove_file(out);
        }
    }
    println!(
        "== small input: the real state ({} bytes), its schema folder compiled each time",
        state.metadata()?.len()
    );
    for ((label, _, _), best) in runs.iter().zip(&best) {
        println!("{label:<44} {:>8.1} ms (best of 11)", best * 1e3);
    }
    println!();
    Ok(())
}

/// protoc's words for a schema folder: it and protoc's own includes on the import path,
/// and every file in it.
fn protoc_folder_args(protos: &Path) -> anyhow::Result<Vec<String>> {
    let mut args =
        vec![format!("-I{}", protos.display()), format!("-I{}", protoc_bin_vendored::include_path()?.display())];
    for entry in std::fs::read_dir(protos)? {
        args.push(entry?.path().display().to_string());
    }
    Ok(args)
}

/// `get` and `show --path` on a gigabyte made of a case's blob repeated: near its start,
/// and the very last occurrence of its top-level field (every top-level field is one);
/// then saving it with one bit flipped, against `cp` of it.
fn on_a_gigabyte(case: &Case, exe: &Path, dir: &Path) -> anyhow::Result<()> {
    let one = std::fs::read(&case.blob)?;
    let copies = (1usize << 30).div_ceil(one.len());
    let name = case.blob.file_stem().expect("a file name").to_string_lossy();
    let big = dir.join(format!("{name}-times-{copies}.bin"));
    if !big.exists() {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&big)?);
        for _ in 0..copies {
            std::io::Write::write_all(&mut file, &one)?;
        }
        std::io::Write::flush(&mut file)?;
    }
    let (field, leaf) = case.get.split_once('[').expect("the path has an index");
    let leaf = leaf.split_once('.').map_or("", |(_, leaf)| leaf);
    let last = top_level_fields(&one) * copies - 1;
    println!("== lookups on {} ({:.2} GB); best of 3 runs each", big.display(), (copies * one.len()) as f64 / 1e9);
    let big = big.to_str().expect("UTF-8 temp path");
    for index in [3000, last] {
        let path = format!("{field}[{index}].{leaf}");
        let mut args = vec!["get", big, &path];
        args.extend(case.statescope_schema.iter().map(String::as_str));
        args.extend(["--type", case.root_type]);
        measure(&format!("statescope get {path}"), exe, &args, None);
        let unit = format!("{field}[{index}]");
        let mut args = vec!["show", big, "--path", &unit, "--type", case.root_type];
        args.extend(case.statescope_schema.iter().map(String::as_str));
        measure(&format!("statescope show --path {unit}"), exe, &args, None);
    }
    saving(Path::new(big), case, exe, dir)
}

/// `patch` of one bit flip, which writes the whole file and syncs it before putting it in
/// place, and of one value set by path (deep in the blob: its top level is read up to
/// there), against `cp` of the same file, and `cp` then `sync` of the copy: the four taken
/// in turn five times, medians (new pages cost this machine more at some moments than at
/// others, so the runs are compared as they come).
fn saving(big: &Path, case: &Case, exe: &Path, dir: &Path) -> anyhow::Result<()> {
    let (flip, set, out) = (dir.join("flip.edits"), dir.join("set.edits"), dir.join("saved.bin"));
    std::fs::write(&flip, "flip 100 0\n")?;
    std::fs::write(&set, format!("set {} 7\n", case.get))?;
    let (big, out_str) = (big.to_str().expect("UTF-8 temp path"), out.to_str().expect("UTF-8 temp path"));
    let patch_args = |script: &Path| {
        let mut args = vec!["patch".to_owned(), big.to_owned(), "--script".to_owned()];
        args.extend([script.display().to_string(), "-o".to_owned(), out_str.to_owned()]);
        args.extend(case.statescope_schema.iter().cloned());
        args.extend(["--type".to_owned(), case.root_type.to_owned()]);
        args
    };
    let (flip_args, set_args) = (patch_args(&flip), patch_args(&set));
    let copy_then_sync = format!("cp '{big}' '{out_str}' && sync '{out_str}'");
    let set_label = format!("statescope patch (set {}; synced)", case.get);
    let rounds: [(&str, &Path, Vec<&str>); 4] = [
        ("statescope patch (one bit flip; synced)", exe, flip_args.iter().map(String::as_str).collect()),
        (&set_label, exe, set_args.iter().map(String::as_str).collect()),
        ("cp", Path::new("cp"), vec![big, out_str]),
        ("cp, then sync of the copy", Path::new("sh"), vec!["-c", &copy_then_sync]),
    ];
    let mut times = [Vec::new(), Vec::new(), Vec::new(), Vec::new()];
    let mut patch_rss = 0.0f64;
    for _ in 0..5 {
        for (k, (label, program, args)) in rounds.iter().enumerate() {
            let run = run_once(label, program, args, None);
            std::fs::remove_file(&out)?;
            times[k].push(run.seconds);
            if k < 2 {
                patch_rss = patch_rss.max(run.peak_rss_mb);
            }
        }
    }
    let medians: Vec<f64> = times.iter_mut().map(|t| median(t)).collect();
    for ((label, _, _), (median, all)) in rounds.iter().zip(medians.iter().zip(&times)) {
        let all: Vec<String> = all.iter().map(|s| format!("{s:.2}")).collect();
        println!("{label:<44} {median:>8.3} s (median of {}, sorted: {})", all.len(), all.join(" "));
    }
    for (what, median) in [("a bit flip", medians[0]), ("a set by path", medians[1])] {
        println!(
            "patch of {what} takes {:.2}x the time of cp, {:.2}x cp then sync (medians)",
            median / medians[2],
            median / medians[3],
        );
    }
    println!("peak RSS of patch / file: {:.3}\n", patch_rss * 1048576.0 / std::fs::metadata(big)?.len() as f64);
    Ok(())
}

/// How many top-level fields a generated blob has (it has no groups).
fn top_level_fields(bytes: &[u8]) -> usize {
    let varint = |pos: &mut usize| {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = bytes[*pos];
            *pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                break;
            }
        }
        value
    };
    let (mut pos, mut fields) = (0, 0);
    while pos < bytes.len() {
        match varint(&mut pos) & 7 {
            0 => drop(varint(&mut pos)),
            1 => pos += 8,
            2 => pos += varint(&mut pos) as usize,
            5 => pos += 4,
            _ => panic!("generated blobs have no groups"),
        }
        fields += 1;
    }
    fields
}
