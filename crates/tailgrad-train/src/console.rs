//! What a run prints: a progress bar (indicatif) with loss, accuracy and samples/s; nothing
//! (`quiet`); or one JSON object per logged point on stdout (`jsonl`).

use tailgrad_rundir::MetricRow;
use crate::spec::Console;
use indicatif::{ProgressBar, ProgressStyle};

pub struct ConsoleOut {
    mode: Console,
    bar: ProgressBar,
}

impl ConsoleOut {
    pub fn new(mode: Console, name: &str, total_steps: u64, done: u64) -> Self {
        let bar = if mode == Console::Progress { ProgressBar::new(total_steps) } else { ProgressBar::hidden() };
        bar.set_style(
            ProgressStyle::with_template("{prefix:.bold} {bar:30} {pos}/{len} steps {elapsed}<{eta} {msg}")
                .expect("valid template"),
        );
        bar.set_prefix(name.to_string());
        bar.set_position(done);
        Self { mode, bar }
    }

    pub fn progress(&self, step: u64, loss: f64, acc: f64, samples_per_s: f64) {
        self.bar.set_position(step);
        self.bar.set_message(format!("loss {loss:.4} acc {:.2}% {:.0} samples/s", 100.0 * acc, samples_per_s));
    }

    pub fn row(&self, row: &MetricRow) {
        match self.mode {
            Console::Jsonl => println!("{}", serde_json::to_string(row).expect("serializable")),
            Console::Progress => self.bar.println(format!(
                "  step {:>7} epoch {:>6.2}  test loss {:.4} acc {:.2}%",
                row.step,
                row.epoch,
                row.test_loss,
                100.0 * row.test_acc
            )),
            Console::Quiet => {}
        }
    }

    /// A one-line notice (not in jsonl mode, whose stdout is for data).
    pub fn note(&self, line: &str) {
        match self.mode {
            Console::Progress => self.bar.println(line),
            Console::Quiet => eprintln!("{line}"),
            Console::Jsonl => {}
        }
    }

    pub fn finish(&self, line: &str) {
        self.bar.finish_and_clear();
        if self.mode != Console::Jsonl {
            eprintln!("{line}");
        }
    }
}
