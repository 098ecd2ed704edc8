"""hf_models.py - checkpoints written by Hugging Face transformers, read by pure.

Random Qwen2 and Llama models are built by transformers itself and saved with its own
save_pretrained (f32 and bf16 on disk, tied and untied heads, MHA/GQA/MQA, q/k/v biases
(qwen2) or none (llama), an explicit head_dim, sharded with an index, several rope_theta).
Each is loaded back by transformers in float32 (the reference) and by pure's CLI, and:
  - `pure score` log-probs of random sequences equal transformers' log_softmax(logits)
    gathered at the next token, max |diff| <= 1e-4 (issue 16);
  - `pure generate --temperature 0` equals transformers' greedy choice; a difference is
    accepted only where transformers' top two logits are within 1e-4 (a true tie).

Usage: hf_models.py PURE_BIN
"""
import os
import sys
import tempfile

import torch
import transformers
from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

from compat_util import Failures, max_abs, pure_greedy, pure_score

TOL = 1e-4
V, C, FF, L, NH = 384, 64, 160, 2, 4

CASES = [
    # name, arch, kv heads, tied, dtype on disk, shard size (None: one file), rope_theta, head_dim
    ("qwen2_gqa_tied_f32", "qwen2", 2, True, torch.float32, None, 1e6, None),
    ("qwen2_mha_untied_bf16", "qwen2", 4, False, torch.bfloat16, None, 1e4, None),
    ("qwen2_mqa_untied_f32_sharded", "qwen2", 1, False, torch.float32, "40KB", 5e5, None),
    ("qwen2_gqa_tied_bf16_sharded", "qwen2", 2, True, torch.bfloat16, "30KB", 1e6, None),
    ("llama_gqa_untied_f32", "llama", 2, False, torch.float32, None, 5e5, None),
    ("llama_mha_tied_bf16", "llama", 4, True, torch.bfloat16, None, 1e4, None),
    ("llama_gqa_untied_f32_sharded_headdim32", "llama", 2, False, torch.float32, "50KB", 2.5e5, 32),
]


def build(arch, kv, tied, theta, head_dim, seed):
    torch.manual_seed(seed)
    kw = dict(vocab_size=V, hidden_size=C, intermediate_size=FF, num_hidden_layers=L, num_attention_heads=NH,
              num_key_value_heads=kv, max_position_embeddings=256, rope_theta=theta, tie_word_embeddings=tied,
              rms_norm_eps=1e-6, initializer_range=0.08, bos_token_id=1, eos_token_id=2)
    if head_dim:
        kw["head_dim"] = head_dim
    cfg = (Qwen2Config if arch == "qwen2" else LlamaConfig)(**kw)
    m = (Qwen2ForCausalLM if arch == "qwen2" else LlamaForCausalLM)(cfg).float().eval()
    # transformers initialises norms to 1 and biases to 0, which would leave them untested.
    with torch.no_grad():
        for n, p in m.named_parameters():
            if "norm" in n:
                p.copy_(1 + 0.3 * torch.randn_like(p))
            elif n.endswith(".bias"):
                p.copy_(0.3 * torch.randn_like(p))
    return m


def hf_logprobs(m, seq):
    with torch.no_grad():
        lp = torch.log_softmax(m(torch.tensor([seq])).logits[0].float(), -1)
    return lp[torch.arange(len(seq) - 1), torch.tensor(seq[1:])].numpy()


def hf_greedy_check(m, prompt, got, new):
    """None if pure's greedy tokens are transformers' (ties within TOL allowed), else a message."""
    ids = list(prompt)
    with torch.no_grad():
        for k in range(new):
            logits = m(torch.tensor([ids])).logits[0, -1].double()
            top = torch.topk(logits, 2)
            want = int(top.indices[0])
            if k >= len(got):
                return "pure stopped after %d tokens, transformers continues with %d" % (len(got), want)
            if got[k] != want:
                if float(logits[want] - logits[got[k]]) <= TOL:
                    return None  # a tie at this step: what follows legitimately differs
                return "token %d: pure %d, transformers %d (logit gap %.3g)" % (
                    k, got[k], want, float(logits[want] - logits[got[k]]))
            ids.append(want)
    return None if len(got) == new else "pure gave %d tokens, expected %d" % (len(got), new)


def main():
    pure = sys.argv[1]
    fl = Failures("hf_models")
    print("transformers %s, torch %s" % (transformers.__version__, torch.__version__))
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(16)
    seqs = [torch.randint(0, V, (n,), generator=g).tolist() for n in (2, 7, 33, 64, 120)]
    prompts = [s[:n] for s, n in zip(seqs[1:], (3, 9, 16, 1))]
    with tempfile.TemporaryDirectory(prefix="pure-compat-") as tmp:
        for i, (name, arch, kv, tied, dtype, shard, theta, hd) in enumerate(CASES):
            d = os.path.join(tmp, name)
            m = build(arch, kv, tied, theta, hd, seed=100 + i)
            kw = {"max_shard_size": shard} if shard else {}
            m.to(dtype).save_pretrained(d, **kw)
            files = sorted(os.listdir(d))
            if shard:
                fl.check("model.safetensors.index.json" in files and sum(f.endswith(".safetensors") for f in files) > 1,
                         "%s: save_pretrained did not shard (%s)" % (name, files))
            ref = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32, attn_implementation="eager").eval()
            try:
                got, toks = pure_score(pure, d, seqs, tmp, name)
            except RuntimeError as e:
                fl.check(False, "%s: pure score failed: %s" % (name, e))
                continue
            err = max(max_abs(g_, hf_logprobs(ref, s)) for g_, s in zip(got, seqs))
            fl.check(all(list(t) == s for t, s in zip(toks, seqs)), "%s: pure scored other tokens" % name)
            fl.check(err <= TOL, "%s: log-probs differ from transformers by %.3g (> %g)" % (name, err, TOL))
            new = 12
            gen = pure_greedy(pure, d, prompts, new, tmp, name + "_gen")
            msgs = [hf_greedy_check(ref, p, t, new) for p, t in zip(prompts, gen)]
            bad = [m_ for m_ in msgs if m_]
            fl.check(not bad, "%s: greedy tokens differ: %s" % (name, "; ".join(bad)))
            print("%-40s files %-3d log-prob max |diff| %.2e  greedy %s" % (
                name, len(files), err, "same" if not bad else "DIFFERENT"), flush=True)
        # A checkpoint pure cannot compute must be refused, naming the key, not run with the plain rotation.
        m = build("qwen2", 2, True, 1e6, None, seed=99)
        m.config.rope_parameters = {"rope_type": "linear", "factor": 2.0, "rope_theta": 1e6}
        d = os.path.join(tmp, "qwen2_rope_linear")
        m.save_pretrained(d)
        try:
            pure_score(pure, d, seqs[:1], tmp, "rope_linear")
            fl.check(False, "pure scored a checkpoint with rope_type linear instead of refusing it")
        except RuntimeError as e:
            fl.check("rope_parameters.rope_type" in str(e) and "config.json" in str(e),
                     "rope_type linear refused without naming config.json and the key: %s" % e)
    fl.done()


if __name__ == "__main__":
    main()
