//! The likely-cause finder on random single faults in valid blobs (the built-in sample, and
//! the real OpenVMM state when `../shared` is there): how often the cause it reports covers
//! the damaged byte. The rates are printed (`cargo test --test causes -- --nocapture`) and
//! held above a floor, so a change that makes the finder worse fails here; and one fault
//! repeated in unit after unit, named in each.

mod common;

use std::sync::Arc;

use statescope::{Decoder, Document, NodeId, NodeKind, ProblemKind, Rng, Schema, SchemaSources, Severity, Source};

/// One single fault, and the bytes it may be said to be at.
struct Fault {
    what: &'static str,
    bytes: Vec<u8>,
    /// Offsets in the damaged blob that name the fault (a dropped byte: either side of the gap).
    at: std::ops::RangeInclusive<usize>,
}

/// A random single fault of one of the kinds real corruption makes.
fn fault(original: &[u8], doc: &Document, rng: &mut Rng) -> Fault {
    let mut bytes = original.to_vec();
    let i = rng.below(bytes.len());
    match rng.below(6) {
        0 => {
            bytes[i] ^= 1 << rng.below(8);
            Fault { what: "bit flip", bytes, at: i..=i }
        }
        1 => {
            bytes[i] = rng.next_u64() as u8;
            Fault { what: "byte overwritten", bytes, at: i..=i }
        }
        2 => {
            bytes.insert(i, rng.next_u64() as u8);
            Fault { what: "byte inserted", bytes, at: i..=i }
        }
        3 => {
            bytes.remove(i);
            Fault { what: "byte dropped", bytes, at: i.saturating_sub(1)..=i }
        }
        kind => {
            // A tag's wire type changed, or a length prefix made longer: at a random field.
            let fields: Vec<NodeId> = NodeId::ROOT
                .up_to(doc.end())
                .filter(|&id| {
                    let node = doc.node(id);
                    node.kind != NodeKind::Root && node.kind != NodeKind::AnyPayload && node.wire.is_some()
                })
                .filter(|&id| kind == 4 || doc.node(id).wire == Some(statescope::WireType::Len))
                .collect();
            let node = doc.node(fields[rng.below(fields.len())]);
            let tag = node.start as usize;
            if kind == 4 {
                let wire = [0u8, 1, 2, 5].into_iter().filter(|&w| w != bytes[tag] & 7).collect::<Vec<_>>();
                bytes[tag] = (bytes[tag] & !7) | wire[rng.below(wire.len())];
                Fault { what: "wire type changed", bytes, at: tag..=tag }
            } else {
                // The length's first byte, after the tag; its low 7 bits grow.
                let at = tag + varint_len(&bytes[tag..]);
                bytes[at] = (bytes[at] & 0x80) | ((bytes[at] & 0x7f).wrapping_add(1 + rng.below(20) as u8) & 0x7f);
                Fault { what: "length made longer", bytes, at: at..=at }
            }
        }
    }
}

/// How many bytes the varint at the start of `bytes` takes.
fn varint_len(bytes: &[u8]) -> usize {
    bytes.iter().position(|b| b & 0x80 == 0).map_or(bytes.len(), |i| i + 1)
}

/// Counts of one run.
#[derive(Default, Debug)]
struct Tally {
    tried: usize,
    /// Faults the decoder reports an error for.
    detected: usize,
    /// Of those, with a likely cause.
    explained: usize,
    /// Of those, whose cause's span covers the damaged byte.
    covered: usize,
}

fn run(original: &[u8], schema: &Arc<Schema>, root: &str, faults: usize, seed: u64) -> Tally {
    let root = schema.pool.get_message_by_name(root).expect("root type");
    let decoder = Decoder::new(Arc::clone(schema), Some(root));
    let doc = decoder.decode(Source::new(original.to_vec()));
    assert!(doc.problems().is_empty(), "the blob is valid");
    let mut rng = Rng::new(seed);
    let mut tally = Tally::default();
    let mut by_kind: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
    for _ in 0..faults {
        let fault = fault(original, &doc, &mut rng);
        if fault.bytes == original {
            continue;
        }
        tally.tried += 1;
        let damaged = decoder.decode(Source::new(fault.bytes.clone()));
        if !damaged.problems().iter().any(|p| p.kind.severity() == Severity::Error) {
            continue;
        }
        tally.detected += 1;
        let spans: Vec<_> = damaged
            .problems()
            .iter()
            .filter_map(|p| match &p.kind {
                ProblemKind::LikelyCause(cause) => Some(cause.span.clone()),
                _ => None,
            })
            .collect();
        tally.explained += usize::from(!spans.is_empty());
        let covered = spans.iter().any(|s| fault.at.clone().any(|at| s.contains(&at)));
        tally.covered += usize::from(covered);
        if !covered && std::env::var_os("STATESCOPE_SHOW_MISSES").is_some() {
            let first = damaged.problems().iter().min_by_key(|p| p.offset).map(|p| p.kind.describe(&damaged));
            println!("  miss: {} at {:?}: {:?} / {:?}", fault.what, fault.at, spans, first);
        }
        let entry = by_kind.entry(fault.what).or_default();
        entry.0 += 1;
        entry.1 += usize::from(covered);
    }
    let rate = |n: usize| 100.0 * n as f64 / tally.detected.max(1) as f64;
    println!(
        "{faults} faults: {} changed the bytes, {} detected; a likely cause for {:.0}%, covering the damaged byte for {:.0}%",
        tally.tried,
        tally.detected,
        rate(tally.explained),
        rate(tally.covered)
    );
    for (kind, (detected, covered)) in by_kind {
        println!("  {kind}: {covered} of {detected} detected covered");
    }
    tally
}

#[test]
fn random_single_faults_in_the_sample_are_mostly_placed() {
    let schema = Arc::new(Schema::load(&SchemaSources::default()).unwrap());
    let tally = run(statescope::samples::VM_STATE, &schema, statescope::samples::ROOT_TYPE, 300, 8);
    assert!(tally.detected > 100, "{tally:?}");
    assert!(tally.covered * 100 >= tally.detected * FLOOR_PERCENT, "{tally:?}");
}

#[test]
fn random_single_faults_in_the_real_state_are_mostly_placed() {
    let Some(openvmm) = common::openvmm() else { return };
    let sources = SchemaSources { proto_dirs: vec![openvmm.join("protos")], ..Default::default() };
    let schema = Arc::new(Schema::load(&sources).unwrap());
    let original = std::fs::read(openvmm.join("state.bin")).unwrap();
    let tally = run(&original, &schema, "openvmm.SavedState", 300, 9);
    assert!(tally.detected > 100, "{tally:?}");
    assert!(tally.covered * 100 >= tally.detected * FLOOR_PERCENT, "{tally:?}");
}

/// The share of detected faults whose cause must cover the damaged byte.
const FLOOR_PERCENT: usize = 80;

#[test]
fn a_type_url_one_byte_off_in_unit_after_unit_has_its_byte_named_in_each() {
    // units[1]'s type URL with one bit flipped (`pit` -> `pht`, byte 116), in two copies
    // of the sample one after the other: the second meets the URL met last.
    let schema = Arc::new(Schema::load(&SchemaSources::default()).unwrap());
    let root = schema.pool.get_message_by_name(statescope::samples::ROOT_TYPE);
    let mut broken = statescope::samples::VM_STATE.to_vec();
    broken[116] ^= 0x01;
    let copies = [broken.as_slice(), broken.as_slice()].concat();
    let doc = Decoder::new(schema, root).decode(Source::new(copies));
    let named: Vec<usize> = doc
        .problems()
        .iter()
        .filter_map(|p| match &p.kind {
            ProblemKind::LikelyCause(cause) => Some(cause.offset),
            _ => None,
        })
        .collect();
    assert_eq!(named, [116, 116 + broken.len()]);
}
