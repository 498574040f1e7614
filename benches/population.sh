#!/usr/bin/env bash
# Population training against one run per task, measured in one script on this machine: the same
# study (default: the main job, experiments/gauss_vs_levy_mnist.toml, 54 runs) trained twice into
# fresh run directories, once with `--population 1` (one process per run, --jobs workers) and once
# as populations, then the wall times, their ratio, and a check that both trainings agree.
#
#   benches/population.sh                         CPU backend: --jobs = cores, populations of 54/cores
#   BACKEND=wgpu benches/population.sh            on a GPU: the whole grid as one population vs
#                                                 the runs one after another on the same GPU
#   STUDY=FILE SET="run.train.epochs=1" benches/population.sh   another study, or a smaller budget
#
# What to expect (BENCHMARKS.md, "Population training"): on the CPU backend about 1.0 (a CPU's
# matmuls are as efficient one net at a time); on a GPU the population should take about the time
# of one run. Agreement: on the CPU the two trainings' metrics.csv files are equal to the bit
# (`identical`); on a GPU batched and single kernels may round differently, so the script prints
# the largest difference in final test accuracy instead.
#
# TAILGRAD_BIN: a built `tailgrad` binary (default: build it); TAILGRAD_DATA: the datasets folder.
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${BACKEND:-cpu}
study=${STUDY:-experiments/gauss_vs_levy_mnist.toml}
if [ -z "${TAILGRAD_BIN:-}" ]; then
  cargo build --release --quiet
  TAILGRAD_BIN=${CARGO_TARGET_DIR:-target}/release/tailgrad
fi
sets=()
for kv in ${SET:-}; do sets+=(--set "$kv"); done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(grep -o -w -E 'avx512f|avx2' /proc/cpuinfo | sort -u | tr '\n' ' ')"
[ "$backend" = wgpu ] && "$TAILGRAD_BIN" devices | head -3
if [ "$backend" = cpu ]; then jobs=$(nproc); else jobs=1; fi
timed() {  # label, then the command; prints its wall seconds
  local label=$1 start end
  shift
  start=$(date +%s.%N)
  "$@" >"$out/$label.log" 2>&1 || { echo "$label failed; its output:" >&2; tail -20 "$out/$label.log" >&2; exit 1; }
  end=$(date +%s.%N)
  python3 -c "print(round($end - $start, 1))"
}
common=(compare "$study" --backend "$backend" --console quiet "${sets[@]}")
t_alone=$(timed alone "$TAILGRAD_BIN" "${common[@]}" --population 1 --jobs "$jobs" --runs-dir "$out/alone")
runs=$(find "$out/alone" -name summary.json | wc -l)
population=${POPULATION:-$(( (runs + jobs - 1) / jobs ))}   # one population per worker
t_pop=$(timed population "$TAILGRAD_BIN" "${common[@]}" --population "$population" --jobs "$jobs" --runs-dir "$out/population")
echo "backend $backend: one process per run ($jobs at once): $t_alone s; populations of $population ($jobs at once): $t_pop s; speed-up $(python3 -c "print(round($t_alone / $t_pop, 2))")x"
python3 - "$out/alone" "$out/population" <<'PY'
import csv, pathlib, sys
a, b = map(pathlib.Path, sys.argv[1:])
files = sorted(p.relative_to(a) for p in a.rglob("metrics.csv"))
identical, worst = 0, 0.0
for f in files:
    ra, rb = (list(csv.reader(open(d / f))) for d in (a, b))
    same = [r[:9] for r in ra] == [r[:9] for r in rb]
    identical += same
    if not same:
        worst = max(worst, abs(float(ra[-1][7]) - float(rb[-1][7])))
print(f"agreement: {identical} of {len(files)} runs identical to the bit; largest final test-accuracy difference otherwise {worst:.2e}")
PY
