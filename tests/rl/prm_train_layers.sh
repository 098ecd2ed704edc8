#!/usr/bin/env bash
# prm_train_layers.sh - prm_train extra_layers (tests/rl/prm_layers.yaml): the PRM is the policy's layers, unchanged,
# plus N new layers whose output projections are exactly zero (so each new layer adds nothing to the residual
# stream and the untrained PRM computes the policy's features), its config says policy layers + N, a trained one
# loads and scores rollouts, and extra_layers without init_from_policy is refused with a message.
# The weights are read by a safetensors parser written here (header JSON + raw little-endian f32), not by pure.
# Usage: prm_train_layers.sh PURE SOURCE_DIR PYTHON
set -euo pipefail
PURE=$1 SRC=$2 PY=$3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "prm_train_layers: FAIL: $*" >&2; exit 1; }
"$PURE" run "$SRC/tests/rl/prm_layers.yaml" --run-dir "$T/r" > "$T/log" 2>&1 || { cat "$T/log"; fail "run failed"; }
pol=$(ls -d "$T"/r/stages/sft/*/policy) init=$(ls -d "$T"/r/stages/prm_init/*/prm)
trained=$(ls -d "$T"/r/stages/prm_trained/*/prm) frozen=$(ls -d "$T"/r/stages/prm_frozen/*/prm)
more=$(ls -d "$T"/r/stages/sft_more/*/policy) imported=$(ls -d "$T"/r/stages/sft_import/*/policy)
based=$(ls -d "$T"/r/stages/prm_based/*/prm)
"$PY" - "$pol" "$init" "$trained" "$frozen" "$more" "$imported" "$based" <<'PY' || fail "weights"
import json, struct, sys, os
import numpy as np
def load(d):
    cfg = json.load(open(os.path.join(d, "config.json")))
    out = {}
    for f in sorted(os.listdir(d)):
        if not f.endswith(".safetensors"): continue
        b = open(os.path.join(d, f), "rb").read()
        n = struct.unpack("<Q", b[:8])[0]
        hdr = json.loads(b[8:8 + n])
        for name, t in hdr.items():
            if name == "__metadata__": continue
            assert t["dtype"] == "F32", (name, t["dtype"])
            s, e = t["data_offsets"]
            out[name] = np.frombuffer(b[8 + n + s:8 + n + e], dtype="<f4").reshape(t["shape"])
    return cfg, out
pc, pw = load(sys.argv[1])
ic, iw = load(sys.argv[2])
tc, tw = load(sys.argv[3])
L = pc["num_hidden_layers"]
assert L == 1, pc
assert ic["num_hidden_layers"] == L + 2 and tc["num_hidden_layers"] == L + 1, (ic["num_hidden_layers"], tc["num_hidden_layers"])
assert ic.get("num_labels", len(ic.get("id2label", {}))) == 2, ic
# every policy tensor but the LM head is in the PRM, bit for bit
copied = [n for n in pw if not n.startswith("lm_head")]
assert copied and all(np.array_equal(pw[n], iw[n]) for n in copied), [n for n in copied if not np.array_equal(pw[n], iw[n])]
for l in range(L, L + 2):
    for part in ("self_attn.o_proj.weight", "mlp.down_proj.weight"):
        w = iw[f"model.layers.{l}.{part}"]
        assert w.size and not w.any(), (l, part, np.abs(w).max())
    for part in ("self_attn.q_proj.weight", "mlp.up_proj.weight", "mlp.gate_proj.weight"):
        w = iw[f"model.layers.{l}.{part}"]
        assert np.abs(w).max() > 0, (l, part)
assert not any(n.startswith(f"model.layers.{L + 2}.") for n in iw), sorted(iw)
# training moved the new layer's output projection off zero
assert np.abs(tw[f"model.layers.{L}.self_attn.o_proj.weight"]).max() > 0
assert not all(np.array_equal(pw[n], tw[n]) for n in copied), "training without freeze_policy left the policy's weights"
# freeze_policy: 3 steps at lr 1e-2 leave the policy's embedding and layer bit for bit, and move the rest
fc, fw = load(sys.argv[4])
moved = [n for n in copied if not np.array_equal(pw[n], fw[n])]
assert all(not n.startswith(("model.embed_tokens", "model.layers.0.")) for n in moved), moved
assert np.abs(fw[f"model.layers.{L}.mlp.down_proj.weight"]).max() > 0 and np.abs(fw["score.weight"]).max() > 0
# sft with input `base`: steps 0 imports the policy bit for bit; 2 steps train it further (same config, every
# tensor present, some moved); a PRM whose base is that LM carries the LM's tensors, not the policy's
mc, mw = load(sys.argv[5])
xc, xw = load(sys.argv[6])
bc, bw = load(sys.argv[7])
assert sorted(xw) == sorted(pw) and all(np.array_equal(pw[n], xw[n]) for n in pw), "sft_import changed the policy"
assert sorted(mw) == sorted(pw) and mc["num_hidden_layers"] == L and mc["hidden_size"] == pc["hidden_size"], mc
assert any(not np.array_equal(pw[n], mw[n]) for n in pw), "sft_more did not train"
assert bc["num_hidden_layers"] == L + 1, bc
assert all(np.array_equal(mw[n], bw[n]) for n in copied), [n for n in copied if not np.array_equal(mw[n], bw[n])]
print("prm_train_layers: weights ok")
PY
grep -q '"stage":"scores"\|"stage": "scores"' "$T/r/metrics.jsonl" || fail "the PRM with an extra layer did not score"
# extra_layers needs init_from_policy
sed 's/    extra_layers: 2/    extra_layers: 2\n    init_from_policy: false/' "$SRC/tests/rl/prm_layers.yaml" \
  | awk '!(/init_from_policy: true/ && ++n == 1)' > "$T/bad.yaml"
if "$PURE" validate "$T/bad.yaml" > "$T/bad.log" 2>&1; then fail "extra_layers without init_from_policy accepted"; fi
grep -q "prm_init.*extra_layers adds layers above the policy's: it needs init_from_policy: true" "$T/bad.log" \
  || { cat "$T/bad.log"; fail "message"; }
# freeze_policy needs init_from_policy, and no weight decay
awk '/^  prm_frozen:/{f=1} f && /init_from_policy: true/{sub(/true/, "false"); f=0} {print}' \
  "$SRC/tests/rl/prm_layers.yaml" | sed '/extra_layers: 1/{N;s/extra_layers: 1\n    freeze_policy/freeze_policy/}' > "$T/bad2.yaml"
if "$PURE" validate "$T/bad2.yaml" > "$T/bad2.log" 2>&1; then fail "freeze_policy without init_from_policy accepted"; fi
grep -q "prm_frozen.*freeze_policy keeps the policy's weights fixed: it needs init_from_policy: true" "$T/bad2.log" \
  || { cat "$T/bad2.log"; fail "message (freeze_policy without init_from_policy)"; }
sed 's/    freeze_policy: true/    freeze_policy: true\n    weight_decay: 0.01/' "$SRC/tests/rl/prm_layers.yaml" > "$T/bad3.yaml"
if "$PURE" validate "$T/bad3.yaml" > "$T/bad3.log" 2>&1; then fail "freeze_policy with weight decay accepted"; fi
grep -q "prm_frozen.*weight_decay must be 0 (it is 0.01)" "$T/bad3.log" || { cat "$T/bad3.log"; fail "message (weight decay)"; }
# the memory plan sizes a PRM with its extra layers: prm_init's weights are the 3-layer file's bytes
"$PURE" plan "$SRC/tests/rl/prm_layers.yaml" > "$T/plan.log" 2>&1 || { cat "$T/plan.log"; fail "plan"; }
"$PY" - "$T/plan.log" "$init/model.safetensors" <<'PY' || { cat "$T/plan.log"; fail "plan of a PRM with extra layers"; }
import os, sys
units = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}
row = next(l.split() for l in open(sys.argv[1]) if l.startswith("prm_init "))
w = row[4]
planned = float(w.rstrip("KMG")) * units[w[-1] if w[-1] in "KMG" else ""]
actual = os.path.getsize(sys.argv[2])
assert abs(planned - actual) <= 0.1 * actual, (planned, actual)
PY
# `init` and `base` together are refused when the stage starts; the stages already run stay committed
POL=$pol awk '/^  sft_import:/{f=1} {print} f && /epochs: 0/{print "    init: " ENVIRON["POL"]; f=0}' \
  "$SRC/tests/rl/prm_layers.yaml" > "$T/bad4.yaml"
if "$PURE" run "$T/bad4.yaml" --run-dir "$T/r" > "$T/bad4.log" 2>&1; then fail "init and base together accepted"; fi
grep -q "sft_import.*set the parameter 'init' or the input 'base', not both" "$T/bad4.log" \
  || { cat "$T/bad4.log"; fail "message (init and base)"; }
echo "prm_train_layers: ok"
