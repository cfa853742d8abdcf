//! Writing files safely. Every file statescope writes (an edited blob, an edit script, a
//! seed, a manifest) goes through [`stage`] and [`Staged::commit`]:
//!
//! - only a regular file (or nothing) is ever written: a device, FIFO, socket or folder at
//!   the path is refused, and a symbolic link is followed to its target (resolved once,
//!   then checked like any path) or, with `no_follow`, refused; the link itself is never
//!   replaced;
//! - never a file the command read ([`Protected`]) unless the user confirmed;
//! - atomically: the bytes go to a temporary file created with an unpredictable name and
//!   `O_EXCL` in the target's folder, synced, given the target's mode, owner (where
//!   allowed) and extended attributes, then renamed over the target; on any failure the
//!   temporary file is removed and the target is untouched. Temporary files left by a
//!   killed process are removed by the next save to that folder.
//!
//! The bytes are written a span at a time, each span's disk write started as soon as it is
//! written, so the sync waits for the last span rather than for the whole file; a span that
//! is also in a file statescope read ([`Extent::copied_from`]) is copied by the kernel from
//! there (`copy_file_range`), not from memory.

mod writeback;

use std::fs::{self, File, Metadata};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Why a file was not written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The target is a file the command read, and overwriting it was not confirmed.
    #[error(
        "{} is a file this command read; write elsewhere, or pass --force to replace it",
        named_as_read(target, input)
    )]
    WouldOverwriteInput {
        /// The target, as named.
        target: PathBuf,
        /// The file read, as named when it was read.
        input: PathBuf,
    },
    /// Something other than a regular file is at the target.
    #[error("{path} is {what}, not a regular file; statescope writes only regular files")]
    NotAFile {
        /// The target.
        path: PathBuf,
        /// What is there.
        what: &'static str,
    },
    /// The target is a symbolic link and following links was refused.
    #[error("{0} is a symbolic link; not followed (--no-follow)")]
    SymbolicLink(PathBuf),
    /// The file system refused.
    #[error("cannot write {path}")]
    Io {
        /// The target.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// A target that is a file read, in words: its name, and the name it was read by where that
/// is another (a link to it, or the same file by another path).
pub fn named_as_read(target: &Path, input: &Path) -> String {
    match target == input {
        true => input.display().to_string(),
        false => format!("{} (the same file as {})", target.display(), input.display()),
    }
}

impl WriteError {
    /// The error and its cause on one line, for a status line or a message.
    pub fn one_line(&self) -> String {
        match std::error::Error::source(self) {
            Some(cause) => format!("{self}: {cause}"),
            None => self.to_string(),
        }
    }
}

/// The files a command or the browser read (its input, scripts, schemas), which it must
/// not write over without the user's say-so. Compared by device and inode, so another
/// name for the same file (a hard link, `./x`, a symbolic link) is caught too.
#[derive(Debug, Clone, Default)]
pub struct Protected {
    files: Vec<(PathBuf, Option<(u64, u64)>)>,
}

impl Protected {
    /// Adds a file (`-`, standard input, is not a file and is skipped).
    pub fn add(&mut self, path: &Path) {
        if path != Path::new("-") {
            let id = fs::metadata(path).ok().map(|m| (m.dev(), m.ino()));
            self.files.push((path.to_path_buf(), id));
        }
    }

    /// The protected file `target` names, if any.
    pub fn find(&self, target: &Path) -> Option<&Path> {
        let target_id = fs::metadata(target).ok().map(|m| (m.dev(), m.ino()));
        let canonical = |p: &Path| fs::canonicalize(p).ok();
        self.files
            .iter()
            .find(|(path, id)| match (id, target_id) {
                (Some(a), Some(b)) => *a == b,
                _ => path == target || canonical(path).is_some_and(|c| Some(c) == canonical(target)),
            })
            .map(|(path, _)| path.as_path())
    }
}

/// How a write may treat what is at its target.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteOptions {
    /// The user confirmed replacing a protected file (`--force`, or `y` in the browser).
    pub overwrite_protected: bool,
    /// Refuse a symbolic link at the target instead of writing to where it points.
    pub no_follow: bool,
}

/// A run of the bytes to write: bytes in memory, or the same bytes as a file holds them at
/// an offset, to be copied from there.
#[derive(Debug, Clone, Copy)]
pub struct Extent<'a> {
    /// The bytes.
    pub bytes: &'a [u8],
    /// A file that holds the same bytes at this offset: they are copied from it in the
    /// kernel (or, where the file system cannot, read from it and written), not from
    /// `bytes`.
    pub copied_from: Option<(&'a File, u64)>,
}

impl<'a> Extent<'a> {
    /// Bytes held only in memory.
    pub fn bytes(bytes: &'a [u8]) -> Self {
        Extent { bytes, copied_from: None }
    }
}

/// How many bytes are written before their disk write is started: large enough that the
/// calls cost nothing, small enough that the disk is busy while the rest is written.
const WRITEBACK_SPAN: usize = 16 << 20;

/// A file written in full next to its target, not yet in its place.
#[derive(Debug)]
pub struct Staged {
    temp: tempfile::NamedTempFile,
    /// Where it goes: the target with any symbolic link resolved.
    destination: PathBuf,
    /// The path the user named.
    named: PathBuf,
    /// How many names the replaced file had, when more than one.
    hard_links: u64,
}

/// What a finished write wants the user to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The file that now holds the bytes (a symbolic link's target, if one was followed).
    pub path: PathBuf,
    /// Things worth saying, such as hard links that still hold the old contents.
    pub warnings: Vec<String>,
}

/// Checks `target`, and writes `extents` one after the other to a synced temporary file beside
/// it that carries the target's mode, owner and extended attributes. Nothing at the target
/// changes until [`Staged::commit`]; dropping the result removes the temporary file.
pub fn stage(
    target: &Path,
    extents: &[Extent],
    protected: &Protected,
    options: WriteOptions,
) -> Result<Staged, WriteError> {
    let io = |source| WriteError::Io { path: target.to_path_buf(), source };
    let (destination, existing) = resolve(target, options)?;
    if !options.overwrite_protected
        && let Some(input) = protected.find(&destination)
    {
        return Err(WriteError::WouldOverwriteInput { target: target.to_path_buf(), input: input.to_path_buf() });
    }
    let dir = destination.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = destination.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // Said of the folder here, rather than of a temporary file the user never named.
    fs::metadata(dir).map_err(io)?;
    let prefix = temp_prefix(&name);
    remove_stale_temps(dir, &prefix);
    let temp = tempfile::Builder::new()
        .prefix(&format!("{prefix}{}-", std::process::id()))
        .suffix(".tmp")
        .permissions(fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(io)?;
    write_extents(temp.as_file(), extents).map_err(io)?;
    carry_over(temp.as_file(), existing.as_ref().map(|meta| (destination.as_path(), meta))).map_err(io)?;
    temp.as_file().sync_all().map_err(io)?;
    let hard_links = existing.as_ref().map_or(1, Metadata::nlink);
    Ok(Staged { temp, destination, named: target.to_path_buf(), hard_links })
}

impl Staged {
    /// Renames the temporary file over the target, and syncs the folder.
    pub fn commit(self) -> Result<Written, WriteError> {
        let Staged { temp, destination, named, hard_links } = self;
        temp.persist(&destination).map_err(|e| WriteError::Io { path: named.clone(), source: e.error })?;
        if let Some(dir) = destination.parent().filter(|p| !p.as_os_str().is_empty()) {
            // The rename is durable once the folder is synced; a failure here loses nothing.
            let _ = File::open(dir).and_then(|d| d.sync_all());
        }
        let mut warnings = Vec::new();
        if hard_links > 1 {
            warnings.push(format!(
                "{} had {hard_links} hard links; the other {} still hold the old contents",
                named.display(),
                hard_links - 1
            ));
        }
        Ok(Written { path: destination, warnings })
    }
}

/// Writes `bytes` to `target` atomically: [`stage`], then [`Staged::commit`].
pub fn write_atomic(
    target: &Path,
    bytes: &[u8],
    protected: &Protected,
    options: WriteOptions,
) -> Result<Written, WriteError> {
    stage(target, &[Extent::bytes(bytes)], protected, options)?.commit()
}

/// Writes the extents to `out` from its start, starting the disk write of each span of
/// [`WRITEBACK_SPAN`] bytes once it is written.
fn write_extents(out: &File, extents: &[Extent]) -> std::io::Result<()> {
    let mut written = 0u64;
    for extent in extents {
        for (n, span) in extent.bytes.chunks(WRITEBACK_SPAN).enumerate() {
            let offset = (n * WRITEBACK_SPAN) as u64;
            match extent.copied_from {
                Some((file, at)) => copy_span(file, at + offset, out, span.len() as u64)?,
                None => (&*out).write_all(span)?,
            }
            writeback::start(out, written, span.len() as u64);
            written += span.len() as u64;
        }
    }
    Ok(())
}

/// Copies `len` bytes of `from` at `offset` to `out` at its position: in the kernel where
/// the file system can (std's copy uses `copy_file_range`, else reads and writes).
fn copy_span(from: &File, offset: u64, out: &File, len: u64) -> std::io::Result<()> {
    let mut from = from;
    from.seek(SeekFrom::Start(offset))?;
    let copied = std::io::copy(&mut from.take(len), &mut &*out)?;
    if copied != len {
        return Err(std::io::Error::other("the file copied from was cut short while being copied"));
    }
    Ok(())
}

/// Where a write to `target` lands, and what is there now: symbolic links are followed (or
/// refused), and anything but a regular file is refused.
fn resolve(target: &Path, options: WriteOptions) -> Result<(PathBuf, Option<Metadata>), WriteError> {
    let io = |source| WriteError::Io { path: target.to_path_buf(), source };
    let mut path = target.to_path_buf();
    for _ in 0..40 {
        let meta = match fs::symlink_metadata(&path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((path, None)),
            Err(e) => return Err(io(e)),
        };
        let kind = meta.file_type();
        if kind.is_symlink() {
            if options.no_follow {
                return Err(WriteError::SymbolicLink(target.to_path_buf()));
            }
            let link = fs::read_link(&path).map_err(io)?;
            path = path.parent().unwrap_or(Path::new("")).join(link);
            continue;
        }
        if kind.is_file() {
            return Ok((path, Some(meta)));
        }
        return Err(WriteError::NotAFile { path: target.to_path_buf(), what: describe(&meta) });
    }
    Err(io(std::io::Error::other("too many levels of symbolic links")))
}

/// What a non-regular file is, in words.
fn describe(meta: &Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let kind = meta.file_type();
    match () {
        _ if kind.is_dir() => "a folder",
        _ if kind.is_fifo() => "a FIFO",
        _ if kind.is_socket() => "a socket",
        _ if kind.is_char_device() => "a character device",
        _ if kind.is_block_device() => "a block device",
        _ => "not a regular file",
    }
}

/// Gives the new file the replaced file's mode, owner (where the user may) and extended
/// attributes; a new file gets the usual mode under the process's umask.
fn carry_over(file: &File, existing: Option<(&Path, &Metadata)>) -> std::io::Result<()> {
    let Some((old_path, old)) = existing else {
        return file.set_permissions(fs::Permissions::from_mode(0o666 & !umask()));
    };
    // Owner first: changing it may clear set-id bits, which the mode then restores.
    match std::os::unix::fs::fchown(file, Some(old.uid()), Some(old.gid())) {
        Err(e) if e.kind() != std::io::ErrorKind::PermissionDenied => return Err(e),
        _ => {}
    }
    file.set_permissions(fs::Permissions::from_mode(old.mode() & 0o7777))?;
    copy_xattrs(old_path, file);
    Ok(())
}

/// Copies the extended attributes of the file at `from` to `to`, as far as the file system
/// supports them and the user may set them (a `security.*` label may need privileges).
fn copy_xattrs(from: &Path, to: &File) {
    use xattr::FileExt;
    let Ok(names) = xattr::list(from) else { return };
    for name in names {
        if let Ok(Some(value)) = xattr::get(from, &name) {
            let _ = to.set_xattr(&name, &value);
        }
    }
}

/// The process's umask, read from `/proc` (no unsafe call needed); 022 when unknown.
fn umask() -> u32 {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Umask:"))
        .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        .unwrap_or(0o022)
}

/// The start of the name of every temporary file staged for `name`.
fn temp_prefix(name: &str) -> String {
    format!(".{name}.statescope-")
}

/// Removes temporary files a killed statescope left for the same target: regular files of
/// ours (same owner) named with `prefix` whose process is gone.
fn remove_stale_temps(dir: &Path, prefix: &str) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    let me = fs::metadata("/proc/self").map(|m| m.uid()).ok();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(prefix).filter(|_| name.ends_with(".tmp")) else { continue };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else { continue };
        let ours = entry.metadata().is_ok_and(|m| m.file_type().is_file() && Some(m.uid()) == me);
        if ours && pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// The edit script's path beside an output file: `OUT.edits`.
pub fn script_path(output: &Path) -> PathBuf {
    let mut name = output.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".edits");
    output.with_file_name(name)
}
