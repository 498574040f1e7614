#!/usr/bin/env bash
# Cost of each instrument at its default cadence (once, at the end of the run), as a fraction of
# the training time, measured in one run on this machine: the Feng-Tu net (784-50-50-10 ReLU,
# batch 50, full MNIST) trained EPOCHS epochs on the CPU backend without probes, then with each
# probe alone. Prints seconds per run, the probe's extra seconds, and the overhead fraction.
#   benches/probe_cost.sh            (EPOCHS=1 by default; the window of variance-flatness is 1000 steps)
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${EPOCHS:-1}
cargo build --quiet --release --workspace
bin=${CARGO_TARGET_DIR:-target}/release/tailgrad
runs=$(mktemp -d)
trap 'rm -rf "$runs"' EXIT
run() { # name, extra --set arguments...
  local name=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  "$bin" train experiments/variance_flatness_mnist.toml --backend cpu --console quiet --runs-dir "$runs" --name "$name" \
    --set train.epochs="$epochs" --set log.tensorboard=false --set 'probes=[]' "$@" >/dev/null 2>&1
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }'
}
base=$(run base)
printf "%-20s %10s %10s %9s\n" probe run_s extra_s overhead
printf "%-20s %10.1f %10s %9s\n" "(none)" "$base" - -
for probe in gradient-noise hessian slices variance-flatness duality; do
  t=$(run "$probe" --set "probes=[{name=\"$probe\"}]")
  awk -v p="$probe" -v t="$t" -v b="$base" 'BEGIN { printf "%-20s %10.1f %10.1f %8.1f%%\n", p, t, t - b, 100 * (t - b) / b }'
done
