//! Test support: temporary directories, where the real datasets are, and a local HTTP server.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh directory under the system's temp dir, removed (with its contents) on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "tailgrad-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create a temporary directory");
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Default for TempDir {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The repository's root: two levels above the package under test (`cargo test` sets
/// `CARGO_MANIFEST_DIR` when it runs a test binary; every package lives in `crates/<name>`).
pub fn repo_root() -> PathBuf {
    let package = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    package.join("../..")
}

/// The data directory holding the real datasets: `$TAILGRAD_DATA`, else `<repo>/datasets`
/// (where `datasets/fetch-offline` puts them).
pub fn data_dir() -> PathBuf {
    std::env::var_os("TAILGRAD_DATA").map(PathBuf::from).unwrap_or_else(|| repo_root().join("datasets"))
}

/// A route of [`serve`]: (path, HTTP status, declared Content-Length, body).
pub type Route = (&'static str, u16, usize, Vec<u8>);

/// A one-route-per-path HTTP/1.1 server on 127.0.0.1 for tests of downloads. Each route is
/// (status, declared Content-Length, body); a declared length above the body's models a
/// connection that breaks mid-transfer. It serves at most `max` requests, then stops.
pub fn serve(routes: Vec<Route>, max: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(max) {
            let mut stream = stream.unwrap();
            let mut line = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            reader.read_line(&mut line).unwrap();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap() <= 2 {
                    break;
                }
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/").trim_start_matches('/');
            let (status, len, body) = routes
                .iter()
                .find(|r| r.0 == path)
                .map(|r| (r.1, r.2, r.3.clone()))
                .unwrap_or((404, 9, b"not found".to_vec()));
            let head = format!("HTTP/1.1 {status} X\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n");
            let _ = stream.write_all(head.as_bytes()).and_then(|_| stream.write_all(&body));
        }
    });
    base
}

#[cfg(test)]
mod tests {
    #[test]
    fn temp_dirs_are_distinct_and_removed() {
        let a = super::TempDir::new();
        let b = super::TempDir::new();
        assert_ne!(a.path(), b.path());
        std::fs::write(a.path().join("f"), b"x").unwrap();
        let kept = a.path().to_path_buf();
        drop(a);
        assert!(!kept.exists());
    }
}

/// An error and its sources as error reporters print them (anyhow's `{:#}`): `e: cause: cause`.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut chain = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        chain.push_str(&format!(": {c}"));
        cause = c.source();
    }
    chain
}

/// Check that an I/O error of `path` (here ENOSPC) reads "PATH: ..." with the OS error printed
/// once in its chain, as a reporter prints it (not "...(os error 28): ... (os error 28)").
pub fn assert_os_error_printed_once(e: &dyn std::error::Error, path: &str) {
    let chain = error_chain(e);
    assert!(chain.starts_with(&format!("{path}: ")) && chain.matches("os error 28").count() == 1, "{chain}");
}
