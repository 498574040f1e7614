//! How a run ends: diverged (the guard stopped it), collapsed (it trained to the end but did not
//! learn, see [`CollapseSpec`]), or finished.

use crate::spec::CollapseSpec;
use serde::{Deserialize, Serialize};
use tailgrad_rundir::{Collapse, CollapseReason};

/// The divergence guard's finding: the first step whose training loss was NaN/inf or above
/// `train.max_loss`, and that loss.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Diverged {
    pub step: u64,
    pub loss: f64,
}

/// What collapse detection has seen so far; part of a checkpoint's position, so a resumed run
/// reaches the same verdict as an uninterrupted one.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CollapseWatch {
    /// The first step whose training loss exceeded `spike_loss`, and that loss.
    pub spike: Option<(u64, f64)>,
    /// Whether every evaluation after the spike was at chance.
    pub at_chance_since_spike: bool,
    /// Epoch boundaries (epochs done: 0 = the start) at which the hidden units were saturated.
    pub saturated_boundaries: Vec<u64>,
}

impl CollapseWatch {
    /// A training step's loss.
    pub fn step_loss(&mut self, spec: &CollapseSpec, step: u64, loss: f64) {
        if self.spike.is_none() && loss > spec.spike_loss {
            self.spike = Some((step, loss));
            self.at_chance_since_spike = true;
        }
    }

    /// An evaluation's test accuracy at `step`.
    pub fn evaluation(&mut self, step: u64, acc: f64, chance_threshold: f64) {
        if let Some((spike_step, _)) = self.spike
            && step >= spike_step
            && acc > chance_threshold
        {
            self.at_chance_since_spike = false;
        }
    }

    /// The hidden units' saturation (fraction of saturated (sample, unit) pairs) after
    /// `epochs_done` epochs.
    pub fn saturation(&mut self, spec: &CollapseSpec, epochs_done: u64, saturation: f64) {
        if saturation > spec.saturation && !self.saturated_boundaries.contains(&epochs_done) {
            self.saturated_boundaries.push(epochs_done);
        }
    }

    /// The verdict for a run that trained to the end with `final_acc` test accuracy.
    pub fn verdict(&self, final_acc: f64, chance_threshold: f64) -> Option<Collapse> {
        if !(final_acc <= chance_threshold) {
            return None;
        }
        let saturated_epochs: Vec<u64> =
            self.saturated_boundaries.iter().filter(|&&b| b >= 1 && self.saturated_boundaries.contains(&(b - 1))).copied().collect();
        let mut reasons = Vec::new();
        if self.spike.is_some() && self.at_chance_since_spike {
            reasons.push(CollapseReason::LossSpike);
        }
        if !saturated_epochs.is_empty() {
            reasons.push(CollapseReason::Saturation);
        }
        (!reasons.is_empty()).then(|| Collapse {
            reasons,
            spike_step: self.spike.map(|s| s.0),
            spike_loss: self.spike.map(|s| s.1),
            saturated_epochs,
            chance_threshold,
        })
    }
}

/// `1/classes + margin`: the accuracy at or below which a run counts as at chance.
pub fn chance_threshold(spec: &CollapseSpec, classes: usize) -> f64 {
    1.0 / classes.max(1) as f64 + spec.margin
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapse_needs_chance_accuracy_after_a_spike_or_a_saturated_epoch() {
        let spec = CollapseSpec::default();
        let chance = chance_threshold(&spec, 10);
        assert!((chance - 0.2).abs() < 1e-12);
        // A spike in epoch 1, then only chance-level evaluations: collapsed.
        let mut w = CollapseWatch::default();
        w.evaluation(0, 0.1, chance);
        w.step_loss(&spec, 3, 250.0);
        w.step_loss(&spec, 4, 900.0);
        w.evaluation(100, 0.11, chance);
        w.evaluation(200, 0.14, chance);
        let c = w.verdict(0.14, chance).unwrap();
        assert_eq!((c.reasons.clone(), c.spike_step, c.spike_loss), (vec![CollapseReason::LossSpike], Some(3), Some(250.0)));
        // The same spike, but the net recovered in between: no collapse by the spike rule, and
        // it learned, so no collapse at all.
        let mut w2 = w.clone();
        w2.at_chance_since_spike = true;
        w2.evaluation(150, 0.6, chance);
        assert!(!w2.at_chance_since_spike);
        assert_eq!(w2.verdict(0.6, chance), None);
        // Ended at chance without a spike: only a whole saturated epoch counts.
        let mut w3 = CollapseWatch::default();
        w3.saturation(&spec, 0, 0.995);
        w3.saturation(&spec, 1, 0.98);
        w3.saturation(&spec, 2, 0.999);
        assert_eq!(w3.verdict(0.1, chance), None, "saturated at boundaries 0 and 2 only, not over one epoch");
        w3.saturation(&spec, 3, 0.999);
        assert_eq!(w3.verdict(0.1, chance).unwrap().saturated_epochs, vec![3]);
        assert_eq!(w3.verdict(0.5, chance), None, "a net that learned is not collapsed");
    }
}
