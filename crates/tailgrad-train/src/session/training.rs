//! The training loop of a population: one batched SGD step for all members, then each member's
//! own boundary work (read-back, metrics, epoch end, checkpoint) exactly as a session alone does
//! it, on its own network, which is written from the stacked weights before each boundary.

use super::{After, Session, SessionEnd};
use crate::sgd::sgd_update;
use crate::stop::StopFlag;
use burn::tensor::{Gradients, Int, Tensor};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::time::Instant;
use tailgrad_data::EpochOrder;
use tailgrad_model::StackedMlp;
use tailgrad_model::population::{select_members, stacked_nll_sum_and_correct};

/// The members' momentum buffers, stacked like the weights (None before the first step, or
/// without momentum).
struct StackedVelocity {
    weights: Vec<Option<Tensor<3>>>,
    biases: Vec<Option<Tensor<2>>>,
}

/// Train `sessions` (all at the same position, same schedule) to their ends; an end per session,
/// in order.
pub(crate) fn train_batched(mut sessions: Vec<Session<'_>>, stop: &StopFlag) -> anyhow::Result<Vec<anyhow::Result<SessionEnd>>> {
    let mut ends: Vec<Option<anyhow::Result<SessionEnd>>> = sessions.iter().map(|_| None).collect();
    let mut ids: Vec<usize> = (0..sessions.len()).collect();
    for s in &mut sessions {
        s.begin()?;
    }
    sessions.iter_mut().for_each(|s| s.clock.restart());
    let mut net = StackedMlp::stack(&sessions.iter().map(|s| &s.model).collect::<Vec<_>>());
    let mut velocity = stack_velocity(&sessions);
    let mut orders: HashMap<u64, EpochOrder> = HashMap::new();
    let bar = ProgressBar::new(sessions[0].planned_steps);
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
        let (batches, batch_size) = (lead.batches(), lead.spec.train.batch_size);
        let (batch, lr) = (lead.pos.batch, lead.lr_at(lead.pos.step));
        let last_of_epoch = batch + 1 == batches;
        if batch == 0 || orders.is_empty() {
            orders.clear();
            for s in &mut sessions {
                if !orders.contains_key(&s.spec.seed) {
                    let order = s.epoch_order();
                    orders.insert(s.spec.seed, order);
                }
            }
        }
        // One sub-batch per member, from its own data order.
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        for s in &mut sessions {
            let started = Instant::now();
            let (x, y) = s.data.train_set.batch(&orders[&s.spec.seed], batch as usize, batch_size);
            s.time.batching_s += started.elapsed().as_secs_f64();
            xs.push(x);
            ys.push(y);
        }
        let b = ys[0].dims()[0];
        let (x, y): (Tensor<3>, Tensor<2, Int>) = (Tensor::stack(xs, 0), Tensor::stack(ys, 0));
        let (nll, correct) = stacked_nll_sum_and_correct(net.forward(x), y);
        let losses = nll.div_scalar(b as f64);
        let grads = losses.clone().sum().backward();
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
        step(&mut net, &mut velocity, &grads, &sessions[0], lr);
        let (losses, correct) = (losses.inner(), correct.inner());
        for (p, s) in sessions.iter_mut().enumerate() {
            s.record_step(losses.clone().narrow(0, p, 1), correct.clone().narrow(0, p, 1), b);
        }
        let stopping = stop.requested();
        if !sessions[0].boundary_due(last_of_epoch, stopping) {
            continue;
        }
        // Every member reaches its boundaries at the same steps: write its network, then let it
        // do what a session alone does there. Each member's step clock stops here and restarts
        // after the round, so it counts the population's steps and none of the boundary work.
        sessions.iter_mut().for_each(|s| s.clock.close_segment());
        let mut keep = Vec::new();
        let mut ended = Vec::new();
        for (p, s) in sessions.iter_mut().enumerate() {
            net.write_member(p, &mut s.model);
            write_velocity(&velocity, p, s);
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
    velocity: &mut StackedVelocity,
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
        let select = |v: &mut Option<Tensor<3>>| *v = v.take().map(|v| select_members(v, keep));
        velocity.weights.iter_mut().for_each(select);
        velocity.biases.iter_mut().for_each(|v| *v = v.take().map(|v| select_members(v, keep)));
    }
    gone
}

/// One SGD step on every member's parameters (the update of [`crate::sgd`], slice by slice).
fn step(net: &mut StackedMlp, velocity: &mut StackedVelocity, grads: &Gradients, lead: &Session, lr: f64) {
    let (momentum, decay) = (lead.spec.train.momentum, lead.spec.train.weight_decay);
    for (w, v) in net.weights.iter_mut().zip(&mut velocity.weights) {
        if let Some(g) = w.grad(grads) {
            *w = Tensor::from_inner(sgd_update(w.clone().inner(), g, v, momentum, decay, lr)).require_grad();
        }
    }
    if let Some(biases) = net.biases.as_mut() {
        for (b, v) in biases.iter_mut().zip(&mut velocity.biases) {
            if let Some(g) = b.grad(grads) {
                *b = Tensor::from_inner(sgd_update(b.clone().inner(), g, v, momentum, decay, lr)).require_grad();
            }
        }
    }
}

/// The members' momentum buffers stacked (a layer's stays None until every member has one).
fn stack_velocity(sessions: &[Session]) -> StackedVelocity {
    fn stacked<const D: usize, const E: usize>(per_member: Vec<&[Option<Tensor<D>>]>) -> Vec<Option<Tensor<E>>> {
        (0..per_member[0].len())
            .map(|l| per_member.iter().map(|v| v[l].clone()).collect::<Option<Vec<_>>>().map(|vs| Tensor::stack(vs, 0)))
            .collect()
    }
    StackedVelocity {
        weights: stacked(sessions.iter().map(|s| s.sgd.velocity().0).collect()),
        biases: stacked(sessions.iter().map(|s| s.sgd.velocity().1).collect()),
    }
}

/// Member `p`'s momentum buffers, written into its own optimizer (for its checkpoint).
fn write_velocity(velocity: &StackedVelocity, p: usize, s: &mut Session) {
    let weights = velocity.weights.iter().map(|v| v.clone().map(|v| v.narrow(0, p, 1).squeeze_dim(0))).collect();
    let biases = velocity.biases.iter().map(|v| v.clone().map(|v| v.narrow(0, p, 1).squeeze_dim(0))).collect();
    s.sgd.set_velocity(weights, biases);
}
