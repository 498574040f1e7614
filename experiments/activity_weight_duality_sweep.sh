#!/usr/bin/env bash
# The generalization-gap decomposition of Feng, Zhang & Tu (NMI 2023) across hyper-parameters:
# experiments/activity_weight_duality_mnist.toml trained at several batch sizes and label-noise
# levels (CPU backend), then a table of the true gap (test loss - train loss) next to the
# matched-pair gap, the part of it along the top Hessian directions, the second-order estimate,
# and their Pearson correlations.
#   experiments/activity_weight_duality_sweep.sh [RUNS_DIR]      (default runs/awd_sweep; ~5 min on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-runs/awd_sweep}
bin=${TAILGRAD:-${CARGO_TARGET_DIR:-target}/release/tailgrad}
[ -x "$bin" ] || cargo build --quiet --release --workspace
for noise in 0.0 0.2; do
  for batch in 25 50 100 200; do
    name="b${batch}_noise${noise}"
    [ -f "$runs/$name/summary.json" ] && continue
    "$bin" train experiments/activity_weight_duality_mnist.toml --backend cpu --console quiet --runs-dir "$runs" \
      --name "$name" --set train.batch_size=$batch --set data.label_noise=$noise
  done
done
python3 - "$runs" <<'PY'
import json, pathlib, statistics, sys
rows = []
for d in sorted(pathlib.Path(sys.argv[1]).iterdir()):
    f = d / "probes" / "duality.json"
    if f.is_file():
        r = json.loads(f.read_text())[-1]["record"]
        rows.append((d.name, r["train_loss"], r["test_loss"], r["true_gap"], r["matched_gap"],
                     r["directions_gap"], r["remainder_gap"], r["hessian_estimate"]))
k = len(json.loads((pathlib.Path(sys.argv[1]) / rows[0][0] / "probes" / "duality.json").read_text())[-1]["record"]["directions"]) if rows else 0
print(f"| run | train loss | test loss | true gap | matched-pair gap | of it, top {k} Hessian directions | rest | second-order estimate |")
print("|---|---|---|---|---|---|---|---|")
for name, *v in rows:
    print(f"| {name} | " + " | ".join(f"{x:.4f}" for x in v) + " |")
gap, matched, top, hess = ([r[i] for r in rows] for i in (3, 4, 5, 7))
if len(rows) >= 3:
    print(f"\nPearson r(true gap, matched-pair gap) = {statistics.correlation(gap, matched):.3f}; "
          f"r(true gap, top-{k} share) = {statistics.correlation(gap, top):.3f}; "
          f"r(true gap, second-order estimate) = {statistics.correlation(gap, hess):.3f} over {len(rows)} runs")
PY
