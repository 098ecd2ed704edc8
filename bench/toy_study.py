"""toy_study.py - summarize bench/toy_study.sh's runs into docs/results.md, with the verdicts of
docs/results-criteria.md.

Usage: toy_study.py VARIANTS.tsv OUT.md TITLE
VARIANTS.tsv rows: variant, seed, run directory, pipeline (+ extra settings).
Everything comes from each run directory's metrics.jsonl (one JSON object per committed stage run: stage,
iteration, metrics, fingerprint); nothing is recomputed. A directory holds one variant (toy_study.sh copies the
seed's shared part into it), so its rows are that variant's.
"""
import json
import math
import os
import sys
from collections import defaultdict

import numpy as np

LOOP = ("rollout", "prm", "verify", "credit", "optimize", "eval")


def load_run(d):
    """{stage: metrics} for stages outside the loop, {stage: {iteration: metrics}} for loop stages."""
    path = os.path.join(d, "metrics.jsonl")
    if not os.path.exists(path):
        return None
    once, loop = {}, defaultdict(dict)
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            it = r.get("iteration")
            if it is None:
                once[r["stage"]] = r
            else:
                loop[r["stage"]][int(it)] = r
    return {"once": once, "loop": loop}


def g(m, key):
    v = m.get(key) if m else None
    return float(v) if isinstance(v, (int, float)) else math.nan


def summarize(run):
    o, L = run["once"], run["loop"]
    s = {}
    s["dev_acc"] = g(o.get("sft"), "dev_accuracy")
    s["sft_steps"] = g(o.get("sft"), "steps")
    for k in ("step_auc", "wrong_step_recall", "wrong_step_precision", "response_auc", "meets_bar",
              "wrong_all_pass_fraction", "answer_argmin_fraction", "correct_step_fraction",
              "first_error_recall", "first_error_precision", "processbench_f1"):
        s["prm_" + k] = g(o.get("prm_quality"), k)
    e0, fe = o.get("eval_sft"), o.get("final_eval")
    s["greedy0"], s["sampled0"] = g(e0, "accuracy"), g(e0, "sampled_accuracy")
    s["greedyF"], s["sampledF"] = g(fe, "accuracy"), g(fe, "sampled_accuracy")
    s["stepsF"], s["lenF"] = g(fe, "steps"), g(fe, "length")
    s["hackF"] = g(fe, "hack_flag")
    its = sorted(L.get("rollout", {}))
    s["iterations"] = len(its)
    s["iter"] = its
    s["steps"] = [g(L["rollout"].get(i), "steps") for i in its]
    s["length"] = [g(L["rollout"].get(i), "length") for i in its]
    s["reward"] = [g(L.get("prm", {}).get(i), "step_reward") for i in its]
    s["train_acc"] = [g(L.get("verify", {}).get(i), "accuracy") for i in its]
    s["kl"] = [g(L.get("credit", {}).get(i), "kl_token_mean") for i in its]
    s["outside_clip"] = [g(L.get("optimize", {}).get(i), "outside_clip_after") for i in its]
    ev = L.get("eval", {})
    s["eval_iters"] = sorted(ev)
    s["eval_greedy"] = [g(ev[i], "accuracy") for i in s["eval_iters"]]
    s["eval_sampled"] = [g(ev[i], "sampled_accuracy") for i in s["eval_iters"]]
    flags = [i for i in s["eval_iters"] if g(ev[i], "hack_flag") == 1]
    s["first_flag"] = flags[0] if flags else None
    return s


def ms(xs, digits=3):
    xs = np.asarray([x for x in xs if np.isfinite(x)], float)
    if len(xs) == 0:
        return "-"
    if len(xs) == 1:
        return f"{xs[0]:.{digits}f}"
    return f"{xs.mean():.{digits}f} ± {xs.std(ddof=1):.{digits}f}"


def mean(xs):
    xs = [x for x in xs if np.isfinite(x)]
    return float(np.mean(xs)) if xs else math.nan


def verdicts(by):
    """The criteria of docs/results-criteria.md, on whatever seeds are present; (claim, holds or None, why)."""
    out = []
    sm = by.get("sum", [])
    if sm:
        ok = 0
        for s in sm:
            st0 = s["steps"][0] if s["steps"] else math.nan
            grow = max(s["steps"][:10]) >= 1.5 * st0 if s["steps"] else False
            early = [a for i, a in zip(s["eval_iters"], s["eval_greedy"]) if i <= 9]
            drop = bool(early) and min(early) <= s["greedy0"] - 0.10
            ok += grow and drop
        out.append(("(a) sum-form collapses early", ok >= 0.8 * len(sm),
                    f"{ok} of {len(sm)} seeds have steps ≥ 1.5× start and greedy accuracy ≥ 0.10 below start by "
                    f"iteration 10 (needed: 80%)"))
    mn, vr, m10 = by.get("min", []), by.get("verifiable", []), by.get("min_vr10", [])
    if mn:
        gains = [s["sampledF"] - s["sampled0"] for s in mn]
        c1 = mean(gains) >= 0.03 and sum(x > 0 for x in gains) >= 0.8 * len(gains)
        c2 = None
        if vr:
            c2 = mean([s["sampledF"] for s in mn]) >= mean([s["sampledF"] for s in vr]) - 0.05
        worst = [min([a - s["greedy0"] for a in s["eval_greedy"] + [s["greedyF"]]]) for s in mn]
        c3 = all(w >= -0.10 for w in worst)
        holds = c1 and c3 and (c2 is not False)
        out.append(("(b) min-form with the learned PRM improves, comparably to verifiable, stably", holds,
                    f"sampled pass@1 gain {mean(gains):+.3f} (positive in {sum(x > 0 for x in gains)} of {len(gains)}"
                    f" seeds; needed ≥ +0.03 and 80%): {'yes' if c1 else 'no'}; within 0.05 of verifiable: "
                    f"{'-' if c2 is None else 'yes' if c2 else 'no'}; worst greedy fall below start "
                    f"{min(worst):+.3f} (needed ≥ -0.10): {'yes' if c3 else 'no'}"))
    if m10 and mn and vr:
        fin = {k: [s["sampledF"] for s in v] for k, v in (("min", mn), ("min_vr10", m10), ("verifiable", vr))}
        best_mean = max(fin, key=lambda k: mean(fin[k]))
        best_worst = max(fin, key=lambda k: min(fin[k]))
        holds = best_mean == "min_vr10" or best_worst == "min_vr10"
        out.append(("(c) PRM + 10% verifiable is the best or the most stable", holds,
                    f"highest mean final sampled pass@1: {best_mean} ({mean(fin[best_mean]):.3f}); highest worst "
                    f"seed: {best_worst} ({min(fin[best_worst]):.3f})"))
    lg = by.get("min_long", [])
    if lg:
        s = lg[0]
        acc = s["eval_greedy"]
        if acc:
            k = int(np.nanargmax(acc))
            peak_it = s["eval_iters"][k]
            r_peak = s["reward"][s["iter"].index(peak_it)] if peak_it in s["iter"] else math.nan
            r_end = s["reward"][-1] if s["reward"] else math.nan
            fell = acc[-1] <= acc[k] - 0.10
            holds = fell and r_end > r_peak and s["first_flag"] is not None
            out.append(("(d) PRM-only min-form eventually hacks", holds,
                        f"greedy accuracy peak {acc[k]:.3f} at iteration {peak_it}, end {acc[-1]:.3f}; process reward "
                        f"at the peak {r_peak:.3f}, at the end {r_end:.3f}; monitor first flag: {s['first_flag']}"))
    return out


def curve(series, width=60, height=8):
    pts = [y for ys in series.values() for y in ys if np.isfinite(y)]
    if not pts:
        return "(no data)"
    lo, hi = min(pts), max(pts)
    if hi - lo < 1e-9:
        hi = lo + 1
    n = max(len(ys) for ys in series.values())
    marks = "ox+*#@%&"
    grid = [[" "] * width for _ in range(height)]
    for k, (label, ys) in enumerate(series.items()):
        for i, y in enumerate(ys):
            if not np.isfinite(y):
                continue
            c = int(round(i * (width - 1) / max(1, n - 1)))
            r = int(round((y - lo) / (hi - lo) * (height - 1)))
            grid[height - 1 - r][c] = marks[k % len(marks)]
    lines = [f"{hi - (hi - lo) * r / (height - 1):8.3f} |" + "".join(row) for r, row in enumerate(grid)]
    lines.append("         +" + "-" * width)
    lines.append("          iteration 0 .. %d   " % (n - 1) +
                 "  ".join(f"{marks[k % len(marks)]} {lab}" for k, lab in enumerate(series)))
    return "\n".join(lines)


def main():
    rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
    out, title = sys.argv[2], sys.argv[3]
    by, seeds_of, pipe_of = defaultdict(list), defaultdict(list), {}
    for name, seed, d, pipe in rows:
        run = load_run(d)
        if not run or "final_eval" not in run["once"]:
            continue
        s = summarize(run)
        s["seed"] = seed
        by[name].append(s)
        seeds_of[name].append(seed)
        pipe_of[name] = pipe
    w = []
    w.append(f"# {title}\n")
    w.append("Generated by `bench/toy_study.sh` (bench/toy_study.py) from the runs' metrics.jsonl. The protocol, the "
             "rules that chose every setting and the criteria were written before these runs: "
             "docs/results-criteria.md. Mean ± sample standard deviation across seeds. Greedy and sampled "
             "(T = 1, 4 samples) pass@1: `start` = the SFT policy on the first 200 test problems, `final` = the last "
             "policy on all 500.\n")
    # the shared part, per seed
    seen, prm_rows = set(), []
    for name, ss in by.items():
        for s in ss:
            if s["seed"] in seen:
                continue
            seen.add(s["seed"])
            prm_rows.append(s)
    if prm_rows:
        w.append("## The shared part: SFT and the PRM's quality on held-out rollouts\n")
        w.append("| seed | SFT steps (stopped) | dev greedy at stop | test greedy start | test sampled start | "
                 "PRM step AUC | wrong-step recall | wrong-step precision | recall to the first error | "
                 "precision to the first error | ProcessBench F1 | response AUC | meets the bar | "
                 "wrong answers with no step flagged | correct responses whose min is the answer step |")
        w.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for s in sorted(prm_rows, key=lambda s: int(s["seed"])):
            w.append(f"| {s['seed']} | {s['sft_steps']:.0f} | {s['dev_acc']:.3f} | {s['greedy0']:.3f} | "
                     f"{s['sampled0']:.3f} | {s['prm_step_auc']:.3f} | {s['prm_wrong_step_recall']:.3f} | "
                     f"{s['prm_wrong_step_precision']:.3f} | {s['prm_first_error_recall']:.3f} | "
                     f"{s['prm_first_error_precision']:.3f} | {s['prm_processbench_f1']:.3f} | "
                     f"{s['prm_response_auc']:.3f} | "
                     f"{'yes' if s['prm_meets_bar'] == 1 else 'no'} | {s['prm_wrong_all_pass_fraction']:.3f} | "
                     f"{s['prm_answer_argmin_fraction']:.3f} |")
        w.append("")
    w.append("## Variants\n")
    w.append("| variant | pipeline | seeds | greedy start -> final | sampled start -> final | steps start -> final | "
             "process reward start -> end | KL end (k3/token) | monitor flagged (seeds) |")
    w.append("|---|---|---|---|---|---|---|---|---|")
    for name, ss in by.items():
        flagged = sum(s["first_flag"] is not None or s["hackF"] == 1 for s in ss)
        w.append(f"| {name} | `{pipe_of[name]}` | {', '.join(seeds_of[name])} | {ms([s['greedy0'] for s in ss])} -> "
                 f"{ms([s['greedyF'] for s in ss])} | {ms([s['sampled0'] for s in ss])} -> "
                 f"{ms([s['sampledF'] for s in ss])} | {ms([s['steps'][0] for s in ss if s['steps']], 2)} -> "
                 f"{ms([s['steps'][-1] for s in ss if s['steps']], 2)} | "
                 f"{ms([s['reward'][0] for s in ss if s['reward']])} -> {ms([s['reward'][-1] for s in ss if s['reward']])}"
                 f" | {ms([s['kl'][-1] for s in ss if s['kl']], 4)} | {flagged} of {len(ss)} |")
    w.append("")
    v = verdicts(by)
    if v:
        w.append("## Verdicts (docs/results-criteria.md)\n")
        w.append("| claim | holds | measured |")
        w.append("|---|---|---|")
        for claim, holds, why in v:
            w.append(f"| {claim} | {'**yes**' if holds else '**no**'} | {why} |")
        w.append("")
    w.append("## Per seed\n")
    w.append("| variant | seed | greedy start -> final | sampled start -> final | steps final | first monitor flag "
             "(iteration) | first update outside clip |")
    w.append("|---|---|---|---|---|---|---|")
    for name, ss in by.items():
        for s in ss:
            oc = s["outside_clip"][0] if s["outside_clip"] else math.nan
            w.append(f"| {name} | {s['seed']} | {s['greedy0']:.3f} -> {s['greedyF']:.3f} | {s['sampled0']:.3f} -> "
                     f"{s['sampledF']:.3f} | {s['stepsF']:.2f} | {s['first_flag']} | {oc:.4f} |")
    w.append("")
    for key, label in (("train_acc", "Sampled accuracy of each iteration's rollouts (train prompts, T = 1)"),
                       ("steps", "Steps per response of each iteration's rollouts"),
                       ("reward", "Mean process (PRM) step reward of each iteration's rollouts")):
        series = {}
        most = max(len(ss) for ss in by.values())
        for name, ss in by.items():
            if len(ss) < most:  # the curves are the variants every seed ran; one-seed ablations are in the tables
                continue
            n = min(len(s[key]) for s in ss)
            series[name] = [mean([s[key][i] for s in ss]) for i in range(n)]
        w.append(f"## {label}, mean over seeds\n\n```\n{curve(series)}\n```\n")
    with open(out, "w") as f:
        f.write("\n".join(w))


if __name__ == "__main__":
    main()
