//! The owner of a run directory: one process at a time may write it.
//!
//! `RUN_DIR/.lock` is held with an advisory `flock` for as long as the owning process lives,
//! and names that process (pid, host, start time). The kernel releases the lock when the process
//! ends, however it ends (SIGKILL included), so a lock left by a dead process is taken over by the
//! next owner without any clean-up; a second writer while the owner lives gets
//! [`RunDirError::Locked`] naming it. The file itself stays (only its lock matters): removing it
//! could let two processes lock two different files of the same name.
//!
//! On network filesystems `flock` is as reliable as the filesystem's lock support (Linux NFSv4:
//! yes).

use crate::{RunDirError, io::hostname, io_error};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Who holds (or last held) a run directory's lock.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Owner {
    pub pid: u32,
    pub host: String,
    /// Seconds since the Unix epoch when the lock was taken.
    pub since: u64,
}

/// A held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct RunLock {
    file: File,
    path: PathBuf,
}

/// The lock file of a run directory.
pub fn path(run_dir: &Path) -> PathBuf {
    run_dir.join(".lock")
}

fn open(run_dir: &Path) -> Result<(File, PathBuf), RunDirError> {
    std::fs::create_dir_all(run_dir).map_err(|e| io_error(run_dir, e))?;
    let path = path(run_dir);
    let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(|e| io_error(&path, e))?;
    Ok((file, path))
}

fn read_owner(path: &Path) -> Option<Owner> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

/// The owner named in a held lock file. An owner writes its name just after taking the lock, so
/// a reader that comes in between waits for it (up to a second) rather than report no one.
fn wait_for_owner(path: &Path) -> Option<Owner> {
    for _ in 0..50 {
        if let Some(owner) = read_owner(path) {
            return Some(owner);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    None
}

/// The refusal for a lock held by someone else, naming them when the lock file does.
fn locked(path: &Path, owner: Option<Owner>) -> RunDirError {
    let owner = match owner {
        Some(o) => format!("process {} on host {} (since unix time {})", o.pid, o.host, o.since),
        None => "another process, which has not written its name into the lock file".to_string(),
    };
    RunDirError::Locked { path: path.display().to_string(), owner }
}

impl RunLock {
    /// Take the lock of `run_dir` (created if needed), or fail with [`RunDirError::Locked`].
    pub fn acquire(run_dir: &Path) -> Result<RunLock, RunDirError> {
        let (mut file, path) = open(run_dir)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(locked(&path, wait_for_owner(&path))),
            Err(TryLockError::Error(e)) => return Err(io_error(&path, e)),
        }
        let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let owner = Owner { pid: std::process::id(), host: hostname(), since };
        let json = serde_json::to_string(&owner).expect("an owner serializes");
        file.set_len(0)
            .and_then(|_| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(json.as_bytes()))
            .and_then(|_| file.flush())
            .map_err(|e| io_error(&path, e))?;
        Ok(RunLock { file, path })
    }

    /// The live owner of `run_dir`'s lock, if another process holds it now.
    pub fn holder(run_dir: &Path) -> Result<Option<Owner>, RunDirError> {
        if !path(run_dir).exists() {
            return Ok(None);
        }
        let (file, path) = open(run_dir)?;
        match file.try_lock() {
            Ok(()) => Ok(None), // released when `file` drops
            Err(TryLockError::WouldBlock) => Ok(Some(wait_for_owner(&path).ok_or_else(|| locked(&path, None))?)),
            Err(TryLockError::Error(e)) => Err(io_error(&path, e)),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_owner_is_refused_with_the_first_named_and_a_released_lock_is_taken_over() {
        let dir = tailgrad_testkit::TempDir::new();
        let first = RunLock::acquire(dir.path()).unwrap();
        // flock locks belong to open file descriptions: a second open in this process conflicts
        // just as another process would.
        let e = RunLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(e.contains(&format!("owned by process {} on host {}", std::process::id(), hostname())), "{e}");
        assert_eq!(RunLock::holder(dir.path()).unwrap().unwrap().pid, std::process::id());
        drop(first);
        assert_eq!(RunLock::holder(dir.path()).unwrap(), None);
        // Issue 24, item 8: a lock taken but not yet named read "owned by process 0 on host
        // unknown". The name written a moment after the lock is waited for...
        let (held, lock_file) = open(dir.path()).unwrap();
        held.set_len(0).unwrap();
        held.try_lock().unwrap();
        let writer = std::thread::spawn({
            let lock_file = lock_file.clone();
            move || {
                std::thread::sleep(std::time::Duration::from_millis(100));
                std::fs::write(lock_file, r#"{"pid":4242,"host":"node7","since":1}"#).unwrap();
            }
        });
        let e = RunLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(e.contains("owned by process 4242 on host node7"), "{e}");
        writer.join().unwrap();
        // ... and a lock never named says so, not "process 0".
        std::fs::write(&lock_file, b"").unwrap();
        let e = RunLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(e.contains("owned by another process, which has not written its name"), "{e}");
        drop(held);
        let _again = RunLock::acquire(dir.path()).unwrap();
    }
}
