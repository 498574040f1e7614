#!/usr/bin/env bash
# tailgrad vs PyTorch, measured in one run on this machine: the same bias-free MLPs, batch sizes,
# number of plain SGD steps (lr 0.01) and thread counts, on full MNIST. Prints, for each case and
# thread count, training samples/s (tailgrad: summary.json's train_samples_per_s; PyTorch: the
# same loop timed from its first step), evaluation samples/s over the 10,000 test images (no
# gradients, loss and accuracy, one batch of 10,000), full-MNIST loading time, and the ratios
# tailgrad / PyTorch (> 1: tailgrad is faster). A full run then measures both libraries' float32
# matmul rate and sets the largest case's training FLOP/s (6 per weight per sample, less the
# first layer's unneeded input gradient) against the better of the two.
#
#   benches/compare_pytorch.sh           full mode: STEPS=200, THREADS="1 <all cores>"
#   benches/compare_pytorch.sh --quick   CI size: 10 steps, all cores, no matmul section
#   BACKEND=wgpu benches/compare_pytorch.sh   on the GPU: tailgrad on wgpu, PyTorch on CUDA
#                                             (TORCH_DEVICE=cpu: PyTorch on the CPU instead)
#
# PyTorch comes from PyPI into ${TAILGRAD_TORCH_VENV:-.venv-torch} (the Linux wheel is the CUDA
# build, 5.4 GB with its nvidia libraries; it runs on the CPU too). TAILGRAD_BIN: a built
# `tailgrad` binary (default: build it); TAILGRAD_DATA: the datasets folder.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=false
[ "${1:-}" = "--quick" ] && quick=true
steps=${STEPS:-200}
eval_batch=${EVAL_BATCH:-2500}   # both libraries evaluate the 10,000 test images in batches of this size
threads_list=${THREADS:-"1 $(nproc)"}
if $quick; then
  steps=10
  threads_list=${THREADS:-$(nproc)}
fi
backend=${BACKEND:-cpu}
case $backend in
  cpu) torch_device=${TORCH_DEVICE:-cpu} ;;
  wgpu) torch_device=${TORCH_DEVICE:-cuda} threads_list=$(nproc) ;;
  *) echo "BACKEND must be cpu or wgpu, not '$backend'" >&2; exit 2 ;;
esac
venv=${TAILGRAD_TORCH_VENV:-.venv-torch}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import torch, numpy' 2>/dev/null || "$venv/bin/pip" install --quiet --disable-pip-version-check torch numpy
python=$venv/bin/python
if [ -z "${TAILGRAD_BIN:-}" ]; then
  cargo build --quiet --release --workspace
  TAILGRAD_BIN=${CARGO_TARGET_DIR:-target}/release/tailgrad
fi
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
field() { "$python" -c "import json, sys; print(eval(sys.argv[2], {}, json.load(open(sys.argv[1]))))" "$@"; }

echo "tailgrad $backend vs PyTorch $torch_device ($("$python" -c 'import torch; print(torch.__version__)')), $steps SGD steps per case, evaluation in batches of $eval_batch, $(date -u +%F), $(nproc) cores"
# The machine: every timing names its CPU and the vector extensions its kernels can use.
cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
cpu_flags=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -xE 'avx2|fma|avx512f|avx512bw|avx512vl' | tr '\n' ' ')
echo "cpu: $cpu_model; extensions: ${cpu_flags:-none of avx2/fma/avx512}"
echo "PyTorch kernels: $("$python" -c 'import torch; print(torch.backends.cpu.get_cpu_capability())') (ATEN_CPU_CAPABILITY=${ATEN_CPU_CAPABILITY:-default}, MKL_ENABLE_INSTRUCTIONS=${MKL_ENABLE_INSTRUCTIONS:-default})"
printf "%-22s %6s %7s | %12s %12s %6s | %12s %12s %6s | %9s %9s\n" net batch threads \
  train_tg/s train_pt/s ratio eval_tg/s eval_pt/s ratio load_tg_s load_pt_s
for threads in $threads_list; do
  i=0
  for c in "${cases[@]}"; do
    IFS='|' read -r name hidden act batch <<<"$c"
    i=$((i + 1))
    run=$runs/t$threads-case$i
    RAYON_NUM_THREADS=$threads "$TAILGRAD_BIN" train experiments/mnist_single_run.toml --backend "$backend" --console quiet \
      --runs-dir "$runs" --name "t$threads-case$i" --data-dir "$data" --set "model.hidden=$hidden" \
      --set "model.activation=\"$act\"" --set model.init=gaussian --set train.batch_size="$batch" \
      --set train.max_steps="$steps" --set train.epochs=1000 --set train.eval_batch="$eval_batch" --set log.tensorboard=false >"$run.log" 2>&1 \
      || { cat "$run.log" >&2; exit 1; }
    ours_train=$(field "$run/summary.json" train_samples_per_s)
    ours_eval=$(field "$run/summary.json" "time['eval_samples'] / time['eval_s']")
    ours_load=$(field "$run/summary.json" "time['data_load_s']")
    weights=$(field "$run/summary.json" parameters)
    theirs=$("$python" benches/torch_mlp.py --data "$data/mnist" --hidden "$hidden" --activation "$act" \
      --batch "$batch" --steps "$steps" --eval-batch "$eval_batch" --threads "$threads" --device "$torch_device")
    read -r pt_train pt_eval pt_load < <(echo "$theirs" | "$python" -c \
      "import json, sys; d = json.load(sys.stdin); print(d['train_samples_per_s'], d['eval_samples_per_s'], d['load_s'])")
    awk -v n="$name" -v b="$batch" -v t="$threads" -v ot="$ours_train" -v pt="$pt_train" -v oe="$ours_eval" \
      -v pe="$pt_eval" -v ol="$ours_load" -v pl="$pt_load" 'BEGIN {
        printf "%-22s %6d %7d | %12.0f %12.0f %6.2f | %12.0f %12.0f %6.2f | %9.2f %9.2f\n",
          n, b, t, ot, pt, ot / pt, oe, pe, oe / pe, ol, pl }'
    # FLOPs per sample: 2 per weight forward, 2 for its gradient, 2 for the gradient of the
    # layer's input, which the first layer does not need.
    first=$(echo "$hidden" | tr -d '[] ' | cut -d, -f1)
    per_sample=$(( 6 * weights - 2 * 784 * first ))
    if [ "$threads" = "$(nproc)" ] && [ $(( weights * batch )) -gt "${largest_work:-0}" ]; then
      largest_work=$(( weights * batch )) largest_name="$name b$batch"
      largest_ours=$(awk -v f="$per_sample" -v s="$ours_train" 'BEGIN { print f * s / 1e9 }')
      largest_pt=$(awk -v f="$per_sample" -v s="$pt_train" 'BEGIN { print f * s / 1e9 }')
    fi
  done
done
$quick && exit 0

# The machine's peak matmul rate: the best of both libraries over the training's shapes and a
# large square, at all cores; the largest case's training FLOP/s against it.
shapes="1024x784x784 784x1024x784 2048x2048x2048"
echo
peak=0
for shape in $shapes; do
  ours_mm=$(RAYON_NUM_THREADS=$(nproc) cargo bench --quiet --workspace --bench matmul -- "$backend" "$shape" \
    | "$python" -c "import json, sys; print(json.loads(sys.stdin.readline())['gflops'])")
  pt_mm=$("$python" benches/torch_mlp.py --matmul "$shape" --threads "$(nproc)" --device "$torch_device" \
    | "$python" -c "import json, sys; print(json.load(sys.stdin)['gflops'])")
  printf "matmul %-15s %d threads: tailgrad %5.0f GFLOP/s, PyTorch %5.0f GFLOP/s\n" "$shape" "$(nproc)" "$ours_mm" "$pt_mm"
  peak=$(awk -v a="$peak" -v b="$ours_mm" -v c="$pt_mm" 'BEGIN { m = a; if (b > m) m = b; if (c > m) m = c; print m }')
done
# (Only when the thread counts included all cores, which the FLOP/s comparison is at.)
[ -n "${largest_name:-}" ] || exit 0
awk -v n="$largest_name" -v o="$largest_ours" -v p="$largest_pt" -v peak="$peak" 'BEGIN {
  printf "peak %.0f GFLOP/s; largest case (%s) trains at: tailgrad %.0f GFLOP/s (%.0f%% of peak), PyTorch %.0f GFLOP/s (%.0f%%)\n",
    peak, n, o, 100 * o / peak, p, 100 * p / peak }'
