//! The learning-rate schedule: the rate of each SGD step, one definition for the training loop,
//! the logs (whose `lr` column is the rate of the last step taken) and the instruments (which get
//! the rate of the next step from the weights they measure).

use serde::{Deserialize, Serialize};

/// Learning-rate schedule, as a function of the step `t` out of `T` total steps.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Schedule {
    /// `lr_t = lr`.
    #[default]
    Constant,
    /// `lr_t = lr * gamma^floor(epoch / every_epochs)`.
    Step { every_epochs: usize, gamma: f64 },
    /// `lr_t = min_lr + (lr - min_lr) (1 + cos(pi t / T)) / 2`.
    Cosine {
        #[serde(default)]
        min_lr: f64,
    },
}

impl Schedule {
    /// The rate of the SGD step taken from position `step` (steps already taken: 0 for the
    /// first), at base rate `lr`, in a run of `steps_per_epoch` steps per epoch and
    /// `planned_steps` in all:
    ///
    /// * constant: `lr`;
    /// * step: `lr * gamma^floor(epoch / every_epochs)` with `epoch = floor(step / steps_per_epoch)`,
    ///   so the first step of epoch `every_epochs` is the first at the lower rate;
    /// * cosine: `min_lr + (lr - min_lr) (1 + cos(pi step / planned_steps)) / 2`.
    pub fn lr_at(&self, lr: f64, step: u64, steps_per_epoch: u64, planned_steps: u64) -> f64 {
        match *self {
            Schedule::Constant => lr,
            Schedule::Step { every_epochs, gamma } => {
                let epoch = step / steps_per_epoch.max(1);
                lr * gamma.powi((epoch / every_epochs.max(1) as u64) as i32)
            }
            Schedule::Cosine { min_lr } => {
                let t = step as f64 / planned_steps.max(1) as f64;
                min_lr + (lr - min_lr) * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())
            }
        }
    }

    /// Whether the schedule's settings are valid at base rate `lr`: the offending key and why not.
    pub fn check(&self, lr: f64) -> Result<(), (&'static str, String)> {
        match *self {
            Schedule::Constant => Ok(()),
            Schedule::Step { every_epochs, .. } if every_epochs == 0 => Err(("train.schedule.every_epochs", "must be > 0".into())),
            Schedule::Step { gamma, .. } if !(gamma > 0.0 && gamma.is_finite()) => Err(("train.schedule.gamma", "must be finite and > 0".into())),
            Schedule::Step { .. } => Ok(()),
            Schedule::Cosine { min_lr } if !(min_lr >= 0.0 && min_lr <= lr) => {
                Err(("train.schedule.min_lr", format!("= {min_lr} must be in [0, train.lr = {lr}]")))
            }
            Schedule::Cosine { .. } => Ok(()),
        }
    }
}
