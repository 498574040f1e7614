//! `variance-flatness`: records a layer's weights before each of the last `window_steps` steps,
//! then (at the end) PCA + flatness ([`crate::variance_flatness`]), with the noise temperature
//! along each measured component. Each snapshot is appended to
//! `probes/trajectory-layer<l>.bin` as it is taken, so a run resumed mid-window continues the
//! same trajectory, and the analysis can be re-run offline (`tailgrad probe RUN --probe
//! variance-flatness`). The defaults are the authors' protocol (YuFengDuke/PCA-SGD).

use crate::registry::{Instrument, check_layer, record, settings};
use crate::gradient_noise as noise;
use crate::objective::NetLoss;
use crate::params::Params;
use crate::variance_flatness::{self, Protocol, Trajectory};
use anyhow::{Context, bail};
use serde::Deserialize;
use tailgrad_train::{Probe, ProbeContext, ProbeOutput, ProbeSpec};

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Settings {
    layer: usize,
    /// Snapshots: the weights before each of the last `window_steps` steps.
    window_steps: u64,
    /// Components measured: `0, stride, 2 stride, ...`, `directions` of them.
    directions: usize,
    stride: usize,
    /// The width is where the loss reaches `factor` times its value at the final weights.
    factor: f64,
    /// A side that has not reached it by this distance ends the search...
    max_theta: f64,
    /// ... and the direction's width is then this (the authors' 1100, for max_theta = 1000).
    capped_width: f64,
    /// Training samples in the loss (0 = all, as the authors use).
    samples: usize,
    /// Minibatches for the noise temperatures.
    noise_batches: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            layer: 1,
            window_steps: 12_000,
            directions: 100,
            stride: 10,
            factor: std::f64::consts::E,
            max_theta: 1000.0,
            capped_width: 1100.0,
            samples: 0,
            noise_batches: 20,
        }
    }
}

/// `variance-flatness`: Feng & Tu's variance-flatness relation of SGD's weight trajectory (psi, gamma).
pub const INSTRUMENT: Instrument = Instrument {
    name: "variance-flatness",
    about: "Feng & Tu's variance-flatness relation of SGD's weight trajectory (psi, gamma)",
    build: |spec| Ok(Box::new(VarianceFlatnessProbe::new(spec)?)),
    figure: Some(super::figure::figure),
    study_points: None,
};

pub(super) struct VarianceFlatnessProbe {
    spec: ProbeSpec,
    settings: Settings,
    trajectory: Option<Trajectory>,
}

impl VarianceFlatnessProbe {
    pub(super) fn new(spec: ProbeSpec) -> anyhow::Result<Self> {
        let s: Settings = settings(&spec)?;
        if s.directions < 4 || s.stride == 0 {
            bail!("config: probe `variance-flatness`: need `directions` >= 4 (a fit over 3 or more) and `stride` >= 1");
        }
        if !(s.factor > 1.0 && s.factor.is_finite()) || !(s.max_theta > 0.0 && s.max_theta.is_finite()) {
            bail!("config: probe `variance-flatness`: need `factor` > 1 and `max_theta` > 0, both finite");
        }
        if !(s.capped_width >= s.max_theta && s.capped_width.is_finite()) {
            bail!("config: probe `variance-flatness`: `capped_width` = {} must be finite and >= `max_theta` = {} (a capped direction is at least as flat as any measured one)", s.capped_width, s.max_theta);
        }
        if s.window_steps < 3 {
            bail!("config: probe `variance-flatness`: `window_steps` = {} must be >= 3", s.window_steps);
        }
        Ok(Self { spec, settings: s, trajectory: None })
    }

    fn path(&self, ctx: &ProbeContext) -> std::path::PathBuf {
        ctx.run_dir.join("probes").join(format!("trajectory-layer{}.bin", self.settings.layer))
    }
}

impl Probe for VarianceFlatnessProbe {
    fn spec(&self) -> &ProbeSpec {
        &self.spec
    }

    fn check(&self, widths: &[usize]) -> anyhow::Result<()> {
        check_layer("variance-flatness", self.settings.layer, widths, "")
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
        let rows = (s.samples > 0).then(|| crate::registry::balanced_rows(ctx.train, s.samples, ctx.seed));
        let mut obj = NetLoss::new(ctx.model.clone(), ctx.train, rows.as_deref(), params, 10_000);
        let w0 = obj.point();
        let protocol = Protocol { directions: s.directions, stride: s.stride, factor: s.factor, max_theta: s.max_theta, capped_width: s.capped_width };
        let (vf, pca) = variance_flatness::analyse(&mut obj, &w0, &traj, s.layer, &protocol, ctx.seed);
        let directions: Vec<Vec<f64>> = vf.components.iter().map(|&i| pca.directions[i].clone()).collect();
        let noise = noise::measure(
            ctx.model,
            &noise::NoiseInput {
                data: ctx.train,
                flipped: ctx.flipped,
                batch_size: ctx.batch_size,
                batches: s.noise_batches,
                group_batch_size: 0,
                params,
                directions: &directions,
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
