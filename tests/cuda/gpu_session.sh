#!/usr/bin/env bash
# gpu_session.sh - the checks to run first on a machine with an NVIDIA GPU, in one go, no downloads, everything
# logged to OUT_DIR (default gpu-session/). Capped at GPU_SESSION_LIMIT = 570 s: estimated 8-10 minutes on an
# H200 with 16 cores uncapped, so the last steps may be cut short. Estimated times (timeouts are bounds):
#   1. the binaries: from the kit that scripts/gpu_kit.sh built on a machine without a GPU (.gpukit/kit.tar.xz,
#      carried with the tree: the lent machine has none of pure's Debian libraries, so nothing of pure builds
#      there), unpacked to a temporary folder, with cuBLAS taken from the machine's CUDA toolkit or from the
#      PyTorch wheels and ../shared pointed at the kit's copy (seconds); without a kit, a build (Release,
#      sm_80 + sm_90) of pure, the GPU tests and the benchmark where the libraries are installed (~2 min);
#   2. every CUDA op against the CPU backend, bf16 ops included (test_cuda_ops), and the whole model on the
#      GPU against the CPU (test_cuda_model) (~1-2 min);
#   3. the benchmarks against PyTorch on the same GPU (bench/cuda_bench.sh), pure alone when no CUDA-enabled
#      torch is importable: training tokens/s and MFU at 0.5B (8 x 512; f32 master weights pure alone, then bf16
#      weights against torch eager autocast bf16) and at 1.5B (4 x 1024, bf16: ~39 GiB planned for pure, ~60 GB
#      estimated for torch) (~20-40 s each); batched decode of 64 and 256 sequences x 512 new tokens, bf16
#      weights, tokens/s and share of the memory bandwidth against an eager torch loop (~30-60 s each): the
#      issue's goals come first, so that a slow step later cannot crowd them out;
#      then one profiled run of each (PURE_CUDA_PROFILE=1: GPU time by kernel, cuBLAS call and copy, from CUDA
#      events; the tables in OUT_DIR/profile_{train,decode}.txt say what to make faster next) (~1 min);
#   4. the memory plan against the GPU arena's measured peak (test_model_memplan runs its cases on the GPU
#      too when one is present: f32/bf16 training, recompute, generation, a bf16 inference load) and the CPU's
#      bf16 checks (test_model_bf16) (~1-2 min);
#   5. bf16 parity end to end: pipelines/smoke.yaml on the GPU in f32 and in bf16 (both must run; the final
#      accuracies are printed side by side), and under mpirun when the machine has it (~1-2 min; the bf16
#      kill/resume test is CPU-only and runs in CI);
#   6. qwen_math_smoke on the GPU (real tokenizer, real data, the paper's graph) (~1 min);
#   7. the attention kernels alone, forward + backward at seq 4096 (4 sequences) with the 0.5B and the 1.5B
#      head shapes: PURE_CUDA_ATTENTION=simt (f32 CUDA cores) against =mma (bf16 tensor cores) against torch's
#      scaled_dot_product_attention in bf16 (bench/cuda_bench.sh --what attention; ~30 s each, mostly start-up);
#   8. `pure plan` of the paper's 1.5B recipe for this GPU (seconds).
# The lines carrying results are collected in OUT_DIR/summary.txt.
# Copy the numbers into docs/performance.md (date, GPU, driver, the commands) and fix what fails.
# Usage: tests/cuda/gpu_session.sh [OUT_DIR] [BUILD_DIR]      (GPU_KIT=FILE: another kit than .gpukit/kit.tar.xz;
#        GPU_KIT=none: build instead; GPU_SESSION_DEVICE=cpu: the pipelines on the CPU, a dry run of the session's
#        mechanics on a machine without a GPU, as tests/cuda/kit_dryrun.sh does)
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-gpu-session}
BUILD=${2:-build-cuda}
mkdir -p "$OUT"
exec > >(tee "$OUT/session.log") 2>&1
START=$(date +%s)
# the lines that carry results, for docs/performance.md: OUT/summary.txt, rewritten at every step so that a
# session cut short still leaves one
summarize() {
  grep -E "passed|FAILED|SKIPPED|: ok|tok/s|MFU|TFLOP/s|measured/plan|bandwidth|x eager|fits|per RL iteration" \
    "$OUT/session.log" 2>/dev/null | grep -v "^== " > "$OUT/summary.txt" || true
}
step() { summarize; echo; echo "== $1 ($(($(date +%s) - START)) s)"; }
# The whole session must end within LIMIT seconds (the device machine is lent for 15 minutes, start-up
# included): each step's timeout is cut to what is left, so the last steps shrink or fail rather than the
# session overrunning.
LIMIT=${GPU_SESSION_LIMIT:-570}
cap() { local l=$((LIMIT - ($(date +%s) - START))); if [ "$l" -lt "$1" ]; then echo $((l > 1 ? l : 1)); else echo "$1"; fi; }
nvidia-smi || true
PY=${PYTHON:-python3}
DEVICE=${GPU_SESSION_DEVICE:-cuda}
SHARED_SET=()
KIT_TAR=${GPU_KIT:-.gpukit/kit.tar.xz}
if [ "$KIT_TAR" != none ] && [ -f "$KIT_TAR" ]; then
  step "kit $KIT_TAR"
  KDIR=$(mktemp -d "${TMPDIR:-/tmp}/pure-gpukit.XXXXXX")
  xz -dc "$KIT_TAR" | tar -C "$KDIR" -xf - || { echo "kit: cannot unpack $KIT_TAR"; exit 1; }
  K=$(ls -d "$KDIR"/pure-*/ 2>/dev/null | head -1); K=${K%/}
  [ -n "$K" ] && [ -d "$K/bin" ] && [ -f "$K/COMMIT" ] || { echo "kit: $KIT_TAR holds no pure-*/bin (scripts/gpu_kit.sh)"; exit 1; }
  cat "$K/MANIFEST"
  TREE_REV=$(git rev-parse HEAD 2>/dev/null)
  if [ -z "$TREE_REV" ]; then echo "kit: built from $(cat "$K/COMMIT"); this copy of the tree has no git metadata to compare"
  elif [ "$(cat "$K/COMMIT")" != "$TREE_REV" ]; then
    echo "kit: WARNING built from $(cat "$K/COMMIT"), the tree is at $TREE_REV: rebuild it (scripts/gpu_kit.sh)"
  fi
  BUILD=$K/bin
  # cuBLAS (and NCCL) from this machine: its CUDA toolkit, else the wheels PyTorch loads them from
  libdirs=() unfound=()
  for name in libcublasLt.so.13 libcublas.so.13 libcudart.so.13 libnccl.so.2; do
    d=$(ldconfig -p 2>/dev/null | awk -v n="$name" '$1 == n {print $NF; exit}')
    [ -n "$d" ] || d=$(ls /usr/local/cuda/lib64/$name /usr/local/cuda/targets/*/lib/$name 2>/dev/null | head -1)
    if [ -n "$d" ]; then libdirs+=("$(dirname "$d")"); else unfound+=(-o -name "$name"); fi
  done
  if [ ${#unfound[@]} -gt 0 ]; then # one bounded search of the image (the wheels live under /opt or /usr/local)
    while read -r f; do libdirs+=("$(dirname "$f")"); done < <(timeout 40 find /usr/local /opt /usr/lib \
      \( "${unfound[@]:1}" \) 2>/dev/null)
  fi
  # the driver (libcuda, which the CUDA runtime opens) where the image mounts it
  for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do [ -e "$d/libcuda.so.1" ] && libdirs+=("$d"); done
  LD_LIBRARY_PATH=$(printf '%s\n' "${libdirs[@]}" | awk '!seen[$0]++' | paste -sd: -)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  export LD_LIBRARY_PATH
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
  for b in "$BUILD"/*; do
    miss=$(ldd "$b" 2>&1 | grep 'not found')
    [ -z "$miss" ] || { echo "kit: $(basename "$b") cannot load:"; echo "$miss"; exit 1; }
  done
  # qwen_math_smoke.yaml reads ../shared (the tokenizer, the datasets), which does not travel: the kit's copy
  if [ ! -f ../shared/tokenizers/qwen/tokenizer.json ]; then
    TOK=$K/shared/tokenizers/qwen/tokenizer.json
    SHARED_SET=(--set "stages.data.data_dir=$K/shared/data" --set "stages.bench.data_dir=$K/shared/data"
                --set "stages.data.tokenizer=$TOK" --set "stages.policy.tokenizer=$TOK" --set "stages.prm_model.tokenizer=$TOK")
  fi
else
  step "build"
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DPURE_CUDA=ON -DPURE_CUDA_ARCHS="80;90" >/dev/null &&
    cmake --build "$BUILD" -j"$(nproc)" --target test_cuda_ops test_cuda_model test_model_memplan test_model_bf16 \
      cuda_bench pure pure-test || exit 1
fi

step "GPU tests (ops incl. bf16, whole model) against the CPU"
for t in test_cuda_ops test_cuda_model; do
  timeout $(cap 200) "$BUILD/$t" > "$OUT/$t.log" 2>&1
  rc=$?
  tail -60 "$OUT/$t.log"
  case $rc in 0) echo "$t: passed" ;; 77) echo "$t: SKIPPED (no CUDA device seen)" ;; *) echo "$t: FAILED (exit $rc)" ;; esac
done

NO_TORCH=1
"$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null && NO_TORCH=0
[ $NO_TORCH = 1 ] && echo "no CUDA-enabled torch for $PY: the benchmarks run pure alone"
export PYTHON=$PY NO_TORCH NO_BUILD=1 # for bench/cuda_bench.sh: built above

step "training against PyTorch eager bf16 on this GPU: 0.5B (8 x 512), 1.5B (4 x 1024)"
timeout $(cap 120) "$BUILD/cuda_bench" --size 0.5b --what train --batch 8 --seq 512 --iters 3 # f32 master weights only
PRECISION=bf16 TRAIN="--batch 8 --seq 512 --iters 3" timeout $(cap 200) bash bench/cuda_bench.sh "$BUILD" --size 0.5b --what train
PRECISION=bf16 TRAIN="--batch 4 --seq 1024 --iters 2" timeout $(cap 300) bash bench/cuda_bench.sh "$BUILD" --size 1.5b --what train

step "batched decode at 64 and 256 sequences, 512 new tokens, bf16 weights (0.5B), against an eager torch loop"
for P in 64 256; do
  PRECISION=bf16 DECODE="--prompts $P --prompt-len 64 --new 512 --iters 1" timeout $(cap 240) \
    bash bench/cuda_bench.sh "$BUILD" --size 0.5b --what decode
done

step "where the GPU time goes (PURE_CUDA_PROFILE=1, CUDA events around each kernel, cuBLAS call and copy)"
PURE_CUDA_PROFILE=1 timeout $(cap 90) "$BUILD/cuda_bench" --size 0.5b --what train --batch 8 --seq 512 --iters 1 \
  --precision bf16 2> "$OUT/profile_train.txt" | tail -1
head -32 "$OUT/profile_train.txt"
PURE_CUDA_PROFILE=1 timeout $(cap 90) "$BUILD/cuda_bench" --size 0.5b --what decode --prompts 64 --prompt-len 64 \
  --new 128 --iters 1 --precision bf16 2> "$OUT/profile_decode.txt" | tail -1
head -32 "$OUT/profile_decode.txt"

step "memory plan against the measured peak (CPU RSS, then the GPU arena)"
timeout $(cap 240) "$BUILD/test_model_memplan" 2>&1 | grep -E "memplan|checks|FAIL"
timeout $(cap 120) "$BUILD/test_model_bf16" 2>&1 | tail -5

step "bf16 parity end to end: smoke.yaml on the GPU, f32 and bf16"
DEV=() BF=()
for s in stages.sft stages.prm_train stages.eval_sft loop.stages.rollout loop.stages.prm loop.stages.optimize \
         loop.stages.eval after.final_eval; do DEV+=(--set "$s.device=$DEVICE"); BF+=(--set "$s.precision=bf16"); done
for prec in fp32 bf16; do
  extra=(); [ $prec = bf16 ] && extra=("${BF[@]}")
  rm -rf "$OUT/smoke_$prec"
  timeout $(cap 120) "$BUILD/pure" run pipelines/smoke.yaml --run-dir "$OUT/smoke_$prec" "${DEV[@]}" "${extra[@]}" -q \
    > "$OUT/smoke_$prec.log" 2>&1 && echo "smoke $prec on $DEVICE: ok" || { echo "smoke $prec FAILED"; tail -20 "$OUT/smoke_$prec.log"; }
  grep -h '"stage": *"final_eval"' "$OUT/smoke_$prec/metrics.jsonl" 2>/dev/null | tail -1
done
# optimize on cuda trains through stages/common/dp.h (docs/distributed.md); under mpirun the rank takes the GPU
# of its node-local rank. Two ranks cannot share one GPU under NCCL: the multi-rank exchange needs 2+ GPUs.
# The kit carries OpenMPI's libraries but not its runtime (mpirun, orted, the plugins MPI_Init loads), and an
# mpirun on the lent image may be another MPI's: from a kit, multi-process runs are left out.
if [ -n "${K:-}" ]; then
  echo "mpirun: skipped (a kit has OpenMPI's libraries, not its runtime; multi-process runs need OpenMPI installed)"
elif command -v mpirun >/dev/null; then
  rm -rf "$OUT/smoke_mpi"
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 timeout $(cap 120) mpirun -np 1 "$BUILD/pure" run pipelines/smoke.yaml \
    --run-dir "$OUT/smoke_mpi" "${DEV[@]}" -q > "$OUT/smoke_mpi.log" 2>&1 && echo "smoke under mpirun -np 1 on $DEVICE: ok" \
    || { echo "smoke under mpirun FAILED"; tail -20 "$OUT/smoke_mpi.log"; }
  [ "$(nvidia-smi -L | wc -l)" -ge 2 ] && OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 timeout $(cap 120) \
    mpirun -np 2 "$BUILD/pure" run pipelines/smoke.yaml --run-dir "$OUT/smoke_mpi2" "${DEV[@]}" \
    --set loop.stages.optimize.micro_batch=2 -q > "$OUT/smoke_mpi2.log" 2>&1 && echo "smoke on 2 GPUs (NCCL): ok"
fi

step "qwen_math_smoke on the GPU"
rm -rf "$OUT/qwen_math_smoke"
timeout $(cap 300) "$BUILD/pure" run pipelines/qwen_math_smoke.yaml --run-dir "$OUT/qwen_math_smoke" --set vars.device=$DEVICE \
  "${SHARED_SET[@]}" -q \
  > "$OUT/qwen_math_smoke.log" 2>&1 && echo "qwen_math_smoke on $DEVICE: ok" || { echo "qwen_math_smoke FAILED"; tail -30 "$OUT/qwen_math_smoke.log"; }

step "attention alone (fwd + bwd, 4 x 4096 tokens): simt vs mma vs torch sdpa, 0.5B and 1.5B heads"
for S in 0.5b 1.5b; do
  ATTN="--batch 4 --seq 4096 --iters 3" timeout $(cap 120) bash bench/cuda_bench.sh "$BUILD" --size $S --what attention
done

step "the paper's 1.5B recipe on this GPU (plan)"
GPU_GB=$(nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits 2>/dev/null | head -1)
MEM=(); [ -n "$GPU_GB" ] && MEM=(--gpu-memory "$(awk "BEGIN{print $GPU_GB * 1.048576 / 1000}")")
S=tests/model/shapes
timeout $(cap 30) "$BUILD/pure" plan pipelines/qwen_math.yaml --device cuda "${MEM[@]}" "${SHARED_SET[@]}" --set vars.policy_model=$S/qwen2.5-math-1.5b \
  --set vars.prm_model=$S/pure-prm-7b --set loop.stages.rollout.samples=8 --set vars.train_max_tokens=3000 \
  --set loop.stages.rollout.precision=bf16 --set loop.stages.prm.precision=bf16 \
  --set loop.stages.optimize.precision=bf16 --set loop.stages.optimize.recompute=true
step "done"
sleep 1; summarize # tee has written the last lines
