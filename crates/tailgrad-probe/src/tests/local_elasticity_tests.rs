use super::*;
use crate::local_elasticity::measure;

#[test]
fn local_elasticity_of_a_linear_model_is_the_input_kernel() {
    // f = x W: one step at x_i moves f(x_j) by -eta (x_j . x_i) dl/df(x_i), so S_ker(i, j) = x_j . x_i
    // exactly and S_rel(i, j) = |x_j . x_i| / |x_i|^2: similarity of inputs, nothing learned.
    let (train, _) = mnist(3);
    let model = net(&[], 12, 1.0);
    let (x, y) = train.range(0, 12);
    let xs: Vec<f64> = tailgrad_model::loss::read_f32s(x.clone()).iter().map(|&v| v as f64).collect();
    let row = |i: usize| &xs[i * 784..(i + 1) * 784];
    // A step of 1e-13 moves no f32 logit: the step is multiplied by 3 until one moves, and S_ker
    // uses the step taken, so the kernel comes out the same.
    for (eta, escalated) in [(1e-3, false), (1e-13, true)] {
        let e = measure(&model, x.clone(), y.clone(), None, eta, 0);
        assert_eq!(e.dropped, 0);
        assert_eq!(e.eta_used.iter().all(|&s| s > eta), escalated, "{:?}", e.eta_used);
        for (i, j) in [(0, 1), (3, 7), (5, 5), (11, 2)] {
            let k = dot(row(i), row(j));
            assert!((e.s_ker[i * 12 + j] - k).abs() < 3e-2 * (1.0 + k.abs()), "eta {eta}: S_ker({i},{j}) = {} vs x_i.x_j = {k}", e.s_ker[i * 12 + j]);
            let rel = k.abs() / dot(row(i), row(i));
            assert!((e.s_rel[i * 12 + j] - rel).abs() < 3e-2 * (1.0 + rel), "eta {eta}: S_rel({i},{j})");
        }
    }
}

#[test]
fn a_trained_net_is_locally_elastic_and_its_similarities_cluster_the_classes_without_labels() {
    // Train a small ReLU net briefly on two classes: same-class S_rel exceeds cross-class, and
    // clustering the symmetrized matrices (no labels) recovers the two classes.
    let (train, _) = mnist(50);
    let mut model = net(&[64], 13, 1.0);
    let ys = tailgrad_model::loss::read_i64s(train.y.clone());
    let idx: Vec<i64> = (0..train.len as i64).filter(|&i| ys[i as usize] == 3 || ys[i as usize] == 7).collect();
    let (x, y) = train.rows(&idx);
    for _ in 0..30 {
        let (nll, _) = tailgrad_model::loss::nll_sum_and_correct(model.forward(x.clone()), y.clone());
        let g = Params::All.grad(&model, &nll.div_scalar(idx.len() as f64).backward());
        let w = Params::All.get(&model);
        model = Params::All.set(model, &w.iter().zip(&g).map(|(a, b)| a - 0.1 * b).collect::<Vec<_>>());
    }
    let e = measure(&model, x.narrow(0, 0, 60), y.narrow(0, 0, 60), None, 1e-2, 1);
    assert!(e.s_rel_same > e.s_rel_cross, "{} vs {}", e.s_rel_same, e.s_rel_cross);
    for (name, acc) in [("k-means", e.kmeans_acc_rel), ("spectral", e.spectral_acc_rel), ("kernel k-means", e.kernel_kmeans_acc_ker)] {
        assert!(acc > 0.75, "{name} clustering accuracy {acc}");
    }
    assert!(e.label_score_rel >= 0.8, "the labelled score {}", e.label_score_rel);
}

#[test]
fn similarities_of_a_random_net_do_not_cluster_unrelated_labels() {
    // Labels unrelated to the inputs (random permutation of 2 classes): a clustering cannot match
    // them much better than chance, while the labelled score is optimistic by construction.
    let (train, _) = mnist(10);
    let model = net(&[32], 14, 1.0);
    let (x, _) = train.range(0, 40);
    let mut r = rng(15);
    let fake: Vec<i64> = (0..40).map(|_| r.random_range(0..2)).collect();
    let y = burn::tensor::Tensor::<1, burn::tensor::Int>::from_data(burn::tensor::TensorData::new(fake, [40]), &x.device());
    let e = measure(&model, x, y, None, 1e-2, 2);
    assert!(e.kmeans_acc_rel < 0.8 && e.spectral_acc_rel < 0.8, "{} {}", e.kmeans_acc_rel, e.spectral_acc_rel);
}

#[test]
fn the_shared_label_protocol_steps_on_the_trained_label_and_scores_by_the_true_class() {
    // Twelve samples trained under one label (0) whose true classes alternate 0/1: the updates
    // (and so the matrices) are those of label 0, the same/cross split is by the true class.
    let (train, _) = mnist(3);
    let model = net(&[16], 14, 1.0);
    let (x, _) = train.range(0, 12);
    let y = burn::tensor::Tensor::<1, burn::tensor::Int>::zeros([12], &x.device());
    let truth: Vec<i64> = (0..12).map(|i| i % 2).collect();
    let shared = measure(&model, x.clone(), y.clone(), Some(&truth), 1e-2, 3);
    let plain = measure(&model, x, y, None, 1e-2, 3);
    assert_eq!(shared.labels, truth);
    assert_eq!(shared.s_rel, plain.s_rel, "the steps use the trained label");
    let mean_over = |same: bool| {
        let v: Vec<f64> = (0..12).flat_map(|i| (0..12).map(move |j| (i, j))).filter(|&(i, j)| i != j && (truth[i] == truth[j]) == same).map(|(i, j)| shared.s_rel[i * 12 + j]).collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    assert!((shared.s_rel_same - mean_over(true)).abs() < 1e-12 && (shared.s_rel_cross - mean_over(false)).abs() < 1e-12);
    // Without a truth every pair shares the label: the "same" mean is over all pairs.
    let all = (0..12).flat_map(|i| (0..12).filter(move |&j| j != i).map(move |j| (i, j))).map(|(i, j)| plain.s_rel[i * 12 + j]).sum::<f64>() / 132.0;
    assert!((plain.s_rel_same - all).abs() < 1e-9, "{} vs {all}", plain.s_rel_same);
}
