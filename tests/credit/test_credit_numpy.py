"""test_credit_numpy.py - `pure credit` (the credit_cli test binary) against the
independent numpy implementation in credit_ref.py, on random batches: every rule
(built-in and the shipped min.lua/sum.lua) x every baseline, with and without
whitening, discounting, verifiable rewards and KL.
usage: test_credit_numpy.py CREDIT_CLI SOURCE_DIR"""
import itertools
import json
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import credit_ref  # noqa: E402

cli, src = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(1234)
failures, runs = 0, 0
worst = 0.0

rules = ["min", "min-exact", "sum", "lua/rules/min.lua", "lua/rules/sum.lua"]
baselines = ["rloo-token", "rloo", "grpo", "none"]
for k, (rule, baseline) in enumerate(itertools.product(rules, baselines)):
    whiten = k % 2 == 1
    gamma = 1.0 if k % 3 else 0.9
    T = [0.1, 0.5, 0.02][k % 3]
    max_length = 400 if k % 4 == 3 else 0
    batch = credit_ref.random_batch(rng, n=48, group_size=4, min_len=1, max_len=300, max_steps=10,
                                    with_v=True, with_kl=k % 2 == 0)
    kl_coef = 0.05 if k % 2 == 0 else 0.0
    args = [cli, "--rule", os.path.join(src, rule) if rule.endswith(".lua") else rule, "--baseline", baseline,
            "--temperature", str(T), "--gamma", str(gamma), "--max-length", str(max_length),
            "--prm-coef", "1.5", "--vr-coef", "0.5", "--kl-coef", str(kl_coef)] + (["--whiten"] if whiten else [])
    p = subprocess.run(args, input=json.dumps({"responses": batch}), capture_output=True, text=True)
    runs += 1
    if p.returncode != 0:
        print(f"FAIL {rule} {baseline}: exit {p.returncode}: {p.stderr}")
        failures += 1
        continue
    out = json.loads(p.stdout)["responses"]
    ref_rule = {"lua/rules/min.lua": "min", "lua/rules/sum.lua": "sum"}.get(rule, rule)
    rets, advs = credit_ref.credit(batch, ref_rule, T, gamma, baseline, max_length, whiten, 1.5, 0.5, kl_coef)
    d = 0.0
    for o, r, a in zip(out, rets, advs):
        if len(o["returns"]) != len(r) or len(o["advantages"]) != len(a):
            d = float("inf")
            break
        if len(r):
            scale = max(1.0, np.abs(r).max(), np.abs(a).max())
            d = max(d, np.abs(np.array(o["returns"]) - r).max() / scale,
                    np.abs(np.array(o["advantages"]) - a).max() / scale)
    worst = max(worst, d)
    ok = d < 2e-6
    failures += not ok
    print(f"{'ok  ' if ok else 'FAIL'} rule={rule:18s} baseline={baseline:10s} whiten={int(whiten)} gamma={gamma} "
          f"T={T} kl={kl_coef}: max rel diff {d:.2e}")
print(f"{runs - failures}/{runs} configurations match numpy (worst {worst:.2e})")
sys.exit(1 if failures else 0)
