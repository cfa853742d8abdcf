//! Fuzzes the scanner and the schema overlay: any bytes, decoded schema-less and as the
//! sample VM's root type, then rendered as tree, text and JSON (whole, and streamed in
//! parts on two threads, which must write what the whole document does, or for the tree
//! and text what one streamed pass writes, and the streamed tree what the whole document
//! shows), and its flat runs walked from their bytes.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use statescope::{
    Decoder, NodeId, Pieces, Schema, SchemaSources, Source, TextOptions, TreeOptions, write_json, write_json_streaming,
    write_text, write_text_streaming, write_tree, write_tree_streaming,
};

fn schema() -> Arc<Schema> {
    static SCHEMA: OnceLock<Arc<Schema>> = OnceLock::new();
    SCHEMA.get_or_init(|| Arc::new(Schema::load(&SchemaSources::default()).unwrap())).clone()
}

fuzz_target!(|data: &[u8]| {
    let schema = schema();
    let root = schema.pool.get_message_by_name(statescope::samples::ROOT_TYPE);
    for root in [None, root] {
        let decoder = Decoder::new(schema.clone(), root);
        let doc = decoder.decode(Source::new(data.to_vec()));
        let mut sink = std::io::sink();
        write_tree(&doc, NodeId::ROOT, TreeOptions { offsets: true }, &mut sink).unwrap();
        write_text(&doc, NodeId::ROOT, TextOptions { expand_any: true }, &mut sink).unwrap();
        let mut whole = Vec::new();
        let json = write_json(&doc, NodeId::ROOT, false, &mut whole);
        let mut streamed = Vec::new();
        let pieces = Pieces { threads: 2, bytes: 32 };
        let stream = write_json_streaming(&decoder, Source::new(data.to_vec()), false, pieces, &mut streamed);
        if let (Ok(()), Ok(Ok(()))) = (&json, &stream) {
            // The sample schema has no map, the one thing JSON writes in no set order.
            assert_eq!(streamed, whole, "streamed JSON is the whole document's");
        }
        // The tree and text streamed a top-level field at a time, in one pass and in parts
        // (a streamed packed run has no element nodes: its values are read from its bytes).
        let passes = [Pieces { threads: 1, bytes: 32 }, pieces].map(|pieces| {
            let (mut tree, mut text) = (Vec::new(), Vec::new());
            let options = TreeOptions { offsets: false };
            write_tree_streaming(&decoder, Source::new(data.to_vec()), options, pieces, &mut tree).unwrap();
            let options = TextOptions { expand_any: true };
            let text_written = write_text_streaming(&decoder, Source::new(data.to_vec()), options, pieces, &mut text);
            (tree, text_written.unwrap().is_ok().then_some(text))
        });
        assert_eq!(passes[0], passes[1], "streamed in parts is what one streamed pass writes");
        // Streamed, runs of clean top-level messages are written from their bytes, not
        // built: the tree is still the whole document's, but for where the root's own
        // problems go (a stream knows them last).
        let mut whole_tree = Vec::new();
        write_tree(&doc, NodeId::ROOT, TreeOptions { offsets: false }, &mut whole_tree).unwrap();
        let streamed_tree = root_problems_apart(&passes[0].0);
        assert!(streamed_tree == root_problems_apart(&whole_tree), "the streamed tree is the whole document's");
        // Each flat run walked from its bytes, as a search and a selector walk it, once.
        let mut walked_to = NodeId::ROOT;
        for id in NodeId::ROOT.up_to(doc.end()) {
            let _ = doc.resolve_path(&doc.path_of(id));
            let Some(mut walk) = doc.flat_walk(id, &doc.node(id)).filter(|_| id >= walked_to) else { continue };
            while let Some(message) = walk.next() {
                walked_to = message.node().next;
                for leaf in walk.leaves() {
                    assert_eq!(leaf.node, doc.node(leaf.id), "a walk's leaf is the node read by its id");
                    let _ = leaf.scalar();
                }
            }
        }
    }
});

/// A tree's lines, and apart from them its root's own problems (at depth 1).
fn root_problems_apart(tree: &[u8]) -> (Vec<&[u8]>, Vec<&[u8]>) {
    tree.split(|&b| b == b'\n').partition(|line| !(line.starts_with(b"  !! ") || line.starts_with(b"  ?? ")))
}
