#!/usr/bin/env bash
# mpi_runs.sh PURE SRC PYTHON - one pipeline over several processes (docs/distributed.md):
#  1. smoke.yaml (with batch sizes small enough that every rank gets rows) under
#     mpirun -np 2 and -np 3 commits artifacts equal to the one-process run's
#     (tests/rl/compare_runs.py: every dataset and file), metrics too;
#     a sweep of two variants, the same on 2 ranks;
#  2. started on 2 ranks, stopped after iteration 1's optimize, resumed on 3:
#     equal again (optimizer state written by 2 ranks, read by 3);
#  3. kill -9 one rank mid-run: the job ends (no hang) with a non-zero status,
#     and the same mpirun command resumes to the same artifacts;
#  4. a stage failing on the ranks ends the job with the failing rank's message;
#  5. launcher mistakes: another command under mpirun, WORLD_SIZE without a
#     launcher, torchrun variables that disagree with MPI's world.
# Skips (77) when mpirun is missing or pure was built without MPI.
set -uo pipefail
PURE=$(realpath "$1") SRC=$(realpath "$2") PY=${3:-/usr/bin/python3}
command -v mpirun >/dev/null || { echo "mpi_runs: no mpirun; skipped"; exit 77; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# a container without a network: keep OpenMPI on shared memory and loopback
export OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none
# plug-ins stay loaded until exit, so LeakSanitizer can attribute OpenMPI's own allocations (tests/dist/lsan_mpi.supp)
export OMPI_MCA_mca_base_component_disable_dlclose=1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "mpi_runs: FAIL: $*"; exit 1; }
MPI="timeout 300 mpirun -np"
SPEC=$SRC/pipelines/smoke.yaml
SET=(--set loop.iterations=3 --set loop.stages.rollout.batch_size=2 --set loop.stages.rollout.micro_batch=2
     --set loop.stages.optimize.micro_batch=2 --set stages.eval_sft.batch_size=3 --set loop.stages.eval.batch_size=3
     --set loop.stages.prm.micro_batch=3 --set loop.stages.oracle.micro_batch=3 --set loop.stages.lua_prm.micro_batch=3)
out=$($MPI 2 "$PURE" stages 2>&1); rc=$?
if [ $rc -ne 2 ] || ! grep -q "only \`pure run\` runs over several processes" <<<"$out"; then
  grep -q "built without MPI" <<<"$out" && { echo "mpi_runs: pure built without MPI; skipped"; exit 77; }
  fail "pure stages under mpirun: rc $rc: $out"
fi
echo "mpi_runs: other commands refuse to run on several processes"

PURE_THREADS=1 "$PURE" run "$SPEC" --run-dir "$T/a" -q "${SET[@]}" || fail "one-process run"
for n in 2 3; do
  $MPI $n "$PURE" run "$SPEC" --run-dir "$T/r$n" -q "${SET[@]}" || fail "run on $n ranks"
  "$PY" "$SRC/tests/rl/compare_runs.py" "$T/a" "$T/r$n" || fail "$n ranks differ from one process"
  diff <(sed 's/"fingerprint".*//' "$T/a/metrics.jsonl") <(sed 's/"fingerprint".*//' "$T/r$n/metrics.jsonl") \
    || fail "metrics on $n ranks differ"
done
echo "mpi_runs: 2 and 3 ranks commit what one process commits"

# a sweep (two variants sharing their common stages) on 2 ranks
cat >"$T/sweep.yaml" <<YAML
extends: $SPEC
sweep:
  variants:
    min: {loop.stages.credit.rule: min}
    sum: {loop.stages.credit.rule: sum}
YAML
PURE_THREADS=1 "$PURE" run "$T/sweep.yaml" --run-dir "$T/sa" -q "${SET[@]}" || fail "one-process sweep"
$MPI 2 "$PURE" run "$T/sweep.yaml" --run-dir "$T/sb" -q "${SET[@]}" || fail "sweep on 2 ranks"
"$PY" "$SRC/tests/rl/compare_runs.py" "$T/sa" "$T/sb" || fail "the sweep on 2 ranks differs"
echo "mpi_runs: a sweep on 2 ranks commits what one process commits"

$MPI 2 "$PURE" run "$SPEC" --run-dir "$T/nm" -q "${SET[@]}" --until optimize@1 || fail "2 ranks, until optimize@1"
[ -d "$T/nm/stages/eval/2" ] && fail "--until ran past optimize@1"
$MPI 3 "$PURE" run "$SPEC" --run-dir "$T/nm" -q "${SET[@]}" || fail "resume on 3 ranks"
"$PY" "$SRC/tests/rl/compare_runs.py" "$T/a" "$T/nm" || fail "started on 2 ranks, resumed on 3: differs"
echo "mpi_runs: started on 2 ranks, resumed on 3: the same"

# kill -9 rank 1 once the loop has committed its first optimize
$MPI 2 "$PURE" run "$SPEC" --run-dir "$T/k" -q "${SET[@]}" --set loop.iterations=40 >"$T/k.log" 2>&1 &
job=$!
victim=
for _ in $(seq 1 600); do
  if ls "$T"/k/stages/optimize/0/*/done.json >/dev/null 2>&1; then
    for p in $(pgrep -f "$T/k" 2>/dev/null); do
      if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1'; then victim=$p; fi
    done
    [ -n "$victim" ] && break
  fi
  sleep 0.1
done
[ -n "$victim" ] || { kill $job; fail "no rank 1 to kill: $(cat "$T/k.log")"; }
kill -9 "$victim"
wait $job; rc=$?
[ $rc -ne 0 ] || fail "the job exited 0 after rank 1 was killed"
[ $rc -ne 124 ] || fail "the job hung after rank 1 was killed"
$MPI 2 "$PURE" run "$SPEC" --run-dir "$T/k" -q "${SET[@]}" || fail "resume after kill -9 of a rank"
"$PY" "$SRC/tests/rl/compare_runs.py" "$T/a" "$T/k" || fail "resumed after kill -9 of a rank: differs"
echo "mpi_runs: kill -9 of rank 1 ends the job (status $rc); the rerun resumes to the same artifacts"

cat >"$T/bad.lua" <<'LUA'
function score(problem, steps, reference) error("deliberate failure in the PRM script") end
LUA
out=$($MPI 2 "$PURE" run "$SPEC" --run-dir "$T/f" -q "${SET[@]}" --set loop.stages.lua_prm.script="$T/bad.lua" 2>&1)
rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "a failing stage on 2 ranks: rc $rc"
grep -q "deliberate failure in the PRM script" <<<"$out" || fail "the failing rank's message is missing: $out"
grep -q "rank [01] of 2" <<<"$out" || fail "the message does not name the rank: $out"
[ -f "$T"/f/stages/rollout/0/*/done.json ] || fail "the stages before the failure were not kept"
echo "mpi_runs: a failing stage ends the job with its rank's message (status $rc)"

out=$(WORLD_SIZE=2 "$PURE" run "$SPEC" --run-dir "$T/w" 2>&1); rc=$?
[ $rc -eq 2 ] && grep -q "WORLD_SIZE=2 but no MPI launcher" <<<"$out" || fail "WORLD_SIZE without a launcher: rc $rc: $out"
out=$($MPI 2 -x WORLD_SIZE=3 "$PURE" run "$SPEC" --run-dir "$T/w" 2>&1); rc=$?
[ $rc -ne 0 ] && grep -q "disagree with MPI's world" <<<"$out" || fail "WORLD_SIZE=3 on 2 ranks: rc $rc: $out"
[ -e "$T/w" ] && fail "a launcher mistake touched the run directory"
echo "mpi_runs: launcher mistakes are refused before the run directory is touched"
echo "mpi_runs: ok"
