//! Stopping a run cleanly: a request, honoured at the next step boundary by checkpointing the
//! exact position (mid-epoch included) and ending the session, so that `tailgrad train --resume`
//! continues the same curve. Requests come from signals (Ctrl-C, `kill`, a cluster scheduler's
//! warning before a time limit: Slurm's `--signal=B:USR1@120`) and from a study's parent process
//! going away (a worker whose `tailgrad compare` was killed stops instead of running on as an
//! orphan that a rerun of the study would race with).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Exit status of a `tailgrad train` session stopped on request after checkpointing.
pub const EXIT_STOPPED: u8 = 4;

/// A shared "stop at the next step boundary" flag.
#[derive(Clone, Debug, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    /// A flag that nothing sets (library use, tests).
    pub fn never() -> Self {
        Self::default()
    }

    /// A flag set by SIGINT, SIGTERM and SIGUSR1. A second SIGINT or SIGTERM while a stop is
    /// pending ends the process at once (status 130), as an impatient Ctrl-C expects; the run
    /// directory stays resumable from its last checkpoint either way.
    pub fn on_signals() -> std::io::Result<Self> {
        use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1};
        let flag = Self::default();
        for signal in [SIGINT, SIGTERM] {
            // Registered first, so it sees the flag as it was before this signal set it.
            signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&flag.0))?;
            signal_hook::flag::register(signal, Arc::clone(&flag.0))?;
        }
        signal_hook::flag::register(SIGUSR1, Arc::clone(&flag.0))?;
        Ok(flag)
    }

    /// Also request a stop when this process's parent, `parent` now, goes away (its children are
    /// then re-parented, and `parent_id()` changes). Checked twice a second on a thread.
    pub fn watch_parent(&self, parent: u32) {
        let flag = Arc::clone(&self.0);
        std::thread::spawn(move || {
            while std::os::unix::process::parent_id() == parent {
                std::thread::sleep(Duration::from_millis(500));
            }
            flag.store(true, Ordering::SeqCst);
        });
    }

    /// Request a stop.
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}
