//! Strict parsers for the standard dataset formats. A bad file is an error naming the file and
//! what was wrong, never a panic and never silently short data.
//!
//! * IDX (LeCun's format for MNIST and Fashion-MNIST): magic `00 00 08 ndim`, `ndim` big-endian
//!   u32 sizes, then the u8 data. Gzipped files (magic `1f 8b`) are decompressed on the fly.
//! * CIFAR binary: records of `label_bytes` label bytes followed by 3 x 1024 pixel bytes
//!   (R, G, B planes of a 32x32 image, row-major); CIFAR-10 has 1 label byte, CIFAR-100 has 2
//!   (coarse, fine).

use crate::{DataError, corrupt, io_error};
use std::io::Read;
use std::path::Path;

/// Read a whole file, decompressing it when it starts with the gzip magic.
pub fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>, DataError> {
    let raw = std::fs::read(path).map_err(|e| io_error(path, e))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(raw.len() * 4);
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| corrupt(path, format!("bad gzip stream: {e}")))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// An IDX array of u8: its dimensions and data.
#[derive(Debug, PartialEq)]
pub struct Idx {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// Parse IDX bytes (already decompressed) read from `path`.
pub fn parse_idx(path: &Path, bytes: &[u8]) -> Result<Idx, DataError> {
    if bytes.len() < 4 {
        return Err(corrupt(path, format!("truncated: {} bytes, too short for an IDX header", bytes.len())));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(corrupt(path, format!("wrong magic {:02x} {:02x}: not an IDX file", bytes[0], bytes[1])));
    }
    if bytes[2] != 0x08 {
        return Err(corrupt(path, format!("IDX element type 0x{:02x}, expected 0x08 (unsigned byte)", bytes[2])));
    }
    let ndim = bytes[3] as usize;
    let header = 4 + 4 * ndim;
    if ndim == 0 || bytes.len() < header {
        return Err(corrupt(path, format!("truncated IDX header ({ndim} dimensions, {} bytes)", bytes.len())));
    }
    let dims: Vec<usize> = (0..ndim)
        .map(|i| u32::from_be_bytes(bytes[4 + 4 * i..8 + 4 * i].try_into().expect("4 bytes")) as usize)
        .collect();
    let expected: usize = dims.iter().product();
    let body = &bytes[header..];
    if body.len() != expected {
        let what = if body.len() < expected { "truncated" } else { "trailing bytes" };
        return Err(corrupt(path, format!("{what}: header {dims:?} needs {expected} data bytes, found {}", body.len())));
    }
    Ok(Idx { dims, data: body.to_vec() })
}

/// Images of an IDX image file and labels of its label file, checked against each other.
pub fn read_idx_pair(images: &Path, labels: &Path, classes: u8) -> Result<(Vec<u8>, [usize; 3], Vec<u8>), DataError> {
    parse_idx_pair((images, &read_maybe_gzip(images)?), (labels, &read_maybe_gzip(labels)?), classes)
}

/// [`read_idx_pair`] on bytes already read (decompressed) from those paths.
pub fn parse_idx_pair(
    (images, image_bytes): (&Path, &[u8]),
    (labels, label_bytes): (&Path, &[u8]),
    classes: u8,
) -> Result<(Vec<u8>, [usize; 3], Vec<u8>), DataError> {
    let img = parse_idx(images, image_bytes)?;
    if img.dims.len() != 3 {
        return Err(corrupt(images, format!("expected 3 dimensions (count, rows, cols), found {:?}", img.dims)));
    }
    let lab = parse_idx(labels, label_bytes)?;
    if lab.dims.len() != 1 {
        return Err(corrupt(labels, format!("expected 1 dimension (count), found {:?}", lab.dims)));
    }
    if lab.dims[0] != img.dims[0] {
        return Err(corrupt(
            labels,
            format!("{} labels but {} has {} images", lab.dims[0], images.display(), img.dims[0]),
        ));
    }
    check_labels(labels, &lab.data, 1, classes)?;
    Ok((img.data, [1, img.dims[1], img.dims[2]], lab.data))
}

fn check_labels(path: &Path, labels: &[u8], stride: usize, classes: u8) -> Result<(), DataError> {
    for (i, chunk) in labels.chunks(stride).enumerate() {
        if let Some(&bad) = chunk.iter().find(|&&l| l >= classes) {
            return Err(corrupt(path, format!("label {bad} of record {i} is out of range 0..{classes}")));
        }
    }
    Ok(())
}

/// Pixels (`[n, 3, 32, 32]` as R, G, B planes) and labels of CIFAR binary records.
/// `label_index` picks the label byte used (CIFAR-100: 0 = coarse, 1 = fine).
pub fn parse_cifar(
    path: &Path,
    bytes: &[u8],
    label_bytes: usize,
    label_index: usize,
    classes: u8,
) -> Result<(Vec<u8>, Vec<u8>), DataError> {
    let record = label_bytes + 3 * 1024;
    if bytes.is_empty() || bytes.len() % record != 0 {
        return Err(corrupt(
            path,
            format!("{} bytes is not a whole number of {record}-byte CIFAR records", bytes.len()),
        ));
    }
    let n = bytes.len() / record;
    let mut pixels = Vec::with_capacity(n * 3072);
    let mut labels = Vec::with_capacity(n);
    for (i, rec) in bytes.chunks_exact(record).enumerate() {
        let label = rec[label_index];
        if label >= classes {
            return Err(corrupt(path, format!("label {label} of record {i} is out of range 0..{classes}")));
        }
        labels.push(label);
        pixels.extend_from_slice(&rec[label_bytes..]);
    }
    Ok((pixels, labels))
}

/// Read a CIFAR-10 batch file.
pub fn read_cifar10(path: &Path) -> Result<(Vec<u8>, Vec<u8>), DataError> {
    let bytes = std::fs::read(path).map_err(|e| io_error(path, e))?;
    parse_cifar(path, &bytes, 1, 0, 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut b = vec![0, 0, 8, dims.len() as u8];
        for d in dims {
            b.extend(d.to_be_bytes());
        }
        b.extend(data);
        b
    }

    fn err(r: Result<impl std::fmt::Debug, DataError>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn idx_round_trip_and_every_corruption() {
        let p = Path::new("f.idx");
        let good = idx(&[2, 2, 2], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(parse_idx(p, &good).unwrap(), Idx { dims: vec![2, 2, 2], data: (1..=8).collect() });
        assert_eq!(err(parse_idx(p, &[0, 0])), "f.idx: truncated: 2 bytes, too short for an IDX header");
        assert_eq!(err(parse_idx(p, b"PK\x03\x04rest")), "f.idx: wrong magic 50 4b: not an IDX file");
        assert_eq!(err(parse_idx(p, &[0, 0, 0x0d, 1, 0, 0, 0, 1, 0])), "f.idx: IDX element type 0x0d, expected 0x08 (unsigned byte)");
        assert_eq!(err(parse_idx(p, &[0, 0, 8, 3, 0, 0])), "f.idx: truncated IDX header (3 dimensions, 6 bytes)");
        assert_eq!(err(parse_idx(p, &good[..good.len() - 1])), "f.idx: truncated: header [2, 2, 2] needs 8 data bytes, found 7");
        let mut long = good.clone();
        long.push(9);
        assert_eq!(err(parse_idx(p, &long)), "f.idx: trailing bytes: header [2, 2, 2] needs 8 data bytes, found 9");
    }

    #[test]
    fn idx_pairs_must_agree_and_labels_be_in_range() {
        let dir = tailgrad_testkit::TempDir::new();
        let (img, lab) = (dir.path().join("img"), dir.path().join("lab"));
        std::fs::write(&img, idx(&[3, 1, 2], &[0; 6])).unwrap();
        std::fs::write(&lab, idx(&[2], &[0, 1])).unwrap();
        let e = err(read_idx_pair(&img, &lab, 10));
        assert!(e.contains("lab: 2 labels but") && e.contains("img has 3 images"), "{e}");
        std::fs::write(&lab, idx(&[3], &[0, 1, 12])).unwrap();
        assert!(err(read_idx_pair(&img, &lab, 10)).ends_with("label 12 of record 2 is out of range 0..10"));
        std::fs::write(&lab, idx(&[3, 1], &[0, 1, 2])).unwrap();
        assert!(err(read_idx_pair(&img, &lab, 10)).contains("expected 1 dimension"));
        // Gzipped files are detected by their magic bytes, whatever their name.
        std::fs::write(&lab, idx(&[3], &[0, 1, 2])).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &idx(&[3, 1, 2], &[7; 6])).unwrap();
        std::fs::write(&img, gz.finish().unwrap()).unwrap();
        let (pixels, shape, labels) = read_idx_pair(&img, &lab, 10).unwrap();
        assert_eq!((pixels, shape, labels), (vec![7; 6], [1, 1, 2], vec![0, 1, 2]));
        std::fs::write(&img, [0x1f, 0x8b, 0, 1, 2]).unwrap();
        assert!(err(read_idx_pair(&img, &lab, 10)).contains("bad gzip stream"));
    }

    #[test]
    fn cifar_records_and_corruptions() {
        let p = Path::new("b.bin");
        let mut rec = vec![3u8];
        rec.extend((0..3072).map(|i| (i % 251) as u8));
        let two: Vec<u8> = rec.iter().chain(&rec).copied().collect();
        let (pix, lab) = parse_cifar(p, &two, 1, 0, 10).unwrap();
        assert_eq!((pix.len(), lab), (6144, vec![3, 3]));
        assert_eq!(pix[..3072], rec[1..]);
        assert_eq!(err(parse_cifar(p, &two[..5000], 1, 0, 10)), "b.bin: 5000 bytes is not a whole number of 3073-byte CIFAR records");
        let mut bad = two.clone();
        bad[3073] = 10;
        assert_eq!(err(parse_cifar(p, &bad, 1, 0, 10)), "b.bin: label 10 of record 1 is out of range 0..10");
        // CIFAR-100: coarse and fine labels.
        let mut rec100 = vec![19u8, 99];
        rec100.extend([0u8; 3072]);
        assert_eq!(parse_cifar(p, &rec100, 2, 1, 100).unwrap().1, vec![99]);
        assert_eq!(parse_cifar(p, &rec100, 2, 0, 20).unwrap().1, vec![19]);
    }
}
