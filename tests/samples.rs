//! The committed samples are exactly what the generator makes.

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
