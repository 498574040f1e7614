//! The instruments as schedulable [`Probe`]s, configured by `[[probes]]` entries:
//!
//! | name | settings (defaults) | scalars |
//! |---|---|---|
//! | `gradient-noise` | `batches` (20), `batch_size` (the run's), `per_sample` (512), `layer` (all) | `b_simple`, `snr`, `alignment`, `amplitude`, ... |
//! | `hessian` | `layer` (all), `samples` (5000), `top_k` (5), `lanczos_steps` (30), `hutchinson_probes` (20), `slq_probes` (3) | `top1..`, `trace` |
//! | `slices` | `points` (21), `span` (1.0), `dims` (1), `samples` (5000) | `loss_center`, `loss_edge_mean` |
//! | `variance-flatness` | `layer` (1), `window_steps` (1000), `directions` (30), `factor` (e), `samples` (0 = all), `noise_batches` (20) | `psi`, `psi_ci95`, `gamma` |
//! | `duality` | `layer` (1), `test_samples` (2000), `hessian_samples` (5000) |
//! | `weight-stats` | `min_tail` (10) | `layer<l>/alpha`, `/beta`, `/scale`, `/esd_alpha` |
//! | `local-elasticity` | `samples` (100), `classes` (all), `eta` (the run's lr) | `s_rel_same`, `s_rel_cross`, `cluster_acc_rel`, ... | `true_gap`, `estimated_gap`, `hessian_estimate` |

use crate::objective::NetLoss;
use crate::params::Params;
use crate::variance_flatness::Trajectory;
use crate::{duality, elasticity, hessian, noise, slices, variance_flatness, weight_stats};
use anyhow::{Context, bail};
use rand::SeedableRng;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tailgrad_train::{Probe, ProbeContext, ProbeOutput, ProbeSpec};

pub const NAMES: [&str; 7] =
    ["gradient-noise", "hessian", "slices", "variance-flatness", "duality", "weight-stats", "local-elasticity"];

/// The probes of a run config, checked (unknown names or settings are errors naming the entry).
pub fn build(specs: &[ProbeSpec]) -> anyhow::Result<Vec<Box<dyn Probe>>> {
    specs.iter().map(build_one).collect()
}

fn settings<T: DeserializeOwned>(spec: &ProbeSpec) -> anyhow::Result<T> {
    toml::Value::Table(spec.settings.clone())
        .try_into()
        .with_context(|| format!("config: probe `{}` has bad settings", spec.name))
}

fn build_one(spec: &ProbeSpec) -> anyhow::Result<Box<dyn Probe>> {
    let spec = spec.clone();
    let probe: Box<dyn Probe> = match spec.name.as_str() {
        "gradient-noise" => Box::new(GradientNoise { settings: settings(&spec)?, spec }),
        "hessian" => Box::new(HessianProbe { settings: settings(&spec)?, spec }),
        "slices" => Box::new(SlicesProbe { settings: settings(&spec)?, spec }),
        "variance-flatness" => {
            let settings: VfSettings = settings(&spec)?;
            Box::new(VarianceFlatnessProbe { trajectory: None, settings, spec })
        }
        "duality" => Box::new(DualityProbe { settings: settings(&spec)?, spec }),
        "weight-stats" => Box::new(WeightStatsProbe { settings: settings(&spec)?, spec }),
        "local-elasticity" => Box::new(ElasticityProbe { settings: settings(&spec)?, spec }),
        other => bail!("config: unknown probe `{other}`; the probes are {}", NAMES.join(", ")),
    };
    Ok(probe)
}

/// Run probe `name` once on `model` (settings from `spec`), outside of training.
pub fn offline(spec: &ProbeSpec, ctx: &ProbeContext) -> anyhow::Result<ProbeOutput> {
    build_one(spec)?.measure(ctx)
}

fn record<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).expect("probe results serialize")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoiseSettings {
    #[serde(default = "twenty")]
    batches: usize,
    #[serde(default)]
    batch_size: usize,
    #[serde(default = "d_per_sample")]
    per_sample: usize,
    #[serde(default)]
    layer: Option<usize>,
}

fn twenty() -> usize {
    20
}
fn d_per_sample() -> usize {
    512
}

struct GradientNoise {
    spec: ProbeSpec,
    settings: NoiseSettings,
}

impl Probe for GradientNoise {
    fn spec(&self) -> &ProbeSpec {
        &self.spec
    }

    fn measure(&mut self, ctx: &ProbeContext) -> anyhow::Result<ProbeOutput> {
        let s = &self.settings;
        let r = noise::measure(
            ctx.model,
            &noise::NoiseInput {
                data: ctx.train,
                flipped: ctx.flipped,
                batch_size: if s.batch_size == 0 { ctx.batch_size } else { s.batch_size },
                batches: s.batches,
                params: Params::from_layer(s.layer),
                directions: &[],
                lr: ctx.lr,
                per_sample: s.per_sample,
                seed: ctx.seed ^ ctx.step,
            },
        );
        let mut scalars = vec![
            ("b_simple".to_string(), r.b_simple),
            ("snr".to_string(), r.snr),
            ("alignment".to_string(), r.all.alignment),
            ("amplitude".to_string(), r.all.mean_amplitude),
            ("mean_grad_norm".to_string(), r.all.mean_grad_norm),
            ("trace_cov".to_string(), r.all.trace_cov),
            ("per_sample_b_simple".to_string(), r.per_sample_b_simple),
        ];
        for (tag, g) in [("clean", &r.clean), ("mislabeled", &r.mislabeled)] {
            if let Some(g) = g {
                scalars.push((format!("{tag}_alignment"), g.alignment));
                scalars.push((format!("{tag}_amplitude"), g.mean_amplitude));
            }
        }
        Ok(ProbeOutput { scalars, record: record(&r) })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HessianSettings {
    #[serde(default)]
    layer: Option<usize>,
    #[serde(default = "five_thousand")]
    samples: usize,
    #[serde(default = "d_top")]
    top_k: usize,
    #[serde(default = "d_steps")]
    lanczos_steps: usize,
    #[serde(default = "twenty")]
    hutchinson_probes: usize,
    #[serde(default = "d_slq")]
    slq_probes: usize,
}

fn d_top() -> usize {
    5
}
fn d_steps() -> usize {
    30
}
fn d_slq() -> usize {
    3
}

fn five_thousand() -> usize {
    5000
}

struct HessianProbe {
    spec: ProbeSpec,
    settings: HessianSettings,
}

impl Probe for HessianProbe {
    fn spec(&self) -> &ProbeSpec {
        &self.spec
    }

    fn measure(&mut self, ctx: &ProbeContext) -> anyhow::Result<ProbeOutput> {
        let s = &self.settings;
        let params = Params::from_layer(s.layer);
        let mut obj = NetLoss::new(ctx.model.clone(), ctx.train, s.samples, params, 10_000);
        let w = obj.point();
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(ctx.seed ^ ctx.step);
        let settings = hessian::SpectrumSpec {
            top_k: s.top_k,
            lanczos_steps: s.lanczos_steps,
            hutchinson_probes: s.hutchinson_probes,
            slq_probes: s.slq_probes,
        };
        let spec = hessian::spectrum(&mut obj, &w, &settings, &mut rng);
        let mut scalars: Vec<(String, f64)> =
            spec.top.iter().enumerate().map(|(i, v)| (format!("top{}", i + 1), *v)).collect();
        scalars.push(("trace".into(), spec.trace));
        Ok(ProbeOutput { scalars, record: record(&spec) })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SliceSettings {
    #[serde(default = "d_points")]
    points: usize,
    #[serde(default = "d_span")]
    span: f64,
    #[serde(default = "d_dims")]
    dims: usize,
    #[serde(default = "five_thousand")]
    samples: usize,
    /// `random` (filter-normalized, all parameters) or `pca` (the top principal components of the
    /// weight trajectory that `variance-flatness` recorded for `layer`).
    #[serde(default = "d_random")]
    directions: String,
    #[serde(default = "one")]
    layer: usize,
}

fn d_random() -> String {
    "random".into()
}

fn d_points() -> usize {
    21
}
fn d_span() -> f64 {
    1.0
}
fn d_dims() -> usize {
    1
}

struct SlicesProbe {
    spec: ProbeSpec,
    settings: SliceSettings,
}

impl Probe for SlicesProbe {
    fn spec(&self) -> &ProbeSpec {
        &self.spec
    }

    fn measure(&mut self, ctx: &ProbeContext) -> anyhow::Result<ProbeOutput> {
        let s = &self.settings;
        if !(1..=2).contains(&s.dims) {
            bail!("config: probe `slices`: `dims` must be 1 or 2");
        }
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(ctx.seed ^ ctx.step);
        let (params, d1, d2) = match s.directions.as_str() {
            "random" => {
                let d1 = slices::filter_normalized(ctx.model, &mut rng);
                (Params::All, d1, (s.dims == 2).then(|| slices::filter_normalized(ctx.model, &mut rng)))
            }
            "pca" => {
                let path = ctx.run_dir.join("probes").join(format!("trajectory-layer{}.bin", s.layer));
                let traj = Trajectory::load(&path).context("slices along PCA directions need the trajectory of the `variance-flatness` probe")?;
                let mut p = variance_flatness::pca(&traj, 2, ctx.seed).directions.into_iter();
                let d1 = p.next().context("the trajectory has no principal component")?;
                (Params::Layer(s.layer), d1, if s.dims == 2 { p.next() } else { None })
            }
            other => bail!("config: probe `slices`: `directions` = `{other}`; expected `random` or `pca`"),
        };
        let mut obj = NetLoss::new(ctx.model.clone(), ctx.train, s.samples, params, 10_000);
        let w = obj.point();
        let grid = slices::grid(s.span, s.points);
        let slice = slices::slice(&mut obj, &w, &d1, d2.as_deref(), &grid, &grid);
        let center = slice.loss[slice.loss.len() / 2];
        let edges = if s.dims == 1 { vec![slice.loss[0], slice.loss[slice.loss.len() - 1]] } else { vec![slice.loss[0], *slice.loss.last().expect("grid")] };
        let scalars = vec![("loss_center".into(), center), ("loss_edge_mean".into(), edges.iter().sum::<f64>() / edges.len() as f64)];
        Ok(ProbeOutput { scalars, record: record(&slice) })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VfSettings {
    #[serde(default = "one")]
    layer: usize,
    #[serde(default = "d_window")]
    window_steps: u64,
    #[serde(default = "d_dirs")]
    directions: usize,
    #[serde(default = "d_factor")]
    factor: f64,
    #[serde(default)]
    samples: usize,
    #[serde(default = "twenty")]
    noise_batches: usize,
}

fn one() -> usize {
    1
}
fn d_window() -> u64 {
    1000
}
fn d_dirs() -> usize {
    30
}
fn d_factor() -> f64 {
    std::f64::consts::E
}

/// Records `layer`'s weights before each of the last `window_steps` steps, then (at the end)
/// PCA + flatness. Each snapshot is appended to `probes/trajectory-layer<l>.bin` as it is taken,
/// so a run resumed mid-window continues the same trajectory, and the analysis can be re-run
/// offline (`tailgrad probe RUN --probe variance-flatness`).
struct VarianceFlatnessProbe {
    spec: ProbeSpec,
    settings: VfSettings,
    trajectory: Option<Trajectory>,
}

impl VarianceFlatnessProbe {
    fn path(&self, ctx: &ProbeContext) -> std::path::PathBuf {
        ctx.run_dir.join("probes").join(format!("trajectory-layer{}.bin", self.settings.layer))
    }
}

impl Probe for VarianceFlatnessProbe {
    fn spec(&self) -> &ProbeSpec {
        &self.spec
    }

    /// Record the snapshot in memory and append it to the trajectory file. The first snapshot
    /// of a session (a resumed run) first keeps the file's snapshots from before this step.
    fn before_step(&mut self, ctx: &ProbeContext) -> anyhow::Result<()> {
        let start = ctx.total_steps.saturating_sub(self.settings.window_steps);
        if ctx.step < start {
            return Ok(());
        }
        let w = Params::Layer(self.settings.layer).get(ctx.model);
        let path = self.path(ctx);
        if self.trajectory.is_none() {
            let mut earlier = if path.is_file() { Trajectory::load(&path)? } else { Trajectory::new(w.len()) };
            if earlier.dim != w.len() {
                bail!("{}: holds snapshots of {} weights, but layer {} has {}", path.display(), earlier.dim, self.settings.layer, w.len());
            }
            earlier.truncate((ctx.step - start) as usize);
            earlier.save(&path)?;
            self.trajectory = Some(earlier);
        }
        self.trajectory.as_mut().expect("set above").push(&w);
        Trajectory::append_to_file(&path, &w)
    }

    fn measure(&mut self, ctx: &ProbeContext) -> anyhow::Result<ProbeOutput> {
        let s = &self.settings;
        let traj = match self.trajectory.take() {
            Some(t) => t, // already on file, snapshot by snapshot
            None => Trajectory::load(&self.path(ctx)).context("no weight trajectory recorded in this run (schedule the probe during training)")?,
        };
        if traj.len() < 3 {
            bail!("variance-flatness: only {} snapshots recorded; raise `window_steps`", traj.len());
        }
        let params = Params::Layer(s.layer);
        let mut obj = NetLoss::new(ctx.model.clone(), ctx.train, s.samples, params, 10_000);
        let w0 = obj.point();
        let (vf, pca) = variance_flatness::analyse(&mut obj, &w0, &traj, s.layer, s.directions, s.factor, ctx.seed);
        let noise = noise::measure(
            ctx.model,
            &noise::NoiseInput {
                data: ctx.train,
                flipped: ctx.flipped,
                batch_size: ctx.batch_size,
                batches: s.noise_batches,
                params,
                directions: &pca.directions,
                lr: ctx.lr,
                per_sample: 0,
                seed: ctx.seed ^ ctx.step,
            },
        );
        let scalars = vec![("psi".into(), vf.psi), ("psi_ci95".into(), vf.psi_ci95), ("gamma".into(), vf.gamma)];
        let mut rec = record(&vf);
        rec["temperature"] = record(&noise.direction_temperature);
        Ok(ProbeOutput { scalars, record: rec })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DualitySettings {
    #[serde(default = "one")]
    layer: usize,
    #[serde(default = "d_test")]
    test_samples: usize,
    #[serde(default = "five_thousand")]
    hessian_samples: usize,
}

fn d_test() -> usize {
    2000
}

struct DualityProbe {
    spec: ProbeSpec,
    settings: DualitySettings,
}

impl Probe for DualityProbe {
    fn spec(&self) -> &ProbeSpec {
        &self.spec
    }

    fn measure(&mut self, ctx: &ProbeContext) -> anyhow::Result<ProbeOutput> {
        let s = &self.settings;
        let r = duality::decompose(ctx.model, ctx.train, ctx.test, s.layer, s.test_samples, s.hessian_samples);
        let scalars = vec![
            ("true_gap".into(), r.true_gap),
            ("matched_gap".into(), r.matched_gap),
            ("estimated_gap".into(), r.estimated_gap),
            ("hessian_estimate".into(), r.hessian_estimate),
        ];
        Ok(ProbeOutput { scalars, record: record(&r) })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WeightStatsSettings {
    #[serde(default = "ten")]
    min_tail: usize,
}

fn ten() -> usize {
    10
}

/// Per layer: a stable-law fit of the weight entries (McCulloch) and the power-law exponent of
/// the eigenvalue spectrum of `W^T W` (Clauset MLE, as WeightWatcher reports).
struct WeightStatsProbe {
    spec: ProbeSpec,
    settings: WeightStatsSettings,
}

impl Probe for WeightStatsProbe {
    fn spec(&self) -> &ProbeSpec {
        &self.spec
    }

    fn measure(&mut self, ctx: &ProbeContext) -> anyhow::Result<ProbeOutput> {
        let mut scalars = Vec::new();
        let mut layers = Vec::new();
        for (l, layer) in ctx.model.layers.iter().enumerate() {
            let [fan_in, fan_out] = layer.weight.val().dims();
            let w = tailgrad_train::objective::read_f32s(layer.weight.val());
            let entries: Vec<f64> = w.iter().map(|&v| v as f64).collect();
            let fit = weight_stats::mcculloch(&entries);
            let spectrum = weight_stats::esd(&w, fan_in, fan_out);
            let tail = weight_stats::power_law_fit(&spectrum, self.settings.min_tail);
            if let Some(f) = &fit {
                scalars.extend([
                    (format!("layer{l}/alpha"), f.alpha),
                    (format!("layer{l}/beta"), f.beta),
                    (format!("layer{l}/scale"), f.scale),
                ]);
            }
            if let Some(t) = &tail {
                scalars.push((format!("layer{l}/esd_alpha"), t.alpha));
            }
            layers.push(serde_json::json!({ "layer": l, "stable_fit": fit, "esd_power_law": tail, "esd_max": spectrum.last() }));
        }
        Ok(ProbeOutput { scalars, record: serde_json::json!({ "layers": layers }) })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ElasticitySettings {
    #[serde(default = "hundred")]
    samples: usize,
    #[serde(default)]
    classes: Vec<i64>,
    #[serde(default)]
    eta: Option<f64>,
}

fn hundred() -> usize {
    100
}

/// He & Su's local elasticity over the first `samples` training samples of `classes`.
struct ElasticityProbe {
    spec: ProbeSpec,
    settings: ElasticitySettings,
}

impl Probe for ElasticityProbe {
    fn spec(&self) -> &ProbeSpec {
        &self.spec
    }

    fn measure(&mut self, ctx: &ProbeContext) -> anyhow::Result<ProbeOutput> {
        let s = &self.settings;
        let labels: Vec<i64> = ctx.train.y.clone().into_data().convert::<i64>().try_to_vec().expect("ints");
        let idx: Vec<i64> = (0..labels.len())
            .filter(|&i| s.classes.is_empty() || s.classes.contains(&labels[i]))
            .take(s.samples)
            .map(|i| i as i64)
            .collect();
        if idx.len() < 4 {
            bail!("config: probe `local-elasticity`: only {} training samples of classes {:?}", idx.len(), s.classes);
        }
        let (x, y) = ctx.train.rows(&idx);
        let e = elasticity::measure(ctx.model, x, y, s.eta.unwrap_or(ctx.lr));
        let scalars = vec![
            ("s_rel_same".into(), e.s_rel_same),
            ("s_rel_cross".into(), e.s_rel_cross),
            ("s_ker_same".into(), e.s_ker_same),
            ("s_ker_cross".into(), e.s_ker_cross),
            ("cluster_acc_rel".into(), e.cluster_acc_rel),
            ("cluster_acc_ker".into(), e.cluster_acc_ker),
        ];
        Ok(ProbeOutput { scalars, record: record(&e) })
    }
}
