"""credit_bench.py - times the numpy reference (tests/credit/credit_ref.py) on the
batches bench/credit_bench.c wrote, best of 3, one BLAS thread.
usage: credit_bench.py SOURCE_DIR OUT_DIR; prints `numpy RULE BATCH MS` lines."""
import json
import os
import sys
import time

src, out = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(src, "tests", "credit"))
import credit_ref  # noqa: E402


def best_ms(fn, reps=3):
    cpu = wall = float("inf")
    for _ in range(reps):
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        cpu = min(cpu, (time.process_time() - c0) * 1e3)
        wall = min(wall, (time.perf_counter() - w0) * 1e3)
    return cpu, wall


for batch_name, rules in (("big", ["min", "min-exact", "sum"]), ("lua", ["min"])):
    with open(os.path.join(out, batch_name + ".json")) as f:
        batch = json.load(f)["responses"]
    for rule in rules:
        cpu, wall = best_ms(lambda: credit_ref.credit(batch, rule, 0.1, 1.0, "rloo-token"))
        print(f"numpy {rule} {batch_name} {cpu:.3f} {wall:.3f}", flush=True)
