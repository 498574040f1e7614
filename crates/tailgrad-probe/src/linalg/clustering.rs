//! Clustering without labels, as He & Su (ICLR 2020; HornHehhf/LocalElasticity,
//! `sources/clustering.py`) cluster their similarity matrices: k-means on the rows of a matrix,
//! spectral clustering of an affinity matrix, and kernel k-means of a kernel matrix; and the
//! accuracy of a clustering against labels under the best matching of clusters to classes (for
//! two classes, He & Su's `0.5 + |correct/n - 0.5|`).

use super::sym_eigen;
use rand::{RngExt, SeedableRng};

/// Squared Euclidean distance.
fn dist2(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum()
}

/// Lloyd's k-means on the rows `points`, k-means++ seeding, `restarts` seeded restarts; the
/// assignment with the least within-cluster sum of squares.
pub fn kmeans(points: &[Vec<f64>], k: usize, restarts: usize, seed: u64) -> Vec<usize> {
    let n = points.len();
    let mut best: (f64, Vec<usize>) = (f64::INFINITY, vec![0; n]);
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed);
    for _ in 0..restarts.max(1) {
        // k-means++: each next centre drawn with probability proportional to D^2.
        let mut centres = vec![points[rng.random_range(0..n)].clone()];
        while centres.len() < k.min(n) {
            let d: Vec<f64> = points.iter().map(|p| centres.iter().map(|c| dist2(p, c)).fold(f64::INFINITY, f64::min)).collect();
            let total: f64 = d.iter().sum();
            let mut r = rng.random::<f64>() * total;
            let pick = d.iter().position(|&x| {
                r -= x;
                r <= 0.0
            });
            centres.push(points[pick.unwrap_or(n - 1)].clone());
        }
        let mut labels = vec![0; n];
        for _ in 0..100 {
            let next: Vec<usize> = points
                .iter()
                .map(|p| (0..centres.len()).min_by(|&a, &b| dist2(p, &centres[a]).total_cmp(&dist2(p, &centres[b]))).expect("k >= 1"))
                .collect();
            let changed = next != labels;
            labels = next;
            for (c, centre) in centres.iter_mut().enumerate() {
                let members: Vec<&Vec<f64>> = points.iter().zip(&labels).filter(|(_, l)| **l == c).map(|(p, _)| p).collect();
                if !members.is_empty() {
                    *centre = (0..centre.len()).map(|j| members.iter().map(|m| m[j]).sum::<f64>() / members.len() as f64).collect();
                }
            }
            if !changed {
                break;
            }
        }
        let inertia: f64 = points.iter().zip(&labels).map(|(p, &l)| dist2(p, &centres[l])).sum();
        if inertia < best.0 {
            best = (inertia, labels);
        }
    }
    best.1
}

/// Spectral clustering of a symmetric, non-negative affinity matrix (row-major `n x n`): the top
/// `k` eigenvectors of `D^(-1/2) A D^(-1/2)`, rows normalized to unit length, then k-means (Ng,
/// Jordan & Weiss 2001; sklearn's default assigns labels the same way, He & Su use its
/// `discretize` variant).
pub fn spectral(affinity: &[f64], n: usize, k: usize, seed: u64) -> Vec<usize> {
    let degree: Vec<f64> = (0..n).map(|i| affinity[i * n..(i + 1) * n].iter().sum::<f64>().max(1e-300)).collect();
    let normalized: Vec<f64> = (0..n * n).map(|ij| affinity[ij] / (degree[ij / n] * degree[ij % n]).sqrt()).collect();
    let eig = sym_eigen(&normalized, n);
    let top: Vec<&Vec<f64>> = eig.vectors.iter().rev().take(k).collect();
    let rows: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            let r: Vec<f64> = top.iter().map(|v| v[i]).collect();
            let norm = r.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-300);
            r.iter().map(|x| x / norm).collect()
        })
        .collect();
    kmeans(&rows, k, 10, seed)
}

/// Kernel k-means (Dhillon, Guan & Kulis 2004) of a kernel matrix, as He & Su's `KernelKMeans`:
/// distance of point i to cluster c: `K_ii - 2 mean_{j in c} K_ij + mean_{j,l in c} K_jl`;
/// seeded random initial labels, the best of `restarts` by total within-cluster distance.
pub fn kernel_kmeans(kernel: &[f64], n: usize, k: usize, restarts: usize, seed: u64) -> Vec<usize> {
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut best: (f64, Vec<usize>) = (f64::INFINITY, vec![0; n]);
    for _ in 0..restarts.max(1) {
        let mut labels: Vec<usize> = (0..n).map(|_| rng.random_range(0..k)).collect();
        let mut cost = f64::INFINITY;
        for _ in 0..100 {
            let members: Vec<Vec<usize>> = (0..k).map(|c| (0..n).filter(|&i| labels[i] == c).collect()).collect();
            let within: Vec<f64> = members
                .iter()
                .map(|m| m.iter().flat_map(|&j| m.iter().map(move |&l| kernel[j * n + l])).sum::<f64>() / (m.len().max(1) as f64).powi(2))
                .collect();
            let distance = |i: usize, c: usize| {
                let m = &members[c];
                if m.is_empty() {
                    return f64::INFINITY;
                }
                kernel[i * n + i] - 2.0 * m.iter().map(|&j| kernel[i * n + j]).sum::<f64>() / m.len() as f64 + within[c]
            };
            let next: Vec<usize> = (0..n).map(|i| (0..k).min_by(|&a, &b| distance(i, a).total_cmp(&distance(i, b))).expect("k >= 1")).collect();
            cost = (0..n).map(|i| distance(i, next[i])).sum();
            if next == labels {
                break;
            }
            labels = next;
        }
        if cost < best.0 {
            best = (cost, labels);
        }
    }
    best.1
}

/// The fraction of points whose cluster, under the best one-to-one matching of clusters to
/// classes (Hungarian algorithm on the confusion counts), is their class.
pub fn matched_accuracy(clusters: &[usize], labels: &[i64]) -> f64 {
    let mut classes: Vec<i64> = labels.to_vec();
    classes.sort();
    classes.dedup();
    let k = classes.len().max(clusters.iter().max().map_or(0, |m| m + 1));
    let mut count = vec![vec![0i64; k]; k];
    for (&c, l) in clusters.iter().zip(labels) {
        count[c][classes.binary_search(l).expect("a known class")] += 1;
    }
    let assignment = hungarian_max(&count);
    assignment.iter().enumerate().map(|(c, &l)| count[c][l]).sum::<i64>() as f64 / labels.len().max(1) as f64
}

/// The assignment rows -> columns maximizing the total of a square matrix (Kuhn-Munkres with
/// potentials, O(k^3)).
fn hungarian_max(w: &[Vec<i64>]) -> Vec<usize> {
    let n = w.len();
    let max = w.iter().flatten().copied().max().unwrap_or(0);
    let cost = |i: usize, j: usize| max - w[i][j];
    let (mut u, mut v) = (vec![0i64; n + 1], vec![0i64; n + 1]);
    let (mut p, mut way) = (vec![0usize; n + 1], vec![0usize; n + 1]);
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0;
        let mut minv = vec![i64::MAX; n + 1];
        let mut used = vec![false; n + 1];
        loop {
            used[j0] = true;
            let (i0, mut delta, mut j1) = (p[j0], i64::MAX, 0);
            for j in 1..=n {
                if !used[j] {
                    let cur = cost(i0 - 1, j - 1) - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=n {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut assignment = vec![0; n];
    for j in 1..=n {
        if p[j] > 0 {
            assignment[p[j] - 1] = j - 1;
        }
    }
    assignment
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_distr::{Distribution, StandardNormal};

    /// `n` points per class around `classes` well-separated centres (or all around one).
    fn blobs(classes: usize, n: usize, separation: f64, seed: u64) -> (Vec<Vec<f64>>, Vec<i64>) {
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut points = Vec::new();
        let mut labels = Vec::new();
        for c in 0..classes {
            for _ in 0..n {
                points.push((0..4).map(|d| if d == c % 4 { separation * (1 + c / 4) as f64 } else { 0.0 } + Distribution::<f64>::sample(&StandardNormal, &mut rng) * 0.3).collect());
                labels.push(c as i64 * 7); // class ids need not be 0..k
            }
        }
        (points, labels)
    }

    fn gaussian_kernel(points: &[Vec<f64>]) -> Vec<f64> {
        points.iter().flat_map(|a| points.iter().map(move |b| (-dist2(a, b)).exp())).collect()
    }

    #[test]
    fn separated_classes_are_recovered_and_unseparated_ones_are_not() {
        let (points, labels) = blobs(3, 30, 5.0, 1);
        let n = points.len();
        assert_eq!(matched_accuracy(&kmeans(&points, 3, 5, 2), &labels), 1.0);
        let kernel = gaussian_kernel(&points);
        assert_eq!(matched_accuracy(&spectral(&kernel, n, 3, 3), &labels), 1.0);
        assert_eq!(matched_accuracy(&kernel_kmeans(&kernel, n, 3, 5, 4), &labels), 1.0);
        // No separation: the labels are noise to the clustering, about 1/3 + a little is matched.
        let (points, labels) = blobs(3, 30, 0.0, 5);
        let acc = matched_accuracy(&kmeans(&points, 3, 5, 6), &labels);
        assert!(acc < 0.6, "{acc}");
    }

    #[test]
    fn matched_accuracy_takes_the_best_matching() {
        // Clusters named in another order than the classes: a perfect clustering is 1.
        assert_eq!(matched_accuracy(&[2, 2, 0, 0, 1, 1], &[5, 5, 6, 6, 7, 7]), 1.0);
        // Two classes: He & Su's 0.5 + |correct/n - 0.5|.
        let (c, l) = ([0, 0, 0, 1, 1, 1, 1, 0], [1i64, 1, 1, 1, 2, 2, 2, 2]);
        let correct = c.iter().zip(&l).filter(|(c, l)| **c as i64 + 1 == **l).count() as f64 / 8.0;
        assert_eq!(matched_accuracy(&c, &l), 0.5 + (correct - 0.5f64).abs());
        assert_eq!(hungarian_max(&[vec![1, 9, 2], vec![8, 3, 1], vec![2, 2, 7]]), [1, 0, 2]);
    }
}
