#!/usr/bin/env python3
"""PyTorch peer for bench/train_throughput.sh: the same uncoded training step
(gather a minibatch, forward, softmax cross-entropy, backward, SGD with momentum)
for the same MLP, timed the same way. Prints one JSON object.

usage: torch_mlp.py --model 784-256-10 --batch 256 --steps 300 --threads 2 --device cpu
"""
import argparse
import json
import sys
import time

try:
    import torch
except ImportError:
    print(json.dumps({"skipped": "torch is not importable"}))
    sys.exit(0)


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
    sizes = [int(s) for s in a.model.split("-")]
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i + 2 < len(sizes):
            layers.append(torch.nn.ReLU())
    dev = torch.device(a.device)
    model = torch.nn.Sequential(*layers).to(dev)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    # data stays on the host like codedtrain's: each step gathers a minibatch and copies it over
    x_all = torch.randn(a.n, sizes[0])
    y_all = torch.randint(0, sizes[-1], (a.n,))

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
