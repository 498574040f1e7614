//! The splits a run trains and evaluates on, from its `[data]` config: balanced subsets, a
//! fixed validation split, splitting a lone test file, label noise, and class-balanced samples.

use crate::catalog::Dataset;
use crate::spec::DataSpec;
use crate::host::{Images, Part, load_part};
use crate::DataError;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};

/// Flipped labels: `flipped[i]` is true when training label `i` was replaced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LabelNoise {
    pub flipped: Vec<bool>,
    /// The true labels before noise.
    pub clean_labels: Vec<u8>,
}

/// The splits a run trains and evaluates on.
#[derive(Clone, Debug)]
pub struct Split {
    pub dataset: Dataset,
    pub train: Images,
    /// Where each training image lies in its source file (the official training file, or the
    /// test file under `split_test_file`), for exporting a run's exact data to another framework.
    pub train_index: Vec<usize>,
    pub validation: Option<Images>,
    pub test: Images,
    /// The test images of the classes left out by `classes` (None when every class is used).
    pub novel: Option<Images>,
    pub noise: LabelNoise,
    /// The training images' dataset classes when `merge` relabelled them (None otherwise).
    pub fine_labels: Option<Vec<u8>>,
}

impl DataSpec {
    /// Load and prepare the splits; `seed` drives the validation split and the label noise.
    pub fn load(&self, seed: u64) -> Result<Split, DataError> {
        let dir = self.resolved_dir();
        let (mut train, mut train_index, test) = match self.split_test_file() {
            None => {
                let train = load_part(&dir, self.name(), Part::Train)?;
                let index = (0..train.len()).collect();
                (train, index, load_part(&dir, self.name(), Part::Test)?)
            }
            Some(fraction) => {
                let all = load_part(&dir, self.name(), Part::Test)?;
                let counts = all.class_counts();
                let mut seen = vec![0usize; all.classes];
                let (mut tr, mut te) = (vec![], vec![]);
                for i in 0..all.len() {
                    let c = all.labels[i] as usize;
                    seen[c] += 1;
                    if (seen[c] as f64) <= fraction * counts[c] as f64 { tr.push(i) } else { te.push(i) }
                }
                (all.select(&tr), tr, all.select(&te))
            }
        };
        let used = self.kept_classes();
        let (mut test, novel) = if used.is_empty() {
            (test, None)
        } else {
            let of = |images: &Images, inside: bool| -> Vec<usize> { (0..images.len()).filter(|&i| used.contains(&images.labels[i]) == inside).collect() };
            let keep = of(&train, true);
            train = train.select(&keep);
            train_index = keep.iter().map(|&i| train_index[i]).collect();
            (test.select(&of(&test, true)), Some(test.select(&of(&test, false))))
        };
        if self.train_per_class() > 0 {
            let keep = train.first_per_class(self.train_per_class());
            train = train.select(&keep);
            train_index = keep.iter().map(|&i| train_index[i]).collect();
        }
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x5eed_da7a);
        let mut validation = if self.validation() > 0 {
            if self.validation() >= train.len() {
                return Err(DataError::Config(format!(
                    "`data.validation` = {} leaves no training data ({} images)",
                    self.validation(),
                    train.len()
                )));
            }
            let mut order: Vec<usize> = (0..train.len()).collect();
            order.shuffle(&mut rng);
            let (keep, held) = order.split_at(train.len() - self.validation());
            let (mut keep, mut held) = (keep.to_vec(), held.to_vec());
            keep.sort_unstable();
            held.sort_unstable();
            let v = train.select(&held);
            train = train.select(&keep);
            train_index = keep.iter().map(|&i| train_index[i]).collect();
            Some(v)
        } else {
            None
        };
        let noise = inject_label_noise(&mut train, self.label_noise(), &mut rng);
        let fine_labels = (!self.merge().is_empty()).then(|| {
            let fine = train.labels.clone();
            let group = |c: u8| self.merge().iter().position(|g| g.contains(&c)).expect("only merged classes are kept") as u8;
            for images in std::iter::once(&mut train).chain(validation.as_mut()).chain(std::iter::once(&mut test)) {
                images.labels.iter_mut().for_each(|l| *l = group(*l));
            }
            fine
        });
        Ok(Split { dataset: self.name(), train, train_index, validation, test, novel, noise, fine_labels })
    }
}

/// `n` distinct indices into `labels`, spread as evenly over the classes as their sizes allow:
/// each class's members in a random order seeded by `seed`, taken round-robin over the classes
/// until `n` are drawn (all of them when `n >= labels.len()`); returned in ascending order. The
/// instruments' and diagnostics' samples, so that a class-sorted file (the CIFAR-10 test batch)
/// does not give them a few classes only.
pub fn balanced_sample(labels: &[u8], classes: usize, n: usize, seed: u64) -> Vec<usize> {
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed ^ 0xba1a_4ced);
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); classes.max(1)];
    for (i, &l) in labels.iter().enumerate() {
        by_class[(l as usize).min(classes.max(1) - 1)].push(i);
    }
    by_class.iter_mut().for_each(|members| members.shuffle(&mut rng));
    let n = n.min(labels.len());
    let mut out = Vec::with_capacity(n);
    let mut depth = 0;
    while out.len() < n {
        for members in &by_class {
            if let Some(&i) = members.get(depth)
                && out.len() < n
            {
                out.push(i);
            }
        }
        depth += 1;
    }
    out.sort_unstable();
    out
}

/// Replace round(rho * n) labels, chosen uniformly without replacement, each by a uniformly
/// random *different* class (Feng & Tu, MLST 2021: learning phases with mislabeled data).
pub fn inject_label_noise<R: rand::Rng>(images: &mut Images, rho: f64, rng: &mut R) -> LabelNoise {
    let n = images.len();
    let clean_labels = images.labels.clone();
    let mut flipped = vec![false; n];
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    let k = (rho * n as f64).round() as usize;
    for &i in &order[..k] {
        let shift = rng.random_range(1..images.classes) as u8;
        images.labels[i] = (images.labels[i] + shift) % images.classes as u8;
        flipped[i] = true;
    }
    LabelNoise { flipped, clean_labels }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy(n: usize) -> Images {
        Images {
            shape: [1, 1, 2],
            pixels: (0..2 * n).map(|i| (i % 256) as u8).collect(),
            labels: (0..n).map(|i| (i % 10) as u8).collect(),
            classes: 10,
        }
    }

    #[test]
    fn label_noise_flips_exactly_rho_n_to_other_classes() {
        let mut images = toy(1000);
        let noise = inject_label_noise(&mut images, 0.3, &mut rand::rngs::Xoshiro256PlusPlus::seed_from_u64(1));
        assert_eq!(noise.flipped.iter().filter(|&&f| f).count(), 300);
        for i in 0..1000 {
            assert_eq!(noise.flipped[i], images.labels[i] != noise.clean_labels[i], "sample {i}");
        }
        // The new class is uniform over the 9 others: each shift 1..9 appears ~300/9 = 33 times.
        let mut shifts = [0usize; 10];
        for i in (0..1000).filter(|&i| noise.flipped[i]) {
            shifts[((images.labels[i] + 10 - noise.clean_labels[i]) % 10) as usize] += 1;
        }
        assert_eq!(shifts[0], 0);
        assert!(shifts[1..].iter().all(|&s| (15..=55).contains(&s)), "{shifts:?}");
        let mut again = toy(1000);
        let same = inject_label_noise(&mut again, 0.3, &mut rand::rngs::Xoshiro256PlusPlus::seed_from_u64(1));
        assert_eq!(same, noise);
    }

    #[test]
    fn balanced_samples_spread_over_the_classes_of_a_class_sorted_file() {
        // A class-sorted file (as the CIFAR-10 test batch shipped for tests): 3 classes of 50, 30, 5.
        let even = balanced_sample(&[[0u8; 40], [1; 40], [2; 40]].concat(), 3, 30, 7);
        assert_eq!((0..3u8).map(|c| even.iter().filter(|&&i| i / 40 == c as usize).count()).collect::<Vec<_>>(), [10, 10, 10]);
        let labels: Vec<u8> = [vec![0u8; 50], vec![1; 30], vec![2; 5]].concat();
        let idx = balanced_sample(&labels, 3, 30, 7);
        let count = |c: u8| count_of(&idx, &labels, c);
        assert_eq!((count(0), count(1), count(2)), (13, 12, 5), "round-robin until the class of 5 runs out");
        let idx = balanced_sample(&labels, 3, 60, 7);
        assert_eq!((count_of(&idx, &labels, 0), count_of(&idx, &labels, 1), count_of(&idx, &labels, 2)), (28, 27, 5), "a small class gives all it has");
        assert!(idx.windows(2).all(|w| w[0] < w[1]), "sorted and distinct");
        assert_eq!(balanced_sample(&labels, 3, 30, 7), balanced_sample(&labels, 3, 30, 7));
        assert_ne!(balanced_sample(&labels, 3, 30, 7), balanced_sample(&labels, 3, 30, 8));
        assert_eq!(balanced_sample(&labels, 3, 500, 1).len(), 85);
    }

    fn count_of(idx: &[usize], labels: &[u8], c: u8) -> usize {
        idx.iter().filter(|&&i| labels[i] == c).count()
    }

    #[test]
    fn balanced_subsets_take_the_first_of_each_class() {
        let images = toy(100);
        let idx = images.first_per_class(3);
        assert_eq!(idx.len(), 30);
        assert_eq!(images.select(&idx).class_counts(), vec![3; 10]);
        assert_eq!(&idx[..10], &(0..10).collect::<Vec<_>>()[..]);
    }

    #[test]
    fn bad_data_config_is_named() {
        let bad = crate::RawDataSpec { label_noise: 1.5, ..crate::RawDataSpec::new(Dataset::Mnist) };
        assert_eq!(DataSpec::try_from(bad).unwrap_err().to_string(), "data config: `data.label_noise` = 1.5 must be in [0, 1)");
        let spec = DataSpec::new(Dataset::Mnist).with_dir(Some("/nonexistent".into()));
        let e = spec.load(0).unwrap_err().to_string();
        assert!(e.starts_with("dataset `mnist` is not in /nonexistent: missing train-images-idx3-ubyte, train-labels-idx1-ubyte."), "{e}");
        assert!(e.contains("tailgrad data fetch mnist"), "{e}");
    }
}
