//! Where a run's wall time goes (`summary.json`'s `time`, [`tailgrad_rundir::Timings`]).
//!
//! On the CPU backend every operation runs when it is called, so each bucket holds its own work.
//! On wgpu the device runs asynchronously and a bucket holds the time until its host read
//! returns: steps are paid for where the loss window is read back (in `train_steps_s`).

use std::time::Instant;

/// Run `f` and add its duration to `bucket`.
pub fn timed<T>(bucket: &mut f64, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    *bucket += start.elapsed().as_secs_f64();
    out
}

/// Training-step time and samples: the time between read-back boundaries, less what was spent
/// inside them on other work (probe hooks, histograms).
#[derive(Debug)]
pub struct StepClock {
    segment_start: Instant,
    segment_samples: u64,
    excluded: f64,
    /// Seconds of training steps and samples trained, this session.
    pub seconds: f64,
    pub samples: u64,
}

impl Default for StepClock {
    fn default() -> Self {
        Self { segment_start: Instant::now(), segment_samples: 0, excluded: 0.0, seconds: 0.0, samples: 0 }
    }
}

impl StepClock {
    pub fn add_samples(&mut self, n: usize) {
        self.segment_samples += n as u64;
    }

    /// Seconds inside the current segment that were not training.
    pub fn exclude(&mut self, seconds: f64) {
        self.excluded += seconds;
    }

    /// Close the segment (at a read-back boundary) and start the next.
    pub fn close_segment(&mut self) {
        self.seconds += self.segment_start.elapsed().as_secs_f64() - self.excluded;
        self.samples += self.segment_samples;
        self.restart();
    }

    /// Start a new segment without counting the time since the last one (after evaluation,
    /// probes and checkpoints).
    pub fn restart(&mut self) {
        self.segment_start = Instant::now();
        self.segment_samples = 0;
        self.excluded = 0.0;
    }

    /// Samples per second so far this session.
    pub fn rate(&self) -> f64 {
        self.samples as f64 / self.seconds.max(1e-9)
    }
}
