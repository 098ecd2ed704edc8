"""llama_bench.py - the llama.cpp side of bench/llama_bench.sh.

Writes a random Qwen2.5-0.5B-shaped model (vocabulary 151,936, hidden 896, 24 layers, 14/2 heads, FFN 4,864, tied
embeddings, q/k/v biases) from one set of numpy weights twice: a Hugging Face folder (config.json +
model.safetensors, what pure loads) and GGUF files in F32 and BF16 (what llama.cpp loads; BF16 = matrices in
bf16, vectors in f32, as llama.cpp's own converter writes them), with the shared Qwen tokenizer's vocabulary.
Then times llama.cpp (llama-cpp-python's bindings to the C API, built by scripts/venv.sh --llama) on it, the same
cases as `model_bench --model DIR`:
  prefill  one prompt of 512 tokens in one llama_decode (logits of the last token only);
  decode   one sequence: a 32-token prompt, then 31 tokens one llama_decode each;
  decode8  8 sequences of 32-token prompts (one batch), then 31 steps of one llama_decode holding the 8 tokens.
Each decode step reads the logits and feeds back their argmax (a real greedy decode, like pure's sampling);
decode tokens/s count only the steps after the prompt (the prompt's time is printed as prefill_s). Best of
--iters runs after a warm-up. Prints "key=value" lines like model_bench.

  llama_bench.py --out DIR --tokenizer ../shared/tokenizers/qwen/tokenizer.json --write [--check] [--layers L]
      (the model files only; --check compares llama.cpp's logits on them with transformers')
  llama_bench.py --out DIR --dtype f32|bf16 --threads N [--what prefill|decode|decode8|all] [--iters K]
"""
import argparse
import json
import os
import time

import gguf
import numpy as np
from safetensors.numpy import save_file

V, C, FF, L, NH, NKV, THETA, EPS = 151936, 896, 4864, 24, 14, 2, 1e6, 1e-6


def weights(layers, seed=16):
    """HF-named float32 weights, 0.02-normal matrices, random biases and norms."""
    rng = np.random.default_rng(seed)
    hd = C // NH
    n = lambda *s: (0.02 * rng.standard_normal(s, dtype=np.float32))
    w = {"model.embed_tokens.weight": n(V, C), "model.norm.weight": 1 + n(C)}
    for i in range(layers):
        p = "model.layers.%d." % i
        w.update({p + "input_layernorm.weight": 1 + n(C), p + "post_attention_layernorm.weight": 1 + n(C),
                  p + "self_attn.q_proj.weight": n(NH * hd, C), p + "self_attn.q_proj.bias": n(NH * hd),
                  p + "self_attn.k_proj.weight": n(NKV * hd, C), p + "self_attn.k_proj.bias": n(NKV * hd),
                  p + "self_attn.v_proj.weight": n(NKV * hd, C), p + "self_attn.v_proj.bias": n(NKV * hd),
                  p + "self_attn.o_proj.weight": n(C, NH * hd), p + "mlp.gate_proj.weight": n(FF, C),
                  p + "mlp.up_proj.weight": n(FF, C), p + "mlp.down_proj.weight": n(C, FF)})
    return w


GGUF_NAMES = {"input_layernorm.weight": "attn_norm.weight", "post_attention_layernorm.weight": "ffn_norm.weight",
              "self_attn.q_proj.weight": "attn_q.weight", "self_attn.q_proj.bias": "attn_q.bias",
              "self_attn.k_proj.weight": "attn_k.weight", "self_attn.k_proj.bias": "attn_k.bias",
              "self_attn.v_proj.weight": "attn_v.weight", "self_attn.v_proj.bias": "attn_v.bias",
              "self_attn.o_proj.weight": "attn_output.weight", "mlp.gate_proj.weight": "ffn_gate.weight",
              "mlp.up_proj.weight": "ffn_up.weight", "mlp.down_proj.weight": "ffn_down.weight"}


def gguf_name(hf):
    if hf == "model.embed_tokens.weight":
        return "token_embd.weight"
    if hf == "model.norm.weight":
        return "output_norm.weight"
    parts = hf.split(".")
    return "blk.%s.%s" % (parts[2], GGUF_NAMES[".".join(parts[3:])])


def write_hf(d, w, layers, dtype):
    cfg = {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": V, "hidden_size": C,
           "intermediate_size": FF, "num_hidden_layers": layers, "num_attention_heads": NH,
           "num_key_value_heads": NKV, "max_position_embeddings": 4096, "rope_theta": THETA, "rms_norm_eps": EPS,
           "tie_word_embeddings": True, "hidden_act": "silu", "torch_dtype": "float32", "eos_token_id": 151643}
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f)
    save_file(w, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})


def write_gguf(path, w, layers, dtype, tokenizer_json):
    tj = json.load(open(tokenizer_json, encoding="utf-8"))
    tokens = ["[PAD%d]" % i for i in range(V)]
    types = [gguf.TokenType.UNUSED] * V
    for t, i in tj["model"]["vocab"].items():
        tokens[i], types[i] = t, gguf.TokenType.NORMAL
    for a in tj["added_tokens"]:
        tokens[a["id"]] = a["content"]
        types[a["id"]] = gguf.TokenType.CONTROL if a["special"] else gguf.TokenType.USER_DEFINED
    merges = [m if isinstance(m, str) else " ".join(m) for m in tj["model"]["merges"]]
    g = gguf.GGUFWriter(path, "qwen2")
    g.add_context_length(4096)
    g.add_embedding_length(C)
    g.add_feed_forward_length(FF)
    g.add_block_count(layers)
    g.add_head_count(NH)
    g.add_head_count_kv(NKV)
    g.add_rope_freq_base(THETA)
    g.add_layer_norm_rms_eps(EPS)
    g.add_file_type(gguf.LlamaFileType.MOSTLY_BF16 if dtype == "bf16" else gguf.LlamaFileType.ALL_F32)
    g.add_tokenizer_model("gpt2")
    g.add_tokenizer_pre("qwen2")
    g.add_token_list(tokens)
    g.add_token_types(types)
    g.add_token_merges(merges)
    g.add_eos_token_id(151643)
    g.add_bos_token_id(151643)
    g.add_add_bos_token(False)
    for name, a in w.items():
        if dtype == "bf16" and a.ndim == 2:  # as llama.cpp's converter: matrices in BF16, vectors in F32
            g.add_tensor(gguf_name(name), gguf.quants.quantize(a, gguf.GGMLQuantizationType.BF16),
                         raw_dtype=gguf.GGMLQuantizationType.BF16)
        else:
            g.add_tensor(gguf_name(name), a)
    g.write_header_to_file()
    g.write_kv_data_to_file()
    g.write_tensors_to_file()
    g.close()


def write_all(d, layers, tokenizer):
    """The Hugging Face folder and both GGUF files from the same weights, each written once (files ~5 GB)."""
    paths = {dt: os.path.join(d, "model-%s.gguf" % dt) for dt in ("f32", "bf16")}
    if all(os.path.exists(p) for p in paths.values()) and os.path.exists(os.path.join(d, "model.safetensors")):
        return
    w = weights(layers)
    write_hf(d, w, layers, "f32")
    for dt, p in paths.items():
        write_gguf(p + ".tmp", w, layers, dt, tokenizer)
        os.replace(p + ".tmp", p)


class Llama:
    """One llama.cpp model and context through the C API; batch of up to n_tok tokens over n_seq sequences."""

    def __init__(self, path, threads, n_seq, n_ctx, n_tok, exact=False):
        import llama_cpp as lc
        self.L = L = lc
        self._log = L.llama_log_callback(lambda level, text, user: None)  # keep a reference: C holds it
        L.llama_log_set(self._log, None)
        L.llama_backend_init()
        mp = L.llama_model_default_params()
        self.model = L.llama_model_load_from_file(path.encode(), mp)
        if not self.model:
            raise SystemExit("llama_bench: llama.cpp could not load %s" % path)
        cp = L.llama_context_default_params()
        cp.n_ctx, cp.n_batch, cp.n_ubatch, cp.n_seq_max = n_ctx, n_tok, n_tok, n_seq
        cp.n_threads = cp.n_threads_batch = threads
        if exact:  # llama.cpp's defaults (F16 KV cache, flash attention on the CPU) move the logits by ~4e-3
            cp.type_k = cp.type_v = 0  # GGML_TYPE_F32
            cp.flash_attn_type = 0  # LLAMA_FLASH_ATTN_TYPE_DISABLED
        self.ctx = L.llama_init_from_model(self.model, cp)
        if not self.ctx:
            raise SystemExit("llama_bench: llama.cpp could not create a context (n_ctx %d, %d sequences)" % (n_ctx, n_seq))
        self.n_vocab = L.llama_vocab_n_tokens(L.llama_model_get_vocab(self.model))
        self.batch = L.llama_batch_init(n_tok, 0, n_seq)

    def clear(self):
        self.L.llama_memory_clear(self.L.llama_get_memory(self.ctx), True)

    def decode(self, items):
        """items: (token, position, sequence, wants logits); returns the argmax token of each logits row."""
        b = self.batch
        b.n_tokens = len(items)
        rows = []
        for j, (tok, pos, seq, logit) in enumerate(items):
            b.token[j], b.pos[j], b.n_seq_id[j], b.seq_id[j][0], b.logits[j] = tok, pos, 1, seq, int(logit)
            if logit:
                rows.append(j)
        rc = self.L.llama_decode(self.ctx, b)
        if rc != 0:
            raise SystemExit("llama_bench: llama_decode returned %d for a batch of %d tokens" % (rc, len(items)))
        return [int(self.logits(j).argmax()) for j in rows]

    def logits(self, j):
        return np.ctypeslib.as_array(self.L.llama_get_logits_ith(self.ctx, j), shape=(self.n_vocab,)).copy()

    def free(self):
        self.L.llama_batch_free(self.batch)
        self.L.llama_free(self.ctx)
        self.L.llama_model_free(self.model)


def best_of(iters, fn):
    """fn returns (prefill seconds, decode seconds); the best of each over iters runs after one warm-up."""
    bp = bd = 1e30
    for it in range(iters + 1):
        p, d = fn()
        if it:
            bp, bd = min(bp, p), min(bd, d)
    return bp, bd


def run_seqs(llm, prompts, new):
    """Prompts (one batch), then new - 1 steps of one token per sequence; (prefill_s, decode_s)."""
    llm.clear()
    PL = len(prompts[0])
    t0 = time.perf_counter()
    nxt = llm.decode([(tok, t, s, t == PL - 1) for s, pr in enumerate(prompts) for t, tok in enumerate(pr)])
    t1 = time.perf_counter()
    for k in range(new - 1):
        nxt = llm.decode([(nxt[s], PL + k, s, True) for s in range(len(prompts))])
    return t1 - t0, time.perf_counter() - t1


def check(d, threads):
    """The GGUF files compute the model the Hugging Face folder holds: llama.cpp's logits of every position of a
    24-token prompt against transformers' in float32, with an F32 KV cache and no flash attention (F32 file
    within 1e-4; BF16 rounds the weights and the activations, looser); then with llama.cpp's defaults, which
    the timings use, for the record."""
    import torch
    import transformers
    m = transformers.AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32).eval()
    toks = np.random.default_rng(2).integers(0, 151643, 24).tolist()
    with torch.no_grad():
        ref = m(torch.tensor([toks])).logits[0].numpy()
    for dt, tol, mode in (("f32", 1e-4, "exact"), ("bf16", 0.1, "exact"), ("f32", 1e-2, "default")):
        llm = Llama(os.path.join(d, "model-%s.gguf" % dt), threads, 1, 256, 64, exact=mode == "exact")
        llm.decode([(t, i, 0, True) for i, t in enumerate(toks)])
        got = np.stack([llm.logits(i) for i in range(len(toks))])
        llm.free()
        diff = float(np.abs(got - ref).max())
        same = float((got.argmax(1) == ref.argmax(1)).mean())
        print("check dtype=%s settings=%s max_abs_logit_diff=%.2e logit_scale=%.2f argmax_agree=%.2f %s"
              % (dt, mode, diff, float(np.abs(ref).max()), same, "ok" if diff <= tol else "FAILED"), flush=True)
        if diff > tol:
            raise SystemExit("llama_bench: llama.cpp's %s logits differ from transformers' by %.3g (bound %g): "
                             "the GGUF conversion is wrong" % (dt, diff, tol))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--dtype", default="f32", choices=["f32", "bf16"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--layers", type=int, default=L)
    ap.add_argument("--tokenizer")
    ap.add_argument("--write", action="store_true", help="write the model files and stop")
    ap.add_argument("--check", action="store_true", help="write (if needed) and compare logits with transformers")
    ap.add_argument("--what", default="all", choices=["prefill", "decode", "decode8", "all"])
    ap.add_argument("--iters", type=int, default=2)
    a = ap.parse_args()
    if a.write:
        if not a.tokenizer:
            ap.error("--write needs --tokenizer")
        os.makedirs(a.out, exist_ok=True)
        write_all(a.out, a.layers, a.tokenizer)
        if a.check:
            check(a.out, a.threads)
        return
    path = os.path.join(a.out, "model-%s.gguf" % a.dtype)
    if not os.path.exists(path):
        raise SystemExit("llama_bench: %s does not exist (run with --write first)" % path)
    rng = np.random.default_rng(1)
    toks = rng.integers(0, 151643, 8 * 32 + 512).tolist()
    tag = "impl=llama.cpp dtype=%s threads=%d" % (a.dtype, a.threads)
    if a.what in ("prefill", "decode", "all"):
        llm = Llama(path, a.threads, 1, 1024, 512)
        if a.what in ("prefill", "all"):
            p, _ = best_of(a.iters, lambda: run_seqs(llm, [toks[:512]], 1))
            print("what=prefill %s prompt_len=512 tokens_per_s=%.1f prefill_s=%.4f" % (tag, 512 / p, p), flush=True)
        if a.what in ("decode", "all"):
            p, d = best_of(a.iters, lambda: run_seqs(llm, [toks[:32]], 32))
            print("what=decode %s prompts=1 prompt_len=32 new=32 tokens_per_s=%.1f decode_s=%.4f prefill_s=%.4f"
                  % (tag, 31 / d, d, p), flush=True)
        llm.free()
    if a.what in ("decode8", "all"):
        llm = Llama(path, a.threads, 8, 1024, 512)  # 128 positions per sequence
        p, d = best_of(a.iters, lambda: run_seqs(llm, [toks[32 * s:32 * s + 32] for s in range(8)], 32))
        print("what=decode %s prompts=8 prompt_len=32 new=32 tokens_per_s=%.1f decode_s=%.4f prefill_s=%.4f"
              % (tag, 8 * 31 / d, d, p), flush=True)
        llm.free()


if __name__ == "__main__":
    main()
