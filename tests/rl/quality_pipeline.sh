#!/usr/bin/env bash
# quality_pipeline.sh - tests/rl/quality.yaml end to end: every piece of issue 11's machinery runs in a real
# pipeline and reports what it should (metrics.jsonl), and the numbers obey what can be known without a
# reference: lr 0 leaves the policy where it was (no token leaves the clip range); the controlled PRM without
# false accepts flags every wrong step; a 12-token PRM input cuts steps, which get unscored_reward. The calibration:
# each step's LM feature equals the minimum over the step's tokens of `pure score`'s log-probs (an independent
# slicing of an independent scorer), prm_calibrate's weights equal a logistic fit done here in numpy, and the
# calibrated rewards are 2 sigmoid(w . features) - 1 of the recorded features, unscored_reward past the cut.
# Usage: quality_pipeline.sh PURE SOURCE_DIR PYTHON
set -euo pipefail
PURE=$1 SRC=$2 PY=$3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "quality_pipeline: FAIL: $*" >&2; exit 1; }
"$PURE" run "$SRC/tests/rl/quality.yaml" --run-dir "$T/r" > "$T/log" 2>&1 || { cat "$T/log"; fail "run failed"; }
grep -q "dev accuracy .* never reached stop_accuracy 1.000 in 5 steps" "$T/log" || fail "no early-stopping warning"
grep -q "sft step 2: dev greedy accuracy" "$T/log" && grep -q "sft step 4: dev greedy accuracy" "$T/log" \
  || fail "no dev checks at steps 2 and 4"
grep -q "lie past max_len 12 tokens of PRM input and got unscored_reward -1" "$T/log" || fail "no unscored warning"
"$PY" - "$T/r/metrics.jsonl" <<'PY' || fail "metrics"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
m = {r["stage"]: r for r in rows}
def need(stage, *keys):
    for k in keys:
        assert k in m[stage], f"{stage}: no metric {k}: {m[stage]}"
need("data", "n_dev")
assert m["data"]["n_dev"] == 6
need("sft", "dev_accuracy", "stopped_at")
assert m["sft"]["stopped_at"] == 5 and m["sft"]["steps"] == 5
# (a 5-step policy writes no correct step, so the AUCs are undefined and left out; test_prm_quality.c checks
# their values on hand-worked cases)
need("quality", "wrong_step_recall", "meets_bar", "correct_step_fraction", "steps", "responses")
assert m["quality"]["responses"] == 12 and m["quality"]["meets_bar"] == 0
need("quality_controlled", "wrong_step_precision", "meets_bar")
# the controlled PRM never accepts a wrong step (false_accept 0): its wrong-step recall is 1
assert abs(m["quality_controlled"]["wrong_step_recall"] - 1) < 1e-12, m["quality_controlled"]
need("dev_controlled", "flipped_fraction", "wrong_step_fraction")
need("dev_scores", "unscored_step_fraction")
assert m["dev_scores"]["unscored_step_fraction"] > 0
need("credit", "kl_token_mean", "kl_response_mean")
need("optimize", "ratio_after_mean", "ratio_after_max", "outside_clip_after", "kl_after", "entropy")
# -log p of sampled tokens: positive, and below log(vocab) = log(257) only if the policy is not uniform
assert 0 < m["optimize"]["entropy"] < 20, m["optimize"]
# lr 0: the policy does not move, so the ratios against the sampler are the sampling/forward agreement only
assert m["optimize"]["outside_clip_after"] == 0, m["optimize"]
assert abs(m["optimize"]["ratio_after_mean"] - 1) < 1e-3, m["optimize"]
need("verify", "rewarded", "graded")
assert 0 < m["verify"]["rewarded"] < m["verify"]["graded"], m["verify"]
print("quality_pipeline: metrics ok")
PY
"$PY" - "$T/r" "$PURE" <<'PY' || fail "calibration"
import glob, json, os, subprocess, sys, tempfile
import h5py, numpy as np
run, pure = sys.argv[1], sys.argv[2]
def one(stage, name):
    (p,) = glob.glob(os.path.join(run, "stages", stage, "*", name))
    return p
def ragged(h, name):
    off, val = h[name + "/offsets"][:], h[name + "/values"][:]
    return [val[off[i]:off[i + 1]] for i in range(len(off) - 1)]
with h5py.File(one("dev_rollout", "rollouts.h5"), "r") as h:
    prompts, tokens, ends = ragged(h, "prompt_tokens"), ragged(h, "tokens"), ragged(h, "step_ends")
with h5py.File(one("dev_features", "rewards.h5"), "r") as h:
    head, lm, rew = ragged(h, "step_head"), ragged(h, "step_lm_min_logprob"), ragged(h, "step_rewards")
with h5py.File(one("calib_labels", "rewards.h5"), "r") as h:
    lab = ragged(h, "step_rewards")
with h5py.File(one("dev_calibrated", "rewards.h5"), "r") as h:
    cal_rew, cal_head, cal_lm = ragged(h, "step_rewards"), ragged(h, "step_head"), ragged(h, "step_lm_min_logprob")
with h5py.File(one("calibrate", "calibration.h5"), "r") as h:
    w = np.array([h.attrs["bias"], h.attrs["w_head"], h.attrs["w_lm"]], float)
(sft,) = glob.glob(os.path.join(run, "stages", "sft", "*", "policy"))
# the LM feature against pure score's log-probs of prompt + response (value q predicts token q + 1)
with tempfile.TemporaryDirectory() as d:
    src, out = os.path.join(d, "in.jsonl"), os.path.join(d, "lp.h5")
    with open(src, "w") as f:
        for p, t in zip(prompts, tokens):
            f.write(json.dumps({"tokens": [int(x) for x in np.concatenate([p, t])]}) + "\n")
    subprocess.run([pure, "score", "--model", sft, "--input", src, "--output", out], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with h5py.File(out, "r") as h:
        lp = ragged(h, "logprobs")
n_steps = 0
for i in range(len(tokens)):
    start, p = 0, len(prompts[i])
    for j, e in enumerate(ends[i]):
        want = lp[i][p + start - 1:p + e].min()
        assert abs(lm[i][j] - want) < 1e-4, (i, j, lm[i][j], want)
        start = e + 1
        n_steps += 1
    # no calibration: the reward is the head's score
    assert np.array_equal(rew[i], head[i]), (i, rew[i], head[i])
    assert np.allclose(cal_lm[i], lm[i], atol=1e-6) and np.all(np.isfinite(head[i]))
# the fit, redone in numpy (Newton, the same ridge 1e-3 on the two weights)
x = np.column_stack([np.ones(n_steps), np.concatenate(head), np.concatenate(lm)]).astype(float)
y = (np.concatenate(lab) > 0).astype(float)
assert 0 < y.sum() < len(y), "the controlled labels should hold both classes"
v = np.zeros(3)
v[0] = np.log(y.mean() / (1 - y.mean()))
R = np.diag([0, 1e-3, 1e-3])
for _ in range(100):
    q = 1 / (1 + np.exp(-(x @ v)))
    g = x.T @ (q - y) + R @ v
    H = (x * (q * (1 - q))[:, None]).T @ x + R
    v -= np.linalg.solve(H, g)
assert np.allclose(w, v, rtol=1e-5, atol=1e-6), (w, v)
# calibrated rewards from the recorded features; the 28-token cut leaves NaN heads, which get unscored_reward -1
cut = 0
for i in range(len(tokens)):
    for j in range(len(cal_rew[i])):
        if np.isnan(cal_head[i][j]):
            assert cal_rew[i][j] == -1, (i, j, cal_rew[i][j])
            cut += 1
        else:
            want = 2 / (1 + np.exp(-(w[0] + w[1] * cal_head[i][j] + w[2] * cal_lm[i][j]))) - 1
            assert abs(cal_rew[i][j] - want) < 1e-5, (i, j, cal_rew[i][j], want)
assert 0 < cut < n_steps, f"max_len 28 should cut some steps, not all: {cut} of {n_steps}"
print(f"quality_pipeline: calibration ok ({n_steps} steps, {cut} cut, weights {w})")
PY
"$PURE" inspect "$T"/r/stages/quality/*/quality.h5 > "$T/inspect" || fail "inspect quality.h5"
grep -q "wrong_step_recall" "$T/inspect" || fail "quality.h5 has no wrong_step_recall attribute"
echo "quality_pipeline: ok"
