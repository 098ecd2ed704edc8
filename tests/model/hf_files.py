"""hf_files.py - Hugging Face file compatibility, checked without transformers.

A small numpy reader/writer of safetensors (the format's spec: 8-byte header
length, JSON header, raw little-endian data) and the float64 reference model
of torch_ref.py, used by test_model_hf.c in two directions:

  hf_files.py check DIR     reads a folder saved by the engine: config.json
                            fields and tensor names/shapes/dtypes as HF expects
                            them, then writes DIR/ref_logprobs.bin for tokens.bin
  hf_files.py write DIR     writes an HF-style Qwen2 folder (config.json as
                            transformers writes it, bf16 tensors in two shards
                            with model.safetensors.index.json) and its
                            reference log-probs for tokens.bin
"""
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_ref  # noqa: E402

torch.set_default_dtype(torch.float64)


def read_st(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        a, b = h["data_offsets"]
        buf = data[a:b]
        if h["dtype"] == "BF16":
            arr = (np.frombuffer(buf, np.uint16).astype(np.uint32) << 16).view(np.float32)
        elif h["dtype"] == "F16":
            arr = np.frombuffer(buf, np.float16).astype(np.float32)
        else:
            arr = np.frombuffer(buf, np.float32)
        out[name] = (h["dtype"], arr.reshape(h["shape"]))
    return out, header.get("__metadata__", {})


def to_bf16(x):
    u = np.ascontiguousarray(x, np.float32).view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def write_st(path, tensors):
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name, arr in tensors.items():
        b = to_bf16(arr).tobytes()
        header[name] = {"dtype": "BF16", "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def expected_names(c):
    names = {"model.embed_tokens.weight": [c["V"], c["C"]], "model.norm.weight": [c["C"]]}
    qd, kd = c["NH"] * c["hd"], c["NKV"] * c["hd"]
    for l in range(c["L"]):
        p = "model.layers.%d." % l
        names.update({p + "input_layernorm.weight": [c["C"]], p + "post_attention_layernorm.weight": [c["C"]],
                      p + "self_attn.q_proj.weight": [qd, c["C"]], p + "self_attn.k_proj.weight": [kd, c["C"]],
                      p + "self_attn.v_proj.weight": [kd, c["C"]], p + "self_attn.o_proj.weight": [c["C"], qd],
                      p + "mlp.gate_proj.weight": [c["F"], c["C"]], p + "mlp.up_proj.weight": [c["F"], c["C"]],
                      p + "mlp.down_proj.weight": [c["C"], c["F"]]})
        if c["bias"]:
            names.update({p + "self_attn.q_proj.bias": [qd], p + "self_attn.k_proj.bias": [kd],
                          p + "self_attn.v_proj.bias": [kd]})
    if not c["tie"]:
        names["lm_head.weight"] = [c["V"], c["C"]]
    return names


def cfg_from_hf(j):
    nh = j["num_attention_heads"]
    return dict(arch=j["model_type"], V=j["vocab_size"], C=j["hidden_size"], F=j["intermediate_size"],
                L=j["num_hidden_layers"], NH=nh, NKV=j.get("num_key_value_heads", nh),
                hd=j.get("head_dim", j["hidden_size"] // nh), theta=j.get("rope_theta", 10000.0),
                eps=j.get("rms_norm_eps", 1e-6), tie=int(j.get("tie_word_embeddings", False)),
                bias=int(j["model_type"] == "qwen2"), labels=0)


def reference_logprobs(d, c, params):
    tok = np.fromfile(os.path.join(d, "tokens.bin"), np.int32)
    B, T = int(tok[0]), int(tok[1])
    tokens = torch.tensor(tok[2:2 + B * T].reshape(B, T), dtype=torch.long)
    lengths = torch.tensor(tok[2 + B * T:2 + B * T + B], dtype=torch.long)
    P = {n: torch.tensor(a, dtype=torch.float64) for n, a in params.items()}
    with torch.no_grad():
        out, _, _ = torch_ref.forward(P, c, tokens, lengths)
    out.numpy().astype(np.float32).tofile(os.path.join(d, "ref_logprobs.bin"))


def check(d):
    j = json.load(open(os.path.join(d, "config.json")))
    problems = []
    if j.get("architectures") != ["Qwen2ForCausalLM"]:
        problems.append("architectures %r" % j.get("architectures"))
    for k in ["vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
              "num_key_value_heads", "rope_theta", "rms_norm_eps", "tie_word_embeddings", "torch_dtype"]:
        if k not in j:
            problems.append("config.json lacks " + k)
    c = cfg_from_hf(j)
    tensors, meta = read_st(os.path.join(d, "model.safetensors"))
    if meta.get("format") != "pt":
        problems.append("metadata format %r (transformers wants 'pt')" % meta.get("format"))
    want = expected_names(c)
    if set(tensors) != set(want):
        problems.append("names differ: extra %s missing %s" % (sorted(set(tensors) - set(want)),
                                                               sorted(set(want) - set(tensors))))
    for n, shape in want.items():
        if n in tensors and list(tensors[n][1].shape) != shape:
            problems.append("%s shape %s, HF wants %s" % (n, list(tensors[n][1].shape), shape))
        if n in tensors and tensors[n][0] != {"bfloat16": "BF16", "float16": "F16"}.get(j["torch_dtype"], "F32"):
            problems.append("%s dtype %s for torch_dtype %s" % (n, tensors[n][0], j["torch_dtype"]))
    for p in problems:
        print("hf check: " + p)
    reference_logprobs(d, c, {n: t[1] for n, t in tensors.items() if n in want})
    return not problems


def write(d):
    c = dict(arch="qwen2", V=83, C=32, F=56, L=2, NH=4, NKV=2, hd=8, theta=1e6, eps=1e-6, tie=0, bias=1, labels=0)
    g = np.random.default_rng(5)
    params = {}
    for n, shape in expected_names(c).items():
        if n.endswith("norm.weight"):
            params[n] = (1 + 0.1 * g.standard_normal(shape)).astype(np.float32)
        elif len(shape) == 1:
            params[n] = (0.1 * g.standard_normal(shape)).astype(np.float32)
        else:
            params[n] = (0.2 * g.standard_normal(shape)).astype(np.float32)
    rounded = {n: (to_bf16(a).astype(np.uint32) << 16).view(np.float32).reshape(a.shape) for n, a in params.items()}
    cfg = {"architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 80, "eos_token_id": 81,
           "hidden_act": "silu", "hidden_size": 32, "initializer_range": 0.02, "intermediate_size": 56,
           "max_position_embeddings": 4096, "max_window_layers": 21, "model_type": "qwen2",
           "num_attention_heads": 4, "num_hidden_layers": 2, "num_key_value_heads": 2, "rms_norm_eps": 1e-06,
           "rope_scaling": None, "rope_theta": 1000000.0, "sliding_window": 4096, "tie_word_embeddings": False,
           "torch_dtype": "bfloat16", "transformers_version": "4.44.0", "use_cache": True,
           "use_sliding_window": False, "vocab_size": 83}
    os.makedirs(d, exist_ok=True)
    json.dump(cfg, open(os.path.join(d, "config.json"), "w"), indent=2)
    names = list(params)
    shards = {"model-00001-of-00002.safetensors": names[:len(names) // 2],
              "model-00002-of-00002.safetensors": names[len(names) // 2:]}
    weight_map = {}
    for f, ns in shards.items():
        write_st(os.path.join(d, f), {n: params[n] for n in ns})
        weight_map.update({n: f for n in ns})
    json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map},
              open(os.path.join(d, "model.safetensors.index.json"), "w"), indent=2)
    reference_logprobs(d, c, rounded)
    return True


if __name__ == "__main__":
    ok = check(sys.argv[2]) if sys.argv[1] == "check" else write(sys.argv[2])
    sys.exit(0 if ok else 1)
