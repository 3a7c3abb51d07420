#!/usr/bin/python3
"""What a user would pick instead of kdsearch: Optuna's NSGA-II sampler
with PyTorch training, as a side-by-side reference for `npm run
bench:search -- --optuna` (a benchmark anchor only: kdsearch never needs it).

Searches the quick space restricted to what both sides do alike: offline
distillation from kdsearch's cached teacher logits, the same training and
test split, the same KD loss (alpha T^2 KL + (1 - alpha) CE), Adam with the
space's learning rate, batch size and epochs, float32 and int8
post-training quantization (symmetric, per output channel, as
src/model/quantize.ts), no QAT. The parameters are kdsearch's genes; a
small kdsearch process (bench/reference/genes-helper.ts) turns them into
the student's spec, its sizeBytes and the space's maxParams verdict, so both
sides build the same students and count their size by the same code.
`--workers` processes share one Optuna study (SQLite storage) for
`--budget` seconds; each finished trial is appended to `--out` as a JSON
line (accuracy, sizeBytes, finishedAt in ms since the epoch).

  python3 bench/reference/optuna_search.py --data DIR --space-json FILE --helper "node dist/bench/reference/genes-helper.js"
      --budget 300 --workers 2 --seed 0 --out runs.jsonl

Install: apt-get install -y python3-torch python3-optuna libopenblas0-pthread.
"""
import argparse
import json
import multiprocessing
import os
import shlex
import subprocess
import sys
import time

import numpy as np
import optuna
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from kd_pytorch import blas_loaded, build, kd_loss  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)


def load(data_dir):
    meta = json.load(open(os.path.join(data_dir, "meta.json")))
    side, channels = meta["inputShape"][0], meta["inputShape"][2]

    def images(name, n):
        x = np.fromfile(os.path.join(data_dir, name), dtype=np.float32).reshape(n, side, side, channels)
        return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))  # NHWC as stored -> NCHW

    def labels(name):
        return torch.from_numpy(np.fromfile(os.path.join(data_dir, name), dtype=np.int32).astype(np.int64))

    logits = np.fromfile(meta["logitsFile"], dtype=np.float32)[: meta["trainN"] * meta["numClasses"]]
    return {
        "meta": meta,
        "train_x": images("train-x.f32", meta["trainN"]),
        "train_y": labels("train-y.i32"),
        "test_x": images("test-x.f32", meta["testN"]),
        "test_y": labels("test-y.i32"),
        "logits": torch.from_numpy(logits.reshape(meta["trainN"], meta["numClasses"]).copy()),
    }


def suggest_genes(trial, space):
    families = [f for f in ("mlp", "cnn", "separable", "teacher-copy") if f in space["families"]]
    family = trial.suggest_categorical("family", families)
    f = space["families"][family]
    as_list = lambda v: v if isinstance(v, list) else [v]  # noqa: E731
    if family == "mlp":
        depth = trial.suggest_categorical("mlp_depth", as_list(f["depth"]))
        genes = {"family": family, "units": [trial.suggest_categorical(f"mlp_units_{i}", as_list(f["units"])) for i in range(depth)]}
    elif family in ("cnn", "separable"):
        depth = trial.suggest_categorical(f"{family}_depth", as_list(f["depth"]))
        blocks = [
            {"filters": trial.suggest_categorical(f"{family}_filters_{i}", as_list(f["filters"])), "kernel": trial.suggest_categorical(f"{family}_kernel_{i}", as_list(f["kernel"]))}
            for i in range(depth)
        ]
        genes = {"family": family, "blocks": blocks, "dense": trial.suggest_categorical(f"{family}_dense", as_list(f.get("dense", 0)))}
    else:
        genes = {"family": family, "depth": trial.suggest_categorical("copy_depth", as_list(f["depth"])), "width": trial.suggest_categorical("copy_width", as_list(f["width"]))}
    precision = trial.suggest_categorical("precision", [p for p in as_list(space["precision"]) if p in ("float32", "int8")])
    alpha = trial.suggest_categorical("alpha", as_list(space["distillation"]["alpha"]))
    return genes, precision, alpha


def quantize_int8_per_channel(model):
    """kdsearch's int8: symmetric codes -127..127 per output channel (PyTorch's axis 0), scale = max|w| / 127."""
    with torch.no_grad():
        for p in model.parameters():
            flat = p.reshape(p.shape[0], -1)
            scale = flat.abs().amax(dim=1, keepdim=True) / 127
            scale[scale == 0] = 1
            p.copy_((torch.clamp(torch.round(flat / scale), -127, 127) * scale).reshape(p.shape))


def accuracy(model, x, y, batch=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for s in range(0, x.shape[0], batch):
            correct += int((model(x[s : s + batch]).argmax(1) == y[s : s + batch]).sum())
    return correct / x.shape[0]


def train(spec, data, training, alpha, seed):
    torch.manual_seed(seed)
    meta = data["meta"]
    model = build(spec, in_channels=meta["inputShape"][2], side=meta["inputShape"][0], classes=meta["numClasses"])
    opt = torch.optim.Adam(model.parameters(), lr=training["learningRate"])
    n, batch = data["train_x"].shape[0], training["batchSize"]
    generator = torch.Generator().manual_seed(seed)
    for _ in range(training["epochs"]):
        model.train()
        order = torch.randperm(n, generator=generator)
        for s in range(0, n, batch):
            idx = order[s : s + batch]
            opt.zero_grad(set_to_none=True)
            loss = kd_loss(model(data["train_x"][idx]), data["logits"][idx], data["train_y"][idx], training["temperature"], alpha)
            loss.backward()
            opt.step()
    return model


def worker(args, rank, deadline):
    torch.set_num_threads(1)  # one core per worker process, as kdsearch's workers
    space = json.load(open(args.space_json))
    data = load(args.data)
    helper = subprocess.Popen(shlex.split(args.helper) + ["--space-json", args.space_json], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    study = optuna.load_study(study_name="kdsearch-reference", storage=f"sqlite:///{args.storage}",
                              sampler=optuna.samplers.NSGAIISampler(population_size=32, seed=args.seed * 100 + rank))
    training = {"epochs": space["training"]["epochs"], "batchSize": space["training"].get("batchSize", 64),
                "learningRate": space["training"].get("learningRate", 0.003), "temperature": space["distillation"]["temperature"]}

    def objective(trial):
        genes, precision, alpha = suggest_genes(trial, space)
        helper.stdin.write(json.dumps({"genes": genes, "precision": precision, "alpha": alpha}) + "\n")
        helper.stdin.flush()
        answer = json.loads(helper.stdout.readline())
        if answer.get("violation"):
            raise optuna.TrialPruned(answer["violation"])  # refused before training, as kdsearch refuses it
        started = time.time()
        model = train(answer["spec"], data, training, alpha, seed=args.seed * 100000 + trial.number)
        float_accuracy = accuracy(model, data["test_x"], data["test_y"])
        if precision == "int8":
            quantize_int8_per_channel(model)
        acc = accuracy(model, data["test_x"], data["test_y"]) if precision == "int8" else float_accuracy
        with open(args.out, "a") as out:
            out.write(json.dumps({"number": trial.number, "worker": rank, "genes": genes, "precision": precision, "alpha": alpha, "accuracy": acc,
                                  "floatAccuracy": float_accuracy, "sizeBytes": answer["sizeBytes"], "params": answer["params"],
                                  "startedAt": started * 1000, "finishedAt": time.time() * 1000}) + "\n")
        return acc, answer["sizeBytes"]

    study.optimize(objective, timeout=max(0.0, deadline - time.time()))
    helper.stdin.close()
    helper.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--space-json", required=True)
    parser.add_argument("--helper", required=True)
    parser.add_argument("--budget", type=float, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    args.storage = args.out + ".optuna.db"
    for stale in (args.out, args.storage):
        if os.path.exists(stale):
            os.remove(stale)
    optuna.create_study(study_name="kdsearch-reference", storage=f"sqlite:///{args.storage}", directions=["maximize", "minimize"])
    start = time.time()
    deadline = start + args.budget
    # spawned, not forked: torch's thread pools cannot be resized in a forked child
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=worker, args=(args, rank, deadline)) for rank in range(args.workers)]
    for p in processes:
        p.start()
    for p in processes:
        p.join()
    failed = [p.exitcode for p in processes if p.exitcode != 0]
    if failed:
        sys.exit(f"optuna_search.py: {len(failed)} worker process(es) failed (exit codes {failed})")
    print(json.dumps({"startedAt": start * 1000, "budgetSec": args.budget, "torch": torch.__version__, "optuna": optuna.__version__, "blas": blas_loaded()}))


if __name__ == "__main__":
    main()
