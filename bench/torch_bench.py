#!/usr/bin/env python3
"""torch_bench.py - PyTorch beside dxc in bench/run.sh.

    python3 bench/torch_bench.py [--runs R] OUT ROW...

For each ROW (toy, mlp, gmm_adbench, lstm, spring) it reads the inputs the
benchmark driver wrote to OUT/ROW/inputs.txt ("drv dump": the flat vector
p of active parameters, each data array, then dxc's f and gradient at p),
builds the same model in PyTorch (float64, CPU, torch.set_num_threads(1)),
checks that its value and gradient agree with dxc's, and times

    f           the model under torch.no_grad()
    f+backward  the model with autograd, then .backward()

in R rounds (11 at least), each timing a loop of calls of each in turn,
the loop taking about 20 ms (one call when a call takes longer).  It
prints a line "check ROW ..." per model, then "ROW f_us ratio": the
median of f's microseconds per call, and the median over the rounds of
(f+backward) / f.  It exits 1 when a value or gradient disagrees.
"""
import argparse
import math
import sys
import time

import torch


def read_inputs(path):
    arrays = {}
    with open(path) as fp:
        lines = fp.read().split("\n")
    i = 0
    while i < len(lines) and lines[i]:
        name, n = lines[i].split()
        n = int(n)
        arrays[name] = torch.tensor([float(s) for s in lines[i + 1:i + 1 + n]],
                                    dtype=torch.float64)
        i += 1 + n
    return arrays


def split(p, shapes):
    """The flat vector p cut into tensors of the given shapes, in order."""
    out, at = [], 0
    for s in shapes:
        n = math.prod(s)
        out.append(p[at:at + n].reshape(s))
        at += n
    assert at == p.numel(), "the parameter layout does not match the dump"
    return out


# The models, as functions of the flat parameter vector p and the data.

def toy(p, d):
    x = p
    return ((torch.exp(torch.sin(x[:-1])) * x[1:]) ** 2).sum()


def mlp(p, d):
    W1, b1, W2, b2 = split(p, [(128, 784), (128,), (10, 128), (10,)])
    h = torch.relu(W1 @ d["x"] + b1)
    z = W2 @ h + b2
    return torch.logsumexp(z, 0) - torch.dot(d["y"], z)


def gmm_adbench(p, d):
    """ADBench's GMM objective (Srajer, Habib & Fitzgibbon 2018), as its
    PyTorch port writes it: Q_k from icf[k] (log-diagonal, then the strict
    lower triangle column by column), the log-likelihood by logsumexp over
    components, and the Wishart prior with its constant."""
    D, K, N = 10, 25, 100
    P = D * (D + 1) // 2
    alphas, means, icf = split(p, [(K,), (K, D), (K, P)])
    x = d["x"].reshape(N, D)
    gamma, m = d["gamma"].item(), d["m"].item()
    rows = [j for i in range(D) for j in range(i + 1, D)]
    cols = [i for i in range(D) for j in range(i + 1, D)]
    Qdiag = torch.exp(icf[:, :D])
    sum_qs = icf[:, :D].sum(1)
    L = torch.zeros(K, D, D, dtype=p.dtype)
    L[:, rows, cols] = icf[:, D:]
    Q = L + torch.diag_embed(Qdiag)
    xc = x[:, None, :] - means[None, :, :]               # N, K, D
    Qx = torch.einsum("kij,nkj->nki", Q, xc)
    main = alphas + sum_qs - 0.5 * (Qx ** 2).sum(2)      # N, K
    slse = torch.logsumexp(main, 1).sum()
    n = D + m + 1
    lmvgamma = 0.25 * D * (D - 1) * math.log(math.pi) + \
        sum(math.lgamma(0.5 * n + 0.5 * (1 - j)) for j in range(1, D + 1))
    C = n * D * (math.log(gamma) - 0.5 * math.log(2)) - lmvgamma
    frob = (Qdiag ** 2).sum(1) + (icf[:, D:] ** 2).sum(1)
    prior = (0.5 * gamma * gamma * frob - m * sum_qs).sum() - K * C
    return -0.5 * N * D * math.log(2 * math.pi) + slse - N * torch.logsumexp(alphas, 0) + prior


def lstm(p, d):
    T, H = 40, 32
    W, U, B = split(p, [(4, H), (4, H), (4, H)])
    X, Y = d["X"].reshape(T, H), d["Y"].reshape(T, H)
    h = torch.zeros(H, dtype=p.dtype)
    c = torch.zeros(H, dtype=p.dtype)
    loss = 0
    for t in range(T):
        ig = torch.sigmoid(W[0] * X[t] + U[0] * h + B[0])
        fg = torch.sigmoid(W[1] * X[t] + U[1] * h + B[1])
        og = torch.sigmoid(W[2] * X[t] + U[2] * h + B[2])
        g = torch.tanh(W[3] * X[t] + U[3] * h + B[3])
        c = fg * c + ig * g
        h = og * torch.tanh(c)
        loss = loss + torch.logsumexp(h, 0) - torch.dot(Y[t], h)
    return loss


def spring(p, d):
    k, c = p[0], p[1]
    x, v = d["x0"][0], d["v0"][0]
    dt = 0.001
    for _ in range(10000):
        a = -k * x - c * v
        x = x + dt * v
        v = v + dt * a
    return x


MODELS = {"toy": toy, "mlp": mlp, "gmm_adbench": gmm_adbench, "lstm": lstm, "spring": spring}


def calls_for(fn):
    """How many calls of fn take about 20 ms (at least 1)."""
    n = 1
    while True:
        t0 = time.monotonic()
        for _ in range(n):
            fn()
        t = time.monotonic() - t0
        if t >= 0.005:
            return max(1, math.ceil(n * 0.020 / t))
        n *= 2


def timed(fns, runs):
    """For each of fns, the median seconds per call over runs rounds that
    time a loop of each in turn, and the median over the rounds of its
    time over the first one's in the same round."""
    reps = [calls_for(fn) for fn in fns]
    per = [[] for _ in fns]
    for _ in range(runs):
        for i, fn in enumerate(fns):
            t0 = time.monotonic()
            for _ in range(reps[i]):
                fn()
            per[i].append((time.monotonic() - t0) / reps[i])
    ratios = [sorted(a / b for a, b in zip(per[i], per[0])) for i in range(len(fns))]
    return [(sorted(p)[runs // 2], r[runs // 2]) for p, r in zip(per, ratios)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=11)
    ap.add_argument("out")
    ap.add_argument("rows", nargs="+")
    args = ap.parse_args()
    torch.set_num_threads(1)
    runs = max(11, args.runs)
    bad = 0
    for row in args.rows:
        model = MODELS[row]
        d = read_inputs(f"{args.out}/{row}/inputs.txt")
        p0 = d["p"]

        p = p0.clone().requires_grad_(True)
        f = model(p, d)
        f.backward()
        g = p.grad
        f_err = abs(f.item() - d["f"].item()) / max(1.0, abs(d["f"].item()))
        g_err = ((g - d["grad"]).abs().max() / max(1.0, d["grad"].abs().max().item())).item()
        ok = f_err <= 1e-10 and g_err <= 1e-9
        bad += not ok
        print(f"check {row}: f {f.item():.17g}, |f - dxc's| {f_err:.2e}, "
              f"gradient max |difference| {g_err:.2e} (relative to max(1, |g|)) "
              f"{'ok' if ok else 'WRONG'}")

        def f_only():
            with torch.no_grad():
                return model(p0, d)

        def f_backward():
            q = p0.clone().requires_grad_(True)
            model(q, d).backward()
            return q.grad

        (tf, _), (_, ratio) = timed([f_only, f_backward], runs)
        print(f"{row} {tf * 1e6:.2f} {ratio:.3f}")
        sys.stdout.flush()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
