#!/usr/bin/env bash
# Training throughput of tailgrad (CPU backend) vs PyTorch (CPU), measured in one run on this
# machine: the same MLPs (no bias), batch sizes, number of SGD steps (lr 0.01, no momentum) and
# thread count, on full MNIST. Prints samples/s for both and the ratio tailgrad / PyTorch.
#   benches/compare_pytorch.sh            STEPS=200 by default; THREADS (default: all cores)
#   benches/compare_pytorch.sh --quick    10 steps per case (a smoke test of the script)
# PyTorch comes from PyPI into ${TAILGRAD_TORCH_VENV:-.venv-torch} (the Linux wheel is the CUDA
# build: ~3 GB with its nvidia libraries; it runs on the CPU here). Both sides time the SGD steps
# only: data loading and evaluation are excluded (tailgrad: summary.json's train_samples_per_s).
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${STEPS:-200}
[ "${1:-}" = "--quick" ] && steps=10
threads=${THREADS:-$(nproc)}
venv=${TAILGRAD_TORCH_VENV:-.venv-torch}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import torch, numpy' 2>/dev/null || "$venv/bin/pip" install --quiet torch numpy
cargo build --quiet --release --workspace
bin=${CARGO_TARGET_DIR:-target}/release/tailgrad
data=${TAILGRAD_DATA:-datasets}
runs=$(mktemp -d)
trap 'rm -rf "$runs"' EXIT
fc10="[$(printf '784, %.0s' {1..8})784]"
cases=(
  "784-1000-1000-10 relu|[1000, 1000]|relu|128"
  "784-1000-1000-10 relu|[1000, 1000]|relu|512"
  "FC10 784x9 tanh|$fc10|tanh|1024"
  "784-50-50-10 relu|[50, 50]|relu|50"
)
printf "%-24s %6s %8s %16s %16s %7s\n" net batch threads tailgrad_samp/s pytorch_samp/s ratio
i=0
for c in "${cases[@]}"; do
  IFS='|' read -r name hidden act batch <<<"$c"
  i=$((i + 1))
  RAYON_NUM_THREADS=$threads "$bin" train experiments/mnist_single_run.toml --backend cpu --console quiet \
    --runs-dir "$runs" --name "case$i" --data-dir "$data" --set "model.hidden=$hidden" --set "model.activation=\"$act\"" \
    --set model.init=gaussian --set train.batch_size="$batch" --set train.max_steps="$steps" --set train.epochs=1000 \
    --set log.tensorboard=false >/dev/null 2>&1
  ours=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['train_samples_per_s'])" "$runs/case$i/summary.json")
  theirs=$("$venv/bin/python" - "$data/mnist" "$hidden" "$act" "$batch" "$steps" "$threads" <<'PY'
import gzip, json, os, sys, time
import numpy as np, torch
root, hidden, act, batch, steps, threads = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], *map(int, sys.argv[4:])
torch.set_num_threads(threads)
def idx(name):
    path = os.path.join(root, name)
    raw = gzip.open(path + ".gz").read() if not os.path.exists(path) else open(path, "rb").read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)
x = torch.tensor((idx("train-images-idx3-ubyte").reshape(-1, 784) / 255.0 - 0.1307) / 0.3081, dtype=torch.float32)
y = torch.tensor(idx("train-labels-idx1-ubyte").astype(np.int64))
widths = [784] + hidden + [10]
layers = []
for i in range(len(widths) - 1):
    layers.append(torch.nn.Linear(widths[i], widths[i + 1], bias=False))
    if i < len(widths) - 2:
        layers.append(torch.nn.ReLU() if act == "relu" else torch.nn.Tanh())
net = torch.nn.Sequential(*layers)
opt = torch.optim.SGD(net.parameters(), lr=0.01)
perm = torch.randperm(len(y))
t = time.perf_counter()
for s in range(steps):
    idx_b = perm[(s * batch) % (len(y) - batch):][:batch]
    opt.zero_grad()
    loss = torch.nn.functional.cross_entropy(net(x[idx_b]), y[idx_b])
    loss.backward()
    opt.step()
loss.item()
print(steps * batch / (time.perf_counter() - t))
PY
)
  awk -v n="$name" -v b="$batch" -v t="$threads" -v o="$ours" -v p="$theirs" \
    'BEGIN { printf "%-24s %6d %8d %16.0f %16.0f %7.2f\n", n, b, t, o, p, o / p }'
done
