//! Fuzzes the editor: the first bytes seed a sequence of structured mutations (every
//! kind `statescope mutate` knows, raw and schema-aware) applied to the sample or to the
//! input's remaining bytes; after each, the document (decoded again only where the edit
//! was, when it can be) must say what a whole decode says, and undoing them all must give
//! the original bytes back. The input is read from a file, as the browser reads one: after
//! each step, the extents a save would write make the document's bytes, and each span it
//! would copy from the file holds there what the document has.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use statescope::{Decoder, Document, Editor, Node, NodeId, Rng, Schema, SchemaSources, Source, plan_mutation};

fn schema() -> Arc<Schema> {
    static SCHEMA: OnceLock<Arc<Schema>> = OnceLock::new();
    SCHEMA.get_or_init(|| Arc::new(Schema::load(&SchemaSources::default()).unwrap())).clone()
}

/// What a document says: every node (its type by name) and every problem (its node, byte
/// and code).
type Said<'a> = (Vec<(Node, Option<&'a str>)>, Vec<(usize, u64, &'static str)>);

/// Every node (its type by name) and every problem (where, and its code).
fn said(doc: &Document) -> Said<'_> {
    let nodes = (0..doc.node_count()).map(|i| doc.node(NodeId::from_index(i)));
    let nodes = nodes.map(|n| (Node { ty: None, ..n }, n.ty.map(|t| doc.type_name(t)))).collect();
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
    let file = std::env::temp_dir().join(format!("statescope-fuzz-edit-{}.bin", std::process::id()));
    std::fs::write(&file, &blob).unwrap();
    let mut editor = Editor::new(decoder.decode(Source::open(&file, u64::MAX).unwrap()));
    let mut rng = Rng::new(seed);
    for i in 0..8 {
        let Some(mutation) = plan_mutation(editor.doc(), &mut rng, (seed as usize).wrapping_add(i)) else { break };
        if editor.apply(mutation.op).is_ok() {
            assert_eq!(said(editor.doc()), said(&decoder.decode(Source::new(editor.doc().bytes().to_vec()))));
            assert_saves_as_edited(&editor, &blob);
        }
    }
    while editor.undo() {
        assert_eq!(said(editor.doc()), said(&decoder.decode(Source::new(editor.doc().bytes().to_vec()))));
        assert_saves_as_edited(&editor, &blob);
    }
    assert_eq!(editor.doc().bytes(), &blob[..], "undo restores the exact bytes");
});

/// The extents a save would write are the document's bytes, and those copied from the file
/// read are the bytes read there.
fn assert_saves_as_edited(editor: &Editor, read: &[u8]) {
    let extents = editor.extents();
    let joined: Vec<u8> = extents.iter().flat_map(|p| p.bytes).copied().collect();
    assert_eq!(joined, editor.doc().bytes(), "the extents make the bytes");
    for extent in &extents {
        if let Some((_, from)) = extent.copied_from {
            let from = from as usize;
            assert_eq!(extent.bytes, &read[from..from + extent.bytes.len()], "a copied span holds what was read");
        }
    }
}
