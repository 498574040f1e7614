//! The training loop, the only one: a population's members (a run alone is a population of one)
//! take one batched SGD step together, then each does its own boundary work (read-back, metrics,
//! epoch end, instruments, checkpoint) on its own network, which is written from the stacked
//! weights before each boundary.

use super::{After, Session, SessionEnd};
use crate::sgd::{Sgd, Velocity};
use crate::stop::StopFlag;
use burn::tensor::{Int, Tensor};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::time::Instant;
use tailgrad_data::EpochOrder;
use tailgrad_model::StackedMlp;
use tailgrad_model::loss::read_f32s;
use tailgrad_model::population::stacked_nll_sum_and_correct;

/// Train `sessions` (all at the same position, same schedule) to their ends; an end per session,
/// in order. `population_bar`: show one progress bar for all (the members themselves are quiet).
pub(crate) fn train(mut sessions: Vec<Session<'_>>, stop: &StopFlag, population_bar: bool) -> anyhow::Result<Vec<anyhow::Result<SessionEnd>>> {
    let mut ends: Vec<Option<anyhow::Result<SessionEnd>>> = sessions.iter().map(|_| None).collect();
    let mut ids: Vec<usize> = (0..sessions.len()).collect();
    for s in &mut sessions {
        s.begin()?;
    }
    sessions.iter_mut().for_each(|s| s.clock.restart());
    let sgd = Sgd::new(sessions[0].spec.train().momentum(), sessions[0].spec.train().weight_decay());
    let mut net = StackedMlp::stack(&sessions.iter().map(|s| &s.model).collect::<Vec<_>>());
    let mut velocity = Velocity::stack(&sessions.iter().map(|s| &s.velocity).collect::<Vec<_>>());
    let mut orders: HashMap<u64, EpochOrder> = HashMap::new();
    let bar = if population_bar { ProgressBar::new(sessions[0].planned_steps) } else { ProgressBar::hidden() };
    bar.set_style(ProgressStyle::with_template("{prefix:.bold} {bar:30} {pos}/{len} steps {elapsed}<{eta} {msg}").expect("valid template"));
    bar.set_prefix(format!("population of {}", sessions.len()));
    bar.set_position(sessions[0].pos.step);
    while !sessions.is_empty() {
        // Members at the end of their budget (or stopped early on a low training loss) finish.
        let (done, live): (Vec<usize>, Vec<usize>) = (0..sessions.len()).partition(|&k| sessions[k].pos.step >= sessions[k].total_steps);
        if !done.is_empty() {
            for (_, id, s) in remove(&mut sessions, &mut ids, &mut net, &mut velocity, &live) {
                ends[id] = Some(s.finish(None));
            }
            continue;
        }
        let lead = &sessions[0];
        let (batches, batch_size) = (lead.batches(), lead.spec.train().batch_size());
        let (batch, lr) = (lead.pos.batch, lead.lr_at(lead.pos.step));
        let last_of_epoch = batch + 1 == batches;
        if batch == 0 || orders.is_empty() {
            orders.clear();
            for s in &mut sessions {
                if !orders.contains_key(&s.spec.seed()) {
                    let order = s.epoch_order();
                    orders.insert(s.spec.seed(), order);
                }
            }
        }
        // Instruments that look at every step see their (only) member's network first.
        for (p, s) in sessions.iter_mut().enumerate().filter(|(_, s)| !s.probes.is_empty()) {
            net.write_member(p, &mut s.model);
            s.before_step(lr)?;
        }
        // One sub-batch per member, from its own data order.
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        for s in &mut sessions {
            let started = Instant::now();
            let (x, y) = s.data.train_set.batch(&orders[&s.spec.seed()], batch as usize, batch_size);
            s.time.batching_s += started.elapsed().as_secs_f64();
            xs.push(x);
            ys.push(y);
        }
        let b = ys[0].dims()[0];
        // (A run alone skips the stacking and, below, the slicing: four tensor operations a step,
        // ~4% of an overhead-bound step such as 784-50-50-10's at batch 50.)
        let alone = sessions.len() == 1;
        let (x, y): (Tensor<3>, Tensor<2, Int>) =
            if alone { (xs.remove(0).unsqueeze_dim(0), ys.remove(0).unsqueeze_dim(0)) } else { (Tensor::stack(xs, 0), Tensor::stack(ys, 0)) };
        let (nll, correct) = stacked_nll_sum_and_correct(net.forward(x), y);
        let losses = nll.div_scalar(b as f64);
        // Backward from the `[P]` losses seeds each with 1: the gradient of their sum, so each
        // member's slice gets its own loss's gradient (no sum op needed, for P = 1 neither).
        let grads = losses.clone().backward();
        if last_of_epoch {
            let mut spent = 0.0;
            for (p, s) in sessions.iter_mut().enumerate().filter(|(_, s)| s.histograms_due()) {
                let layers = (0..net.weights.len()).map(|l| {
                    let g = net.weights[l].grad(&grads).map(|g| g.narrow(0, p, 1).squeeze_dim(0));
                    (net.member_layer(p, l).0, g)
                });
                spent += s.histograms(layers.collect())?;
            }
            sessions.iter_mut().for_each(|s| s.clock.exclude(spent));
        }
        sgd.step(&mut net, &mut velocity, &grads, lr);
        let (losses, correct) = (losses.inner(), correct.inner());
        for (p, s) in sessions.iter_mut().enumerate() {
            let (loss, right) = if alone { (losses.clone(), correct.clone()) } else { (losses.clone().narrow(0, p, 1), correct.clone().narrow(0, p, 1)) };
            s.record_step(loss, right, b);
        }
        let stopping = stop.requested();
        if !sessions[0].boundary_due(last_of_epoch, stopping) {
            continue;
        }
        // Every member reaches its boundaries at the same steps: write its network, then let it
        // do what a session alone does there. Each member's step clock stops here, once the
        // device has finished the steps (reading this step's losses waits for them on wgpu), and
        // restarts after the round, so it counts the population's steps and none of the
        // boundary work.
        read_f32s(losses);
        sessions.iter_mut().for_each(|s| s.clock.close_segment());
        let mut keep = Vec::new();
        let mut ended = Vec::new();
        for (p, s) in sessions.iter_mut().enumerate() {
            net.write_member(p, &mut s.model);
            s.velocity = velocity.member(p);
            s.clock.restart();
            match s.after_step(last_of_epoch, stopping) {
                Ok(After::Continue) => keep.push(p),
                Ok(after) => ended.push((p, Ok(after))),
                Err(e) => ended.push((p, Err(e))),
            }
        }
        sessions.iter_mut().for_each(|s| s.clock.restart());
        if !ended.is_empty() {
            let mut gone = remove(&mut sessions, &mut ids, &mut net, &mut velocity, &keep);
            for (p, after) in ended {
                let (_, id, s) = gone.remove(gone.iter().position(|(old, _, _)| *old == p).expect("an ended member left the population"));
                ends[id] = Some(match after {
                    Ok(After::Diverged(d)) => s.finish(Some(d)),
                    Ok(_) => s.stopped(),
                    Err(e) => Err(e),
                });
            }
        }
        bar.set_position(sessions.first().map_or(0, |s| s.pos.step));
        bar.set_message(format!("{} members training", sessions.len()));
        if last_of_epoch {
            orders.clear(); // the next epoch draws its own orders
        }
    }
    bar.finish_and_clear();
    Ok(ends.into_iter().map(|e| e.expect("every member ends")).collect())
}

/// Keep the members at positions `keep` (ascending) in the population; return the others as
/// (old position, id, session).
fn remove<'a>(
    sessions: &mut Vec<Session<'a>>,
    ids: &mut Vec<usize>,
    net: &mut StackedMlp,
    velocity: &mut Velocity,
    keep: &[usize],
) -> Vec<(usize, usize, Session<'a>)> {
    let mut gone = Vec::new();
    for (p, (id, s)) in std::mem::take(ids).into_iter().zip(std::mem::take(sessions)).enumerate() {
        if keep.contains(&p) {
            ids.push(id);
            sessions.push(s);
        } else {
            gone.push((p, id, s));
        }
    }
    if !keep.is_empty() {
        net.retain(keep);
        velocity.retain(keep);
    }
    gone
}
