//! The structure-aware mutator: a seed repeats; every well-formed mutation leaves the blob
//! without structural problems (a type confusion: only inside the unit it names); no input
//! makes it panic, and the size limit holds.

use std::collections::HashSet;
use std::sync::Arc;

use statescope::{Decoder, Mutated, Mutator, MutatorOptions, Rng, Schema, SchemaSources, Source};

fn setup() -> (Mutator, Decoder) {
    let schema = Arc::new(Schema::load(&SchemaSources::default()).unwrap());
    let root = schema.pool.get_message_by_name(statescope::samples::ROOT_TYPE);
    (Mutator::new(schema.clone(), root.clone(), MutatorOptions::default()), Decoder::new(schema, root))
}

#[test]
fn well_formed_mutations_keep_the_blob_well_formed_and_a_seed_repeats() {
    let (m, decoder) = setup();
    let mut kinds = HashSet::new();
    for seed in 0..300 {
        let mut data = statescope::samples::VM_STATE.to_vec();
        let Some(done) = m.mutate(&mut data, 1 << 20, seed) else { continue };
        let mut again = statescope::samples::VM_STATE.to_vec();
        assert_eq!(m.mutate(&mut again, 1 << 20, seed), Some(done));
        assert_eq!(again, data, "seed {seed} repeats");
        let Mutated::Structured(kind) = done else { continue };
        kinds.insert(kind);
        let doc = decoder.decode(Source::new(data));
        let structural: Vec<_> = doc.problems().iter().filter(|p| p.kind.is_structural()).collect();
        // A payload declared as another type reads wrong inside that one unit: the
        // confusion it names. Everything else stays well-formed.
        let units: HashSet<_> =
            structural.iter().map(|p| doc.path_of(p.node).segments().first().map(|s| s.to_string())).collect();
        match kind {
            "type-confusion" => assert!(units.len() <= 1, "seed {seed}: {structural:?}"),
            _ => assert!(structural.is_empty(), "seed {seed} ({kind}) broke the structure: {structural:?}"),
        }
    }
    assert!(kinds.len() >= 6, "every well-formed kind happens: {kinds:?}");
}

#[test]
fn no_input_makes_it_panic_and_the_size_limit_holds() {
    let (m, _) = setup();
    let mut rng = Rng::new(3);
    for seed in 0..300 {
        let len = rng.below(64);
        let mut data: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        let before = data.clone();
        match m.mutate(&mut data, 80, seed) {
            Some(_) => assert!(data.len() <= 80),
            None => assert_eq!(data, before),
        }
        let _ = m.crossover(&mut data, statescope::samples::VM_STATE, 4096, seed);
        assert!(data.len() <= 4096);
    }
}
