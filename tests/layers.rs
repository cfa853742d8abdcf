//! The layering the crate promises, checked on its sources: each top-level module of
//! `src/` may use only the modules of lower layers (or its own), so no import cycle can
//! come back. Run alone with `cargo test --test layers`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The layers, lowest first. A module may use any module of an earlier layer.
const LAYERS: &[&[&str]] = &[
    &["files", "decode"],
    &["model"],
    &["render", "edit", "explain", "compare"],
    &["mutate", "samples", "reduce", "redact"],
    &["open"],
    &["ui"],
    &["cli"],
];

fn layer_of(module: &str) -> usize {
    LAYERS.iter().position(|layer| layer.contains(&module)).unwrap_or_else(|| panic!("`{module}` has no layer"))
}

/// Every `.rs` file of a top-level module: `src/NAME.rs` and everything under `src/NAME/`.
fn files_of(src: &Path, module: &str) -> Vec<PathBuf> {
    let mut files = vec![src.join(format!("{module}.rs"))];
    let mut dirs = vec![src.join(module)];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.retain(|f| f.is_file());
    files
}

/// The top-level modules a file names as `crate::NAME`, directly or in a `use crate::{…}`.
fn uses(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let word = |s: &str| s.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect::<String>();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            found.extend(group.split(',').map(|part| word(part.trim())).filter(|w| !w.is_empty()));
        } else {
            found.insert(word(rest));
        }
    }
    found.retain(|m| LAYERS.iter().any(|layer| layer.contains(&m.as_str())));
    found
}

#[test]
fn every_module_uses_only_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut violations = Vec::new();
    for module in LAYERS.iter().flat_map(|layer| layer.iter()) {
        for file in files_of(&src, module) {
            let text = std::fs::read_to_string(&file).unwrap();
            for used in uses(&text) {
                if used != *module && layer_of(&used) >= layer_of(module) {
                    violations.push(format!("{} uses crate::{used}", file.display()));
                }
            }
        }
    }
    assert!(violations.is_empty(), "layer violations (a module may use only lower layers):\n{}", violations.join("\n"));
}

#[test]
fn every_top_level_module_has_a_layer() {
    let lib = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    for line in lib.lines() {
        let declared = line.trim().trim_start_matches("pub ").strip_prefix("mod ").and_then(|m| m.strip_suffix(';'));
        if let Some(module) = declared {
            layer_of(module);
        }
    }
}

#[test]
fn the_checker_sees_plain_and_grouped_uses() {
    let text = "use crate::model::Document;\nuse crate::{edit::Editor, render};\nlet x = crate::ui::run();";
    let found: Vec<String> = uses(text).into_iter().collect();
    assert_eq!(found, ["edit", "model", "render", "ui"]);
}
