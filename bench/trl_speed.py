"""trl_speed.py - seconds per RL iteration of the toy task: pure's pipeline against TRL's GRPOTrainer.

pure runs one pipeline: toy data, a brief SFT of a policy of the quickstart's shape (hidden 128, 3 layers, 4 heads,
2 kv heads, intermediate 384), then a loop of rollout (16 prompts x 8 samples, 96 new tokens at most,
temperature 1) -> verify (the exact answer check) -> credit (the verifiable reward on the last token, the `grpo`
baseline) -> optimize (one AdamW step over the whole batch). Its per-stage wall times come from each stage run's
done.json (`wall_s`: the stage's own run, its policy load and the commit of its outputs included).

TRL's GRPOTrainer then starts from the same SFT policy folder, gets the same prompts in the same order (pure's
rollout prompts of each iteration), num_generations 8, 16 prompts per step, max_completion_length 96,
temperature 1, the same learning rate, a Python reward (the last \\boxed{} equals the reference) and generates
itself with transformers' generate on the CPU. Both use the same thread count and no KL term (TRL's default
beta 0; pure without a reference), so neither computes reference log-probs.

The split: generation (pure: rollout; TRL: its _generate), scoring (pure: verify; TRL: _calculate_rewards),
update (pure: credit + optimize; TRL: the rest of the step: padding, advantages, forward, backward, AdamW).
TRL's step is timed from the trainer's on_step_begin to on_step_end. The first iteration of each is a warm-up;
the medians over the others are printed as key=value lines, with the ratios TRL / pure.

  trl_speed.py PURE_BIN [--iterations 4] [--sft-steps 300] [--threads N] [--keep NEW_DIR] [--sizes tiny]
  (--sizes tiny with small --prompts/--samples/--max-new: a seconds-long check that the bench runs)
"""
import argparse
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import h5py
import numpy as np

from trl_grpo import one, ragged  # the same run-directory and ragged-dataset readers

PIPELINE = """description: the RL iteration timed against TRL (bench/trl_speed.py)
seed: 1
stages:
  data: {kind: data, source: toy, n_train: %(n_train)d, n_test: 16}
  sft:
    kind: sft
    inputs: {train: data.train}
    hidden_size: %(hidden)d
    layers: %(layers)d
    heads: 4
    kv_heads: 2
    intermediate_size: %(inter)d
    max_position: 320
    steps: %(sft_steps)d
    batch_size: 32
    lr: 2.0e-3
    schedule: cosine
    warmup_steps: 20
    log_every: 100
loop:
  iterations: %(iterations)d
  state: {policy: sft.policy, optimizer: null}
  stages:
    rollout:
      kind: rollout
      inputs: {policy: state.policy, prompts: data.train}
      samples: %(samples)d
      prompts_per_iteration: %(prompts)d
      max_new_tokens: %(max_new)d
      temperature: 1.0
    verify:
      kind: verify
      inputs: {rollouts: rollout.rollouts, prompts: data.train}
    credit:
      kind: credit
      inputs: {rollouts: rollout.rollouts, verifiable: verify.verifiable}
      rule: sum
      baseline: grpo
      whiten: false
    optimize:
      kind: optimize
      inputs: {policy: state.policy, optimizer: state.optimizer, rollouts: rollout.rollouts, advantages: credit.advantages}
      lr: %(lr)g
      schedule: constant
      warmup_steps: 0
      minibatches: 1
      micro_batch: 32
      clip_eps: 0.2
  update: {policy: optimize.policy, optimizer: optimize.optimizer}
"""

LOOP_STAGES = ("rollout", "verify", "credit", "optimize")
SPLIT = {"generation": ("rollout",), "scoring": ("verify",), "update": ("credit", "optimize")}
BOXED = re.compile(r"\\boxed\{([^{}]*)\}")


def strings(ds):
    return [s.decode() if isinstance(s, bytes) else s for s in ds[()]]


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return "unknown"


def load():
    return "%.2f/%.2f/%.2f" % os.getloadavg()


def run_pure(pure, tmp, a, threads):
    sizes = dict(hidden=128, layers=3, inter=384) if a.sizes == "quickstart" else dict(hidden=32, layers=2, inter=64)
    spec = PIPELINE % dict(sizes, n_train=a.n_train, sft_steps=a.sft_steps, iterations=a.iterations,
                           samples=a.samples, prompts=a.prompts, max_new=a.max_new, lr=a.lr)
    with open(os.path.join(tmp, "speed.yaml"), "w") as f:
        f.write(spec)
    env = dict(os.environ, PURE_THREADS=str(threads))
    t0 = time.perf_counter()
    subprocess.run([pure, "run", "speed.yaml", "--run-dir", "run", "--quiet"], cwd=tmp, env=env, check=True)
    total = time.perf_counter() - t0
    rd = os.path.join(tmp, "run", "stages")
    walls = {}
    for f in glob.glob(rd + "/*/*/done.json") + glob.glob(rd + "/*/*/*/done.json"):
        d = json.load(open(f))
        walls[(d["stage"], d["iteration"])] = d
    iters = []
    for it in range(a.iterations):
        row = {s: walls[(s, it)]["wall_s"] for s in LOOP_STAGES}
        ro = one("%s/rollout/%d/*/rollouts.h5" % (rd, it))
        with h5py.File(ro) as f:
            row["prompt_index"] = f["prompt_index"][:].tolist()
            row["prompt_tokens"] = [x.tolist() for x in ragged(f, "prompt_tokens")]
            row["length"] = float(np.mean(f["length"][:]))
            row["max_length"] = int(np.max(f["length"][:]))
        with h5py.File(one("%s/verify/%d/*/verifiable.h5" % (rd, it))) as f:
            row["reward"] = float(np.mean(f["reward"][:]))
        iters.append(row)
    stage_sum = sum(d["wall_s"] for d in walls.values())
    with h5py.File(one(rd + "/data/*/train.h5")) as f:
        prompts, refs = strings(f["prompt"]), strings(f["reference"])
    return dict(total=total, overhead=total - stage_sum, iters=iters, policy=one(rd + "/sft/*/policy"),
                prompts=prompts, refs=refs, sft_s=walls[("sft", -1)]["wall_s"])


def boxed_reward(completions, reference, **kw):
    """The toy's answer check: 1 when the last \\boxed{} holds the reference integer, else 0."""
    out = []
    for c, ref in zip(completions, reference):
        m = BOXED.findall(c)
        try:
            out.append(1.0 if m and int(m[-1].strip()) == int(ref) else 0.0)
        except ValueError:
            out.append(0.0)
    return out


def run_trl(tmp, a, threads, pure):
    import datasets
    import torch
    import transformers
    from trl import GRPOConfig, GRPOTrainer

    torch.set_num_threads(threads)
    transformers.utils.logging.disable_progress_bar()
    torch.manual_seed(0)
    # pure's prompts of each iteration, in its order: TRL's step i sees pure's iteration i
    rows = []
    for row in pure["iters"]:
        rows += row["prompt_index"][::a.samples]
    want = {}
    for row in pure["iters"]:
        for pi, toks in zip(row["prompt_index"], row["prompt_tokens"]):
            want[pure["prompts"][pi]] = toks
    ds = datasets.Dataset.from_dict({"prompt": [pure["prompts"][i] for i in rows],
                                     "reference": [pure["refs"][i] for i in rows]})
    tok = transformers.AutoTokenizer.from_pretrained(pure["policy"])
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model = transformers.AutoModelForCausalLM.from_pretrained(pure["policy"], dtype=torch.float32,
                                                              attn_implementation="eager")
    n = a.prompts * a.samples
    cfg = GRPOConfig(output_dir=os.path.join(tmp, "trl"), per_device_train_batch_size=n, num_generations=a.samples,
                     gradient_accumulation_steps=1, max_steps=a.iterations, num_iterations=1, learning_rate=a.lr,
                     lr_scheduler_type="constant", warmup_steps=0, weight_decay=0.0, beta=0.0, epsilon=0.2,
                     loss_type="dapo", scale_rewards="group", temperature=1.0, top_p=1.0,
                     max_completion_length=a.max_new, shuffle_dataset=False, use_cpu=True, bf16=False,
                     report_to=[], logging_steps=1, log_level="error", save_strategy="no", seed=0,
                     disable_tqdm=True)
    trainer = GRPOTrainer(model=model, reward_funcs=boxed_reward, args=cfg, train_dataset=ds, processing_class=tok)
    trainer.remove_callback(transformers.PrinterCallback)
    steps = []
    cur = {}

    def timed(name, fn):
        def wrapper(*args, **kw):
            t0 = time.perf_counter()
            out = fn(*args, **kw)
            cur[name] = cur.get(name, 0.0) + time.perf_counter() - t0
            return out
        return wrapper

    orig_tokenize = trainer._tokenize_prompts
    mismatch, checked = [], []

    def check_tokens(prompts):
        """TRL tokenizes the prompt strings itself: they must give pure's prompt tokens."""
        out = orig_tokenize(prompts)
        for p, ids in zip(prompts, out[0]):
            checked.append(p)
            if list(ids) != want[p]:
                mismatch.append((p, list(ids), want[p]))
        return out

    trainer._tokenize_prompts = check_tokens
    trainer._generate = timed("generation", trainer._generate)
    trainer._calculate_rewards = timed("scoring", trainer._calculate_rewards)

    class Clock(transformers.TrainerCallback):
        def on_step_begin(self, args, state, control, **kw):
            cur.clear()
            cur["t0"] = time.perf_counter()

        def on_step_end(self, args, state, control, **kw):
            total = time.perf_counter() - cur.pop("t0")
            steps.append(dict(total=total, generation=cur.get("generation", 0.0), scoring=cur.get("scoring", 0.0),
                              update=total - cur.get("generation", 0.0) - cur.get("scoring", 0.0)))

    trainer.add_callback(Clock())
    t0 = time.perf_counter()
    trainer.train()
    wall = time.perf_counter() - t0
    if mismatch:
        p, got, exp = mismatch[0]
        raise SystemExit("trl_speed: TRL tokenized prompt %r as %s, pure as %s" % (p, got[:12], exp[:12]))
    if len(checked) != n * a.iterations:
        raise SystemExit("trl_speed: %d prompt tokenizations checked, expected %d" % (len(checked), n * a.iterations))
    if len(steps) != a.iterations:
        raise SystemExit("trl_speed: TRL took %d steps, expected %d" % (len(steps), a.iterations))
    logs = [h for h in trainer.state.log_history if "reward" in h]
    for s, h in zip(steps, logs):
        s["length"] = float(h.get("completions/mean_length", float("nan")))
        s["max_length"] = float(h.get("completions/max_length", float("nan")))
        s["reward"] = float(h["reward"])
    return dict(steps=steps, wall=wall)


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def main():
    warnings.filterwarnings("ignore")
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    ap = argparse.ArgumentParser()
    ap.add_argument("pure")
    ap.add_argument("--iterations", type=int, default=4, help="loop iterations / TRL steps; the first is a warm-up")
    ap.add_argument("--sft-steps", type=int, default=300)
    ap.add_argument("--n-train", type=int, default=4000)
    ap.add_argument("--prompts", type=int, default=16)
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--max-new", type=int, default=96)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--sizes", choices=("quickstart", "tiny"), default="quickstart")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("PURE_THREADS") or os.cpu_count()))
    ap.add_argument("--keep")
    a = ap.parse_args()
    if a.iterations < 2:
        raise SystemExit("trl_speed: --iterations must be at least 2 (the first is a warm-up)")
    if a.keep and os.path.isdir(a.keep) and os.listdir(a.keep):
        # a pure run there would reuse its committed stages, whose wall times are from the earlier run
        raise SystemExit("trl_speed: --keep %s: expected a new or empty directory" % a.keep)
    tmp = a.keep or tempfile.mkdtemp(prefix="pure-trl-speed-")
    os.makedirs(tmp, exist_ok=True)
    print("cpu=%s threads=%d load_start=%s" % (cpu_model().replace(" ", "_"), a.threads, load()), flush=True)
    t0 = time.perf_counter()
    try:
        pure = run_pure(os.path.abspath(a.pure), tmp, a, a.threads)
        print("pure_pipeline_s=%.2f sft_s=%.2f runner_overhead_s=%.2f load=%s"
              % (pure["total"], pure["sft_s"], pure["overhead"], load()), flush=True)
        trl = run_trl(tmp, a, a.threads, pure)
    finally:
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    p_steps = [dict(generation=sum(r[s] for s in SPLIT["generation"]), scoring=sum(r[s] for s in SPLIT["scoring"]),
                    update=sum(r[s] for s in SPLIT["update"]), credit=r["credit"], optimize=r["optimize"],
                    length=r["length"], max_length=r["max_length"], reward=r["reward"])
               for r in pure["iters"]]
    for s in p_steps:
        s["total"] = s["generation"] + s["scoring"] + s["update"]
    for i, (p, t) in enumerate(zip(p_steps, trl["steps"])):
        print("iteration=%d%s pure_s=%.3f pure_gen_s=%.3f pure_score_s=%.3f pure_update_s=%.3f (credit %.3f "
              "optimize %.3f) pure_len=%.1f pure_max_len=%d pure_reward=%.3f trl_s=%.3f trl_gen_s=%.3f "
              "trl_score_s=%.3f trl_update_s=%.3f trl_len=%.1f trl_max_len=%d trl_reward=%.3f"
              % (i, " (warm-up)" if i == 0 else "", p["total"], p["generation"], p["scoring"], p["update"],
                 p["credit"], p["optimize"], p["length"], p["max_length"], p["reward"], t["total"],
                 t["generation"], t["scoring"], t["update"], t["length"], t["max_length"], t["reward"]))
    med = {}
    for side, st in (("pure", p_steps), ("trl", trl["steps"])):
        for k in ("total", "generation", "scoring", "update", "length", "reward"):
            med[side, k] = median([s[k] for s in st[1:]])
    print("pure_s_per_iteration=%.3f pure_generation_s=%.3f pure_scoring_s=%.3f pure_update_s=%.3f"
          % tuple(med["pure", k] for k in ("total", "generation", "scoring", "update")))
    print("trl_s_per_iteration=%.3f trl_generation_s=%.3f trl_scoring_s=%.3f trl_update_s=%.3f"
          % tuple(med["trl", k] for k in ("total", "generation", "scoring", "update")))
    print("ratio_total=%.3g ratio_generation=%.3g ratio_scoring=%.3g ratio_update=%.3g (TRL / pure)"
          % tuple(med["trl", k] / med["pure", k] if med["pure", k] > 0 else float("inf")
                  for k in ("total", "generation", "scoring", "update")))
    print("pure_mean_length=%.1f trl_mean_length=%.1f pure_reward=%.3f trl_reward=%.3f (medians, warm-up excluded)"
          % (med["pure", "length"], med["trl", "length"], med["pure", "reward"], med["trl", "reward"]))
    print("iterations_timed=%d bench_s=%.1f load_end=%s" % (a.iterations - 1, time.perf_counter() - t0, load()))


if __name__ == "__main__":
    main()
