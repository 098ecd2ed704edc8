"""prm_step_kinds.py - where a learned PRM is right and wrong on the held-out rollouts, by step kind, and what its
own LM knows: the LM's minimum token log-probability as a step and a response score.

Usage: /usr/bin/python3 bench/prm_step_kinds.py RUN_DIR [--lm MODEL_DIR --pure PURE_BINARY [--combine]]
Reads the latest stored runs (latest.json) of stages/prm_rollout, prm_scores (the PRM under test), prm_labels (the
exact checker) and prm_verify (answer correctness), the quickstart's layout.

Step kinds come from the step's text: an answer step holds "\\boxed"; an arithmetic step "a op b = r", true when r
is a op b, else a slip within 2 of the true result or a larger one; "other" is anything else. Each kind is split by
the checker's label and by whether an earlier step of the response was already wrong. For each, the share the PRM
scores above 0 (its "correct").

With --lm, the held-out responses are scored by `pure score` under that model (e.g. the PRM's base LM, prm_base's
policy) and the script prints the AUC of each step's minimum token log-probability against the checker's label, and
of each response's minimum against answer correctness: the same response AUC prm_eval reports for the PRM.

With --combine as well: what a PRM that reads both would reach. A logistic regression of the checker's step label on
(the PRM's step score, the LM's step minimum log-prob), fitted on the responses of half the prompts and measured on
the other half, then the halves swapped (2-fold, by prompt, so no prompt is in both); step AUC, wrong-step recall
and precision at probability 0.5, and the response AUC of each response's minimum, all on the held-out folds.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict

import h5py
import numpy as np


def latest(run, stage, name):
    path = os.path.join(run, "stages", stage, "latest.json")
    try:
        with open(path) as f:
            fp = json.load(f)["fingerprint"]
    except (OSError, KeyError, ValueError) as e:
        sys.exit(f"{path}: cannot read the stage's latest run ({e})")
    return os.path.join(run, "stages", stage, fp[:16], name)


def ragged(h, name):
    off, val = h[name + "/offsets"][:], h[name + "/values"][:]
    return [val[off[i]:off[i + 1]] for i in range(len(off) - 1)]


def auc(labels, scores):
    """P(score of a positive > score of a negative), ties counting half (Mann-Whitney)."""
    y, s = np.asarray(labels, bool), np.asarray(scores, float)
    pos, neg = s[y], s[~y]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    allv = np.concatenate([pos, neg])[order]
    ranks = np.empty(len(allv))
    i = 0
    while i < len(allv):  # average ranks over ties
        j = i
        while j + 1 < len(allv) and allv[j + 1] == allv[i]:
            j += 1
        ranks[i:j + 1] = (i + j) / 2 + 1
        i = j + 1
    r = np.empty(len(allv))
    r[order] = ranks
    return (r[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


ARITH = re.compile(rb"(-?\d+)\s*([-+*x])\s*(-?\d+)\s*=\s*(-?\d+)")


def kind(step):
    if b"boxed" in step:
        return "answer"
    m = ARITH.search(step)
    if not m:
        return "other"
    a, op, b, r = int(m[1]), m[2], int(m[3]), int(m[4])
    true = a + b if op == b"+" else a - b if op == b"-" else a * b
    if true == r:
        return "true arithmetic"
    return "slip within 2" if abs(true - r) <= 2 else "larger slip"


def logistic_fit(x, y, iters=50):
    """Newton's method for P(y) = sigmoid(x @ w) with an intercept column already in x; a small ridge keeps it
    finite on separable data."""
    w = np.zeros(x.shape[1])
    for _ in range(iters):
        p = 1 / (1 + np.exp(-(x @ w)))
        g = x.T @ (p - y) + 1e-6 * w
        h = (x * (p * (1 - p))[:, None]).T @ x + 1e-6 * np.eye(x.shape[1])
        step = np.linalg.solve(h, g)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return w


def combine(step_resp, step_prompt, step_y, feats, correct):
    """2-fold by prompt: fit on one half's steps, score the other's; returns held-out metrics."""
    x = np.column_stack([np.ones(len(step_y))] + feats)
    y = np.asarray(step_y, float)
    prompts = np.unique(step_prompt)
    rng = np.random.default_rng(0)
    half = set(rng.permutation(prompts)[:len(prompts) // 2].tolist())
    fold = np.array([p in half for p in step_prompt])
    prob = np.empty(len(y))
    ws = []
    for f in (True, False):
        w = logistic_fit(x[fold != f], y[fold != f])
        prob[fold == f] = 1 / (1 + np.exp(-(x[fold == f] @ w)))
        ws.append(w)
    wrong = y == 0
    flagged = prob < 0.5
    recall = (flagged & wrong).sum() / max(wrong.sum(), 1)
    precision = (flagged & wrong).sum() / max(flagged.sum(), 1)
    resp_min = defaultdict(lambda: 1.0)
    for r, q in zip(step_resp, prob):
        resp_min[r] = min(resp_min[r], q)
    rs = sorted(resp_min)
    return auc(step_y, prob), recall, precision, auc(correct[rs], [resp_min[r] for r in rs]), ws


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--lm", help="a model directory whose token log-probs to measure (pure score)")
    ap.add_argument("--pure", default="build/pure")
    ap.add_argument("--combine", action="store_true", help="with --lm: the PRM score and the LM log-prob together")
    a = ap.parse_args()

    with h5py.File(latest(a.run, "prm_rollout", "rollouts.h5"), "r") as h:
        texts = list(h["text"][:])
        step_bytes = ragged(h, "step_bytes")
        step_ends = ragged(h, "step_ends")
        prompts, tokens = ragged(h, "prompt_tokens"), ragged(h, "tokens")
    with h5py.File(latest(a.run, "prm_scores", "rewards.h5"), "r") as h:
        scores = ragged(h, "step_rewards")
    with h5py.File(latest(a.run, "prm_labels", "rewards.h5"), "r") as h:
        labels = ragged(h, "step_rewards")
    with h5py.File(latest(a.run, "prm_verify", "verifiable.h5"), "r") as h:
        correct = h["correct"][:].astype(bool)
    n = len(texts)
    if not (len(scores) == len(labels) == len(step_bytes) == len(correct) == n):
        sys.exit(f"{a.run}: the stages disagree on the number of responses")

    table = defaultdict(lambda: [0, 0])
    for i in range(n):
        t = texts[i] if isinstance(texts[i], bytes) else texts[i].encode()
        if not (len(scores[i]) == len(labels[i]) == len(step_bytes[i])):
            sys.exit(f"{a.run}: response {i}: the stages disagree on its number of steps")
        start, seen_error = 0, False
        for end, s, lab in zip(step_bytes[i], scores[i], labels[i]):
            k = (kind(t[start:end]), "right" if lab > 0 else "wrong", "after an error" if seen_error else "")
            table[k][0] += 1
            table[k][1] += int(s > 0)
            seen_error |= lab <= 0
            start = end
    print(f"{a.run}: {n} responses, {sum(v[0] for v in table.values())} steps")
    print(f"{'step kind':18s} {'checker':8s} {'':15s} {'n':>6s}  PRM scores > 0")
    for k in sorted(table):
        c, p = table[k]
        print(f"{k[0]:18s} {k[1]:8s} {k[2]:15s} {c:6d}  {p / c:.2f}")

    if a.lm:
        with tempfile.TemporaryDirectory() as d:
            src, out = os.path.join(d, "in.jsonl"), os.path.join(d, "lp.h5")
            with open(src, "w") as f:
                for p, t in zip(prompts, tokens):
                    f.write(json.dumps({"tokens": [int(x) for x in np.concatenate([p, t])]}) + "\n")
            subprocess.run([a.pure, "score", "--model", a.lm, "--input", src, "--output", out], check=True,
                           stdout=subprocess.DEVNULL)
            with h5py.File(out, "r") as h:
                lp = ragged(h, "logprobs")
        with h5py.File(latest(a.run, "prm_rollout", "rollouts.h5"), "r") as h:
            prompt_of = h["prompt_index"][:] if "prompt_index" in h else np.arange(n)
        step_y, step_s, resp_s, step_prm, step_resp = [], [], [], [], []
        for i in range(n):
            p, start, mins = len(prompts[i]), 0, []
            for j, end in enumerate(step_ends[i]):
                # the step is response tokens start..end (step_ends is inclusive); log-prob value q predicts
                # token q + 1 of prompt + response, so response token t is value p + t - 1
                seg = lp[i][p + start - 1:p + end]
                mins.append(float(seg.min()) if len(seg) else 0.0)
                step_y.append(labels[i][j] > 0)
                step_s.append(mins[-1])
                step_prm.append(float(scores[i][j]))
                step_resp.append(i)
                start = end + 1
            resp_s.append(min(mins) if mins else 0.0)
        print(f"{a.lm}: minimum token log-prob: step AUC {auc(step_y, step_s):.3f} (against the checker), "
              f"response AUC {auc(correct, resp_s):.3f} (against answer correctness)")
        if a.combine:
            step_prompt = [int(prompt_of[i]) for i in step_resp]
            for name, feats in (("PRM score alone", [step_prm]), ("LM min log-prob alone", [step_s]),
                                ("PRM score + LM min log-prob", [step_prm, step_s])):
                sa, rec, prec, ra, ws = combine(step_resp, step_prompt, step_y, [np.asarray(f) for f in feats],
                                                correct)
                print(f"combined, {name} (2-fold by prompt, held out): step AUC {sa:.3f}, wrong-step recall "
                      f"{rec:.3f} at precision {prec:.3f}, response AUC {ra:.3f}; weights "
                      + " / ".join(np.array2string(w, precision=3) for w in ws))


if __name__ == "__main__":
    main()
