//! Writing output files safely: never over the input unless asked, and atomically (a
//! temporary file in the same folder, synced, then renamed over the target), so a crash or
//! a full disk never leaves a half-written file where a good one was.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Why a file was not written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The target is the file being edited, and overwriting was not asked for.
    #[error("{0} is the input file; write elsewhere, or pass --force to replace it")]
    WouldOverwriteInput(PathBuf),
    /// The file system refused.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The target.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Whether two paths name the same file (by identity when both exist).
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Writes `bytes` to `target` atomically. Refuses to replace `input` unless `force`.
pub fn write_atomic(target: &Path, bytes: &[u8], input: Option<&Path>, force: bool) -> Result<(), WriteError> {
    if let Some(input) = input
        && !force
        && input != Path::new("-")
        && same_file(input, target)
    {
        return Err(WriteError::WouldOverwriteInput(target.to_path_buf()));
    }
    let io = |source| WriteError::Io { path: target.to_path_buf(), source };
    let dir = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".to_owned());
    let temp = dir.join(format!(".{name}.statescope-{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, target)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.map_err(io)
}

/// The edit script's path beside an output file: `OUT.edits`.
pub fn script_path(output: &Path) -> PathBuf {
    let mut name = output.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".edits");
    output.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_the_input_and_writes_atomically() {
        let dir = std::env::temp_dir().join(format!("statescope-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let input = dir.join("in.bin");
        std::fs::write(&input, b"original").unwrap();
        assert!(matches!(write_atomic(&input, b"x", Some(&input), false), Err(WriteError::WouldOverwriteInput(_))));
        assert_eq!(std::fs::read(&input).unwrap(), b"original");
        write_atomic(&input, b"replaced", Some(&input), true).unwrap();
        assert_eq!(std::fs::read(&input).unwrap(), b"replaced");
        let out = dir.join("out.bin");
        write_atomic(&out, b"new", Some(&input), false).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2, "no temporary file is left behind");
        assert_eq!(script_path(&out), dir.join("out.bin.edits"));
    }
}
