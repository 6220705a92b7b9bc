#!/usr/bin/env python3
"""PyTorch peer for bench/train_throughput.sh: the same uncoded training step
(gather a minibatch, forward, softmax cross-entropy, backward, SGD with momentum)
for the same model, timed the same way. Prints one JSON object.

--model is an MLP chain (784-256-10) or a codedtrain cnn string with its input
shape (cnn:1x28x28:c6k5p2-r-m2-c16k5-r-m2-f120-r-f84-r-10, docs/models.md),
built as the torch.nn.Sequential of the same modules. --threads sets torch's
intra-op threads; OpenBLAS's own pool follows OPENBLAS_NUM_THREADS.

usage: torch_mlp.py --model 784-256-10 --batch 256 --steps 300 --threads 2 --device cpu
"""
import re
import argparse
import json
import sys
import time

try:
    import torch
except ImportError:
    print(json.dumps({"skipped": "torch is not importable"}))
    sys.exit(0)


def cnn_layers(spec):
    """torch modules of a codedtrain cnn:CxHxW:TOKENS string (docs/models.md)."""
    shape, tokens = spec[4:].split(":")
    c, h, w = (int(v) for v in shape.split("x"))
    layers, spatial, feat = [], True, None
    for tok in tokens.split("-"):
        m = re.fullmatch(r"c(\d+)((?:[kps]\d+)*)", tok)
        if m:
            opt = dict((o[0], int(o[1:])) for o in re.findall(r"[kps]\d+", m.group(2)))
            k, p, s = opt.get("k", 3), opt.get("p", 0), opt.get("s", 1)
            layers.append(torch.nn.Conv2d(c, int(m.group(1)), k, stride=s, padding=p))
            c, h, w = int(m.group(1)), (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
            continue
        m = re.fullmatch(r"([ma])(\d+)(?:s(\d+))?", tok)
        if m:
            k = int(m.group(2))
            s = int(m.group(3)) if m.group(3) else k
            layers.append((torch.nn.MaxPool2d if m.group(1) == "m" else torch.nn.AvgPool2d)(k, stride=s))
            h, w = (h - k) // s + 1, (w - k) // s + 1
            continue
        if tok == "r":
            layers.append(torch.nn.ReLU())
            continue
        n = int(tok[1:] if tok.startswith("f") else tok)
        if spatial:
            layers.append(torch.nn.Flatten())
            feat, spatial = c * h * w, False
        layers.append(torch.nn.Linear(feat, n))
        feat = n
    return layers, (int(shape.split("x")[0]), int(shape.split("x")[1]), int(shape.split("x")[2])), feat


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="784-256-10")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--n", type=int, default=60000)
    a = ap.parse_args()

    if a.device == "cuda" and not torch.cuda.is_available():
        print(json.dumps({"skipped": "torch sees no CUDA device"}))
        return
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    if a.model.startswith("cnn:"):
        layers, in_shape, classes = cnn_layers(a.model)
    else:
        sizes = [int(s) for s in a.model.split("-")]
        layers = []
        for i in range(len(sizes) - 1):
            layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
            if i + 2 < len(sizes):
                layers.append(torch.nn.ReLU())
        in_shape, classes = (sizes[0],), sizes[-1]
    dev = torch.device(a.device)
    model = torch.nn.Sequential(*layers).to(dev)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    # data stays on the host like codedtrain's: each step gathers a minibatch and copies it over
    x_all = torch.randn(a.n, *in_shape)
    y_all = torch.randint(0, classes, (a.n,))

    def step(i):
        idx = torch.randint(0, a.n, (a.batch,))
        xb = x_all[idx].to(dev, non_blocking=False)
        yb = y_all[idx].to(dev)
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        return loss.item()  # one host sync per step, as codedtrain reads its loss

    for i in range(a.warmup):
        step(i)
    t0 = time.perf_counter()
    for i in range(a.steps):
        step(i)
    dt = time.perf_counter() - t0
    print(json.dumps({"peer": "pytorch " + torch.__version__, "device": a.device, "threads": a.threads,
                      "model": a.model, "batch": a.batch, "steps": a.steps,
                      "samples_per_s": a.steps * a.batch / dt}))


if __name__ == "__main__":
    main()
