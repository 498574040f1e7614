//! Tests on the real files: the repository's fixtures always, and the full MNIST,
//! Fashion-MNIST and CIFAR-10 test batch from the data directory (`datasets/fetch-offline`
//! provisions them; CI runs it first). A missing full file is a failure, not a skip.

use super::*;
use crate::catalog::FileEntry;
use crate::host::{Images, Part, load_part};
use burn::tensor::Device;
use sha2::Digest;

use std::io::Write;
use tailgrad_testkit::{data_dir as full_data_dir, repo_root as repo, serve};

/// A spec the tests expect to pass its checks.
fn checked(raw: RawDataSpec) -> DataSpec {
    DataSpec::try_from(raw).expect("a valid [data] section")
}

fn full(dataset: Dataset, part: Part) -> Images {
    load_part(&full_data_dir(), dataset, part)
        .unwrap_or_else(|e| panic!("{e}\n(provision the real files with `datasets/fetch-offline`)"))
}

fn fixture_dir() -> tailgrad_testkit::TempDir {
    // The fixtures under the catalog's file names: the loader sees a 100-image MNIST test set.
    let dir = tailgrad_testkit::TempDir::new();
    let mnist = dir.path().join("mnist");
    std::fs::create_dir_all(&mnist).unwrap();
    let fx = repo().join("datasets/fixtures");
    std::fs::copy(fx.join("mnist-t10k-100-images-idx3-ubyte"), mnist.join("t10k-images-idx3-ubyte")).unwrap();
    std::fs::copy(fx.join("mnist-t10k-100-labels-idx1-ubyte"), mnist.join("t10k-labels-idx1-ubyte")).unwrap();
    dir
}

#[test]
fn mnist_facts() {
    let train = full(Dataset::Mnist, Part::Train);
    let test = full(Dataset::Mnist, Part::Test);
    assert_eq!(train.class_counts(), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    assert_eq!(test.class_counts(), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    assert_eq!(train.labels[..10], [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    let (mean, std) = train.channel_mean_std()[0];
    assert!((mean - 0.1307).abs() < 5e-5 && (std - 0.3081).abs() < 5e-5, "{mean} {std}");
}

#[test]
fn fashion_mnist_facts() {
    let train = full(Dataset::FashionMnist, Part::Train);
    assert_eq!(train.class_counts(), vec![6000; 10]);
    assert_eq!(full(Dataset::FashionMnist, Part::Test).class_counts(), vec![1000; 10]);
    assert_eq!(train.labels[..10], [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    let (mean, std) = train.channel_mean_std()[0];
    assert!((mean - 0.2860).abs() < 5e-5 && (std - 0.3530).abs() < 5e-5, "{mean} {std}");
}

#[test]
fn cifar10_test_batch_facts() {
    let test = full(Dataset::Cifar10, Part::Test);
    assert_eq!(test.len(), 10_000);
    assert_eq!(test.class_counts(), vec![1000; 10]);
    // Either the official batch (`tailgrad data fetch cifar10`), in its order (cat, ship, ship,
    // airplane, frog, ...), or the lossy class-sorted copy that machines without internet use
    // (.ci/run); both have the official test set's per-channel means.
    let file = fetch::locate(&full_data_dir(), Dataset::Cifar10, "test_batch.bin").unwrap();
    if fetch::sha256_hex(&formats::read_maybe_gzip(&file).unwrap()) == "cf28711b3059b27ed8a78d6529b5ba5b5c94130096ca62a1a924268a9a9ec05b" {
        assert!(test.labels.windows(2).all(|w| w[0] <= w[1]));
    } else {
        assert_eq!(test.labels[..10], [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]);
    }
    let ms = test.channel_mean_std();
    for (c, want) in [0.4941, 0.4851, 0.4504].into_iter().enumerate() {
        assert!((ms[c].0 - want).abs() < 1e-3, "channel {c}: {}", ms[c].0);
    }
    // The lone-test-file split: 80% of each class trains, the rest tests, deterministically.
    let split = checked(RawDataSpec { split_test_file: Some(0.8), dir: Some(full_data_dir()), ..RawDataSpec::new(Dataset::Cifar10) }).load(0).unwrap();
    assert_eq!((split.train.class_counts(), split.test.class_counts()), (vec![800; 10], vec![200; 10]));
    assert_eq!(split.train.pixels[..3072], test.pixels[..3072]);
}

#[test]
fn fixtures_are_the_first_real_test_images() {
    let dir = fixture_dir();
    let small = load_part(dir.path(), Dataset::Mnist, Part::Test);
    // The fixture is not the full file, so its checksum cannot match the catalog's.
    let e = small.unwrap_err().to_string();
    assert!(e.contains("t10k-images-idx3-ubyte: SHA-256 is ") && e.contains("expected 0fa7898d"), "{e}");
    let fx = repo().join("datasets/fixtures");
    let (pixels, shape, labels) = formats::read_idx_pair(
        &fx.join("mnist-t10k-100-images-idx3-ubyte"),
        &fx.join("mnist-t10k-100-labels-idx1-ubyte"),
        10,
    )
    .unwrap();
    assert_eq!(shape, [1, 28, 28]);
    assert_eq!(labels[..10], [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    let full_test = full(Dataset::Mnist, Part::Test);
    assert_eq!(pixels[..], full_test.pixels[..100 * 784]);
    let (cifar_pixels, cifar_labels) = formats::read_cifar10(&fx.join("cifar10-lossy-20.bin")).unwrap();
    assert_eq!(cifar_labels, (0..10).flat_map(|c| [c, c]).collect::<Vec<u8>>());
    assert_eq!(cifar_pixels.len(), 20 * 3072);
}

#[test]
fn verify_reports_each_file() {
    let statuses = verify(&full_data_dir(), Dataset::Mnist);
    assert!(statuses.iter().all(|s| s.result.is_ok()), "{statuses:?}");
    let dir = fixture_dir();
    let statuses = verify(dir.path(), Dataset::Mnist);
    assert!(statuses[0].result.as_ref().unwrap_err().to_string().contains("missing train-images-idx3-ubyte"));
    assert!(matches!(statuses[2].result, Err(DataError::Checksum { .. })));
}

/// Batches, ranges and row selections read the host rows, whether the split is one device
/// buffer or blocks of 7 rows (as a large split is on a GPU), so every read below crosses blocks.
#[test]
fn device_batches_are_the_host_rows() {
    let fx = repo().join("datasets/fixtures");
    let (pixels, _, labels) = formats::read_idx_pair(
        &fx.join("mnist-t10k-100-images-idx3-ubyte"),
        &fx.join("mnist-t10k-100-labels-idx1-ubyte"),
        10,
    )
    .unwrap();
    let images = Images { shape: [1, 28, 28], pixels, labels, classes: 10 };
    let host = images.normalized(Dataset::Mnist, Normalization::Standard);
    let device = Device::flex();
    let perm = device::epoch_permutation(100, 3, 2);
    assert_eq!(perm, device::epoch_permutation(100, 3, 2));
    assert_ne!(perm, device::epoch_permutation(100, 3, 1));
    let host_rows = |idx: &[i64]| -> Vec<f32> { idx.iter().flat_map(|&i| host[i as usize * 784..(i as usize + 1) * 784].to_vec()).collect() };
    let host_labels = |idx: &[i64]| -> Vec<i64> { idx.iter().map(|&i| images.labels[i as usize] as i64).collect() };
    let read = |(x, y): (burn::tensor::Tensor<2>, burn::tensor::Tensor<1, burn::tensor::Int>)| {
        (x.into_data().try_to_vec::<f32>().unwrap(), y.into_data().convert::<i64>().try_to_vec::<i64>().unwrap())
    };
    for rows_per_block in [usize::MAX, 7] {
        let split = DeviceSplit::upload_in_blocks(&images, Dataset::Mnist, Normalization::Standard, &device, rows_per_block);
        assert_eq!(split.x.blocks().count(), if rows_per_block == 7 { 15 } else { 1 });
        let order = EpochOrder::new(100, 3, 2, &device);
        assert_eq!(order.host, perm);
        assert_eq!(split.batches(32), 4);
        let (x, y) = read(split.batch(&order, 3, 32));
        assert_eq!(y.len(), 4, "the last batch holds the remaining 100 - 96 images");
        assert_eq!((x, y), (host_rows(&perm[96..]), host_labels(&perm[96..])));
        assert_eq!(read(split.batch(&order, 1, 32)), (host_rows(&perm[32..64]), host_labels(&perm[32..64])));
        let span: Vec<i64> = (5..40).collect();
        assert_eq!(read(split.range(5, 35)), (host_rows(&span), host_labels(&span)));
        let picked = [93, 2, 50, 2, 8, 99];
        assert_eq!(read(split.rows(&picked)), (host_rows(&picked), host_labels(&picked)));
        let gathered = split.x.gather(&picked);
        assert_eq!(gathered.len(), 6);
        assert_eq!(gathered.range(0, 6).into_data().try_to_vec::<f32>().unwrap(), host_rows(&picked));
    }
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// A mirror serving the real MNIST files, gzipped as the official ones are, for `max` requests.
fn mnist_mirror(max: usize) -> String {
    let src = full_data_dir().join("mnist");
    let routes: Vec<_> = Dataset::Mnist
        .files()
        .iter()
        .map(|f| {
            let body = gz(&std::fs::read(src.join(f.name)).unwrap());
            let path: &'static str = Box::leak(format!("{}.gz", f.name).into_boxed_str());
            (path, 200, body.len(), body)
        })
        .collect();
    serve(routes, max)
}

#[test]
fn downloader_installs_only_verified_files() {
    let content = b"real dataset bytes".to_vec();
    let sha = fetch::sha256_hex(&content);
    let entry = FileEntry { name: "f", sha256: Some(Box::leak(sha.into_boxed_str())), bytes: content.len() as u64 };
    let good = gz(&content);
    let base = serve(
        vec![
            ("good.gz", 200, good.len(), good.clone()),
            ("other.gz", 200, gz(b"other dataset byte").len(), gz(b"other dataset byte")),
            ("short.gz", 200, gz(b"other bytes").len(), gz(b"other bytes")),
            ("cut.gz", 200, good.len() + 100, good.clone()),
        ],
        5,
    );
    let dir = tailgrad_testkit::TempDir::new();
    let dest = dir.path().join("f");
    let get = |name: &str| fetch::download_gzip_file(&format!("{base}{name}"), &dest, &entry, false);

    let e = get("missing.gz").unwrap_err().to_string();
    assert!(e.contains("missing.gz failed") && e.contains("404"), "{e}");
    let e = get("other.gz").unwrap_err().to_string();
    assert!(e.contains("SHA-256 is") && e.contains("expected"), "{e}");
    let e = get("short.gz").unwrap_err().to_string();
    assert!(e.contains("inflates to 11 bytes, expected 18"), "{e}");
    let e = get("cut.gz").unwrap_err().to_string();
    assert!(e.contains("cut.gz failed"), "{e}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing left behind by failed downloads");

    get("good.gz").unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), content);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn a_decompression_bomb_is_stopped_at_the_expected_size_without_filling_memory() {
    // Issue 24, item 4: a 47 MB gzip from a mirror was inflated whole in memory (1 GB RSS)
    // before its checksum rejected it. Here 4 GB of zeros (a few MB gzipped) stand in for a
    // 10,008-byte label file; inflated in memory they would raise the peak by 4 GB.
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..4096 {
        e.write_all(&zeros).unwrap();
    }
    let bomb = e.finish().unwrap();
    let base = serve(vec![("bomb.gz", 200, bomb.len(), bomb)], 1);
    let dir = tailgrad_testkit::TempDir::new();
    let dest = dir.path().join("mnist/t10k-labels-idx1-ubyte");
    let entry = Dataset::Mnist.files()[3];
    let peak_before = peak_rss_mb();
    let e = fetch::download_gzip_file(&format!("{base}bomb.gz"), &dest, &entry, false).unwrap_err().to_string();
    assert!(e.contains("inflates past the expected 10008 bytes") && e.contains("bomb.gz"), "{e}");
    assert!(peak_rss_mb() < peak_before + 1000, "memory grew from {peak_before} MB to {} MB", peak_rss_mb());
    assert!(!dir.path().join("mnist").exists(), "no temporary and no new folder left behind");
}

/// This process's peak resident memory (VmHWM), in MB.
fn peak_rss_mb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok()).unwrap() / 1024
}

#[test]
fn two_fetchers_into_one_empty_folder_both_succeed() {
    // Issue 24, item 5: two processes auto-downloading into the same empty data directory; one
    // failed with a false "No such file or directory" (they shared one temporary name).
    let base = mnist_mirror(8);
    let dir = tailgrad_testkit::TempDir::new();
    let fetchers: Vec<_> = (0..2)
        .map(|_| {
            let (dir, base) = (dir.path().to_path_buf(), base.clone());
            std::thread::spawn(move || fetch::fetch(&dir, Dataset::Mnist, Some(&base), false).map(|p| p.len()))
        })
        .collect();
    for f in fetchers {
        assert_eq!(f.join().unwrap().unwrap(), 4);
    }
    let mut names: Vec<String> = std::fs::read_dir(dir.path().join("mnist")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
    names.sort();
    assert_eq!(names, ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", "train-images-idx3-ubyte", "train-labels-idx1-ubyte"], "no temporaries");
}

#[test]
fn fetch_is_a_no_op_when_verified_files_are_present() {
    // Full MNIST is present and verified: fetch must not contact the (dead) server at all.
    let e = fetch::fetch(&full_data_dir(), Dataset::Mnist, Some("http://127.0.0.1:9/"), false);
    assert_eq!(e.unwrap().len(), 4);
}

#[test]
fn fetch_pulls_a_whole_dataset_from_a_mirror() {
    let base = mnist_mirror(4);
    let dir = tailgrad_testkit::TempDir::new();
    // Given without its trailing slash (issue 24, item 8: the URL became ".../127.0.0.1:PORTtrain-...").
    let paths = fetch::fetch(dir.path(), Dataset::Mnist, Some(base.trim_end_matches('/')), false).unwrap();
    assert_eq!(paths.len(), 4);
    assert_eq!(load_part(dir.path(), Dataset::Mnist, Part::Test).unwrap().len(), 10_000);
}

#[test]
fn archives_are_checked_by_md5_and_unpacked() {
    // A CIFAR-style tar.gz holding cifar-10-batches-bin/{data_batch_1.bin, test_batch.bin}.
    let fx = std::fs::read(repo().join("datasets/fixtures/cifar10-lossy-20.bin")).unwrap();
    let mut tar = tar::Builder::new(Vec::new());
    for name in ["data_batch_1.bin", "test_batch.bin"] {
        let mut header = tar::Header::new_gnu();
        header.set_size(fx.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, format!("cifar-10-batches-bin/{name}"), &fx[..]).unwrap();
    }
    let archive = gz(&tar.into_inner().unwrap());
    let md5: String = md5::Md5::digest(&archive).iter().map(|b| format!("{b:02x}")).collect();
    let base = serve(vec![("c.tar.gz", 200, archive.len(), archive.clone())], 3);
    let batch = |name| FileEntry { name, sha256: None, bytes: fx.len() as u64 };
    let files = [batch("data_batch_1.bin"), batch("test_batch.bin")];
    let dir = tailgrad_testkit::TempDir::new();
    let url = format!("{base}c.tar.gz");
    let e = fetch::download_archive(&url, &"0".repeat(32), "cifar-10-batches-bin", dir.path(), &files, false).unwrap_err();
    assert!(e.to_string().contains(&format!("MD5 is {md5}, expected 000")), "{e}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    let more = [files[0], files[1], batch("data_batch_2.bin")];
    let e = fetch::download_archive(&url, &md5, "cifar-10-batches-bin", dir.path(), &more, false).unwrap_err();
    assert!(e.to_string().contains("archive lacks cifar-10-batches-bin/data_batch_2.bin"), "{e}");
    fetch::download_archive(&url, &md5, "cifar-10-batches-bin", dir.path(), &files, false).unwrap();
    assert_eq!(formats::read_cifar10(&dir.path().join("test_batch.bin")).unwrap().1.len(), 20);
}

#[test]
fn merged_classes_train_under_one_label_and_keep_their_digits() {
    // He & Su's superclasses: 5 and 8 -> label 0, 9 and 3 -> label 1.
    let split = checked(RawDataSpec { dir: Some(full_data_dir()), merge: vec![vec![5, 8], vec![9, 3]], ..RawDataSpec::new(Dataset::Mnist) }).load(0).unwrap();
    // MNIST's training counts of 5, 8, 9, 3 (see mnist_facts) and test counts 892 + 974 + 1009 + 1010.
    assert_eq!(split.train.len(), 5421 + 5851 + 5949 + 6131);
    assert_eq!(split.test.len(), 892 + 974 + 1009 + 1010);
    let fine = split.fine_labels.as_ref().expect("the digits are kept");
    assert_eq!(fine.len(), split.train.len());
    for (&label, &digit) in split.train.labels.iter().zip(fine) {
        assert_eq!(label, if digit == 5 || digit == 8 { 0 } else { 1 }, "digit {digit}");
        assert!([5, 8, 9, 3].contains(&digit));
    }
    assert!(split.test.labels.iter().all(|&l| l <= 1));
    assert_eq!(split.novel.expect("the other digits are novel").len(), 10_000 - split.test.len());
    assert!(DataSpec::new(Dataset::Mnist).with_dir(Some(full_data_dir())).load(0).unwrap().fine_labels.is_none());
    for merge in [vec![vec![5, 8]], vec![vec![5], vec![]], vec![vec![5, 8], vec![8, 3]], vec![vec![5], vec![10]]] {
        let err = DataSpec::try_from(RawDataSpec { merge, ..RawDataSpec::new(Dataset::Mnist) }).unwrap_err().to_string();
        assert!(err.contains("`data.merge`"), "{err}");
    }
    let err = DataSpec::try_from(RawDataSpec { merge: vec![vec![5], vec![8]], classes: vec![5, 8], ..RawDataSpec::new(Dataset::Mnist) }).unwrap_err().to_string();
    assert!(err.contains("cannot be combined"), "{err}");
}

#[test]
fn a_class_subset_trains_and_tests_on_its_classes_and_keeps_the_others_as_novel_concepts() {
    let split = checked(RawDataSpec { dir: Some(full_data_dir()), classes: vec![0, 1, 2, 3, 4], ..RawDataSpec::new(Dataset::Mnist) }).load(0).unwrap();
    // MNIST's class counts (see mnist_facts): digits 0-4 in train and test, 5-9 as novel concepts.
    assert_eq!(split.train.len(), 5923 + 6742 + 5958 + 6131 + 5842);
    assert!(split.train.labels.iter().all(|&l| l <= 4) && split.test.labels.iter().all(|&l| l <= 4));
    assert_eq!(split.test.len(), 980 + 1135 + 1032 + 1010 + 982);
    let novel = split.novel.expect("left-out classes are kept");
    assert_eq!(novel.class_counts(), [0, 0, 0, 0, 0, 892, 958, 1028, 974, 1009]);
    assert_eq!(split.train_index.len(), split.train.len());
    assert_eq!(split.train.classes, 10, "labels keep their dataset values");
    assert!(DataSpec::new(Dataset::Mnist).with_dir(Some(full_data_dir())).load(0).unwrap().novel.is_none());
    // Bad subsets are refused, naming the key.
    for (classes, noise) in [(vec![3], 0.0), (vec![1, 1, 2], 0.0), (vec![0, 10], 0.0), ((0..10).collect(), 0.0), (vec![0, 1], 0.1)] {
        let err = DataSpec::try_from(RawDataSpec { classes, label_noise: noise, ..RawDataSpec::new(Dataset::Mnist) }).unwrap_err().to_string();
        assert!(err.contains("`data.classes`"), "{err}");
    }
}
