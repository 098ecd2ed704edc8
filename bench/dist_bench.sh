#!/usr/bin/env bash
# dist_bench.sh [BUILD] - scale-out on this machine, from one run each (docs/distributed.md):
# 2 ranks x 1 thread against 1 rank x 2 threads on the toy task's rollout (16 prompts x 8 samples, 96 new
# tokens, quickstart's 128-wide 3-layer policy) and training (one optimize over those rollouts,
# micro-batches of 8), and the data-parallel communication time per step against the stage's time.
# Prints the times and ratios; the two runs' artifacts are compared too (they must be equal).
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}
PURE=$B/pure
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader
export OMPI_MCA_btl_vader_single_copy_mechanism=none
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
SET=(--set stages.sft.hidden_size=128 --set stages.sft.layers=3 --set stages.sft.heads=4 --set stages.sft.kv_heads=2
     --set stages.sft.intermediate_size=384 --set stages.sft.max_position=320 --set stages.sft.steps=20
     --set loop.stages.rollout.samples=8 --set loop.stages.rollout.prompts_per_iteration=16
     --set loop.stages.rollout.max_new_tokens=96 --set loop.stages.rollout.batch_size=16
     --set loop.stages.rollout.micro_batch=16 --set loop.stages.optimize.micro_batch=8
     --set stages.data.n_train=64 --until optimize@0)
echo "dist_bench: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
PURE_THREADS=2 "$PURE" run pipelines/smoke.yaml --run-dir "$T/one" -q "${SET[@]}"
# the pre-loop stages are the same: copy them so both runs time only rollout and optimize
mkdir -p "$T/two/stages"
for s in data sft prm_train; do cp -r "$T/one/stages/$s" "$T/two/stages/"; done
mpirun -np 2 env PURE_THREADS=1 "$PURE" run pipelines/smoke.yaml --run-dir "$T/two" "${SET[@]}" 2>"$T/two.log"
/usr/bin/python3 tests/rl/compare_runs.py "$T/one" "$T/two" >/dev/null || echo "dist_bench: WARNING: the runs differ"
/usr/bin/python3 - "$T" <<'PY'
import glob, json, re, sys
T = sys.argv[1]
def wall(run, stage):
    (f,) = glob.glob(f"{T}/{run}/stages/{stage}/0/*/done.json")
    return json.load(open(f))["wall_s"]
comm = float(re.search(r"([0-9.]+) s in communication", open(f"{T}/two.log").read()).group(1))
for stage, what in (("rollout", "toy rollout (16 x 8, 96 tokens)"), ("optimize", "toy training (1 step, 128 rows)")):
    a, b = wall("one", stage), wall("two", stage)
    print(f"{what:34s} 1 rank x 2 threads {a:7.2f} s   2 ranks x 1 thread {b:7.2f} s   ratio {a / b:5.2f}x")
o = wall("two", "optimize")
print(f"data-parallel communication per step (2 ranks): {comm:.3f} s of the optimize stage's {o:.2f} s "
      f"({100 * comm / o:.1f}%)")
PY
