"""trl_grpo.py - one GRPO update by pure against TRL's GRPOTrainer on the same policy, batch and rewards.

pure runs a one-iteration pipeline (fresh tiny Qwen2 policy of the toy task; rollout of 4 prompts x 4 samples;
a Lua credit rule that gives each response one reward on its last token; the `grpo` baseline; one optimize step
over the whole batch). TRL then gets the same start: the policy folder pure wrote before the update, pure's
prompts and sampled tokens (through GRPOTrainer's `rollout_func`), pure's rewards (a reward function looking
them up), and the same optimizer (AdamW, no weight decay, no clipping, constant learning rate), and takes one
training step with its own advantage, log-prob, loss and backward code. Compared:
  - advantages: TRL's (r - group mean) / (group std + 1e-4) against pure's per-token advantages;
  - the update: with Adam's epsilon = 1 and lr = 1 the first AdamW step is g / (|g| + 1), about the gradient
    itself, so the weight deltas of the two programs compare their gradients tensor by tensor.
Prints key=value lines and exits non-zero when they disagree beyond float32 noise (bounds below).

  trl_grpo.py PURE_BIN [--loss-type dapo|grpo|bnpo|dr_grpo] [--keep DIR]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

import h5py
import numpy as np
import torch

ADV_TOL = 1e-3             # relative: the two epsilons (pure 1e-6, TRL 1e-4) against a group std ~0.3 give ~3e-4
DELTA_TOL = 1e-3           # relative L2 of the weight deltas over all tensors, TRL's own advantages
DELTA_TOL_SAME_ADV = 1e-4  # the same with pure's advantages given to TRL: float32 noise only
KL = 0.5                   # pure kl_coef = TRL beta (k3 against the starting policy; zero gradient until update 2)
# TRL's default use_bias_correction_kl multiplies the k3 term by the ratio (an unbiased reverse-KL gradient);
# pure's kl_coef adds k3 alone, which is TRL's use_bias_correction_kl=False: that is the one compared.

PIPELINE = """description: one GRPO iteration, compared with TRL (bench/trl_grpo.py)
seed: 5
stages:
  data: {kind: data, source: toy, n_train: 16, n_test: 4}
  sft:
    kind: sft
    inputs: {train: data.train}
    hidden_size: 32
    layers: 2
    heads: 4
    kv_heads: 2
    intermediate_size: 64
    max_position: 256
    steps: 2
    batch_size: 8
    device: cpu
loop:
  iterations: 1
  state: {policy: sft.policy, optimizer: null}
  stages:
    rollout:
      kind: rollout
      inputs: {policy: state.policy, prompts: data.train, reference: sft.policy}
      samples: 4
      prompts_per_iteration: 4
      max_new_tokens: 24
      device: cpu
    credit:
      kind: credit
      inputs: {rollouts: rollout.rollouts}
      rule: lua
      script: reward.lua
      baseline: grpo
    optimize:
      kind: optimize
      inputs: {policy: state.policy, optimizer: state.optimizer, rollouts: rollout.rollouts, advantages: credit.advantages}
      lr: %(lr)s
      adam_eps: 1.0
      beta1: 0.9
      beta2: 0.999
      weight_decay: 0.0
      grad_clip: 0
      schedule: constant
      epochs: %(epochs)d
      minibatches: 1
      micro_batch: 16
      clip_eps: 0.2
      kl_coef: %(kl)s
      device: cpu
  update: {policy: optimize.policy, optimizer: optimize.optimizer}
"""

# One reward per response on its last token (so with gamma 1 every token's return is that reward, the outcome
# reward GRPO assumes); the value is a fixed function of the response's row, spread over [0, 1].
REWARD_LUA = """function credit(responses, params)
  local out = {}
  for i, r in ipairs(responses) do
    local t = {}
    for k = 1, r.length do t[k] = 0 end
    t[r.length] = ((r.index * 37 + 11) % 13) / 12
    out[i] = {tokens = t}
  end
  return out
end
"""


def ragged(f, name):
    g = f[name]
    # pure's ragged datasets: values + offsets (N + 1)
    v, off = g["values"][:], g["offsets"][:]
    return [v[off[i]:off[i + 1]] for i in range(len(off) - 1)]


def one(pattern):
    import glob
    found = sorted(glob.glob(pattern))
    if len(found) != 1:
        raise SystemExit("%s: expected one match of %s, found %s" % (os.path.basename(sys.argv[0]), pattern, found))
    return found[0]


def run_pure(pure, tmp, lr, epochs, kl=0.0):
    name = "grpo%d_%g" % (epochs, kl)
    with open(os.path.join(tmp, name + ".yaml"), "w") as f:
        f.write(PIPELINE % {"lr": lr, "epochs": epochs, "kl": kl})
    with open(os.path.join(tmp, "reward.lua"), "w") as f:
        f.write(REWARD_LUA)
    t0 = time.perf_counter()
    run = "run_" + name
    subprocess.run([pure, "run", name + ".yaml", "--run-dir", run, "--quiet"], cwd=tmp, check=True)
    rd = os.path.join(tmp, run, "stages")
    return (time.perf_counter() - t0, one(rd + "/sft/*/policy"), one(rd + "/rollout/0/*/rollouts.h5"),
            one(rd + "/credit/0/*/advantages.h5"), one(rd + "/optimize/0/*/policy"))


def main():
    warnings.filterwarnings("ignore", category=FutureWarning)  # transformers' renames, not ours to fix
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")  # rollout_func is marked experimental
    ap = argparse.ArgumentParser()
    ap.add_argument("pure")
    ap.add_argument("--loss-type", default="dapo")
    ap.add_argument("--lr", type=float, default=1.0)
    ap.add_argument("--keep")
    a = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    tmp = a.keep or tempfile.mkdtemp(prefix="pure-trl-grpo-")
    os.makedirs(tmp, exist_ok=True)
    try:
        compare(a, tmp)
    finally:
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)


def compare(a, tmp):
    pure_s, init_dir, ro_path, adv_path, new_dir = run_pure(os.path.abspath(a.pure), tmp, a.lr, 1)
    _, init2, ro2, _, new2 = run_pure(os.path.abspath(a.pure), tmp, a.lr, 2)
    _, _, ro3, _, new3 = run_pure(os.path.abspath(a.pure), tmp, a.lr, 2, KL)
    with h5py.File(ro_path) as f:
        group = f["group"][:]
        prompt_tokens = [x.tolist() for x in ragged(f, "prompt_tokens")]
        tokens = [x.tolist() for x in ragged(f, "tokens")]
        logprobs = [x.tolist() for x in ragged(f, "logprobs")]
    with h5py.File(adv_path) as f:
        returns = ragged(f, "returns")
        pure_adv = ragged(f, "advantages")
    n = len(tokens)
    reward = [float(r[0]) for r in returns]
    for i in range(n):  # the rule puts one reward on the last token: every return equals it, every advantage too
        assert np.allclose(returns[i], reward[i]) and np.allclose(pure_adv[i], pure_adv[i][0]), i
    by_ids = {tuple(t): i for i, t in enumerate(tokens)}
    if len(by_ids) != n:
        raise SystemExit("trl_grpo: two sampled responses are identical; change the pipeline seed")
    groups = sorted(set(group.tolist()))
    K = n // len(groups)

    members = {g: [i for i in range(n) if group[i] == g] for g in groups}
    data = dict(prompt_tokens=prompt_tokens, tokens=tokens, logprobs=logprobs, reward=reward, by_ids=by_ids,
                members=members, K=K, groups=groups)
    for ro in (ro2, ro3):  # the other runs sampled the same batch from the same policy
        with h5py.File(ro) as f:
            if [x.tolist() for x in ragged(f, "tokens")] != tokens:
                raise SystemExit("trl_grpo: the pipelines sampled different rollouts")
    w_pure = {(1, 0.0): load_safetensors(new_dir), (2, 0.0): load_safetensors(new2), (2, KL): load_safetensors(new3)}
    print("what=grpo_step responses=%d groups=%d tokens=%d pure_pipeline_s=%.2f"
          % (n, len(groups), sum(map(len, tokens)), pure_s))
    bad = []
    for epochs, kl, loss_type, swap in ((1, 0.0, a.loss_type, False), (1, 0.0, a.loss_type, True),
                                        (1, 0.0, "grpo", False), (2, 0.0, a.loss_type, False),
                                        (2, 0.0, a.loss_type, True), (2, KL, a.loss_type, False),
                                        (2, KL, a.loss_type, True), (2, -KL, a.loss_type, True)):
        # kl < 0: TRL's default use_bias_correction_kl (the KL term times the ratio), for the record
        adv, order, dw, w0, trl_s = trl_step(init_dir, tmp, data, a.lr, loss_type, pure_adv if swap else None,
                                             epochs, abs(kl), kl < 0)
        pa = np.array([pure_adv[i][0] for i in order])
        adv_rel = float(np.abs(adv - pa).max() / np.abs(pa).max())
        delta_rel, norm, worst = compare_deltas(dw, w0, w_pure[(epochs, abs(kl))])
        what = "updates=%d kl=%g%s trl_loss_type=%s advantages=%s" % (
            epochs, abs(kl), " trl_bias_correction_kl" if kl < 0 else "", loss_type, "pure's" if swap else "TRL's")
        trl_s, clipped = trl_s
        print("%s trl_s=%.2f trl_clipped=%.3f adv_max_rel_diff=%.2e delta_norm=%.3e delta_rel_diff=%.2e worst_tensor=%s %.2e"
              % (what, trl_s, clipped, adv_rel, norm, delta_rel, worst[0], worst[1]), flush=True)
        if loss_type != a.loss_type or kl < 0:
            continue  # for the record: another aggregation than pure's token mean, another KL term
        tol = DELTA_TOL_SAME_ADV if swap else DELTA_TOL
        if not swap and not adv_rel <= ADV_TOL:
            bad.append("%s: advantages differ by %.3g relative (bound %g)" % (what, adv_rel, ADV_TOL))
        if not norm > 0:
            bad.append("%s: TRL's step did not move the weights" % what)
        elif not delta_rel <= tol:
            bad.append("%s: weight deltas differ by %.3g relative (bound %g; worst %s %.3g)"
                       % (what, delta_rel, tol, worst[0], worst[1]))
    if bad:
        print("trl_grpo: FAILED: " + "; ".join(bad))
        sys.exit(1)
    print("trl_grpo: pure's GRPO step equals TRL's (loss_type %s)" % a.loss_type)


def trl_step(init_dir, tmp, d, lr, loss_type, adv_override, iterations, beta, bias_correction_kl=False):
    """One GRPOTrainer step from init_dir on pure's samples and rewards: (TRL's advantages in its response order,
    that order, TRL's new parameters, the initial ones, seconds). adv_override: pure's advantages put in place of
    TRL's (after TRL computed its own), to compare the loss, backward and AdamW alone. iterations 2: two
    updates on the batch (TRL num_iterations, pure epochs), the second with ratios away from 1."""
    import datasets
    import transformers
    from trl import GRPOConfig, GRPOTrainer

    tok = transformers.AutoTokenizer.from_pretrained(init_dir)
    model = transformers.AutoModelForCausalLM.from_pretrained(init_dir, dtype=torch.float32, attn_implementation="eager")
    w0 = {k: v.detach().clone() for k, v in model.named_parameters()}
    handed = {g: 0 for g in d["groups"]}
    order = []
    n = len(d["tokens"])

    def rollout_func(prompts, trainer):
        """pure's samples in place of generation: the next unused response of the prompt's group."""
        out = {"prompt_ids": [], "completion_ids": [], "logprobs": []}
        for p in prompts:
            g = int(p.split()[1])
            i = d["members"][g][handed[g]]
            handed[g] += 1
            order.append(i)
            out["prompt_ids"].append(d["prompt_tokens"][i])
            out["completion_ids"].append(d["tokens"][i])
            out["logprobs"].append(d["logprobs"][i])
        return out

    def reward_func(prompts, completions, completion_ids, **kw):
        return [d["reward"][d["by_ids"][tuple(c)]] for c in completion_ids]

    ds = datasets.Dataset.from_dict({"prompt": ["group %d" % g for g in d["groups"]]})
    cfg = GRPOConfig(output_dir=os.path.join(tmp, "trl"), per_device_train_batch_size=n, num_generations=d["K"],
                     gradient_accumulation_steps=1, max_steps=iterations, num_iterations=iterations, learning_rate=lr, adam_epsilon=1.0,
                     adam_beta1=0.9, adam_beta2=0.999, weight_decay=0.0, lr_scheduler_type="constant",
                     warmup_steps=0, max_grad_norm=0.0, beta=beta, use_bias_correction_kl=bias_correction_kl, epsilon=0.2, loss_type=loss_type,
                     scale_rewards="group", temperature=1.0, max_completion_length=max(map(len, d["tokens"])),
                     use_cpu=True, bf16=False, report_to=[], logging_steps=1, log_level="error", save_strategy="no",
                     seed=0, disable_tqdm=True)
    trainer = GRPOTrainer(model=model, reward_funcs=reward_func, args=cfg, train_dataset=ds, processing_class=tok,
                          rollout_func=rollout_func)
    trainer.remove_callback(transformers.PrinterCallback)  # its log lines; the log history stays
    seen = {}
    orig = trainer._generate_and_score_completions

    def capture(inputs):
        out = orig(inputs)
        seen["adv"] = out["advantages"].detach().clone()
        if adv_override is not None:
            out["advantages"] = torch.tensor([float(adv_override[i][0]) for i in order[-len(inputs):]],
                                             dtype=out["advantages"].dtype)
        return out

    trainer._generate_and_score_completions = capture
    t0 = time.perf_counter()
    trainer.train()
    secs = time.perf_counter() - t0
    if sorted(order) != list(range(n)):  # generated once, reused by the second iteration
        raise SystemExit("trl_grpo: TRL asked for %d responses, not each of pure's %d once" % (len(order), n))
    clipped = max(float(h.get("clip_ratio/region_mean", 0)) for h in trainer.state.log_history)
    kls = [float(h["kl"]) for h in trainer.state.log_history if "kl" in h]
    if beta:
        print("trl_kl_per_update=%s" % ",".join("%.6g" % x for x in kls))
    return seen["adv"].numpy().reshape(-1), order, dict(trainer.model.named_parameters()), w0, (secs, clipped)


def compare_deltas(w_trl, w0, w_pure):
    """Relative L2 difference of the two weight deltas over all tensors, the TRL delta's norm, the worst tensor."""
    num = den = 0.0
    worst = ("", 0.0)
    for k, p in w_trl.items():
        dt = (p.detach() - w0[k]).double()
        dp = w_pure[k].double() - w0[k].double()
        e, s = float((dp - dt).norm() ** 2), float(dt.norm() ** 2)
        num, den = num + e, den + s
        if s > 0 and (e / s) ** 0.5 > worst[1]:
            worst = (k, (e / s) ** 0.5)
    return ((num / den) ** 0.5 if den > 0 else float("inf")), den ** 0.5, worst


def load_safetensors(d):
    from safetensors.torch import load_file
    w = {}
    for f in sorted(os.listdir(d)):
        if f.endswith(".safetensors") and f.startswith("model"):
            w.update(load_file(os.path.join(d, f)))
    if "lm_head.weight" not in w and "model.embed_tokens.weight" in w:
        w["lm_head.weight"] = w["model.embed_tokens.weight"]
    return w


if __name__ == "__main__":
    main()
