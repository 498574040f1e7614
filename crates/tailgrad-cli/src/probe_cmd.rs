//! `tailgrad probe RUN_DIR --probe NAME`: run an instrument on a run's checkpoint, offline.

use crate::{ProbeArgs, data_cmd};
use anyhow::Context;
use std::path::PathBuf;
use std::process::ExitCode;
use tailgrad_backend::select;
use tailgrad_model::Mlp;
use tailgrad_train::probe::ProbeLog;
use tailgrad_train::spec::apply_override;
use tailgrad_train::{ProbeContext, ProbeSpec, RunSpec, checkpoint, prepare};

pub fn probe(args: ProbeArgs) -> anyhow::Result<ExitCode> {
    let dir = &args.run_dir;
    let overrides: Vec<String> = args.backend.iter().map(|b| format!("backend=\"{b}\"")).collect();
    let spec = RunSpec::from_file(&dir.join("spec.toml"), &overrides).with_context(|| format!("{} is not a run directory", dir.display()))?;
    tailgrad_probe::instrument(&args.probe)?;
    // The run's own settings for this probe, if it scheduled it, then the command line's.
    let mut probe_spec = spec.probes().iter().find(|p| p.name == args.probe).cloned().unwrap_or(ProbeSpec {
        name: args.probe.clone(),
        every_steps: 0,
        every_epochs: 0,
        at_end: true,
        settings: toml::Table::new(),
    });
    for o in &args.set {
        apply_override(&mut probe_spec.settings, o)?;
    }
    let ckpt_path: PathBuf = match args.checkpoint.as_str() {
        "last" => checkpoint::list(dir).pop().with_context(|| format!("{} has no checkpoint", dir.display()))?,
        "best" => checkpoint::dir(dir).join("best.safetensors"),
        path => PathBuf::from(path),
    };
    let (tensors, pos) = checkpoint::load(&ckpt_path)?;
    data_cmd::ensure(spec.data(), args.no_download)?;
    let selected = select(spec.backend())?;
    eprintln!("{}: probe `{}` on {} ({})", spec.name(), args.probe, ckpt_path.display(), selected.description);
    let data = prepare(&spec, &selected.device)?;
    let model = Mlp::init(&data.model_spec, 0, &selected.device.clone().autodiff())?
        .load_host(&tensors)
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("{} does not fit the run's model", ckpt_path.display()))?;
    let steps_per_epoch = data.train_set.batches(spec.train().batch_size()) as u64;
    let planned = spec.train().planned_steps(steps_per_epoch);
    let flipped = (spec.data().label_noise() > 0.0).then_some(data.split.noise.flipped.as_slice());
    let ctx = ProbeContext {
        model: &model,
        train: &data.train_set,
        test: &data.test_set,
        novel: data.novel_set.as_ref(),
        flipped,
        fine_labels: data.split.fine_labels.as_deref(),
        step: pos.step,
        epochs_done: pos.epoch,
        total_steps: pos.step,
        // The rate of the next step from these weights, as the same probe sees it during training.
        lr: spec.train().lr_at(pos.step, steps_per_epoch, planned),
        batch_size: spec.train().batch_size(),
        seed: spec.seed(),
        run_dir: dir,
    };
    let out = tailgrad_probe::offline(&probe_spec, &ctx)?;
    let mut log = ProbeLog::open(dir, &args.probe, Some(u64::MAX))?;
    log.append(pos.step, pos.step as f64 / steps_per_epoch.max(1) as f64, &out, None)?;
    for (k, v) in &out.scalars {
        println!("{k} = {v}");
    }
    eprintln!("written to {}", dir.join("probes").join(format!("{}.json", args.probe)).display());
    for fig in tailgrad_probe::figure::draw(dir)? {
        eprintln!("figure: {}", fig.display());
    }
    Ok(ExitCode::SUCCESS)
}
