//! The bytes a document is decoded from: read into memory, or mapped: for a lookup in a
//! large file (`get`, `show --path`), so that only the pages it needs are touched; for
//! `check` and `show` of one large file, whose copy cost a sixth of `show` itself (its
//! pages faulted in and filled before the first part could start); and for `set`
//! and `patch`, which copy the spans an edit leaves alone from the file in the kernel
//! (and first make sure, by its size and times, that the file did not change meanwhile).
//! Every reader treats the bytes as untrusted, so a mapped file changed underneath shows
//! as whatever it then holds. The browser reads a copy: its edits and save rely on bytes
//! no other program changes, and a
//! mapping saves no memory once every page has been decoded; the copy keeps the file it
//! came from ([`Origin`]), so that the browser's save copies from it what no edit touched
//! while it is unchanged. Should another program cut a
//! mapped file short, the command says so and exits with 2 ([`mapped`]) instead of dying
//! of SIGBUS.

mod buffer;
mod mapped;

pub use buffer::{Buffer, Splicing};

use std::fs::File;
use std::io::{self, Read};
use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

/// The input bytes; derefs to `[u8]`. Clones share the bytes (decoders of parts of one
/// file, on several cores, read the same memory); they are never changed in place.
#[derive(Debug, Clone)]
pub struct Source {
    bytes: Arc<Bytes>,
    /// The regular file the bytes were read or mapped from, if they were.
    origin: Option<Arc<Origin>>,
}

/// Where the bytes are: in memory of our own, or mapped from a file.
#[derive(Debug)]
enum Bytes {
    Read(Buffer),
    Mapped(memmap2::Mmap),
}

/// The regular file some bytes were read or mapped from, kept open, and what told its
/// version from another when they were: a save copies the spans an edit left alone from
/// it in the kernel, once it has made sure that it is still that version.
#[derive(Debug)]
pub struct Origin {
    file: File,
    stamp: FileStamp,
}

impl Origin {
    /// The file, open for reading.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Whether the file still has the size, modification and change times it had when its
    /// bytes were read: bytes another program wrote meanwhile are not to be taken for the
    /// ones read. (A write within the same tick of the kernel's clock as the read goes
    /// unseen; the size is compared too.)
    pub fn unchanged(&self) -> io::Result<bool> {
        Ok(FileStamp::of(&self.file.metadata()?) == self.stamp)
    }
}

/// What tells one version of a file from another without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    len: u64,
    modified: (i64, i64),
    changed: (i64, i64),
}

impl FileStamp {
    fn of(meta: &std::fs::Metadata) -> FileStamp {
        use std::os::unix::fs::MetadataExt;
        FileStamp {
            len: meta.len(),
            modified: (meta.mtime(), meta.mtime_nsec()),
            changed: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

impl Deref for Source {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        match &*self.bytes {
            Bytes::Read(buffer) => buffer,
            Bytes::Mapped(map) => map,
        }
    }
}

impl PartialEq for Source {
    fn eq(&self, other: &Source) -> bool {
        **self == **other
    }
}

impl Eq for Source {}

impl From<Vec<u8>> for Source {
    fn from(bytes: Vec<u8>) -> Self {
        Source::new(bytes)
    }
}

impl From<Buffer> for Source {
    fn from(buffer: Buffer) -> Self {
        Source { bytes: Arc::new(Bytes::Read(buffer)), origin: None }
    }
}

impl Source {
    /// Bytes already in memory.
    pub fn new(bytes: Vec<u8>) -> Self {
        Source::from(Buffer::from(bytes))
    }

    /// Gives the bytes back (copied if a clone still shares them; read from the file if
    /// mapped, which costs no page faults on the mapping).
    pub fn into_bytes(self) -> Vec<u8> {
        self.into_buffer().into_vec()
    }

    /// Gives the bytes back to be edited, with the room before them they were read with.
    pub fn into_buffer(self) -> Buffer {
        match Arc::try_unwrap(self.bytes) {
            Ok(Bytes::Read(buffer)) => buffer,
            Ok(Bytes::Mapped(map)) => Buffer::from(
                self.origin.and_then(|origin| read_exactly(&origin.file, map.len())).unwrap_or_else(|| map.to_vec()),
            ),
            Err(shared) => Buffer::from(Source { bytes: shared, origin: None }.to_vec()),
        }
    }

    /// The regular file the bytes were read or mapped from, if they were.
    pub fn origin(&self) -> Option<&Arc<Origin>> {
        self.origin.as_ref()
    }

    /// The file the bytes are mapped from, if they are: a writer copies from it rather than
    /// read the bytes into memory, and must then make sure it did not change meanwhile.
    pub fn mapped_from(&self) -> Option<&Arc<Origin>> {
        self.origin.as_ref().filter(|_| matches!(*self.bytes, Bytes::Mapped(_)))
    }

    /// Reads `path`, or standard input for `-`. A regular file is read whole; anything
    /// without a size known beforehand (standard input, a FIFO, a device) is read up to
    /// `max_stream` bytes, and more than that is an error rather than unbounded memory.
    pub fn open(path: &Path, max_stream: u64) -> io::Result<Source> {
        if path == Path::new("-") {
            return read_stream(io::stdin().lock(), max_stream, "standard input");
        }
        let file = File::open(path)?;
        let meta = file.metadata()?;
        if meta.is_dir() {
            return Err(io::Error::other("is a folder, not a saved-state file"));
        }
        refuse_beyond_largest(meta.is_file().then_some(meta.len()))?;
        if !meta.is_file() {
            return read_stream(file, max_stream, "it (not a regular file)");
        }
        let mut buffer = Buffer::with_room(Source::ROOM, usize::try_from(meta.len()).unwrap_or(0));
        (&file).read_to_end(buffer.read_into())?;
        // A file that grew while it was read is not the version its stamp tells.
        let stamp = FileStamp::of(&meta);
        let origin = (buffer.len() as u64 == stamp.len).then(|| Arc::new(Origin { file, stamp }));
        Ok(Source { bytes: Arc::new(Bytes::Read(buffer)), origin })
    }

    /// The first `len` bytes of a regular file and the file's size, for a view that shows
    /// the start of a large file while the rest is read; `None` for standard input and
    /// anything else that is not a regular file (those are read whole).
    pub fn open_head(path: &Path, len: usize) -> io::Result<Option<(Source, u64)>> {
        if path == Path::new("-") {
            return Ok(None);
        }
        let file = File::open(path)?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Ok(None);
        }
        let mut head = Vec::with_capacity(len.min(usize::try_from(meta.len()).unwrap_or(len)));
        (&file).take(len as u64).read_to_end(&mut head)?;
        Ok(Some((Source::new(head), meta.len())))
    }

    /// Like [`Source::open`], but a regular file of [`Source::MAPPED_FROM`] bytes or more
    /// is mapped, not copied: a command that reads a few units of a gigabyte then touches
    /// only their pages, nothing waits for the whole file to be read first, and one that
    /// reads it all once (`check`, `show`) saves the copy. Should
    /// another program cut the file short meanwhile, the command says so and exits with 2.
    pub fn open_mapped(path: &Path, max_stream: u64) -> io::Result<Source> {
        if path != Path::new("-") {
            let file = File::open(path)?;
            let meta = file.metadata()?;
            refuse_beyond_largest(meta.is_file().then_some(meta.len()))?;
            if meta.is_file() && meta.len() >= Source::MAPPED_FROM {
                let map = mapped::map(&file, path)?;
                let origin = Some(Arc::new(Origin { file, stamp: FileStamp::of(&meta) }));
                return Ok(Source { bytes: Arc::new(Bytes::Mapped(map)), origin });
            }
        }
        Source::open(path, max_stream)
    }

    /// Maps the pages of `range` of a mapped file into this process now
    /// (`MADV_POPULATE_READ`), so that its readers find them mapped rather than fault them
    /// in a few at a time. False for bytes in memory, or where the kernel cannot (before
    /// Linux 5.14): there is nothing to map.
    pub fn populate(&self, range: std::ops::Range<usize>) -> bool {
        let Bytes::Mapped(map) = &*self.bytes else { return false };
        let (start, end) = (range.start.min(map.len()), range.end.min(map.len()));
        map.advise_range(memmap2::Advice::PopulateRead, start, end.saturating_sub(start)).is_ok()
    }

    /// The room left before a file's bytes read into memory: an edit near their start
    /// that makes them this much longer moves the bytes before it, not the file after it.
    pub const ROOM: usize = 4096;

    /// The size from which [`Source::open_mapped`] maps a file: smaller ones are copied,
    /// which costs less than setting up a mapping.
    pub const MAPPED_FROM: u64 = 1 << 20;
}

/// Refuses a regular file larger than a document's offsets reach (16 TiB; a sparse file
/// can claim that much).
fn refuse_beyond_largest(regular_file_len: Option<u64>) -> io::Result<()> {
    let largest = crate::model::record::NodeRecord::LARGEST_INPUT;
    match regular_file_len.filter(|&len| len > largest) {
        Some(len) => Err(io::Error::other(format!(
            "is {len} bytes; statescope reads files of at most 16 TiB ({largest} bytes): \
             cut out the part to look at (a state's units are top-level fields)"
        ))),
        None => Ok(()),
    }
}

/// The first `len` bytes of `file`, read with one call where it can; `None` if it holds
/// fewer now.
fn read_exactly(file: &File, len: usize) -> Option<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    let mut bytes = vec![0; len];
    file.read_exact_at(&mut bytes, 0).ok()?;
    Some(bytes)
}

/// Reads a stream to its end, refusing more than `max` bytes.
fn read_stream(stream: impl Read, max: u64, what: &str) -> io::Result<Source> {
    let mut bytes = Vec::new();
    stream.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(io::Error::other(format!(
            "{what} holds more than {max} bytes (--max-input); save it to a file, or raise the limit"
        )));
    }
    Ok(Source::new(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_larger_than_a_nodes_offsets_reach_is_refused() {
        let largest = crate::model::record::NodeRecord::LARGEST_INPUT;
        assert!(refuse_beyond_largest(Some(largest)).is_ok());
        assert!(refuse_beyond_largest(None).is_ok(), "streams are bounded by their own limit");
        let refused = refuse_beyond_largest(Some(largest + 1)).unwrap_err().to_string();
        assert!(refused.starts_with("is 17592186044416 bytes; statescope reads files of at most 16 TiB"), "{refused}");
    }

    #[test]
    fn a_stream_past_the_limit_is_refused_not_swallowed() {
        let zeros = io::repeat(0);
        let error = read_stream(zeros, 1000, "standard input").unwrap_err();
        assert!(error.to_string().contains("more than 1000 bytes (--max-input)"), "{error}");
        assert_eq!(read_stream(&[1u8, 2, 3][..], 3, "x").unwrap().into_bytes(), [1, 2, 3]);
    }

    #[test]
    fn an_endless_device_is_read_only_up_to_the_limit() {
        let error = Source::open(Path::new("/dev/zero"), 4096).unwrap_err();
        assert!(error.to_string().contains("not a regular file"), "{error}");
    }
}
