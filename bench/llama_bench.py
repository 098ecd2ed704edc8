"""llama_bench.py - the llama.cpp side of bench/llama_bench.sh (llama-cpp-python, built from
source by scripts/venv.sh --llama).

Writes a random Qwen2.5-0.5B-shaped model (vocabulary 151,936, hidden 896, 24 layers, 14/2
heads, FFN 4,864, tied embeddings, q/k/v biases) twice from the same numpy weights: a Hugging
Face folder (config.json + model.safetensors, what pure loads) and a GGUF file in F32 or BF16
(what llama.cpp loads), with the shared Qwen tokenizer's vocabulary in the GGUF. Then times
llama.cpp on it: prefill of 512 tokens, single-sequence decode and (--batch) 8-sequence decode,
decode tokens/s after the prefill. Prints "key=value" lines like model_bench.

  llama_bench.py --out DIR --dtype f32|bf16 --threads N --tokenizer ../shared/tokenizers/qwen/tokenizer.json
                 [--layers L] [--what prefill|decode|decode8|all]
  and for pure, the same shapes: model_bench --size 0.5b --what decode --prompts 1|8 --prompt-len 32 --new 32,
  and --prompts 1 --prompt-len 512 --new 2 for the prefill (its prefill_s).

Status (issue 16): the weights, the Hugging Face folder and the GGUF writing are checked (gguf.GGUFReader reads
every tensor back, F32 and BF16; pure loads the folder). The llama.cpp part has NOT been run yet: building
llama-cpp-python from source did not finish within the session on the shared 2-core machine.
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--dtype", default="f32", choices=["f32", "bf16"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--layers", type=int, default=L)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--what", default="all")
    ap.add_argument("--iters", type=int, default=2)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, "model-%s.gguf" % a.dtype)
    if not os.path.exists(path) or not os.path.exists(os.path.join(a.out, "model.safetensors")):
        w = weights(a.layers)
        write_hf(a.out, w, a.layers, a.dtype)
        write_gguf(path + ".tmp", w, a.layers, a.dtype, a.tokenizer)
        os.replace(path + ".tmp", path)
        del w
    import llama_cpp
    llm = llama_cpp.Llama(model_path=path, n_ctx=1024, n_batch=512, n_ubatch=512, n_threads=a.threads,
                          n_threads_batch=a.threads, n_seq_max=8, verbose=False)
    rng = np.random.default_rng(1)
    toks = rng.integers(0, 151643, 600).tolist()

    def best(fn):
        b = 1e30
        for it in range(a.iters + 1):
            t0 = time.perf_counter()
            fn()
            if it:
                b = min(b, time.perf_counter() - t0)
        return b

    def run(prompt, new):
        llm.reset()
        llm.eval(prompt)
        for k in range(new - 1):
            llm.eval([toks[k]])

    if a.what in ("prefill", "all"):
        t = best(lambda: run(toks[:512], 1))
        print("what=prefill impl=llama.cpp dtype=%s tokens=512 tokens_per_s=%.1f prefill_s=%.4f" % (a.dtype, 512 / t, t))
    if a.what in ("decode", "all"):
        t1, tn = best(lambda: run(toks[:32], 1)), best(lambda: run(toks[:32], 32))
        print("what=decode impl=llama.cpp dtype=%s prompts=1 prompt_len=32 new=32 tokens_per_s=%.1f decode_s=%.4f "
              "prefill_s=%.4f" % (a.dtype, 31 / (tn - t1), tn - t1, t1))
    if a.what in ("decode8", "all"):
        decode8(llm, a, toks, best)


def decode8(llm, a, toks, best):
    """8 sequences decoded together: one llama_decode per step with one token of each sequence."""
    import llama_cpp
    ctx, P, PL, NEW = llm.ctx, 8, 32, 32
    batch = llama_cpp.llama_batch_init(P * PL, 0, P)

    def fill(items):
        batch.n_tokens = len(items)
        for j, (tok, pos, seq) in enumerate(items):
            batch.token[j], batch.pos[j], batch.n_seq_id[j] = tok, pos, 1
            batch.seq_id[j][0], batch.logits[j] = seq, 1 if pos >= PL - 1 else 0

    def run(new):
        llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(ctx), True)
        fill([(toks[s * PL + t], t, s) for s in range(P) for t in range(PL)])
        assert llama_cpp.llama_decode(ctx, batch) == 0
        for k in range(new - 1):
            fill([(toks[k + s], PL + k, s) for s in range(P)])
            assert llama_cpp.llama_decode(ctx, batch) == 0

    t1, tn = best(lambda: run(1)), best(lambda: run(NEW))
    llama_cpp.llama_batch_free(batch)
    print("what=decode impl=llama.cpp dtype=%s prompts=8 prompt_len=32 new=32 tokens_per_s=%.1f decode_s=%.4f "
          "prefill_s=%.4f" % (a.dtype, P * (NEW - 1) / (tn - t1), tn - t1, t1))


if __name__ == "__main__":
    main()
