#!/usr/bin/env bash
# gpu_session.sh - the checks to run first on a machine with an NVIDIA GPU, in one go (about 10 minutes on an
# H100/H200, no downloads), everything logged to OUT_DIR (default gpu-session/):
#   1. build (Release, sm_80 + sm_90) of pure, the GPU tests and the benchmark;
#   2. every CUDA op against the CPU backend, bf16 ops included (test_cuda_ops), and the whole model on the
#      GPU against the CPU (test_cuda_model): ctest -L gpu;
#   3. the memory plan against the GPU arena's measured peak (test_model_memplan runs its cases on the GPU
#      too when one is present: f32/bf16 training, recompute, generation, a bf16 inference load);
#   4. bf16 parity end to end: pipelines/smoke.yaml on the GPU in f32 and in bf16 (both must run; the final
#      accuracies are printed side by side), and the bf16 kill/resume test on the CPU build for reference;
#   5. qwen_math_smoke on the GPU (real tokenizer, real data, the paper's graph);
#   6. the benchmarks against PyTorch on the same GPU when a CUDA-enabled torch is importable
#      (bench/cuda_bench.sh: training tokens/s and MFU at 0.5B, decode tokens/s and bandwidth share),
#      pure alone otherwise;
#   7. `pure plan` of the paper's 1.5B recipe for this GPU.
# Copy the numbers into docs/performance.md (date, GPU, driver, the commands) and fix what fails.
# Usage: tests/cuda/gpu_session.sh [OUT_DIR] [BUILD_DIR]
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-gpu-session}
BUILD=${2:-build-cuda}
mkdir -p "$OUT"
exec > >(tee "$OUT/session.log") 2>&1
START=$(date +%s)
step() { echo; echo "== $1 ($(($(date +%s) - START)) s)"; }
nvidia-smi || true
step "build"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DPURE_CUDA=ON -DPURE_CUDA_ARCHS="80;90" >/dev/null &&
  cmake --build "$BUILD" -j"$(nproc)" --target test_cuda_ops test_cuda_model test_model_memplan test_model_bf16 \
    cuda_bench pure pure-test || exit 1

step "GPU tests (ops incl. bf16, whole model) against the CPU"
timeout 300 ctest --test-dir "$BUILD" -L gpu --output-on-failure -V 2>&1 | tail -150

step "memory plan against the measured peak (CPU RSS, then the GPU arena)"
timeout 240 "$BUILD/test_model_memplan" 2>&1 | grep -E "memplan|checks|FAIL"
timeout 120 "$BUILD/test_model_bf16" 2>&1 | tail -5

step "bf16 parity end to end: smoke.yaml on the GPU, f32 and bf16"
DEV=(--set stages.sft.device=cuda --set stages.prm_train.device=cuda --set stages.eval_sft.device=cuda
     --set loop.stages.rollout.device=cuda --set loop.stages.prm.device=cuda --set loop.stages.optimize.device=cuda
     --set loop.stages.eval.device=cuda --set after.final_eval.device=cuda)
BF=()
for s in stages.sft stages.prm_train stages.eval_sft loop.stages.rollout loop.stages.prm loop.stages.optimize \
         loop.stages.eval after.final_eval; do BF+=(--set "$s.precision=bf16"); done
for prec in fp32 bf16; do
  extra=(); [ $prec = bf16 ] && extra=("${BF[@]}")
  rm -rf "$OUT/smoke_$prec"
  "$BUILD/pure" run pipelines/smoke.yaml --run-dir "$OUT/smoke_$prec" "${DEV[@]}" "${extra[@]}" -q \
    > "$OUT/smoke_$prec.log" 2>&1 && echo "smoke $prec on the GPU: ok" || { echo "smoke $prec FAILED"; tail -20 "$OUT/smoke_$prec.log"; }
  grep -h '"stage": *"final_eval"' "$OUT/smoke_$prec/metrics.jsonl" 2>/dev/null | tail -1
done
# optimize on cuda trains through stages/common/dp.h (docs/distributed.md); under mpirun the rank takes the GPU
# of its node-local rank. Two ranks cannot share one GPU under NCCL: the multi-rank exchange needs 2+ GPUs.
if command -v mpirun >/dev/null; then
  rm -rf "$OUT/smoke_mpi"
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 timeout 120 mpirun -np 1 "$BUILD/pure" run pipelines/smoke.yaml \
    --run-dir "$OUT/smoke_mpi" "${DEV[@]}" -q > "$OUT/smoke_mpi.log" 2>&1 && echo "smoke under mpirun -np 1 on the GPU: ok" \
    || { echo "smoke under mpirun FAILED"; tail -20 "$OUT/smoke_mpi.log"; }
  [ "$(nvidia-smi -L | wc -l)" -ge 2 ] && OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 timeout 120 \
    mpirun -np 2 "$BUILD/pure" run pipelines/smoke.yaml --run-dir "$OUT/smoke_mpi2" "${DEV[@]}" \
    --set loop.stages.optimize.micro_batch=2 -q > "$OUT/smoke_mpi2.log" 2>&1 && echo "smoke on 2 GPUs (NCCL): ok"
fi
timeout 120 bash tests/model/bf16_resume.sh "$BUILD/pure-test" "$PWD" /usr/bin/python3 2>&1 | tail -2

step "qwen_math_smoke on the GPU"
rm -rf "$OUT/qwen_math_smoke"
timeout 300 "$BUILD/pure" run pipelines/qwen_math_smoke.yaml --run-dir "$OUT/qwen_math_smoke" --set vars.device=cuda -q \
  > "$OUT/qwen_math_smoke.log" 2>&1 && echo "qwen_math_smoke on the GPU: ok" || { echo "qwen_math_smoke FAILED"; tail -30 "$OUT/qwen_math_smoke.log"; }

PY=${PYTHON:-python3}
if "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  step "benchmarks against PyTorch on this GPU"
  timeout 200 bash bench/cuda_bench.sh "$BUILD" --size toy
  timeout 300 bash bench/cuda_bench.sh "$BUILD" --size 0.5b
  PRECISION=bf16 timeout 300 bash bench/cuda_bench.sh "$BUILD" --size 0.5b
  step "batched decode at 64 and 256 sequences, 512 new tokens, bf16 weights (pure)"
  for P in 64 256; do
    timeout 200 "$BUILD/cuda_bench" --size 0.5b --what decode --prompts $P --prompt-len 64 --new 512 --iters 1 --precision bf16
  done
else
  step "no CUDA-enabled torch for $PY: pure alone"
  timeout 200 "$BUILD/cuda_bench" --size 0.5b --what train --batch 8 --seq 512 --iters 3
  timeout 200 "$BUILD/cuda_bench" --size 0.5b --what decode --prompts 64 --prompt-len 64 --new 128 --iters 2
  timeout 200 "$BUILD/cuda_bench" --size 0.5b --what train --batch 8 --seq 512 --iters 3 --precision bf16
  timeout 200 "$BUILD/cuda_bench" --size 0.5b --what decode --prompts 256 --prompt-len 64 --new 512 --iters 1 --precision bf16
fi

step "the paper's 1.5B recipe on this GPU (plan)"
GPU_GB=$(nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits 2>/dev/null | head -1)
MEM=(); [ -n "$GPU_GB" ] && MEM=(--gpu-memory "$(awk "BEGIN{print $GPU_GB * 1.048576 / 1000}")")
S=tests/model/shapes
"$BUILD/pure" plan pipelines/qwen_math.yaml --device cuda "${MEM[@]}" --set vars.policy_model=$S/qwen2.5-math-1.5b \
  --set vars.prm_model=$S/pure-prm-7b --set loop.stages.rollout.samples=8 --set vars.train_max_tokens=3000 \
  --set loop.stages.rollout.precision=bf16 --set loop.stages.prm.precision=bf16 \
  --set loop.stages.optimize.precision=bf16 --set loop.stages.optimize.recompute=true
step "done"
