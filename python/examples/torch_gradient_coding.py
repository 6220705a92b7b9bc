"""Gradient coding for any PyTorch model, with codedtrain's codes.

The minibatch is split into the k data partitions of a codedtrain code; each
simulated worker computes the gradients of the partitions the code assigns it
and sends its coded messages (rows of code.encoding times the partition
gradients); a straggler pattern drops s workers per step; the master's
gradient is decoded by codedtrain from the workers that arrived and checked
against the uncoded gradient of the whole minibatch before the update.

    python3 examples/torch_gradient_coding.py [--code cyclic] [--workers 6] [--stragglers 2]
"""
import argparse
import sys

import numpy as np
import torch

import codedtrain


def flat_grad(model):
    return torch.cat([p.grad.reshape(-1) for p in model.parameters()])


def set_grad(model, g):
    off = 0
    for p in model.parameters():
        n = p.numel()
        p.grad = g[off:off + n].reshape(p.shape).clone()
        off += n


def synthetic(n, dim, classes, seed, split):
    """Gaussian classes: means from the seed, samples from (seed, split)."""
    means = 0.6 * torch.randn(classes, dim, generator=torch.Generator().manual_seed(seed))
    g = torch.Generator().manual_seed(seed * 1000 + split)
    y = torch.randint(0, classes, (n,), generator=g)
    x = means[y] + torch.randn(n, dim, generator=g)
    return x, y


def run(code_name="cyclic", workers=6, stragglers=2, epochs=3, batch=120, seed=1, steps=None, log=print):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    code = codedtrain.Code(code_name, n=workers, s=stragglers, seed=seed)
    B = torch.tensor(code.encoding, dtype=torch.float64)       # messages x partitions
    sender = code.message_worker                                 # worker of each message
    k = code.k
    if batch % k:
        batch += k - batch % k                                   # b/k samples per partition
    x, y = synthetic(6000, 20, 5, seed, 0)
    xt, yt = synthetic(1000, 20, 5, seed, 1)
    model = torch.nn.Sequential(torch.nn.Linear(20, 32), torch.nn.ReLU(), torch.nn.Linear(32, 5))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss(reduction="sum")
    worst, done = 0.0, 0
    for epoch in range(1, epochs + 1):
        perm = torch.randperm(len(x))
        for start in range(0, len(x) - batch + 1, batch):
            idx = perm[start:start + batch]
            # per-partition gradients g_j (each the slice's share of the minibatch mean gradient)
            G = []
            for part in idx.reshape(k, -1):
                model.zero_grad()
                (loss_fn(model(x[part]), y[part]) / batch).backward()
                G.append(flat_grad(model).double())
            G = torch.stack(G)                                   # k x P
            # every worker's messages: rows of the encoding matrix times G (workers
            # only ever touch the partitions code.assignment gives them: zeros elsewhere)
            Y = B @ G                                            # messages x P
            # stragglers: s workers chosen at random never answer this step
            late = set(rng.choice(workers, size=stragglers, replace=False).tolist()) if stragglers else set()
            arrived = [w for w in range(workers) if w not in late]
            a, residual = code.decode(arrived)
            a = torch.tensor(a, dtype=torch.float64)
            assert all(a[r] == 0 for r in range(len(a)) if sender[r] in late), "a straggler's message was used"
            g_hat = a @ Y
            g_true = G.sum(0)                                    # the uncoded minibatch gradient
            err = float((g_hat - g_true).norm() / g_true.norm())
            worst = max(worst, err)
            set_grad(model, g_hat.float())
            opt.step()
            done += 1
            if steps and done >= steps:
                break
        with torch.no_grad():
            acc = float((model(xt).argmax(1) == yt).float().mean())
        log(f"epoch {epoch}: test accuracy {acc:.4f}, decoded vs uncoded gradient: worst relative error {worst:.2e}")
        if steps and done >= steps:
            break
    return {"code": code_name, "exact": code.exact, "worst_rel_error": worst, "test_acc": acc, "steps": done}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--code", default="cyclic")
    ap.add_argument("--workers", type=int, default=6)
    ap.add_argument("--stragglers", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=3)
    args = ap.parse_args(argv)
    r = run(args.code, args.workers, args.stragglers, args.epochs)
    ok = not r["exact"] or r["worst_rel_error"] < 1e-5
    print(f"{r['code']} (n={args.workers}, s={args.stragglers}, {'exact' if r['exact'] else 'approximate'}): "
          f"{r['steps']} steps, every decoded gradient within {r['worst_rel_error']:.1e} of the uncoded one; "
          f"test accuracy {r['test_acc']:.4f}" + ("" if ok else "  FAIL: an exact code decoded inexactly"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
