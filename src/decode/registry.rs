//! The descriptor registry: one `DescriptorPool` built from link-time registered descriptor
//! sets, `.proto` files and folders compiled at run time, and descriptor-set files.
//!
//! Schemas the user names on the command line win over registered ones: a registered file
//! whose name collides with the user's is left out. Between registered sets, another
//! crate's wins over statescope's built-in ones, and every registered file left out is
//! reported as a [`Collision`], never dropped silently.
#![allow(unsafe_code)] // linkme's distributed slice statics are the one use of `unsafe` here.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use prost::Message as _;
use prost_reflect::DescriptorPool;
use prost_reflect::prost_types::{FileDescriptorProto, FileDescriptorSet};

/// One descriptor set compiled into a binary: a `FileDescriptorSet` in protobuf encoding.
#[derive(Debug, Clone, Copy)]
pub struct RegisteredDescriptors {
    /// Where the set comes from, for diagnostics (e.g. `statescope samples`).
    pub name: &'static str,
    /// The encoded `google.protobuf.FileDescriptorSet`.
    pub bytes: &'static [u8],
}

/// Every descriptor set linked into this binary. Add to it with [`crate::register_descriptors!`].
#[linkme::distributed_slice]
pub static DESCRIPTOR_SETS: [RegisteredDescriptors];

/// Registers an encoded `FileDescriptorSet` so that every statescope pool includes it.
///
/// ```ignore
/// statescope::register_descriptors!(MY_VMM, "my-vmm", include_bytes!("my_vmm.binpb"));
/// ```
/// A binary that links the crate holding this call must reference that crate
/// (`use my_crate as _;`), or the linker drops the registration.
#[macro_export]
macro_rules! register_descriptors {
    ($static_name:ident, $name:expr, $bytes:expr) => {
        #[$crate::__linkme::distributed_slice($crate::DESCRIPTOR_SETS)]
        #[linkme(crate = $crate::__linkme)]
        static $static_name: $crate::RegisteredDescriptors =
            $crate::RegisteredDescriptors { name: $name, bytes: $bytes };
    };
}

register_descriptors!(WELL_KNOWN_TYPES, "google well-known types", include_bytes!("well_known_types.binpb"));
register_descriptors!(SAMPLE_SCHEMAS, "statescope samples", include_bytes!("../../samples/schema.binpb"));

/// Schema sources named by the user, in addition to the registered ones.
#[derive(Debug, Clone, Default)]
pub struct SchemaSources {
    /// Single `.proto` files; each one's folder becomes an include path.
    pub proto_files: Vec<PathBuf>,
    /// Flat folders of `<package>.proto` files that import each other by bare name.
    pub proto_dirs: Vec<PathBuf>,
    /// Encoded `FileDescriptorSet` files (`protoc -o`, `buf build`).
    pub descriptor_sets: Vec<PathBuf>,
}

/// Why a schema could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// A `.proto` file or folder that protox rejected.
    #[error("{0}")]
    Compile(String),
    /// A descriptor-set file that could not be read or decoded.
    #[error("{path}: {reason}")]
    DescriptorSet {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// Schemas that contradict each other.
    #[error("{0}")]
    Conflict(String),
    /// Schemas with more types than a document can tell apart.
    #[error("{0}")]
    TooLarge(String),
}

/// A registered file that was left out of the pool, so its types are not the ones used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collision {
    /// The file name inside the descriptor sets (`sample.chipset.pit.proto`).
    pub file: String,
    /// The registered set that brought the file that was left out.
    pub left_out_from: &'static str,
    /// Why: which set's file of that name was kept, or what the pool refused.
    pub reason: String,
}

impl std::fmt::Display for Collision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "registered descriptor set `{}`: `{}` left out: {}", self.left_out_from, self.file, self.reason)
    }
}

/// The names of the sets statescope itself registers; every other set comes from a crate
/// that links statescope, and wins over these when the two define the same file.
const BUILT_IN_SETS: [&str; 2] = ["google well-known types", "statescope samples"];

/// What [`build_pool`] built.
#[derive(Debug, Clone)]
pub struct BuiltPool {
    /// Every descriptor.
    pub pool: DescriptorPool,
    /// Registered files left out, each worth a warning.
    pub collisions: Vec<Collision>,
    /// The names of the files the user's own schemas brought (imports included).
    pub user_files: HashSet<String>,
}

/// Builds the pool: user schemas first, then every registered set that does not collide.
/// Registered files left out because they contradict another registered file are returned
/// beside the pool, so that no collision goes unsaid.
pub fn build_pool(sources: &SchemaSources) -> Result<BuiltPool, SchemaError> {
    let mut pool = DescriptorPool::new();
    for path in &sources.descriptor_sets {
        let read = regular_file(path).and_then(|()| std::fs::read(path));
        let bytes =
            read.map_err(|e| SchemaError::DescriptorSet { path: path.clone(), reason: format!("cannot read: {e}") })?;
        let set = FileDescriptorSet::decode(bytes.as_slice()).map_err(|e| SchemaError::DescriptorSet {
            path: path.clone(),
            reason: format!("not a FileDescriptorSet ({e}); make one with `protoc -o FILE` or `buf build -o FILE`"),
        })?;
        add_user_files(&mut pool, set.file, &path.display().to_string())?;
    }
    if !sources.proto_files.is_empty() || !sources.proto_dirs.is_empty() {
        let compiled = compile_protos(sources)?;
        if pool.files().len() == 0 {
            // The compiler's own pool is the pool, rather than one built again from a copy
            // of its files (a fifth of the time a small state took with its schemas).
            pool = compiled;
        } else {
            let files = compiled.file_descriptor_protos().cloned().collect();
            add_user_files(&mut pool, files, "the --proto/--proto-dir schemas")?;
        }
    }
    let mut registered: Vec<(&'static str, Vec<FileDescriptorProto>)> = DESCRIPTOR_SETS
        .iter()
        .filter_map(|r| FileDescriptorSet::decode(r.bytes).ok().map(|set| (r.name, set.file)))
        .collect();
    // Other crates' sets first, so that theirs win over the built-in ones; link order
    // decides nothing.
    registered.sort_by_key(|(name, _)| BUILT_IN_SETS.contains(name));
    let user_files = pool.files().map(|f| f.name().to_owned()).collect();
    let collisions = add_registered_files(&mut pool, registered);
    Ok(BuiltPool { pool, collisions, user_files })
}

fn add_user_files(pool: &mut DescriptorPool, files: Vec<FileDescriptorProto>, origin: &str) -> Result<(), SchemaError> {
    let fresh: Vec<_> = files.into_iter().filter(|f| pool.get_file_by_name(f.name()).is_none()).collect();
    pool.add_file_descriptor_protos(fresh).map_err(|e| SchemaError::Conflict(format!("{origin}: {e}")))
}

/// Whether two files of the same name declare the same things (comments aside).
fn same_declarations(a: &FileDescriptorProto, b: &FileDescriptorProto) -> bool {
    let strip = |f: &FileDescriptorProto| FileDescriptorProto { source_code_info: None, ..f.clone() };
    strip(a) == strip(b)
}

/// Adds registered files (from sets linked in any order) once their imports are present.
/// A file the user's schemas already hold is skipped (the user's wins, as documented); a
/// file that another registered set defines differently, or that the pool refuses, is
/// left out and returned as a [`Collision`], as is any file that depends on one left out.
fn add_registered_files(
    pool: &mut DescriptorPool,
    sets: Vec<(&'static str, Vec<FileDescriptorProto>)>,
) -> Vec<Collision> {
    let mut collisions = Vec::new();
    let mut pending: Vec<(&'static str, FileDescriptorProto)> = Vec::new();
    let mut by_name: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (origin, files) in sets {
        for file in files {
            if pool.get_file_by_name(file.name()).is_some() {
                continue;
            }
            match by_name.get(file.name()) {
                Some(&kept) if !same_declarations(&pending[kept].1, &file) => collisions.push(Collision {
                    file: file.name().to_owned(),
                    left_out_from: origin,
                    reason: format!("`{}` defines a different file of that name, and was kept", pending[kept].0),
                }),
                Some(_) => {}
                None => {
                    by_name.insert(file.name().to_owned(), pending.len());
                    pending.push((origin, file));
                }
            }
        }
    }
    // Usually nothing collides: add them all at once (the pool orders them itself). Only
    // when that fails are they tried one by one. A failed add leaves the pool as it was
    // (prost-reflect takes back what it added), so no copy of it is made for a trial: the
    // copy cloned every file already in it, the user's schemas too (a sixth of the time a
    // 21 KB state took with its 43-file `--proto-dir`: 15.2 to 12.7 ms).
    if pool.add_file_descriptor_protos(pending.iter().map(|(_, f)| f.clone())).is_ok() {
        return collisions;
    }
    loop {
        let before = pending.len();
        let mut waiting = Vec::new();
        for (origin, file) in pending {
            if !file.dependency.iter().all(|d| pool.get_file_by_name(d).is_some()) {
                waiting.push((origin, file));
                continue;
            }
            let name = file.name().to_owned();
            if let Err(e) = pool.add_file_descriptor_protos([file]) {
                collisions.push(Collision { file: name, left_out_from: origin, reason: e.to_string() });
            }
        }
        if waiting.len() == before || waiting.is_empty() {
            for (origin, file) in waiting {
                let reason = format!("it imports {} and an import was left out", file.dependency.join(", "));
                collisions.push(Collision { file: file.name().to_owned(), left_out_from: origin, reason });
            }
            return collisions;
        }
        pending = waiting;
    }
}

/// Compiles `.proto` files and flat folders with protox into its pool, which holds every
/// import (google's well-known types included) and the comments (they mark packed-only
/// fixed arrays).
fn compile_protos(sources: &SchemaSources) -> Result<DescriptorPool, SchemaError> {
    let mut includes: Vec<PathBuf> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    // Where each file name was found: protobuf imports by name, so two files of one name
    // cannot both be loaded, and silently keeping one would decode with the wrong schema.
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    let mut add = |name: String, path: PathBuf| -> Result<(), SchemaError> {
        regular_file(&path).map_err(|e| SchemaError::Compile(format!("{}: {e}", path.display())))?;
        if let Some(first) = seen.get(&name) {
            if std::fs::canonicalize(first).ok() == std::fs::canonicalize(&path).ok() {
                return Ok(()); // the same file named twice
            }
            return Err(SchemaError::Compile(format!(
                "{} and {} are both named {name}; imports name files, so only one can be loaded: \
                 give one of them",
                first.display(),
                path.display()
            )));
        }
        seen.insert(name.clone(), path);
        names.push(name);
        Ok(())
    };
    for dir in &sources.proto_dirs {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| SchemaError::Compile(format!("{}: cannot read schema folder: {e}", dir.display())))?;
        let mut found: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".proto"))
            .collect();
        if found.is_empty() {
            return Err(SchemaError::Compile(format!("{}: no .proto files in this folder", dir.display())));
        }
        found.sort();
        includes.push(dir.clone());
        for name in found {
            add(name.clone(), dir.join(&name))?;
        }
    }
    for file in &sources.proto_files {
        let dir = file.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| SchemaError::Compile(format!("{}: not a file name", file.display())))?;
        includes.push(dir.to_path_buf());
        add(name, file.clone())?;
    }
    let mut compiler = protox::Compiler::new(&includes).map_err(|e| SchemaError::Compile(e.to_string()))?;
    compiler.open_files(&names).map_err(|e| SchemaError::Compile(describe_protox_error(&e)))?;
    Ok(compiler.descriptor_pool())
}

/// Fails unless `path` is a regular file (following links): a FIFO would block the read
/// forever, and a device such as `/dev/zero` never ends.
fn regular_file(path: &Path) -> std::io::Result<()> {
    if std::fs::metadata(path)?.is_file() {
        Ok(())
    } else {
        Err(std::io::Error::other("not a regular file; schemas are read from regular files only"))
    }
}

/// Renders a protox error as `file:line:column: message`.
fn describe_protox_error(error: &protox::Error) -> String {
    use miette::Diagnostic;
    let message = error.to_string();
    let location = error.source_code().zip(error.labels().and_then(|mut l| l.next())).and_then(|(source, label)| {
        let contents = source.read_span(label.inner(), 0, 0).ok()?;
        let name = contents.name().map(str::to_owned).or_else(|| error.file().map(str::to_owned))?;
        Some(format!("{name}:{}:{}", contents.line() + 1, contents.column() + 1))
    });
    match (location, error.file()) {
        (Some(location), _) => format!("{location}: {message}"),
        (None, Some(file)) if !message.contains(file) => format!("{file}: {message}"),
        _ => message,
    }
}

#[cfg(test)]
mod tests {
    use prost_reflect::prost_types::DescriptorProto;

    use super::*;

    /// A file declaring one message with one field, importing `deps`.
    fn file(name: &str, package: &str, message: &str, deps: &[&str]) -> FileDescriptorProto {
        FileDescriptorProto {
            name: Some(name.to_owned()),
            package: Some(package.to_owned()),
            dependency: deps.iter().map(|d| d.to_string()).collect(),
            message_type: vec![DescriptorProto { name: Some(message.to_owned()), ..Default::default() }],
            syntax: Some("proto3".to_owned()),
            ..Default::default()
        }
    }

    #[test]
    fn the_same_file_twice_is_no_collision() {
        let mut pool = DescriptorPool::new();
        let a = file("a.proto", "a", "A", &[]);
        let collisions = add_registered_files(&mut pool, vec![("one", vec![a.clone()]), ("two", vec![a])]);
        assert!(collisions.is_empty(), "{collisions:?}");
        assert!(pool.get_message_by_name("a.A").is_some());
    }

    #[test]
    fn a_different_file_of_the_same_name_is_left_out_and_said() {
        let mut pool = DescriptorPool::new();
        let first = file("a.proto", "a", "A", &[]);
        let second = file("a.proto", "a", "Other", &[]);
        let collisions = add_registered_files(&mut pool, vec![("one", vec![first]), ("two", vec![second])]);
        assert_eq!(collisions.len(), 1);
        assert_eq!(collisions[0].left_out_from, "two");
        assert!(collisions[0].to_string().contains("`one` defines a different file of that name"));
        assert!(pool.get_message_by_name("a.A").is_some() && pool.get_message_by_name("a.Other").is_none());
    }

    #[test]
    fn a_file_whose_import_is_missing_is_left_out_and_said() {
        let mut pool = DescriptorPool::new();
        let orphan = file("b.proto", "b", "B", &["missing.proto"]);
        let fine = file("c.proto", "c", "C", &[]);
        let collisions = add_registered_files(&mut pool, vec![("set", vec![orphan, fine])]);
        assert_eq!(collisions.len(), 1, "{collisions:?}");
        assert!(collisions[0].reason.contains("missing.proto"));
        assert!(pool.get_message_by_name("c.C").is_some(), "the rest still loads");
    }

    #[test]
    fn a_file_the_pool_refuses_leaves_the_pool_as_it_was() {
        let mut pool = DescriptorPool::new();
        // `d.proto` declares `a.A` again: the pool refuses it, and must take back what it
        // had begun to add, as no copy of the pool is tried first.
        let (a, d) = (file("a.proto", "a", "A", &[]), file("d.proto", "a", "A", &[]));
        let after = file("e.proto", "e", "E", &["a.proto"]);
        let collisions = add_registered_files(&mut pool, vec![("set", vec![a, d, after])]);
        assert_eq!(collisions.iter().map(|c| c.file.as_str()).collect::<Vec<_>>(), ["d.proto"], "{collisions:?}");
        assert!(pool.get_file_by_name("d.proto").is_none());
        assert_eq!(
            pool.get_message_by_name("a.A").map(|m| m.parent_file().name().to_owned()).as_deref(),
            Some("a.proto")
        );
        assert!(pool.get_message_by_name("e.E").is_some(), "files after the refused one still load");
        assert_eq!(pool.files().count(), 2);
    }

    #[test]
    fn files_the_user_already_loaded_are_not_collisions() {
        let mut pool = DescriptorPool::new();
        add_user_files(&mut pool, vec![file("a.proto", "a", "Mine", &[])], "user").unwrap();
        let collisions = add_registered_files(&mut pool, vec![("set", vec![file("a.proto", "a", "A", &[])])]);
        assert!(collisions.is_empty());
        assert!(pool.get_message_by_name("a.Mine").is_some());
    }
}
