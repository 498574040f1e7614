//! Population training: the runs of a study that share an architecture, data and schedule,
//! trained as one batched computation in one process (see [`tailgrad_model::StackedMlp`]).
//!
//! Each member keeps everything a run alone has: its run directory, init law, seed and data
//! order, its metrics, diagnostics, TensorBoard file, checkpoints and summary. A member that
//! diverges, collapses or stops early ends alone (its summary written, its slice dropped from the
//! stacked weights) while the others train on. On the CPU backend a member's weights and logs
//! are the same as those of the run trained alone, bit for bit (tested).
//!
//! `resume`: each member continues from its own newest checkpoint; members whose checkpoints
//! stand at different steps train as separate populations, one after the other.

use crate::options::TrainOptions;
use crate::prepared::{Prepared, prepare};
use crate::run::{Claim, Claimed, check_memory};
use crate::session::{self, Session, Start};
use crate::spec::{Console, RawRunSpec, RunSpec};
use crate::stop::StopFlag;
use crate::timing::timed;
use crate::RunEnd;
use anyhow::bail;
use burn::tensor::Device;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;
use tailgrad_rundir::Timings;

/// One run of a population: its spec and directory, and whether it continues from there.
pub struct Member {
    pub spec: RunSpec,
    pub run_dir: PathBuf,
    pub resume: bool,
}

/// What decides whether two runs can train in one population: everything in their specs but the
/// name, the init law (model `init` / `layer_init`), the console, and the seed when the data do
/// not depend on it (no validation split, no label noise). Runs with instruments (`probes`) train
/// alone (None): their probes measure one network at a time.
pub fn population_key(spec: &RunSpec) -> Option<String> {
    if !spec.probes().is_empty() {
        return None;
    }
    let mut shared = RawRunSpec::from(spec.clone());
    shared.name.clear();
    shared.model.init = tailgrad_init::InitSpec::stable(2.0, 1.0).expect("a valid law");
    shared.model.layer_init = None;
    shared.log.console = Console::Quiet;
    if shared.data.validation == 0 && shared.data.label_noise == 0.0 {
        shared.seed = 0;
    }
    Some(toml::to_string(&shared).expect("a RunSpec always serializes"))
}

/// Train `members` as one population on `device` (`description` names it in each summary; an
/// outcome per member, in order): a member that cannot start (a busy or non-empty directory, an
/// unreadable checkpoint) gets its error and the others train.
pub fn train_population(members: &[Member], device: &Device, description: &str, stop: StopFlag) -> anyhow::Result<Vec<anyhow::Result<RunEnd>>> {
    let Some(first) = members.first() else { return Ok(Vec::new()) };
    let key = population_key(&first.spec);
    if key.is_none() {
        bail!("{}: a run with probes trains alone, not in a population", first.spec.name());
    }
    if let Some(other) = members.iter().find(|m| population_key(&m.spec) != key) {
        bail!("{} and {} differ in more than seed and init law; they cannot share a population", first.spec.name(), other.spec.name());
    }
    let started = Instant::now();
    let mut ends: Vec<Option<anyhow::Result<RunEnd>>> = members.iter().map(|_| None).collect();
    let mut claims = Vec::new();
    for (k, m) in members.iter().enumerate() {
        match Claim::take(&m.run_dir, m.resume) {
            Ok(Claimed::Done(summary)) => ends[k] = Some(Ok(RunEnd::Completed(summary))),
            Ok(Claimed::Ready(claim)) => claims.push((k, claim)),
            Err(e) => ends[k] = Some(Err(e)),
        }
    }
    if claims.is_empty() {
        return Ok(ends.into_iter().map(|e| e.expect("every member has an outcome")).collect());
    }
    let mut load_s = 0.0;
    let data = match load(&members[claims[0].0].spec, claims.len(), device, &mut load_s) {
        Ok(data) => data,
        Err(e) => {
            claims.into_iter().for_each(|(_, c)| c.abandon());
            return Err(e);
        }
    };
    let mut starts = Vec::new();
    for (k, claim) in claims {
        let spec = &members[k].spec;
        match claim.build(spec, &data, device).and_then(|start| claim.write_spec(spec).map(|()| start)) {
            Ok(start) => starts.push((k, claim, start)),
            Err(e) => {
                claim.abandon();
                ends[k] = Some(Err(e));
            }
        }
    }
    // Members at the same step train together; groups at different steps one after another.
    let mut groups: BTreeMap<u64, Vec<(usize, Start)>> = BTreeMap::new();
    let mut held = Vec::new();
    for (k, claim, start) in starts {
        groups.entry(start.position.as_ref().map_or(0, |p| p.step)).or_default().push((k, start));
        held.push(claim);
    }
    for (_, group) in groups {
        let mut sessions = Vec::new();
        for (k, start) in group {
            let m = &members[k];
            let options = TrainOptions {
                device,
                description: format!("{description}, population of {}", members.len()),
                resume: m.resume,
                probes: Vec::new(),
                stop: stop.clone(),
            };
            let time = Timings { data_load_s: load_s, ..Timings::default() };
            match Session::open(&m.spec, &m.run_dir, &data, start, time, started, options) {
                Ok(mut s) => {
                    s.quiet();
                    sessions.push((k, s));
                }
                Err(e) => ends[k] = Some(Err(e)),
            }
        }
        let (order, sessions): (Vec<usize>, Vec<Session>) = sessions.into_iter().unzip();
        for (k, end) in order.into_iter().zip(session::train(sessions, &stop, true)?) {
            ends[k] = Some(end.map(RunEnd::from));
        }
    }
    drop(held);
    Ok(ends.into_iter().map(|e| e.expect("every member has an outcome")).collect())
}

/// The members' shared data, loaded once, after checking that `members` copies of the network
/// and their batches fit in memory.
fn load(spec: &RunSpec, members: usize, device: &Device, load_s: &mut f64) -> anyhow::Result<Prepared> {
    let data = timed(load_s, || prepare(spec, device))?;
    let widths = data.model_spec.widths();
    check_memory(&widths, spec.train().batch_size().max(spec.train().eval_batch()), members, device)?;
    Ok(data)
}
