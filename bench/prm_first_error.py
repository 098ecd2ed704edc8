"""prm_first_error.py - the PRM's quality up to each response's first error, recomputed from a run directory's
stored artifacts, independently of the prm_eval stage (a second implementation to check it against).

Usage: /usr/bin/python3 bench/prm_first_error.py RUN_DIR [RUN_DIR ...]
Reads stages/prm_scores (the PRM under test), stages/prm_labels (the exact checker) and stages/prm_verify (answer
correctness) of the quickstart's layout; a run directory holding several stored runs of one stage is refused.
Prints per run: step AUC, wrong-step recall and precision at threshold 0 on the steps up to and including each
response's first wrong one; ProcessBench's accuracies on erroneous and error-free responses and their F1; the
response AUC of the min step score.
"""
import glob
import os
import sys

import h5py
import numpy as np


def one(d, stage, name):
    hits = glob.glob(os.path.join(d, "stages", stage, "*", name))
    if len(hits) != 1:
        sys.exit(f"{d}: expected one stored {stage}/*/{name}, found {len(hits)}")
    return hits[0]


def ragged(path):
    with h5py.File(path, "r") as h:
        off, val = h["step_rewards/offsets"][:], h["step_rewards/values"][:]
    return [val[off[i]:off[i + 1]] for i in range(len(off) - 1)]


def auc(pos, neg):
    pos, neg = np.asarray(pos), np.asarray(neg)
    if not len(pos) or not len(neg):
        return float("nan")
    return ((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()) / (len(pos) * len(neg))


def measure(d):
    scores = ragged(one(d, "prm_scores", "rewards.h5"))
    labels = ragged(one(d, "prm_labels", "rewards.h5"))
    with h5py.File(one(d, "prm_verify", "verifiable.h5"), "r") as h:
        correct = h["correct"][:]
    pos, neg, tp, flagged, wrong = [], [], 0, 0, 0
    err_n = err_hit = ok_n = ok_hit = 0
    mins, cor = [], []
    for i, (s, l) in enumerate(zip(scores, labels)):
        if not len(s):
            continue
        mins.append(s.min())
        cor.append(correct[i])
        bad = np.nonzero(l <= 0)[0]
        first_err = bad[0] if len(bad) else -1
        flags = np.nonzero(s < 0)[0]
        first_flag = flags[0] if len(flags) else -1
        for t in range(len(s) if first_err < 0 else first_err + 1):
            ok = l[t] > 0
            (pos if ok else neg).append(s[t])
            tp += (not ok) and s[t] < 0
            flagged += s[t] < 0
            wrong += not ok
        if first_err >= 0:
            err_n += 1
            err_hit += first_flag == first_err
        else:
            ok_n += 1
            ok_hit += first_flag < 0
    ea, ca = err_hit / err_n, ok_hit / ok_n
    mins, cor = np.array(mins), np.array(cor)
    return {"first_error_step_auc": auc(pos, neg), "first_error_recall": tp / wrong,
            "first_error_precision": tp / flagged, "processbench_error_acc": ea, "processbench_correct_acc": ca,
            "processbench_f1": 2 * ea * ca / (ea + ca) if ea + ca else 0.0,
            "response_auc": auc(mins[cor == 1], mins[cor == 0])}


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for d in sys.argv[1:]:
        try:
            m = measure(d)
        except (OSError, KeyError, ValueError, IndexError, ZeroDivisionError) as e:
            sys.exit(f"{d}: not a run directory with readable prm_scores, prm_labels and prm_verify artifacts: {e}")
        print(d + ": " + " ".join(f"{k} {v:.3f}" for k, v in m.items()))
