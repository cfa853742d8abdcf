//! The committed samples are exactly what the generator makes, and the benchmark blob is sound.

mod common;

#[test]
fn regenerating_gives_the_committed_bytes() {
    let files = statescope::samples::generate(&common::root()).expect("generator runs");
    assert!(files.len() >= 8, "schema sets, the healthy blob and five broken ones");
    for file in files {
        let committed = std::fs::read(common::root().join(&file.path))
            .unwrap_or_else(|e| panic!("{} is committed: {e}", file.path.display()));
        assert!(committed == file.bytes, "{} is stale: run `cargo run --example gen_samples`", file.path.display());
    }
}

#[test]
fn generation_is_deterministic() {
    let a = statescope::samples::generate(&common::root()).unwrap();
    let b = statescope::samples::generate(&common::root()).unwrap();
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.bytes, y.bytes, "{}", x.path.display());
    }
}

#[test]
fn the_benchmark_blob_is_a_restorable_state() {
    use statescope::{Decoder, Schema, SchemaSources, Source, samples};
    use std::sync::Arc;
    let schema = Arc::new(Schema::load(&SchemaSources::default()).unwrap());
    let root = schema.pool.get_message_by_name(samples::ROOT_TYPE);
    let blob = samples::large_vm(200_000);
    assert!(blob.len() >= 200_000);
    let doc = Decoder::new(schema, root).decode(Source::new(blob));
    let problems: Vec<String> = doc.problems().iter().take(3).map(|p| format!("{p:?}")).collect();
    assert!(problems.is_empty(), "repeated units are named apart, so nothing fails a restore: {problems:?}");
    let names: std::collections::HashSet<String> =
        (0..).map_while(|i| doc.resolve(&format!("units[{i}].name")).ok()).map(|name| doc.preview(name)).collect();
    assert!(names.len() > 20 && names.contains("\"vmtime#000002\""), "{names:?}");
}
