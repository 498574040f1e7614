#!/usr/bin/env bash
# Alpha-stable sampling rate of tailgrad vs scipy.stats.levy_stable.rvs, measured in one run on
# this machine, at alpha in {0.8, 1.5}. Prints both rates and the ratio (goal: >= 2x scipy).
# Makes its own venv for scipy (PyPI) under ${TAILGRAD_VENV:-.venv-bench}.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${TAILGRAD_VENV:-.venv-bench}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import scipy' 2>/dev/null || "$venv/bin/pip" install --quiet scipy
ours=$(cd benches/sampler && cargo run --quiet --release --example sampler_rate)
scipy=$("$venv/bin/python" - <<'PY'
import time
from scipy.stats import levy_stable
n = 2_000_000
for alpha in (0.8, 1.5):
    levy_stable.rvs(alpha, 0.0, size=1000, random_state=1)
    t = time.perf_counter()
    levy_stable.rvs(alpha, 0.0, size=n, random_state=0)
    print(f"alpha={alpha} samples_per_s={n / (time.perf_counter() - t):.0f}")
PY
)
echo "alpha  tailgrad_samples_per_s  scipy_samples_per_s  ratio"
paste <(echo "$ours") <(echo "$scipy") | while read -r a ours_rate _ scipy_rate; do
  o=${ours_rate#samples_per_s=}; s=${scipy_rate#samples_per_s=}
  awk -v a="${a#alpha=}" -v o="$o" -v s="$s" 'BEGIN { printf "%-6s %22.0f %20.0f %6.2f\n", a, o, s, o / s }'
done
