"""PyTorch's side of benches/compare_pytorch.sh: the same bias-free MLP and plain SGD as tailgrad.

Prints one JSON object: full-MNIST loading time, training samples/s over `steps` SGD steps
(the first included, as tailgrad counts it), and evaluation samples/s over the 10,000 test
images (no gradients, batches of `eval_batch`), or with --matmul the GFLOP/s of an M x K x N
float32 matmul (the best of 5 rounds of 20). --device cuda runs on the GPU (synchronized before every clock read).
"""
import argparse, gzip, json, os, time

import numpy as np
import torch

p = argparse.ArgumentParser()
p.add_argument("--data", help="directory holding MNIST's idx files")
p.add_argument("--hidden", help="JSON list of hidden widths")
p.add_argument("--activation", choices=["relu", "tanh"])
p.add_argument("--batch", type=int)
p.add_argument("--steps", type=int)
p.add_argument("--eval-batch", type=int, default=10_000)
p.add_argument("--threads", type=int, required=True)
p.add_argument("--device", default="cpu")
p.add_argument("--matmul", help="MxKxN: time a matmul instead")
a = p.parse_args()
torch.set_num_threads(a.threads)
dev = torch.device(a.device)


def clock():
    if dev.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter()


if a.matmul:
    m, k, n = map(int, a.matmul.split("x"))
    x, w = torch.randn(m, k, device=dev), torch.randn(k, n, device=dev)
    for _ in range(5):
        x @ w
    reps, best = 20, float("inf")
    for _ in range(5):  # the best of 5 rounds, as tailgrad's matmul bench does
        t = clock()
        for _ in range(reps):
            x @ w
        best = min(best, clock() - t)
    print(json.dumps({"gflops": 2 * m * k * n * reps / best / 1e9}))
    raise SystemExit


def idx(name):
    path = os.path.join(a.data, name)
    raw = open(path, "rb").read() if os.path.exists(path) else gzip.open(path + ".gz").read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)


def split(prefix):
    x = (idx(f"{prefix}-images-idx3-ubyte").reshape(-1, 784) / 255.0 - 0.1307) / 0.3081
    return torch.tensor(x, dtype=torch.float32, device=dev), torch.tensor(idx(f"{prefix}-labels-idx1-ubyte").astype(np.int64), device=dev)


t = clock()
x, y = split("train")
tx, ty = split("t10k")
load_s = clock() - t

widths = [784] + json.loads(a.hidden) + [10]
layers = []
for i in range(len(widths) - 1):
    layers.append(torch.nn.Linear(widths[i], widths[i + 1], bias=False))
    if i < len(widths) - 2:
        layers.append(torch.nn.ReLU() if a.activation == "relu" else torch.nn.Tanh())
net = torch.nn.Sequential(*layers).to(dev)
opt = torch.optim.SGD(net.parameters(), lr=0.01)
perm = torch.randperm(len(y), device=dev)
t = clock()
for s in range(a.steps):
    b = perm[(s * a.batch) % (len(y) - a.batch):][: a.batch]
    opt.zero_grad()
    loss = torch.nn.functional.cross_entropy(net(x[b]), y[b])
    loss.backward()
    opt.step()
loss.item()
train = a.steps * a.batch / (clock() - t)

t = clock()
losses, corrects = [], []
with torch.no_grad():  # loss and accuracy, read back once, as tailgrad's evaluation does
    for i in range(0, len(ty), a.eval_batch):
        logits, labels = net(tx[i: i + a.eval_batch]), ty[i: i + a.eval_batch]
        losses.append(torch.nn.functional.cross_entropy(logits, labels, reduction="sum"))
        corrects.append((logits.argmax(1) == labels).sum())
    torch.stack(losses).sum().item(), torch.stack(corrects).sum().item()
evaluate = len(ty) / (clock() - t)
print(json.dumps({"load_s": load_s, "train_samples_per_s": train, "eval_samples_per_s": evaluate}))
