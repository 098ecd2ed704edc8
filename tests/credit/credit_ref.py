"""credit_ref.py - an independent numpy implementation of credit assignment
(issue 3), written from the formulas rather than from the C code. Used by
tests/credit/test_credit_numpy.py (correctness) and bench/credit_bench.sh (speed).

A batch is a list of dicts with the `pure credit` JSON fields: group, length,
eos, step_ends, step_rewards, verifiable (None = absent), kl (optional).
"""
import numpy as np


def suffix_sum(r, gamma):
    """G_t = sum_{t' >= t} gamma^(t'-t) r_t'."""
    if gamma == 1.0:
        return np.cumsum(r[::-1])[::-1]
    n = len(r)
    if n == 0:
        return r.copy()
    if gamma > 0 and n * -np.log(gamma) < 600:
        # scale by gamma^t so the discounted sum becomes a plain reverse cumsum
        p = gamma ** np.arange(n)
        return np.cumsum((r * p)[::-1])[::-1] / p
    out, s = np.empty(n), 0.0
    for t in range(n - 1, -1, -1):
        s = r[t] + gamma * s
        out[t] = s
    return out


def process_token_rewards(rule, rw, T):
    """Per-step values a linear rule places on step-end tokens."""
    if rule == "sum":
        return rw
    # min: softmax(-r / T) over the response's steps, times r
    z = -(rw - rw.min()) / T
    w = np.exp(z) / np.exp(z).sum()
    return w * rw


def returns_one(resp, rule, T, gamma, prm, vrc, klc):
    L = int(resp["length"])
    ends = np.asarray(resp.get("step_ends") or [], dtype=np.int64)
    rw = np.asarray(resp.get("step_rewards") or [], dtype=np.float64)
    r = np.zeros(L)
    if rule in ("min", "sum") and len(rw):
        np.add.at(r, ends, prm * process_token_rewards(rule, rw, T))
    v = resp.get("verifiable")
    if v is not None and L:
        r[L - 1] += vrc * v
    if resp.get("kl") is not None and klc:
        r -= klc * np.asarray(resp["kl"], dtype=np.float64)
    G = suffix_sum(r, gamma)
    if rule == "min-exact" and len(rw):
        # min over the steps ending at or after t: suffix minimum over steps,
        # indexed by the first step whose end is >= t
        smin = np.minimum.accumulate(rw[::-1])[::-1]
        first = np.searchsorted(ends, np.arange(L), side="left")
        P = np.where(first < len(rw), smin[np.minimum(first, len(rw) - 1)], 0.0)
        G = G + prm * P
    return G


def credit(batch, rule="min", T=0.1, gamma=1.0, baseline="rloo-token", max_length=0, whiten=False,
           prm=1.0, vrc=1.0, klc=0.0):
    """Returns (list of returns arrays, list of advantages arrays)."""
    rets = [returns_one(r, rule, T, gamma, prm, vrc, klc) for r in batch]
    first = np.array([g[0] if len(g) else 0.0 for g in rets])
    tot = np.array([g.sum() for g in rets])
    groups = np.array([r["group"] for r in batch])
    N = max_length if max_length > 0 else max(int(r["length"]) for r in batch)
    advs = []
    for i, g in enumerate(rets):
        mates = np.flatnonzero(groups == groups[i])
        others = mates[mates != i]
        K = len(mates)
        if baseline == "none":
            a = g
        elif baseline == "rloo-token":
            a = g - (tot[others].sum() / ((K - 1) * N) if N else 0.0)
        elif baseline == "rloo":
            a = g - first[others].mean()
        elif baseline == "grpo":
            a = (g - first[mates].mean()) / (first[mates].std(ddof=1) + 1e-6)
        else:
            raise ValueError(baseline)
        advs.append(np.asarray(a, dtype=np.float64))
    if whiten:
        flat = np.concatenate(advs)
        mean = flat.mean()
        var = flat.var(ddof=1) if len(flat) > 1 else 0.0
        advs = [(a - mean) / np.sqrt(var + 1e-8) for a in advs]
    return rets, advs


def random_batch(rng, n, group_size, min_len, max_len, max_steps, with_v=True, with_kl=False):
    """Random responses with ascending step ends, the last one at length-1."""
    batch = []
    for i in range(n):
        L = int(rng.integers(min_len, max_len + 1))
        s = min(int(rng.integers(0, max_steps + 1)), L)
        ends = []
        for j in range(s):
            lo, hi = j * L // s, (j + 1) * L // s
            ends.append(L - 1 if j == s - 1 else int(rng.integers(lo, hi)))
        resp = {"group": i // group_size, "length": L, "eos": bool(rng.random() < 0.8), "step_ends": ends,
                "step_rewards": [float(np.float32(x)) for x in rng.uniform(-1, 1, s)],
                "verifiable": float(rng.integers(0, 2)) if with_v and rng.random() < 0.7 else None}
        if with_kl:
            resp["kl"] = [float(np.float32(x)) for x in rng.normal(0, 0.1, L)]
        batch.append(resp)
    return batch
