//! Regenerates the sample schema descriptor sets and blobs under `samples/`.
//! Run from the repository root: `cargo run --example gen_samples`.

fn main() -> anyhow::Result<()> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for file in statescope::samples::generate(root)? {
        let path = root.join(&file.path);
        std::fs::create_dir_all(path.parent().expect("generated paths have a folder"))?;
        std::fs::write(&path, &file.bytes)?;
        println!("{} ({} bytes)", file.path.display(), file.bytes.len());
    }
    Ok(())
}
