#!/usr/bin/python3
"""PyTorch reference for `npm run bench:engine` (a benchmark anchor only:
kdsearch and its tests never need it).

Trains the same student as kdsearch -- the layers that src/model/build.ts
builds from a spec JSON, batch, KD loss (T, alpha), Adam, cached teacher
logits, batches gathered from resident tensors -- on 1 thread, and reports
samples/s. Runs as a server so the bench can alternate it with kdsearch
without paying Python's start-up each round: one JSON request per stdin line,
one JSON answer per stdout line.

  request:  {"spec": {...}, "steps": 20, "seconds": 3, "warmup": 10, "warmupSeconds": 2,
             "batch": 64, "temperature": 4, "alpha": 0.7, "rows": 2048}
            (trains for `seconds` of wall time and at least `steps` steps)
  answer:   {"samplesPerSec": 1234.5, "seconds": 2.07, "torch": "2.x",
             "blas": {"kind": "openblas", "library": "/usr/lib/.../libopenblas.so.0"}}
            ("blas" names the BLAS this process has loaded, read from /proc/self/maps)

  With "schedule": {"startAtMs": ms since the epoch, "phaseMs": 1000, "pauseMs": 100, "active": [true, false, ...]}
  it steps only in active phases (sleeping in the others) and also answers
  "phaseSteps" (steps started in each phase) and "readyAtMs" (when warm-up ended),
  as bench/training-throughput.ts does for kdsearch.

Install: apt-get install -y python3-torch libopenblas0-pthread; run with /usr/bin/python3.
Debian's torch calls whatever BLAS the system's alternatives point to
(BLAS_INFO=generic): without OpenBLAS that is the reference BLAS, about 12x
slower at matrix products, and no fair peer.
"""
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
torch.set_num_interop_threads(1)


def build(spec, in_channels=1, side=28, classes=10):
    layers = []
    channels = in_channels
    if spec["kind"] == "cnn":
        for block in spec["blocks"]:
            k = block["kernel"]
            pad = k // 2 if block.get("padding", "same") == "same" else 0
            if block["op"] == "conv":
                layers += [nn.Conv2d(channels, block["filters"], k, padding=pad), nn.ReLU()]
            else:  # Keras SeparableConv2D: depthwise (no bias) then pointwise with bias
                layers += [
                    nn.Conv2d(channels, channels, k, padding=pad, groups=channels, bias=False),
                    nn.Conv2d(channels, block["filters"], 1),
                    nn.ReLU(),
                ]
            channels = block["filters"]
            if pad == 0:
                side = side - k + 1
            if block.get("pool"):
                layers.append(nn.MaxPool2d(2))
                side //= 2
        features = channels * side * side
        hidden = spec.get("dense", [])
    else:
        features = in_channels * side * side
        hidden = spec["hidden"]
    layers.append(nn.Flatten())
    for units in hidden:
        layers += [nn.Linear(features, units), nn.ReLU()]
        features = units
    if spec.get("dropout", 0) > 0:
        layers.append(nn.Dropout(spec["dropout"]))
    layers.append(nn.Linear(features, classes))
    return nn.Sequential(*layers)


def kd_loss(student, teacher, labels, temperature, alpha):
    log_ps = F.log_softmax(student / temperature, dim=1)
    log_pt = F.log_softmax(teacher / temperature, dim=1)
    kl = (log_pt.exp() * (log_pt - log_ps)).sum(1).mean()
    ce = F.cross_entropy(student, labels)
    return alpha * temperature * temperature * kl + (1 - alpha) * ce


def measure(req):
    torch.manual_seed(1)
    rows, batch = req.get("rows", 2048), req.get("batch", 64)
    x = torch.rand(rows, 1, 28, 28)
    y = torch.randint(0, 10, (rows,))
    logits = torch.randn(rows, 10)
    model = build(req["spec"])
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    T, alpha = req.get("temperature", 4.0), req.get("alpha", 0.7)

    def run(more):
        total = torch.zeros(())
        i = 0
        while more(i):
            start = (i * batch) % (rows - batch)
            idx = torch.arange(start, start + batch)
            xb, yb, tb = x.index_select(0, idx), y.index_select(0, idx), logits.index_select(0, idx)
            opt.zero_grad(set_to_none=True)
            loss = kd_loss(model(xb), tb, yb, T, alpha)
            loss.backward()
            opt.step()
            total += loss.detach()
            i += 1
        float(total)  # one read-back per run, as kdsearch reads once per epoch
        return i

    def for_at_least(n, seconds=0.0):
        until = time.perf_counter() + seconds
        return lambda i: i < n or time.perf_counter() < until

    run(for_at_least(req.get("warmup", 3), req.get("warmupSeconds", 0.0)))
    ready_at_ms = time.time() * 1000
    t0 = time.perf_counter()
    schedule = req.get("schedule")
    phase_steps = None
    if schedule:
        phase_steps = [0] * len(schedule["active"])
        steps = run(phased_pace(schedule, phase_steps))
    else:
        steps = run(for_at_least(req["steps"], req.get("seconds", 0.0)))
    seconds = time.perf_counter() - t0
    answer = {"samplesPerSec": steps * batch / seconds, "steps": steps, "seconds": seconds, "torch": torch.__version__, "blas": blas_loaded()}
    if phase_steps is not None:
        answer.update(phaseSteps=phase_steps, readyAtMs=ready_at_ms)
    return answer


BLAS_KINDS = (("openblas", "openblas"), ("mkl", "mkl"), ("blis", "blis"), ("atlas", "atlas"), ("/blas/", "reference"))


def blas_loaded():
    """The BLAS library mapped into this process (after a training step has used it), and what kind it is."""
    libraries = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            name = path.rsplit("/", 1)[-1]
            if "blas" in name or "mkl" in name or "blis" in name:
                libraries.add(path)
    for needle, kind in BLAS_KINDS:
        for library in sorted(libraries):
            if needle in library:
                return {"kind": kind, "library": library}
    return {"kind": "none found", "library": ", ".join(sorted(libraries))}


def phased_pace(schedule, phase_steps):
    """Before each step: True to take it (counted in the phase it starts in), False to stop.
    Everyone sleeps for the first pauseMs of every phase (see PhaseSchedule in training-throughput.ts)."""
    start, length, pause, active = schedule["startAtMs"], schedule["phaseMs"], schedule["pauseMs"], schedule["active"]

    def more(_):
        while True:
            since_start = time.time() * 1000 - start
            phase = int(since_start // length)
            if phase >= len(active):
                return False
            into_phase = since_start - phase * length
            if phase >= 0 and active[phase] and into_phase >= pause:
                phase_steps[phase] += 1
                return True
            wake = start + phase * length + (pause if into_phase < pause else length + pause)
            time.sleep(max(0.0, (wake - time.time() * 1000) / 1000))

    return more


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            answer = measure(json.loads(line))
        except Exception as err:  # the bench prints it; a bad request must not hang it
            answer = {"error": f"{type(err).__name__}: {err}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
