"""compare_runs.py RUN_A RUN_B - the committed artifacts of two run directories are identical.

Compares every committed file under stages/ (done.json and latest.json aside,
they hold timings): plain files byte for byte, HDF5 files dataset by dataset
and attribute by attribute, except pure_wall_time (the start time, which
differs between runs by design). Also checks that metrics.jsonl holds the same
lines, none twice, apart from order. Exit 0 when identical, 1 otherwise.
"""
import os
import sys

import h5py
import numpy as np


def committed(root):
    out = {}
    for d, _, files in os.walk(os.path.join(root, "stages")):
        parts = os.path.relpath(d, root).split(os.sep)
        if any(p.endswith(".tmp") or p.endswith(".scratch") for p in parts):
            out.setdefault("__uncommitted__", []).append(d)
            continue
        for f in files:
            if f in ("done.json", "latest.json"):
                continue
            out[os.path.relpath(os.path.join(d, f), root)] = os.path.join(d, f)
    return out


def h5_items(path):
    items = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            for k, v in obj.attrs.items():
                if k != "pure_wall_time":
                    items["attr:%s@%s" % (name, k)] = v
            if isinstance(obj, h5py.Dataset):
                items["data:" + name] = (obj.dtype.str, obj[()])
        visit("/", f)
        f.visititems(visit)
    return items


def same(a, b):
    if isinstance(a, tuple):
        return a[0] == b[0] and np.array_equal(np.asarray(a[1]), np.asarray(b[1]))
    return np.array_equal(np.asarray(a), np.asarray(b))


def main(a, b):
    fa, fb = committed(a), committed(b)
    bad = []
    if "__uncommitted__" in fb:
        bad.append("uncommitted leftovers in %s: %s" % (b, fb["__uncommitted__"]))
    if set(fa) != set(fb):
        bad.append("different files: only in A %s, only in B %s" % (sorted(set(fa) - set(fb))[:5], sorted(set(fb) - set(fa))[:5]))
    for rel in sorted(set(fa) & set(fb)):
        if rel.endswith(".h5"):
            ia, ib = h5_items(fa[rel]), h5_items(fb[rel])
            if set(ia) != set(ib) or any(not same(ia[k], ib[k]) for k in ia):
                bad.append("HDF5 content differs: " + rel)
        elif open(fa[rel], "rb").read() != open(fb[rel], "rb").read():
            bad.append("bytes differ: " + rel)
    ma = open(os.path.join(a, "metrics.jsonl")).read().splitlines()
    mb = open(os.path.join(b, "metrics.jsonl")).read().splitlines()
    if len(set(mb)) != len(mb):
        bad.append("duplicate lines in %s/metrics.jsonl" % b)
    if sorted(ma) != sorted(mb):
        bad.append("metrics.jsonl differ (%d vs %d lines)" % (len(ma), len(mb)))
    for m in bad:
        print("compare_runs:", m)
    print("compare_runs: %d files compared, %s" % (len(fa), "identical" if not bad else "DIFFERENT"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
