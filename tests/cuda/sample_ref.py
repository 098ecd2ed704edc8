"""sample_ref.py - an independent numpy implementation of the sampling rule of
model/cuda/cuda.h (sort-based where the C code bisects), for test_cuda_host.

usage: sample_ref.py IN OUT
IN : int32 n, V, top_k; float32 temperature, top_p; float32 logits (n, V);
     float64 u (n) (the rng_uniform_double draw of each row)
OUT: int32 tokens (n); float64 kept probabilities of row 0 (V), renormalised
"""
import sys
import numpy as np

def main():
    raw = open(sys.argv[1], "rb").read()
    n, V, k = np.frombuffer(raw, np.int32, 3, 0)
    T, p = np.frombuffer(raw, np.float32, 2, 12)
    off = 20
    logits = np.frombuffer(raw, np.float32, n * V, off).reshape(n, V).astype(np.float64)
    off += 4 * n * V
    u = np.frombuffer(raw, np.float64, n, off)
    toks, probs0 = [], None
    for r in range(n):
        x = logits[r]
        if T <= 0:
            toks.append(int(np.argmax(x)))
            continue
        w = np.exp((x - x.max()) / np.float64(T))
        keep = np.ones(V, bool)
        if 0 < k < V:
            kth = np.sort(x)[::-1][k - 1]          # the k-th largest logit; ties kept
            keep &= x >= kth
        if 0 < p < 1:
            need = np.float64(p) * w[keep].sum()
            order = np.argsort(-x[keep], kind="stable")
            xs, ws = x[keep][order], w[keep][order]
            cum = np.cumsum(ws)
            ends = np.searchsorted(-xs, -xs, side="right") - 1   # last index of each tie group
            first = int(np.argmax(cum[ends] >= need * (1 - 1e-12)))  # the largest threshold reaching the mass
            keep &= x >= xs[first]
        wk = np.where(keep, w, 0.0)
        cdf = np.cumsum(wk)
        tok = int(np.searchsorted(cdf, u[r] * cdf[-1], side="right"))
        toks.append(min(tok, V - 1))
        if r == 0:
            probs0 = wk / cdf[-1]
    if probs0 is None:
        probs0 = np.zeros(V)
    with open(sys.argv[2], "wb") as f:
        f.write(np.asarray(toks, np.int32).tobytes())
        f.write(np.asarray(probs0, np.float64).tobytes())

main()
