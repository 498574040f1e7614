//! Append-only CSV logs with one row per step (`metrics.csv`, `steps.csv`, `diagnostics.csv`).
//!
//! Each row is appended and flushed as it is produced. A crash can cut the last line short; the
//! reader drops such a line (one without its newline) and reports it, so a run stays resumable.
//! Resuming at a checkpoint keeps the rows logged at or before its step and rewrites the file
//! atomically: the rows after it are recomputed by the resumed run, none lost, none repeated.

use crate::{RunDirError, format_error, io, io_error};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::io::Write;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

/// A row of a step-indexed log.
pub trait Row: Serialize + DeserializeOwned {
    /// The column names, in field order.
    const HEADER: &'static [&'static str];
    /// The SGD step the row belongs to.
    fn step(&self) -> u64;
}

/// The rows of a log file and whether its last line was cut short (and dropped).
pub struct Read<R> {
    pub rows: Vec<R>,
    pub dropped_partial_line: bool,
}

/// Read every whole row of `path`; a malformed row other than a cut-short last line is an error
/// naming the file and line.
pub fn read<R: Row>(path: &Path) -> Result<Read<R>, RunDirError> {
    let text = std::fs::read_to_string(path).map_err(|e| io_error(path, e))?;
    let (whole, dropped_partial_line) = match text.rfind('\n') {
        Some(end) if end + 1 < text.len() => (&text[..end + 1], true),
        Some(_) => (&text[..], false),
        None => ("", !text.is_empty()),
    };
    let mut reader = csv::Reader::from_reader(whole.as_bytes());
    let header = reader.headers().map_err(|e| format_error(path, format!("no CSV header: {e}")))?.clone();
    if !whole.is_empty() && header.iter().ne(R::HEADER.iter().copied()) {
        return Err(format_error(path, format!("unexpected columns {:?}, expected {:?}", header.iter().collect::<Vec<_>>(), R::HEADER)));
    }
    let rows = reader
        .deserialize()
        .enumerate()
        .map(|(i, r)| r.map_err(|e| format_error(path, format!("line {}: {e}", i + 2))))
        .collect::<Result<Vec<R>, _>>()?;
    Ok(Read { rows, dropped_partial_line })
}

/// An open log: rows are appended, each flushed as written.
pub struct Log<R> {
    path: PathBuf,
    _row: PhantomData<R>,
}

fn encode<R: Row>(path: &Path, rows: &[R], header: bool) -> Result<Vec<u8>, RunDirError> {
    let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
    if header {
        w.write_record(R::HEADER).map_err(|e| format_error(path, e.to_string()))?;
    }
    for row in rows {
        w.serialize(row).map_err(|e| format_error(path, e.to_string()))?;
    }
    w.into_inner().map_err(|e| format_error(path, e.to_string()))
}

impl<R: Row> Log<R> {
    /// A fresh log holding only the header.
    pub fn create(path: &Path) -> Result<Self, RunDirError> {
        io::write_atomically(path, &encode::<R>(path, &[], true)?)?;
        Ok(Self { path: path.to_path_buf(), _row: PhantomData })
    }

    /// Reopen the log of a run resumed at `step`: keep its rows at or before `step` (rewritten
    /// atomically) and return them. A missing file is an error: its history would be lost.
    pub fn resume(path: &Path, step: u64) -> Result<(Self, Vec<R>), RunDirError> {
        if !path.exists() {
            return Err(format_error(
                path,
                format!("missing: the run's rows up to step {step} cannot be recovered; restore the file, or start a fresh run"),
            ));
        }
        let read = read::<R>(path)?;
        let kept: Vec<R> = read.rows.into_iter().filter(|r| r.step() <= step).collect();
        io::write_atomically(path, &encode(path, &kept, true)?)?;
        Ok((Self { path: path.to_path_buf(), _row: PhantomData }, kept))
    }

    pub fn append(&mut self, rows: &[R]) -> Result<(), RunDirError> {
        if rows.is_empty() {
            return Ok(());
        }
        let bytes = encode(&self.path, rows, false)?;
        std::fs::OpenOptions::new()
            .append(true)
            .open(&self.path)
            .and_then(|mut f| f.write_all(&bytes).and_then(|_| f.flush()))
            .map_err(|e| io_error(&self.path, e))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct R {
        step: u64,
        x: Option<f64>,
    }
    impl Row for R {
        const HEADER: &'static [&'static str] = &["step", "x"];
        fn step(&self) -> u64 {
            self.step
        }
    }

    #[test]
    fn a_cut_short_last_line_is_dropped_and_resume_keeps_rows_up_to_the_checkpoint() {
        let dir = tailgrad_testkit::TempDir::new();
        let path = dir.path().join("log.csv");
        let mut log = Log::<R>::create(&path).unwrap();
        log.append(&[R { step: 0, x: None }, R { step: 10, x: Some(1.5) }, R { step: 20, x: Some(2.5) }]).unwrap();
        // A crash in the middle of the next row.
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"30,3.").unwrap();
        let read = read::<R>(&path).unwrap();
        assert!(read.dropped_partial_line);
        assert_eq!(read.rows.len(), 3);
        let (mut log, kept) = Log::<R>::resume(&path, 10).unwrap();
        assert_eq!(kept, [R { step: 0, x: None }, R { step: 10, x: Some(1.5) }]);
        log.append(&[R { step: 20, x: Some(9.0) }]).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "step,x\n0,\n10,1.5\n20,9.0\n");
    }

    #[test]
    fn bad_rows_and_missing_files_are_named() {
        let dir = tailgrad_testkit::TempDir::new();
        let path = dir.path().join("log.csv");
        std::fs::write(&path, "step,x\n0,1\nzero,2\n3,4\n").unwrap();
        let e = read::<R>(&path).err().unwrap().to_string();
        assert!(e.contains("log.csv") && e.contains("line 3"), "{e}");
        std::fs::write(&path, "step,y\n").unwrap();
        assert!(read::<R>(&path).err().unwrap().to_string().contains("unexpected columns"));
        let gone = dir.path().join("gone.csv");
        let e = Log::<R>::resume(&gone, 40).err().unwrap().to_string();
        assert!(e.contains("gone.csv: missing: the run's rows up to step 40 cannot be recovered"), "{e}");
    }
}
