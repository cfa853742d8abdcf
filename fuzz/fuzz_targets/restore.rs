//! A restore-like consumer of the sample VM state, fuzzed through statescope's
//! structure-aware mutator (cargo-fuzz's custom mutator hook): each unit's Any payload is
//! decoded into a typed message of its registered type by prost-reflect, as a VMM decodes
//! its saved state, and its invariants are checked (a decoded payload re-encodes to bytes
//! that decode and encode to the same bytes). With `STATESCOPE_DEFAULT_MUTATOR` set, libFuzzer's own
//! byte mutator runs instead, for comparing coverage.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::{fuzz_crossover, fuzz_mutator, fuzz_target};
use prost::Message;
use prost_reflect::DynamicMessage;
use statescope::{Mutator, MutatorOptions, Schema, SchemaSources};

fn schema() -> Arc<Schema> {
    static SCHEMA: OnceLock<Arc<Schema>> = OnceLock::new();
    SCHEMA.get_or_init(|| Arc::new(Schema::load(&SchemaSources::default()).unwrap())).clone()
}

fn mutator() -> &'static Mutator {
    static MUTATOR: OnceLock<Mutator> = OnceLock::new();
    MUTATOR.get_or_init(|| {
        let schema = schema();
        let root = schema.pool.get_message_by_name(statescope::samples::ROOT_TYPE);
        Mutator::new(schema, root, MutatorOptions::default())
    })
}

fn ours() -> bool {
    static OURS: OnceLock<bool> = OnceLock::new();
    *OURS.get_or_init(|| std::env::var_os("STATESCOPE_DEFAULT_MUTATOR").is_none())
}

fuzz_target!(|data: &[u8]| {
    let schema = schema();
    let root = schema.pool.get_message_by_name(statescope::samples::ROOT_TYPE).unwrap();
    let Ok(state) = DynamicMessage::decode(root, data) else { return };
    let Some(units) = state.get_field_by_name("units") else { return };
    let Some(units) = units.as_list() else { return };
    for unit in units {
        let Some(unit) = unit.as_message() else { continue };
        let Some(any) = unit.get_field_by_name("state") else { continue };
        let Some(any) = any.as_message() else { continue };
        let url = any.get_field_by_name("type_url").and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        let value = any.get_field_by_name("value").and_then(|v| v.as_bytes().cloned()).unwrap_or_default();
        let Some(ty) = schema.resolve_type_url(&url) else { continue };
        // The restore: the payload as its typed message.
        let Ok(payload) = DynamicMessage::decode(ty.clone(), value.as_ref()) else { continue };
        // Its invariant: what it encodes to decodes, and encodes to the same bytes again.
        let encoded = payload.encode_to_vec();
        let again = DynamicMessage::decode(ty, encoded.as_slice()).expect("re-encoded payload decodes");
        assert!(again.encode_to_vec() == encoded, "{url}: re-encoding is not stable");
    }
});

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    if !ours() {
        return libfuzzer_sys::fuzzer_mutate(data, size, max_size);
    }
    let mut blob = data[..size].to_vec();
    match mutator().mutate(&mut blob, max_size, u64::from(seed)) {
        Some(_) => {
            data[..blob.len()].copy_from_slice(&blob);
            blob.len()
        }
        None => libfuzzer_sys::fuzzer_mutate(data, size, max_size),
    }
});

fuzz_crossover!(|a: &[u8], b: &[u8], out: &mut [u8], seed: u32| {
    let mut blob = a.to_vec();
    if !ours() || mutator().crossover(&mut blob, b, out.len(), u64::from(seed)).is_none() {
        let n = a.len().min(out.len());
        out[..n].copy_from_slice(&a[..n]);
        return n;
    }
    out[..blob.len()].copy_from_slice(&blob);
    blob.len()
});
