//! Fuzzes the scanner and the schema overlay: any bytes, decoded schema-less and as the
//! sample VM's root type, then rendered as tree, text and problem report.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use statescope::decode::overlay::Limits;
use statescope::decode::registry::{SchemaSources, build_pool};
use statescope::decode::schema::Schema;
use statescope::model::Document;
use statescope::model::source::Source;
use statescope::render::{text, tree};

fn schema() -> Arc<Schema> {
    static SCHEMA: OnceLock<Arc<Schema>> = OnceLock::new();
    SCHEMA.get_or_init(|| Arc::new(Schema::new(build_pool(&SchemaSources::default()).unwrap()))).clone()
}

fuzz_target!(|data: &[u8]| {
    let schema = schema();
    let root = schema.pool.get_message_by_name("openvmm.SavedState");
    for root in [None, root] {
        let doc = Document::decode(Source::Owned(data.to_vec()), schema.clone(), root, Limits::default());
        let mut sink = std::io::sink();
        tree::write_tree(&doc, 0, tree::TreeOptions { offsets: true }, &mut sink).unwrap();
        text::write_text(&doc, 0, text::TextOptions { expand_any: true }, &mut sink).unwrap();
        for id in 0..doc.nodes.len() as u32 {
            let path = statescope::model::path::path_of(&doc, id);
            let _ = statescope::model::path::resolve(&doc, &path);
        }
    }
});
