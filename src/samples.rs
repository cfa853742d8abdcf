//! The built-in samples: generates the sample schema descriptor sets and every sample blob
//! (healthy and broken) from the `.proto` files in `samples/schema/`, deterministically.
//!
//! `cargo run --example gen_samples` writes them; a test checks the committed files match.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage};

use crate::decode::wire::write_varint;
use crate::model::value::c_escape;

/// The embedded healthy sample, opened when no file is given.
pub const VM_STATE: &[u8] = include_bytes!("../samples/vm.state.bin");
/// The root type of every sample blob. The samples live in their own `sample.` package
/// namespace, so they never stand in for a real VMM's schema of the same package.
pub const ROOT_TYPE: &str = "sample.openvmm.SavedState";
/// The files of google's well-known types the registry embeds.
const WELL_KNOWN_FILES: &[&str] = &[
    "google/protobuf/any.proto",
    "google/protobuf/api.proto",
    "google/protobuf/descriptor.proto",
    "google/protobuf/duration.proto",
    "google/protobuf/empty.proto",
    "google/protobuf/field_mask.proto",
    "google/protobuf/source_context.proto",
    "google/protobuf/struct.proto",
    "google/protobuf/timestamp.proto",
    "google/protobuf/type.proto",
    "google/protobuf/wrappers.proto",
];

/// One generated file: its path under the repository root and its bytes.
#[derive(Debug, Clone)]
pub struct GeneratedFile {
    /// Path relative to the repository root.
    pub path: PathBuf,
    /// Contents.
    pub bytes: Vec<u8>,
}

/// Generates every sample artifact from the schema folder under `repo_root`.
pub fn generate(repo_root: &Path) -> anyhow::Result<Vec<GeneratedFile>> {
    let schema_dir = repo_root.join("samples/schema");
    let well_known = compile(&[], WELL_KNOWN_FILES.iter().map(|s| s.to_string()).collect(), false)?;
    let mut names: Vec<String> = std::fs::read_dir(&schema_dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".proto"))
        .collect();
    names.sort();
    let schema = compile(&[schema_dir], names, true)?;
    let mut pool = DescriptorPool::decode(well_known.as_slice())?;
    pool.decode_file_descriptor_set(schema.as_slice())?;
    let vm = encode_text(&pool, &healthy_vm_text())?;
    let example = compile(&[repo_root.join("examples/schema")], vec!["mydev.hpet.proto".to_owned()], true)?;
    let mut files = vec![
        file("src/decode/well_known_types.binpb", well_known),
        file("samples/schema.binpb", schema),
        file("examples/schema/mydev.hpet.binpb", example),
        file("samples/vm.state.bin", vm.clone()),
    ];
    for (name, bytes) in broken_samples(&pool, &vm)? {
        files.push(file(&format!("samples/broken/{name}"), bytes));
    }
    Ok(files)
}

fn file(path: &str, bytes: Vec<u8>) -> GeneratedFile {
    GeneratedFile { path: PathBuf::from(path), bytes }
}

fn compile(includes: &[PathBuf], files: Vec<String>, source_info: bool) -> anyhow::Result<Vec<u8>> {
    let mut compiler = protox::Compiler::new(includes)?;
    compiler.include_source_info(source_info).include_imports(false);
    compiler.open_files(files)?;
    let mut set = compiler.file_descriptor_set();
    set.file.retain(|f| includes.is_empty() || !f.name().starts_with("google/protobuf/"));
    Ok(set.encode_to_vec())
}

fn encode_text(pool: &DescriptorPool, text: &str) -> anyhow::Result<Vec<u8>> {
    let root = pool.get_message_by_name(ROOT_TYPE).ok_or_else(|| anyhow::anyhow!("{ROOT_TYPE} missing"))?;
    Ok(DynamicMessage::parse_text_format(root, text)?.encode_to_vec())
}

/// A unit in text format, its payload (a `sample.` type) expanded as
/// `[type.googleapis.com/sample.T] { … }`.
fn unit(name: &str, ty: &str, body: &str) -> String {
    format!("units {{ name: \"{name}\" state {{ [type.googleapis.com/sample.{ty}] {{ {body} }} }} }}\n")
}

/// A unit whose payload is given as raw bytes (for deliberately broken payloads).
fn raw_unit(name: &str, ty: &str, payload: &[u8]) -> String {
    let mut value = String::new();
    c_escape(payload, &mut value);
    format!(
        "units {{ name: \"{name}\" state {{ type_url: \"type.googleapis.com/sample.{ty}\" value: \"{value}\" }} }}\n"
    )
}

fn timer(cr: u32, state: &str, out: bool) -> String {
    format!("field1 {{ ce: {cr} cr: {cr} ol: 0 state {{ {state} {{}} }} control: 52 out: {out} gate: true }}")
}

fn cmos_text() -> String {
    let mut cmos = [0u8; 256];
    cmos[..0x0e].copy_from_slice(&[0x30, 0, 0x15, 0, 0x09, 0, 0x06, 0x28, 0x11, 0x26, 0x26, 0x02, 0x50, 0x80]);
    cmos[0x40..0x50].copy_from_slice(b"STATESCOPE-DEMO!");
    let mut out = String::new();
    c_escape(&cmos, &mut out);
    out
}

fn segment(base: u64, limit: u32, selector: u32, attributes: u32) -> String {
    format!("base: {base} limit: {limit} selector: {selector} attributes: {attributes}")
}

fn vp(index: u32, rip: u64, mp_state: &str) -> String {
    let registers = format!(
        "rax: 0 rcx: {} rdx: 1536 rbx: 0 rsp: {} rbp: 0 rsi: 654336 rdi: 0 rip: {rip} rflags: 2 \
         cs {{ {} }} ds {{ {} }} ss {{ {} }} tr {{ {} }} gdtr {{ base: 4096 limit: 39 }} \
         idtr {{ base: 0 limit: 65535 }} cr0: 2147549233 cr3: 16777216 cr4: 1784 efer: 3329",
        index * 7,
        0xffff_ffff_8200_0000u64 - u64::from(index) * 0x4000,
        segment(0, 0xffff_ffff, 0x10, 0xa09b),
        segment(0, 0xffff_ffff, 0x18, 0xc093),
        segment(0, 0xffff_ffff, 0x18, 0xc093),
        segment(0, 0x67, 0x20, 0x8b),
    );
    let apic: String = (0..16).map(|r| format!(" registers: {}", if r == 2 { index << 24 } else { r * 16 })).collect();
    format!(
        "vps {{ vp_index: {index} data {{ [type.googleapis.com/sample.virt.x86.VpSavedState] {{ \
         registers {{ {registers} }} mp_state {{ {mp_state} {{}} }} \
         msrs {{ entries {{ index: 27 value: 4276092928 }} entries {{ index: 3221225601 value: 2305843009213693952 }} }} \
         apic {{ apic_base: 4276094208{apic} }} tsc_offset: -{} pending_event_delta: -3 }} }} }}",
        1_000_000 + u64::from(index)
    )
}

/// The healthy sample VM in text format.
fn healthy_vm_text() -> String {
    let mut t = String::new();
    t += &unit("vmtime", "vmtime.SavedState", "vmtime: 98765432101 offset_from_host: -42");
    let timers = [timer(11932, "counting", false), timer(0, "inactive", true), timer(18, "waiting_for_gate", false)];
    t += &unit("pit", "chipset.pit.SavedState", &format!("timers {{ {} }} last: 12345678901234", timers.join(" ")));
    let redirection: String = (0..24).map(|i| format!(" redirection_entries: {}", 0x10000 + i)).collect();
    t += &unit("ioapic", "chipset.ioapic.SavedState", &format!("id: 0 index: 16{redirection}"));
    t += &unit("rtc", "chipset.cmos_rtc.SavedState", &format!("addr: 12 cmos: \"{}\"", cmos_text()));
    t += &unit(
        "com1",
        "serial.uart16550.SavedState",
        "ier: 1 lcr: 3 mcr: 11 msr: 176 fcr: 199 dll: 1 thr_empty_acknowledged: true \
         tx_buffer: \"login: \" rx_buffer: \"root\\n\"",
    );
    t += &unit(
        "pci-cfg-space",
        "pci.cfg_space_emu.SavedState",
        "command: 1031 base_addresses: 4273995776 base_addresses: 0 base_addresses: 0 base_addresses: 0 \
         base_addresses: 0 base_addresses: 0 interrupt_line: 11 \
         capabilities { field1: \"msi\" field2 { [type.googleapis.com/sample.pci.caps.msi.SavedState] { \
         enabled: true multiple_message_enable: 0 address: 4276092928 data: 16433 } } }",
    );
    t += &unit(
        "partition",
        "partition.Partition",
        &format!(
            "partition {{ [type.googleapis.com/sample.virt.x86.VmSavedState] {{ hypercall_page: 4096 reference_tsc_page: 8192 }} }} {} {}",
            vp(0, 0xffff_ffff_8100_0000, "running"),
            vp(1, 0xffff_ffff_8100_1234, "halted"),
        ),
    );
    t += &unit(
        "storvsp:ba6163d9-04a1-4d29-b605-72e2ffb1dc7f",
        "vmbus.SimpleSavedState",
        "channel { [type.googleapis.com/sample.storage.storvsp.SavedState] { \
         protocol_state { ready { version: 1538 } } \
         drives { path { path: 0 target: 0 lun: 2 } state { disk { field1 { sector_count: 134217728 sector_size: 512 } } } } \
         drives { path { path: 0 target: 0 lun: 1 } state { dvd_no_media {} } } \
         max_transfer_length: 1048576 } }",
    );
    t
}

/// Length-delimited field: tag, length, bytes.
fn len_field(out: &mut Vec<u8>, number: u32, bytes: &[u8]) {
    write_varint(out, u64::from(number) << 3 | 2);
    write_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn varint_field(out: &mut Vec<u8>, number: u32, value: u64) {
    write_varint(out, u64::from(number) << 3);
    write_varint(out, value);
}

/// A top-level `units` field of the sample VM: a unit named `name` whose state is an Any
/// of `url` holding `payload`.
pub fn unit_field(name: &[u8], url: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut any = Vec::new();
    len_field(&mut any, 1, url);
    len_field(&mut any, 2, payload);
    let mut unit = Vec::new();
    len_field(&mut unit, 1, name);
    len_field(&mut unit, 2, &any);
    let mut field = Vec::new();
    len_field(&mut field, 1, &unit);
    field
}

fn broken_samples(pool: &DescriptorPool, vm: &[u8]) -> anyhow::Result<Vec<(&'static str, Vec<u8>)>> {
    let base = healthy_vm_text();
    let with = |extra: &str| encode_text(pool, &format!("{base}{extra}"));
    // The partition unit cut in half: a snapshot written by a crashed process.
    let partition_at = find(vm, b"partition").unwrap_or(vm.len() / 2);
    let truncated = vm[..partition_at + (vm.len() - partition_at) / 2].to_vec();
    // A unit whose type no registered schema declares, with real bytes in its payload.
    let mut hpet = Vec::new();
    varint_field(&mut hpet, 1, 0x8086_a201);
    let url = b"type.googleapis.com/sample.chipset.hpet.SavedState";
    let unknown_url = [vm, &unit_field(b"hpet", url, &hpet)].concat();
    // com1's `lcr` (uint32) written length-delimited: a writer/reader schema mismatch.
    let mut uart = Vec::new();
    varint_field(&mut uart, 1, 1);
    len_field(&mut uart, 2, &[3]);
    varint_field(&mut uart, 3, 11);
    let wrong_wire = with(&raw_unit("com2", "serial.uart16550.SavedState", &uart))?;
    // An I/O APIC without its fixed array of redirection entries.
    let missing_array = with(&unit("ioapic2", "chipset.ioapic.SavedState", "id: 1 index: 3"))?;
    let mut bad_name = vm.to_vec();
    let at = find(&bad_name, b"com1").ok_or_else(|| anyhow::anyhow!("com1 unit missing"))?;
    bad_name[at + 1] = 0xff;
    Ok(vec![
        ("truncated.bin", truncated),
        ("unknown-type-url.bin", unknown_url),
        ("wrong-wire-type.bin", wrong_wire),
        ("missing-fixed-array.bin", missing_array),
        ("bad-utf8-name.bin", bad_name),
    ])
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Builds a blob of at least `target` bytes for benchmarks, of type `sample.virt.x86.Msrs`:
/// one message of small repeated messages (an MSR's index and value each), the densest
/// shape a saved state takes, with no Any.
pub fn msr_entries(target: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(target + 32);
    let mut entry = Vec::new();
    let mut i: u64 = 0;
    while out.len() < target {
        entry.clear();
        entry.push(0x08);
        write_varint(&mut entry, 0xc000_0080 + i % 4096);
        entry.push(0x10);
        write_varint(&mut entry, (0xfee0_0000u64 << 20) + i * 7919);
        out.push(0x0a);
        write_varint(&mut out, entry.len() as u64);
        out.extend_from_slice(&entry);
        i += 1;
    }
    out
}

/// Builds a blob of at least `target` bytes for benchmarks: the sample VM's units repeated,
/// with the partition unit grown to many VPs so that the mix resembles a large VM. Each
/// repetition names its units apart (`vmtime#000001`, …), as a restorable VM must.
pub fn large_vm(target: usize) -> Vec<u8> {
    const MARK: &str = "@@@@@@";
    let mut one = String::new();
    for i in 0..64 {
        let _ = write!(one, "{} ", vp(i, 0xffff_ffff_8100_0000 + u64::from(i), "running"));
    }
    let units = format!("{}{}", healthy_vm_text(), unit("partition-large", "partition.Partition", &one));
    let opening = "units { name: \"";
    let mut named = String::with_capacity(units.len());
    for (i, part) in units.split(opening).enumerate() {
        let Some(close) = part.find('"').filter(|_| i > 0) else {
            named += part;
            continue;
        };
        let _ = write!(named, "{opening}{}#{}{}", &part[..close], MARK, &part[close..]);
    }
    let schema = crate::decode::schema::Schema::load(&Default::default()).expect("registered schemas load");
    let block = encode_text(&schema.pool, &named).expect("sample text encodes");
    let marks: Vec<usize> = (0..block.len()).filter(|&at| block[at..].starts_with(MARK.as_bytes())).collect();
    let mut out = Vec::with_capacity(target + block.len());
    let mut repetition = 0;
    while out.len() < target {
        repetition += 1;
        let start = out.len();
        out.extend_from_slice(&block);
        let digits = format!("{:06}", repetition % 1_000_000);
        for &at in &marks {
            out[start + at..start + at + MARK.len()].copy_from_slice(digits.as_bytes());
        }
    }
    out
}
