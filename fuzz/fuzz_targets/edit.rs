//! Fuzzes the editor: the first bytes seed a sequence of structured mutations (every
//! kind `statescope mutate` knows, raw and schema-aware) applied to the sample or to the
//! input's remaining bytes; undoing them all must give the original bytes back.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use statescope::{Decoder, Editor, Rng, Schema, SchemaSources, Source, plan_mutation};

fn schema() -> Arc<Schema> {
    static SCHEMA: OnceLock<Arc<Schema>> = OnceLock::new();
    SCHEMA.get_or_init(|| Arc::new(Schema::load(&SchemaSources::default()).unwrap())).clone()
}

fuzz_target!(|data: &[u8]| {
    let (seed, blob) = match data.split_first_chunk::<8>() {
        Some((seed, rest)) if rest.len() > 16 => (u64::from_le_bytes(*seed), rest.to_vec()),
        Some((seed, _)) => (u64::from_le_bytes(*seed), statescope::samples::VM_STATE.to_vec()),
        None => return,
    };
    let schema = schema();
    let root = schema.pool.get_message_by_name(statescope::samples::ROOT_TYPE);
    let mut editor = Editor::new(Decoder::new(schema, root).decode(Source::new(blob.clone())));
    let mut rng = Rng::new(seed);
    for i in 0..8 {
        let Some(mutation) = plan_mutation(editor.doc(), &mut rng, (seed as usize).wrapping_add(i)) else { break };
        let _ = editor.apply(mutation.op);
    }
    while editor.undo() {}
    assert_eq!(editor.doc().bytes(), &blob[..], "undo restores the exact bytes");
});
