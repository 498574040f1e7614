//! Whole-file writes that a crash cannot leave half done.

use crate::{RunDirError, io_error};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Write `data` to `path` through a temporary file in the same folder, synced, then renamed over
/// `path`: a crash leaves either the old file or the new one, never half of one. The temporary
/// name is unique to this process and call, so two processes writing the same file never share
/// one (the later rename wins, whole).
pub fn write_atomically(path: &Path, data: &[u8]) -> Result<(), RunDirError> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let tmp = write_temporary(path, data)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io_error(path, e)
    })
}

/// Create `path` holding `data` unless it already exists, atomically: the file appears whole or
/// not at all, and of several processes creating it at once exactly one succeeds (the data are
/// written to a temporary file and hard-linked into place). Returns false, writing nothing, when
/// `path` exists.
pub fn create_atomically(path: &Path, data: &[u8]) -> Result<bool, RunDirError> {
    let tmp = write_temporary(path, data)?;
    let linked = match std::fs::hard_link(&tmp, path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(io_error(path, e)),
    };
    let _ = std::fs::remove_file(&tmp);
    linked
}

/// `data` written and synced to a temporary file beside `path`, named for this process and call
/// (so that concurrent writers never share one); nothing is left when writing fails.
fn write_temporary(path: &Path, data: &[u8]) -> Result<std::path::PathBuf, RunDirError> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.{}.{}.tmp", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)));
    let written = std::fs::File::create(&tmp).and_then(|mut f| f.write_all(data).and_then(|_| f.sync_all()));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_error(&tmp, e));
    }
    Ok(tmp)
}

/// Check that `name` can be one folder inside another (a run or study name under `--runs-dir`):
/// not empty, not `.` or `..`, no path separator, no control character.
pub fn check_folder_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("must not be empty".into());
    }
    if name == "." || name == ".." {
        return Err(format!("`{name}` is not a folder name"));
    }
    if name.contains('/') || name.contains('\\') {
        return Err(format!("`{name}` must be a plain folder name, without `/` or `\\`"));
    }
    if name.chars().any(char::is_control) {
        return Err(format!("{name:?} contains a control character"));
    }
    if name.len() > 255 {
        // Checked here, before anything is created (the OS refuses such a name only once a
        // folder above it has been made).
        return Err(format!("is {} bytes long; a folder name may have at most 255", name.len()));
    }
    Ok(())
}

/// This machine's host name (for lock files and TensorBoard file names).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_cannot_escape_their_parent() {
        for bad in ["", " ", ".", "..", "../x", "a/b", "a\\b", "x\ny"] {
            assert!(check_folder_name(bad).is_err(), "{bad:?} was accepted");
        }
        for good in ["gauss_vs_levy_mnist", "a1.5_s0.5-seed3", "run..2"] {
            assert!(check_folder_name(good).is_ok(), "{good:?} was refused");
        }
    }

    #[test]
    fn atomic_writes_replace_whole_files_and_leave_no_temporaries() {
        let dir = tailgrad_testkit::TempDir::new();
        let path = dir.path().join("sub/summary.json");
        write_atomically(&path, b"first").unwrap();
        write_atomically(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let names: Vec<String> =
            std::fs::read_dir(path.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
        assert_eq!(names, ["summary.json"]);
        // A folder that cannot be written: the error names the temporary file, nothing is left.
        let blocked = dir.path().join("file-not-dir");
        std::fs::write(&blocked, b"x").unwrap();
        let e = write_atomically(&blocked.join("a.json"), b"x").unwrap_err().to_string();
        assert!(e.contains("file-not-dir"), "{e}");
        // Created once: the second creation writes nothing and says so; no temporary is left.
        let once = dir.path().join("once/study.toml");
        std::fs::create_dir_all(once.parent().unwrap()).unwrap();
        assert!(create_atomically(&once, b"first").unwrap());
        assert!(!create_atomically(&once, b"second").unwrap());
        assert_eq!(std::fs::read(&once).unwrap(), b"first");
        assert_eq!(std::fs::read_dir(once.parent().unwrap()).unwrap().count(), 1);
    }
}
