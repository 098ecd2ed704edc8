"""compat_util.py - what the tests/compat scripts share: running pure, reading its HDF5
output, and the failure list every script prints before exiting non-zero."""
import json
import os
import subprocess
import sys

import h5py
import numpy as np


class Failures:
    """Collects failed checks; each script ends with done(), which exits 1 if any failed."""

    def __init__(self, name):
        self.name, self.items, self.checks = name, [], 0

    def check(self, ok, what):
        self.checks += 1
        if not ok:
            self.items.append(what)
            print("FAIL: " + what, flush=True)
        return ok

    def done(self):
        print("%s: %d checks, %d failed" % (self.name, self.checks, len(self.items)))
        if self.items:
            print("%s: FAILED:\n  %s" % (self.name, "\n  ".join(self.items)))
            sys.exit(1)
        if self.checks == 0:
            print("%s: no check ran" % self.name)
            sys.exit(1)


def run(cmd, **kw):
    """Runs a command; a non-zero exit is an error that shows its stderr."""
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError("%s exited %d:\n%s%s" % (" ".join(cmd), r.returncode, r.stdout[-2000:], r.stderr[-4000:]))
    return r.stdout


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


def read_ragged(path, name):
    """One ragged dataset of a pure HDF5 artifact as a list of numpy arrays."""
    with h5py.File(path, "r") as f:
        v, off = f[name]["values"][()], f[name]["offsets"][()]
    return [v[off[i]:off[i + 1]] for i in range(len(off) - 1)]


def pure_score(pure, model_dir, seqs, tmp, tag):
    """pure score over token sequences: (logprobs or probs list, tokens list)."""
    inp, out = os.path.join(tmp, tag + ".jsonl"), os.path.join(tmp, tag + ".h5")
    write_jsonl(inp, [{"tokens": [int(t) for t in s]} for s in seqs])
    run([pure, "score", "--model", model_dir, "--input", inp, "--output", out, "--threads", "1"])
    with h5py.File(out, "r") as f:
        key = "probs" if "probs" in f else "logprobs"
    return read_ragged(out, key), read_ragged(out, "tokens")


def pure_greedy(pure, model_dir, prompts, new, tmp, tag):
    """pure generate, greedy, no eos stop: the new tokens of each prompt."""
    inp = os.path.join(tmp, tag + ".jsonl")
    write_jsonl(inp, [{"tokens": [int(t) for t in p]} for p in prompts])
    out = run([pure, "generate", "--model", model_dir, "--prompts", inp, "--max-new-tokens", str(new),
               "--temperature", "0", "--no-eos", "--threads", "1"])
    rows = [json.loads(l) for l in out.splitlines() if l.strip()]
    rows.sort(key=lambda r: r["index"])
    return [r["tokens"] for r in rows]


def max_abs(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b))) if a.size else 0.0
