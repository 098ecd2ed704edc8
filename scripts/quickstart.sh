#!/usr/bin/env bash
# quickstart.sh - build pure and run the README's main job on the CPU: the PURE method on the toy task, min-form
# and sum-form credit side by side from one shared SFT policy and PRM (pipelines/quickstart_compare.yaml, a sweep).
#   toy data -> SFT (stopped on a dev split with headroom left) -> the PRM's LM (that policy trained on) -> PRM
#   training -> the PRM's quality on held-out rollouts -> RL with min-form credit | RL with sum-form credit ->
#   evaluation -> one comparison table.
# Extra arguments go to `pure run` (e.g. --set seed=2). Killed at any moment, it resumes when run again.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build -j"$(nproc)" --target pure
PURE=./build/pure
RUN=${PURE_QUICKSTART_RUN:-runs/quickstart_compare}
$PURE run pipelines/quickstart_compare.yaml --run-dir "$RUN" "$@"
echo
echo "The PRM on held-out rollouts of the SFT policy (the quality bar: wrong-step recall >= 0.8 at precision >= 0.9"
echo "and response AUC >= 0.9; docs/results-criteria.md):"
$PURE compare "$RUN" --metrics prm_quality.step_auc,prm_quality.wrong_step_recall,prm_quality.wrong_step_precision,prm_quality.response_auc
echo
echo "Each variant from start (the SFT policy; first 200 test problems) to end (the last policy; all 500):"
$PURE compare "$RUN" --metrics eval_sft.accuracy,final_eval.accuracy,eval_sft.sampled_accuracy,final_eval.sampled_accuracy,rollout.steps@0,rollout.steps,prm.step_reward@0,prm.step_reward,final_eval.hack_flag
echo
echo "Greedy and sampled (T = 1) pass@1; steps per response and mean PRM step reward of the RL rollouts, first and"
echo "last iteration; the reward-hacking monitor (1 = flagged). Multi-seed results: docs/results.md."
echo "The rollouts behind it: $PURE show rollouts $RUN --variant sum --seed 1 --sort reward"
echo "All curves in one page:  $PURE report $RUN -o quickstart.html"
