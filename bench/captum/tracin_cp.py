"""Captum's TracInCP on the data and checkpoints bench:main exports (bench/main.ts): the same
Fashion-MNIST rows, labels, MLP weights and learning rates. Prints one JSON line with its
timings; writes its scores (queries x train, float32) and self-influence (float32) beside the
inputs for bench:main to compare with tda's.

    bench/captum/.venv/bin/python bench/captum/tracin_cp.py DIR [--threads 2]
"""
import argparse
import json
import os
import time

import numpy as np
import torch
from captum.influence import TracInCP
from torch import nn
from torch.utils.data import TensorDataset

ap = argparse.ArgumentParser()
ap.add_argument("dir")
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--batch", type=int, default=1000)
args = ap.parse_args()
torch.set_num_threads(args.threads)
d = args.dir
meta = json.load(open(os.path.join(d, "meta.json")))


def arr(name, dtype, shape):
    return torch.from_numpy(np.fromfile(os.path.join(d, name), dtype=dtype).reshape(shape))


n, q, dim = meta["train"], meta["queries"], meta["dim"]
train_x = arr("train_x.f32", np.float32, (n, dim))
train_y = arr("train_y.i32", np.int32, (n,)).long()
query_x = arr("query_x.f32", np.float32, (q, dim))
query_y = arr("query_y.i32", np.int32, (q,)).long()

mods = []
for i, l in enumerate(meta["layers"]):
    mods.append(nn.Linear(l["in"], l["out"]))
    if i + 1 < len(meta["layers"]):
        mods.append(nn.ReLU())
model = nn.Sequential(*mods)
linears = [m for m in model if isinstance(m, nn.Linear)]

paths = []
for c, ck in enumerate(meta["checkpoints"]):
    state = {}
    for k, l in enumerate(meta["layers"]):
        kernel = arr(f"ck{c}_{k}_kernel.f32", np.float32, (l["in"], l["out"]))
        state[f"{2 * k}.weight"] = kernel.t().contiguous()  # tfjs kernels are in x out
        state[f"{2 * k}.bias"] = arr(f"ck{c}_{k}_bias.f32", np.float32, (l["out"],))
    p = os.path.join(d, f"ck{c}.pt")
    torch.save({"state": state, "lr": ck["learningRate"]}, p)
    paths.append(p)


def load(m, path):
    s = torch.load(path)
    m.load_state_dict(s["state"])
    return s["lr"]


t0 = time.time()
tracin = TracInCP(
    model,
    TensorDataset(train_x, train_y),
    checkpoints=paths,
    checkpoints_load_func=load,
    loss_fn=nn.CrossEntropyLoss(reduction="sum"),
    batch_size=args.batch,
    sample_wise_grads_per_batch=True,
)
t1 = time.time()
scores = tracin.influence((query_x, query_y), k=None)
t2 = time.time()
self_scores = tracin.self_influence(None)
t3 = time.time()
scores.numpy().astype(np.float32).tofile(os.path.join(d, "captum_scores.f32"))
self_scores.numpy().astype(np.float32).tofile(os.path.join(d, "captum_self.f32"))
print(json.dumps({
    "captum": __import__("captum").__version__,
    "torch": torch.__version__,
    "threads": args.threads,
    "setup_s": t1 - t0,
    "influence_s": t2 - t1,
    "self_influence_s": t3 - t2,
}))
