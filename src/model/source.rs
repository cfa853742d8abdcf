//! The bytes a document is decoded from: read into memory, or memory-mapped for large files.
#![allow(unsafe_code)] // Mapping a file is `unsafe` in memmap2; see `Source::map`.

use std::fs::File;
use std::io::Read;
use std::ops::Deref;
use std::path::Path;

/// Files at least this large are memory-mapped rather than read.
pub const MAP_THRESHOLD: u64 = 64 * 1024 * 1024;

/// Owned or mapped input bytes; derefs to `[u8]`.
#[derive(Debug)]
pub enum Source {
    /// Bytes in memory (standard input, small files, edited documents).
    Owned(Vec<u8>),
    /// A read-only mapping of a file.
    Mapped(memmap2::Mmap),
}

impl Deref for Source {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Source::Owned(v) => v,
            Source::Mapped(m) => m,
        }
    }
}

impl Source {
    /// Opens `path`, or standard input for `-`. Large regular files are mapped.
    pub fn open(path: &Path) -> std::io::Result<Source> {
        if path == Path::new("-") {
            let mut bytes = Vec::new();
            std::io::stdin().lock().read_to_end(&mut bytes)?;
            return Ok(Source::Owned(bytes));
        }
        let file = File::open(path)?;
        let meta = file.metadata()?;
        if meta.is_dir() {
            return Err(std::io::Error::other("is a folder, not a saved-state file"));
        }
        if meta.is_file() && meta.len() >= MAP_THRESHOLD {
            return Self::map(&file);
        }
        let mut bytes = Vec::new();
        (&file).read_to_end(&mut bytes)?;
        Ok(Source::Owned(bytes))
    }

    /// Maps `file` read-only.
    ///
    /// Safety of the mapping: statescope only reads it, never writes through it, and saves
    /// by writing a new file and renaming it over, so our own writes never change a mapped
    /// file. Another process truncating the file while it is open could still fault; that
    /// is the accepted cost of opening multi-gigabyte dumps without copying them.
    fn map(file: &File) -> std::io::Result<Source> {
        // SAFETY: see the doc comment: read-only use, and we never modify the file in place.
        let map = unsafe { memmap2::Mmap::map(file)? };
        Ok(Source::Mapped(map))
    }
}
