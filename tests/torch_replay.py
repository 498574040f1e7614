"""Replay a tailgrad run in PyTorch, step for step, from `tailgrad export RUN_DIR`.

The export holds the run's initial weights, the training samples it used (indices into the
official file, and the labels it trained on), the batch order of every epoch and the
normalization; this script rebuilds the same bias-free MLP in PyTorch, feeds it the same batches
with the same SGD (momentum, weight decay and schedule as in the spec), and prints the training
loss of every step (the loss of the minibatch before its update, as tailgrad's steps.csv logs it)
as JSON: {"losses": [...]}. Any difference between the two lists is then the framework's, not the
initialization's or the data's.

    python tests/torch_replay.py RUN_DIR/export.safetensors --data DATASETS_DIR --steps 200
    --lr-scale 1.01   plant an error (a 1% larger learning rate), to check that a comparison notices
    --float64         the same replay in double precision: how far f32 round-off alone moves the losses

Needs torch and numpy; reads safetensors and IDX files without further packages.
"""
import argparse
import gzip
import json
import math
import os
import tomllib

import numpy as np
import torch


def read_safetensors(path):
    raw = open(path, "rb").read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    dtypes = {"F32": np.float32, "I64": np.int64}
    tensors = {}
    for name, t in header.items():
        start, end = t["data_offsets"]
        tensors[name] = np.frombuffer(raw[8 + n + start: 8 + n + end], dtypes[t["dtype"]]).reshape(t["shape"])
    return tensors, meta


def idx(folder, name):
    path = os.path.join(folder, name)
    raw = open(path, "rb").read() if os.path.exists(path) else gzip.open(path + ".gz").read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)


def lr_at(train, step, steps_per_epoch, planned):
    """tailgrad's `TrainSpec::lr_at`: the rate of the step taken from position `step`."""
    lr, schedule = train["lr"], train.get("schedule", {"kind": "constant"})
    if schedule["kind"] == "step":
        return lr * schedule["gamma"] ** ((step // steps_per_epoch) // schedule["every_epochs"])
    if schedule["kind"] == "cosine":
        lo = schedule.get("min_lr", 0.0)
        return lo + (lr - lo) * 0.5 * (1 + math.cos(math.pi * step / planned))
    return lr


def main():
    p = argparse.ArgumentParser()
    p.add_argument("export")
    p.add_argument("--data", required=True, help="the data directory (holding mnist/, fashion-mnist/)")
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--lr-scale", type=float, default=1.0)
    p.add_argument("--float64", action="store_true", help="replay in double precision (the round-off-free reference)")
    a = p.parse_args()
    torch.set_num_threads(1)
    if a.float64:
        torch.set_default_dtype(torch.float64)
    tensors, meta = read_safetensors(a.export)
    spec = tomllib.loads(meta["spec"])
    model_spec, train = spec["model"], spec["train"]
    if meta["dataset"] not in ("mnist", "fashion-mnist"):
        raise SystemExit(f"replay reads IDX datasets; {meta['dataset']} is not one")
    folder = os.path.join(a.data, meta["dataset"])
    prefix = "train" if meta["source"] == "train" else "t10k"
    images = idx(folder, f"{prefix}-images-idx3-ubyte").reshape(-1, 784)[tensors["train_index"]]
    mean, std = np.float32(json.loads(meta["mean"])[0]), np.float32(json.loads(meta["std"])[0])
    x = torch.from_numpy((images.astype(np.float32) / np.float32(255.0) - mean) / std).to(torch.get_default_dtype())
    y = torch.from_numpy(tensors["train_labels"].copy())

    layers = sorted((k for k in tensors if k.startswith("layers.")), key=lambda k: int(k.split(".")[1]))
    act = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "linear": torch.nn.Identity}[model_spec.get("activation", "tanh")]
    modules = []
    for i, name in enumerate(layers):
        w = tensors[name]
        linear = torch.nn.Linear(w.shape[0], w.shape[1], bias=model_spec.get("bias", False))
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w.T.copy()).to(torch.get_default_dtype()))
            if linear.bias is not None:
                linear.bias.zero_()
        modules.append(linear)
        if i + 1 < len(layers):
            modules.append(act())
    net = torch.nn.Sequential(*modules)
    opt = torch.optim.SGD(net.parameters(), lr=train["lr"], momentum=train.get("momentum", 0.0), weight_decay=train.get("weight_decay", 0.0))

    order = tensors["order"]
    batch = int(meta["batch_size"])
    n = len(y)
    steps_per_epoch = -(-n // batch)
    planned = train["epochs"] * steps_per_epoch
    if train.get("max_steps", 0):
        planned = min(planned, train["max_steps"]) if train["epochs"] else train["max_steps"]
    losses = []
    for step in range(a.steps):
        epoch, b = divmod(step, steps_per_epoch)
        if epoch >= len(order):
            raise SystemExit(f"the export holds {len(order)} epochs of batch order; export more with --epochs")
        rows = torch.from_numpy(order[epoch, b * batch:(b + 1) * batch].copy())
        for group in opt.param_groups:
            group["lr"] = a.lr_scale * lr_at(train, step, steps_per_epoch, planned)
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(x[rows]), y[rows])
        loss.backward()
        opt.step()
        losses.append(loss.item())
    print(json.dumps({"losses": losses}))


if __name__ == "__main__":
    main()
