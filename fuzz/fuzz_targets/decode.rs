//! Fuzzes the scanner and the schema overlay: any bytes, decoded schema-less and as the
//! sample VM's root type, then rendered as tree, text and problem report.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use statescope::{Decoder, NodeId, Schema, SchemaSources, Source, TextOptions, TreeOptions, write_text, write_tree};

fn schema() -> Arc<Schema> {
    static SCHEMA: OnceLock<Arc<Schema>> = OnceLock::new();
    SCHEMA.get_or_init(|| Arc::new(Schema::load(&SchemaSources::default()).unwrap())).clone()
}

fuzz_target!(|data: &[u8]| {
    let schema = schema();
    let root = schema.pool.get_message_by_name(statescope::samples::ROOT_TYPE);
    for root in [None, root] {
        let doc = Decoder::new(schema.clone(), root).decode(Source::new(data.to_vec()));
        let mut sink = std::io::sink();
        write_tree(&doc, NodeId::ROOT, TreeOptions { offsets: true }, &mut sink).unwrap();
        write_text(&doc, NodeId::ROOT, TextOptions { expand_any: true }, &mut sink).unwrap();
        for id in NodeId::ROOT.up_to(doc.end()) {
            let _ = doc.resolve_path(&doc.path_of(id));
        }
    }
});
