#!/usr/bin/env bash
# quickstart.sh - build pure and run the README's main job on the CPU: the PURE method on the toy task, min-form
# and sum-form credit side by side from one shared SFT policy, under the calibrated PRM and under its head alone
# (pipelines/quickstart_compare.yaml, a sweep of four variants).
#   toy data -> SFT (stopped on a dev split with headroom left) -> the PRM's LM (that policy trained on) -> PRM
#   training -> its calibration -> the PRM's quality on held-out rollouts -> RL with min-form | sum-form credit,
#   under each PRM -> evaluation -> one comparison table.
# Extra arguments go to `pure run` (e.g. --set seed=2). Killed at any moment, it resumes when run again.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build -j"$(nproc)" --target pure
PURE=./build/pure
RUN=${PURE_QUICKSTART_RUN:-runs/quickstart_compare}
$PURE run pipelines/quickstart_compare.yaml --run-dir "$RUN" "$@"
echo
echo "The PRM on held-out rollouts of the SFT policy (min, sum: calibrated with its LM's log-probs; min_head, sum_head:"
echo "its head alone). The quality bar: wrong-step recall >= 0.8 at precision >= 0.9 and response AUC >= 0.9"
echo "(docs/results-criteria.md):"
$PURE compare "$RUN" --metrics prm_quality.step_auc,prm_quality.wrong_step_recall,prm_quality.wrong_step_precision,prm_quality.response_auc
echo
echo "Each variant from start (the SFT policy; first 200 test problems) to end (the last policy; all 500):"
$PURE compare "$RUN" --metrics eval_sft.accuracy,final_eval.accuracy,eval_sft.sampled_accuracy,final_eval.sampled_accuracy,rollout.steps@0,rollout.steps,prm.step_reward@0,prm.step_reward,final_eval.hack_flag
echo
echo "Greedy and sampled (T = 1) pass@1; steps per response and mean PRM step reward of the RL rollouts, first and"
echo "last iteration; the reward-hacking monitor (1 = flagged). Sum-form's fate follows the PRM's quality, min-form's"
echo "does not: five seeds of each in docs/results.md (session 14)."
echo "The rollouts behind it: $PURE show rollouts $RUN --variant sum_head --seed 1 --sort reward"
echo "All curves in one page:  $PURE report $RUN -o quickstart.html"
