//! How a VMM (or any crate linking statescope as a library) registers its own saved-state
//! schema: one `register_descriptors!` call with an encoded `FileDescriptorSet`, after
//! which every pool statescope builds knows the types, with no flags.
//!
//! `cargo run --example register_schema`

use std::sync::Arc;

use statescope::{Decoder, NodeId, Schema, SchemaSources, Source, TreeOptions, write_tree};

// Made with `protoc -o` or protox from `examples/schema/mydev.hpet.proto`.
statescope::register_descriptors!(MYDEV_HPET, "mydev example", include_bytes!("schema/mydev.hpet.binpb"));

fn main() -> anyhow::Result<()> {
    let schema = Arc::new(Schema::load(&SchemaSources::default())?);
    let root = schema.pool.get_message_by_name("mydev.hpet.SavedState").expect("registered above");
    // config = 1, main_counter = 123456, one timer { comparator = 99 }
    let bytes = vec![0x08, 0x01, 0x10, 0xc0, 0xc4, 0x07, 0x1a, 0x02, 0x10, 0x63];
    let doc = Decoder::new(schema, Some(root)).decode(Source::new(bytes));
    write_tree(&doc, NodeId::ROOT, TreeOptions::default(), &mut std::io::stdout().lock())?.say_advice();
    Ok(())
}
