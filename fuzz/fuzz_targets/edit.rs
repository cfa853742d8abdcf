//! Fuzzes the editor: the first bytes seed a sequence of structured mutations (every
//! kind `statescope mutate` knows, raw and schema-aware) applied to the sample or to the
//! input's remaining bytes; after each, the document (decoded again only where the edit
//! was, when it can be) must say what a whole decode says, and undoing them all must give
//! the original bytes back.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use statescope::{Decoder, Document, Editor, Node, Rng, Schema, SchemaSources, Source, plan_mutation};

fn schema() -> Arc<Schema> {
    static SCHEMA: OnceLock<Arc<Schema>> = OnceLock::new();
    SCHEMA.get_or_init(|| Arc::new(Schema::load(&SchemaSources::default()).unwrap())).clone()
}

/// Every node (its type by name) and every problem (where, and its code).
fn said(doc: &Document) -> (Vec<(Node, Option<&str>)>, Vec<(usize, u64, &'static str)>) {
    let nodes = doc.nodes().iter().map(|n| (Node { ty: None, ..*n }, n.ty.map(|t| doc.type_name(t)))).collect();
    let problems = doc.problems().iter().map(|p| (p.node.index(), p.offset, p.kind.code())).collect();
    (nodes, problems)
}

fuzz_target!(|data: &[u8]| {
    let (seed, blob) = match data.split_first_chunk::<8>() {
        Some((seed, rest)) if rest.len() > 16 => (u64::from_le_bytes(*seed), rest.to_vec()),
        Some((seed, _)) => (u64::from_le_bytes(*seed), statescope::samples::VM_STATE.to_vec()),
        None => return,
    };
    let schema = schema();
    let root = schema.pool.get_message_by_name(statescope::samples::ROOT_TYPE);
    let decoder = Decoder::new(schema, root);
    let mut editor = Editor::new(decoder.decode(Source::new(blob.clone())));
    let mut rng = Rng::new(seed);
    for i in 0..8 {
        let Some(mutation) = plan_mutation(editor.doc(), &mut rng, (seed as usize).wrapping_add(i)) else { break };
        if editor.apply(mutation.op).is_ok() {
            assert_eq!(said(editor.doc()), said(&decoder.decode(Source::new(editor.doc().bytes().to_vec()))));
        }
    }
    while editor.undo() {
        assert_eq!(said(editor.doc()), said(&decoder.decode(Source::new(editor.doc().bytes().to_vec()))));
    }
    assert_eq!(editor.doc().bytes(), &blob[..], "undo restores the exact bytes");
});
