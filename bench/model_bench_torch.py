"""model_bench_torch.py - the PyTorch side of bench/model_bench.sh: the same
Qwen2-shaped model (float32, GQA, q/k/v biases, tied embeddings) timed on a
training step (forward, log-softmax loss, backward, AdamW) and on batched
sampling with a KV cache, with the shapes and thread count model_bench uses.
Prints one "key=value" line like model_bench.

--impl hf times transformers' own Qwen2ForCausalLM (same shapes, eager attention) instead,
its generate() for decoding (sampling at temperature 1, no stop); --compile wraps the model
in torch.compile (PyTorch 2). Both need the environment of scripts/venv.sh (bench/torch2_bench.sh).
"""
import argparse
import math
import resource
import time

import torch
import torch.nn.functional as F

SIZES = {
    "toy": dict(V=260, C=64, Fd=192, L=2, NH=4, NKV=2, theta=1e4),
    "0.5b": dict(V=151936, C=896, Fd=4864, L=24, NH=14, NKV=2, theta=1e6),
}


class RMSNorm(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(c))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * self.w


def rope_tables(T, hd, theta):
    inv = 1.0 / theta ** (torch.arange(0, hd, 2).float() / hd)
    ang = torch.outer(torch.arange(T).float(), inv)
    emb = torch.cat([ang, ang], -1)
    return emb.cos(), emb.sin()


def apply_rope(x, cos, sin):
    h = x.shape[-1] // 2
    return x * cos + torch.cat([-x[..., h:], x[..., :h]], -1) * sin


class Block(torch.nn.Module):
    def __init__(self, s):
        super().__init__()
        C, NH, NKV = s["C"], s["NH"], s["NKV"]
        self.NH, self.NKV, self.hd = NH, NKV, C // NH
        self.ln1, self.ln2 = RMSNorm(C), RMSNorm(C)
        self.q = torch.nn.Linear(C, NH * self.hd)
        self.k = torch.nn.Linear(C, NKV * self.hd)
        self.v = torch.nn.Linear(C, NKV * self.hd)
        self.o = torch.nn.Linear(NH * self.hd, C, bias=False)
        self.gate = torch.nn.Linear(C, s["Fd"], bias=False)
        self.up = torch.nn.Linear(C, s["Fd"], bias=False)
        self.down = torch.nn.Linear(s["Fd"], C, bias=False)

    def forward(self, x, cos, sin, cache=None):
        B, T, _ = x.shape
        h = self.ln1(x)
        q = self.q(h).view(B, T, self.NH, self.hd).transpose(1, 2)
        k = self.k(h).view(B, T, self.NKV, self.hd).transpose(1, 2)
        v = self.v(h).view(B, T, self.NKV, self.hd).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if cache is not None:
            if "k" in cache:
                k = torch.cat([cache["k"], k], 2)
                v = torch.cat([cache["v"], v], 2)
            cache["k"], cache["v"] = k, v
        rep = self.NH // self.NKV
        k, v = k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1)
        s = q @ k.transpose(-1, -2) / math.sqrt(self.hd)
        if T > 1:
            s = s + torch.full((T, k.shape[2]), float("-inf"), dtype=s.dtype).triu(k.shape[2] - T + 1)
        a = torch.softmax(s, -1) @ v
        x = x + self.o(a.transpose(1, 2).reshape(B, T, -1))
        h = self.ln2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Model(torch.nn.Module):
    def __init__(self, s):
        super().__init__()
        self.s = s
        self.emb = torch.nn.Embedding(s["V"], s["C"])
        self.blocks = torch.nn.ModuleList([Block(s) for _ in range(s["L"])])
        self.norm = RMSNorm(s["C"])

    def hidden(self, tokens, pos0=0, caches=None):
        T = tokens.shape[1]
        cos, sin = rope_tables(pos0 + T, self.s["C"] // self.s["NH"], self.s["theta"])
        dt = self.emb.weight.dtype  # bf16 when the model was cast for bf16 decoding
        cos, sin = cos[pos0:].to(dt), sin[pos0:].to(dt)
        x = self.emb(tokens)
        for i, b in enumerate(self.blocks):
            x = b(x, cos, sin, None if caches is None else caches[i])
        return self.norm(x)

    def logits(self, h):
        return h @ self.emb.weight.T


def best_time(fn, iters):
    """Best wall time of fn() over iters runs, after one warm-up run."""
    best = 1e30
    for it in range(iters + 1):
        t0 = time.perf_counter()
        fn()
        d = time.perf_counter() - t0
        if it > 0:
            best = min(best, d)
    return best


def rss_gib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1048576


def bench_train(a, s, params, logits_of, tag):
    """Forward, log-softmax loss, backward, AdamW over a (batch, seq) batch."""
    opt = torch.optim.AdamW(params, lr=1e-5)
    tok = torch.randint(0, s["V"], (a.batch, a.seq))

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.precision == "bf16"):
            logits = logits_of(tok)
        lp = torch.log_softmax(logits[:, :-1].float(), -1)
        loss = -lp.gather(-1, tok[:, 1:, None]).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    best = best_time(step, a.iters)
    print("what=train impl=%s size=%s batch=%d seq=%d tokens_per_s=%.1f step_s=%.4f peak_rss_gib=%.2f"
          % (tag, a.size, a.batch, a.seq, a.batch * a.seq / best, best, rss_gib()))


def bench_decode(a, generate, tag):
    """As model_bench: decode excludes the prefill (best time for NEW tokens minus best time for 1)."""
    with torch.no_grad():
        best = {new: best_time(lambda: generate(new), a.iters) for new in (1, a.new)}
    dec_s = best[a.new] - best[1]
    print("what=decode impl=%s size=%s prompts=%d prompt_len=%d new=%d tokens_per_s=%.1f decode_s=%.4f "
          "prefill_s=%.4f total_s=%.4f peak_rss_gib=%.2f" % (tag, a.size, a.prompts, a.prompt_len, a.new,
                                                          a.prompts * (a.new - 1) / dec_s, dec_s, best[1],
                                                          best[a.new], rss_gib()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="toy")
    ap.add_argument("--what", default="train")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--prompts", type=int, default=16)
    ap.add_argument("--prompt-len", type=int, default=32)
    ap.add_argument("--new", type=int, default=96)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--impl", default="hand", choices=["hand", "hf"])
    ap.add_argument("--compile", action="store_true")
    # bf16 as pure's precision: bf16: training under autocast (bf16 products, fp32 master weights and AdamW
    # state), decoding with the model cast to bf16
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    s = SIZES[a.size]
    tag = a.impl + ("+compile" if a.compile else "") + ("+bf16" if a.precision == "bf16" else "")
    prompts = torch.randint(0, s["V"], (a.prompts, a.prompt_len))
    if a.impl == "hf":
        m = hf_model(s)
        fwd = torch.compile(m) if a.compile else m
        if a.what == "train":
            return bench_train(a, s, m.parameters(), lambda tok: fwd(tok).logits, tag)
        m.eval()
        if a.precision == "bf16":
            m = m.to(torch.bfloat16)
        return bench_decode(a, lambda new: m.generate(
            prompts, attention_mask=torch.ones_like(prompts), do_sample=True, temperature=1.0, top_k=0, top_p=1.0,
            max_new_tokens=new, min_new_tokens=new, pad_token_id=0), tag)
    m = Model(s)
    if a.what != "train" and a.precision == "bf16":
        m = m.to(torch.bfloat16)
    hidden = torch.compile(m.hidden, dynamic=True) if a.compile else m.hidden
    if a.what == "train":
        return bench_train(a, s, m.parameters(), lambda tok: m.logits(hidden(tok)), tag)

    def generate(new):
        caches = [dict() for _ in range(s["L"])]
        h = hidden(prompts, 0, caches)[:, -1:]
        for step in range(new):
            probs = torch.softmax(m.logits(h)[:, 0], -1)
            nxt = torch.multinomial(probs, 1)
            if step + 1 < new:
                h = hidden(nxt, a.prompt_len + step, caches)

    bench_decode(a, generate, tag)


def hf_model(s):
    """transformers' own Qwen2ForCausalLM at the same shapes (eager attention), as researchers run it."""
    from transformers import Qwen2Config, Qwen2ForCausalLM
    cfg = Qwen2Config(vocab_size=s["V"], hidden_size=s["C"], intermediate_size=s["Fd"], num_hidden_layers=s["L"],
                      num_attention_heads=s["NH"], num_key_value_heads=s["NKV"], rope_theta=s["theta"],
                      tie_word_embeddings=True, max_position_embeddings=4096, rms_norm_eps=1e-6)
    m = Qwen2ForCausalLM(cfg).float()
    m.config._attn_implementation = "eager"
    return m


if __name__ == "__main__":
    main()
