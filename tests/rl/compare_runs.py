"""compare_runs.py - are two run directories' committed artifacts the same?

Usage: compare_runs.py RUN_A RUN_B
Walks RUN_A/stages/**/done.json, finds the same committed directory (same
stage, iteration and fingerprint) in RUN_B, and compares every output: HDF5
files dataset by dataset (values, dtypes, shapes; attributes that record wall
time are ignored), other files byte for byte. Exits 1 listing the differences.
"""
import os
import sys

import h5py
import numpy as np

TIME_ATTRS = {"wall_time", "wall_seconds", "created", "time", "elapsed", "started", "finished"}


def h5_items(path):
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out[name] = obj[()]
        f.visititems(visit)
        attrs = {k: f.attrs[k] for k in f.attrs if k not in TIME_ATTRS and "time" not in k}
    return out, attrs


def same_value(a, b):
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        if a.dtype != b.dtype or a.shape != b.shape:
            return False
        return np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")  # NaN marks "no value", e.g. no process reward
    return a == b if not isinstance(a, np.ndarray) else False


def compare_h5(pa, pb, diffs):
    da, aa = h5_items(pa)
    db, ab = h5_items(pb)
    if set(da) != set(db):
        diffs.append(f"{pa}: datasets differ: {sorted(set(da) ^ set(db))}")
        return
    for k in da:
        if not same_value(da[k], db[k]):
            diffs.append(f"{pa}: dataset {k} differs")
    for k in aa:
        v = ab.get(k)
        if v is None or not np.array_equal(np.asarray(aa[k]), np.asarray(v)):
            diffs.append(f"{pa}: attribute {k} differs ({aa[k]!r} vs {v!r})")


def main():
    a, b = sys.argv[1], sys.argv[2]
    diffs, n = [], 0
    for root, dirs, files in os.walk(os.path.join(a, "stages")):
        if "done.json" not in files:
            continue
        rel = os.path.relpath(root, a)
        other = os.path.join(b, rel)
        if not os.path.isdir(other):
            diffs.append(f"{rel}: missing in {b}")
            continue
        for r2, _, fs in os.walk(root):
            for name in fs:
                if name == "done.json":
                    continue
                pa = os.path.join(r2, name)
                pb = os.path.join(other, os.path.relpath(pa, root))
                n += 1
                if not os.path.exists(pb):
                    diffs.append(f"{pb}: missing")
                elif name.endswith(".h5"):
                    compare_h5(pa, pb, diffs)
                elif open(pa, "rb").read() != open(pb, "rb").read():
                    diffs.append(f"{pa}: bytes differ from {pb}")
    for d in diffs:
        print(d)
    print(f"compared {n} files: {len(diffs)} differences")
    sys.exit(1 if diffs or n == 0 else 0)


if __name__ == "__main__":
    main()
