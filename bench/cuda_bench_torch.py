"""cuda_bench_torch.py - the PyTorch side of bench/cuda_bench.sh, on the GPU:
the same Qwen2-shaped model (GQA, q/k/v biases, tied embeddings, random
weights) as bench/cuda_bench.c, timed on
  train:  forward + log-softmax NLL + backward + AdamW, fp32 master weights under
          torch.autocast(bfloat16) ("eager bf16"), scaled_dot_product_attention;
  decode: greedy batched decoding with a preallocated KV cache, bf16 weights,
          an eager Python loop (one forward per token);
  attention: causal attention alone, forward + backward, on bf16 q/k/v of the
          size's head shape (B sequences of T tokens), through
          F.scaled_dot_product_attention(is_causal=True) (torch >= 2.0; a plain
          softmax(Q K^T) V before), GQA by enable_gqa=True (torch >= 2.5, "native")
          or by repeating k/v over the group ("repeat"); --gqa both times each.
          FLOPs counted as bench/bench_shapes.h's bench_attention_flops:
          2 * 2 * T^2 / 2 * hd * NH per sequence forward, 2.5x that backward.
Prints one "key=value" line like cuda_bench (attention: one per GQA mode).
"""
import argparse
import time

import torch
import torch.nn.functional as F

# bench/bench_shapes.h's sizes (head size C // NH: 16, 64, 128)
SIZES = {
    "toy": dict(V=260, C=64, Fd=192, L=2, NH=4, NKV=2, theta=1e4),
    "0.5b": dict(V=151936, C=896, Fd=4864, L=24, NH=14, NKV=2, theta=1e6),  # Qwen2.5-0.5B
    "1.5b": dict(V=151936, C=1536, Fd=8960, L=28, NH=12, NKV=2, theta=1e4),  # Qwen2.5-Math-1.5B
}


def rms(x, w, eps=1e-6):
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype) * w


def attend(q, k, v, causal):
    if hasattr(F, "scaled_dot_product_attention"):  # torch >= 2.0: flash / memory-efficient kernels
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    s = q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5
    if causal:
        T = q.shape[2]
        s = s.masked_fill(torch.ones(T, T, dtype=torch.bool, device=q.device).triu(1), float("-inf"))
    return torch.softmax(s.float(), -1).to(q.dtype) @ v


def rotate(x, cos, sin):  # rotate-half RoPE; cos/sin (T, hd)
    h = x.shape[-1] // 2
    return x * cos + torch.cat((-x[..., h:], x[..., :h]), -1) * sin


class Layer(torch.nn.Module):
    def __init__(self, s):
        super().__init__()
        C, self.NH, self.NKV = s["C"], s["NH"], s["NKV"]
        self.hd = C // self.NH
        self.w1, self.w2 = torch.nn.Parameter(torch.ones(C)), torch.nn.Parameter(torch.ones(C))
        self.qkv = torch.nn.Linear(C, (self.NH + 2 * self.NKV) * self.hd)
        self.o = torch.nn.Linear(self.NH * self.hd, C, bias=False)
        self.gu = torch.nn.Linear(C, 2 * s["Fd"], bias=False)
        self.down = torch.nn.Linear(s["Fd"], C, bias=False)

    def forward(self, x, cos, sin, cache=None, pos=0):
        B, T, _ = x.shape
        q, k, v = self.qkv(rms(x, self.w1)).view(B, T, -1, self.hd).transpose(1, 2).split(
            [self.NH, self.NKV, self.NKV], 1)
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        if cache is not None:  # (B, NKV, Tmax, hd) each
            cache[0][:, :, pos:pos + T] = k
            cache[1][:, :, pos:pos + T] = v
            k, v = cache[0][:, :, :pos + T], cache[1][:, :, :pos + T]
        rep = self.NH // self.NKV
        k, v = k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1)
        a = attend(q, k, v, T > 1)
        x = x + self.o(a.transpose(1, 2).reshape(B, T, -1))
        g, u = self.gu(rms(x, self.w2)).chunk(2, -1)
        return x + self.down(F.silu(g) * u)


class Model(torch.nn.Module):
    def __init__(self, s):
        super().__init__()
        self.s = s
        self.emb = torch.nn.Embedding(s["V"], s["C"])
        self.layers = torch.nn.ModuleList(Layer(s) for _ in range(s["L"]))
        self.wf = torch.nn.Parameter(torch.ones(s["C"]))
        hd = s["C"] // s["NH"]
        inv = 1.0 / s["theta"] ** (torch.arange(0, hd, 2).double() / hd)
        ang = torch.outer(torch.arange(8192).double(), inv)
        self.register_buffer("cos", torch.cat((ang, ang), -1).cos().float(), persistent=False)
        self.register_buffer("sin", torch.cat((ang, ang), -1).sin().float(), persistent=False)

    def hidden(self, tok, pos=0, caches=None):
        T = tok.shape[1]
        cos, sin = self.cos[pos:pos + T].to(self.wf.dtype), self.sin[pos:pos + T].to(self.wf.dtype)
        x = self.emb(tok)
        for i, l in enumerate(self.layers):
            x = l(x, cos, sin, None if caches is None else caches[i], pos)
        return rms(x, self.wf)

    def logits(self, h):
        return h @ self.emb.weight.T


def sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def build(s, dev):
    if dev != "cpu" and hasattr(torch, "device") and hasattr(torch.device(dev), "__enter__"):
        with torch.device(dev):  # torch >= 2.0: initialise on the device (seconds, not a minute, at 1.5B)
            return Model(s)
    return Model(s).to(dev)


def sdpa_gqa_native():
    """Whether F.scaled_dot_product_attention takes enable_gqa (torch >= 2.5)."""
    if not hasattr(F, "scaled_dot_product_attention"):
        return False
    try:
        x = torch.zeros(1, 2, 1, 8)
        F.scaled_dot_product_attention(x, x[:, :1], x[:, :1], enable_gqa=True)
        return True
    except (TypeError, RuntimeError):
        return False


def attention_flops(T, NH, hd):  # bench_shapes.h's bench_attention_flops: Q K^T and P V over the causal half
    return 2.0 * 2.0 * T * T / 2.0 * hd * NH


def bench_attention(a, s, dev):
    B, T, NH, NKV = a.batch, a.seq, a.heads or s["NH"], a.kv_heads or s["NKV"]
    hd, G = a.head_dim or s["C"] // s["NH"], NH // NKV
    dt = torch.bfloat16
    # pure's packed layout, (tokens, heads, hd), seen as (B, heads, T, hd) without a copy
    q = (torch.rand(B, T, NH, hd, device=dev) * 2 - 1).to(dt).transpose(1, 2).requires_grad_()
    k = (torch.rand(B, T, NKV, hd, device=dev) * 2 - 1).to(dt).transpose(1, 2).requires_grad_()
    v = (torch.rand(B, T, NKV, hd, device=dev) * 2 - 1).to(dt).transpose(1, 2).requires_grad_()
    dout = (torch.rand(B, T, NH, hd, device=dev) * 2 - 1).to(dt).transpose(1, 2)
    native = sdpa_gqa_native()
    modes = {"both": ["repeat", "native"], "repeat": ["repeat"], "native": ["native"]}[a.gqa]
    if not native and NH != NKV:
        modes = ["repeat"]  # no enable_gqa in this torch
    impl = "sdpa" if hasattr(F, "scaled_dot_product_attention") else "matmul_softmax"
    for mode in dict.fromkeys(modes):
        def fwd():
            if mode == "native" and NH != NKV:
                return F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
            kk, vv = (k.repeat_interleave(G, 1), v.repeat_interleave(G, 1)) if G > 1 else (k, v)
            return attend(q, kk, vv, True)

        state = {}

        def f():
            q.grad = k.grad = v.grad = None
            state["out"] = fwd()

        def b():
            state["out"].backward(dout)

        best_f = best_b = 1e30
        for it in range(a.iters + 1):
            tf, tb = once(f), once(b)
            if it > 0 or a.iters == 0:  # the first is a warm-up
                best_f, best_b = min(best_f, tf), min(best_b, tb)
        ff = B * attention_flops(T, NH, hd)
        fb = 2.5 * ff
        out = state["out"].detach().float()
        print("what=attention size=%s batch=%d seq=%d heads=%d kv_heads=%d head_dim=%d attn_kernel=torch_%s gqa=%s "
              "dtype=bf16 tokens_per_s=%.1f fwd_s=%.5f bwd_s=%.5f fwd_tflops_per_s=%.4g bwd_tflops_per_s=%.4g "
              "tflops_per_s=%.4g out_rms=%.6g dq_rms=%.6g torch=%s"
              % (a.size, B, T, NH, NKV, hd, impl, mode if NH != NKV else "none", B * T / (best_f + best_b), best_f,
                 best_b, ff / best_f / 1e12, fb / best_b / 1e12, (ff + fb) / (best_f + best_b) / 1e12,
                 out.pow(2).mean().sqrt().item(), q.grad.float().pow(2).mean().sqrt().item(), torch.__version__),
              flush=True)
        state.clear()


def once(fn):
    sync()
    t0 = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - t0


def timed(fn, iters):
    best = 1e30
    for it in range(iters + 1):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        if it > 0 or iters == 0:  # the first is a warm-up
            best = min(best, time.perf_counter() - t0)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="toy")
    ap.add_argument("--what", default="train")
    ap.add_argument("--batch", type=int, default=None)  # train 8, attention 4
    ap.add_argument("--seq", type=int, default=None)  # train 512, attention 4096
    ap.add_argument("--prompts", type=int, default=64)
    ap.add_argument("--prompt-len", type=int, default=64)
    ap.add_argument("--new", type=int, default=128)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--heads", type=int, default=0)  # attention: the size's NH / NKV / head size unless given
    ap.add_argument("--kv-heads", type=int, default=0)
    ap.add_argument("--head-dim", type=int, default=0)
    ap.add_argument("--gqa", default="native", choices=["native", "repeat", "both"])  # attention, NKV < NH
    ap.add_argument("--device", default="cuda")  # cpu: a smoke run of this script without a GPU
    a = ap.parse_args()
    if a.size not in SIZES or a.what not in ("train", "decode", "attention"):
        ap.error("--size is one of %s, --what one of train, decode, attention" % ", ".join(SIZES))
    attn = a.what == "attention"
    a.batch = a.batch or (4 if attn else 8)
    a.seq = a.seq or (4096 if attn else 512)
    torch.manual_seed(0)
    s, dev = SIZES[a.size], a.device
    if attn:
        bench_attention(a, s, dev)
        return
    m = build(s, dev)
    if a.what == "train":
        opt = torch.optim.AdamW(m.parameters(), lr=1e-5)
        tok = torch.randint(0, s["V"], (a.batch, a.seq), device=dev)

        def step():
            with torch.autocast(dev, dtype=torch.bfloat16):
                lg = m.logits(m.hidden(tok))[:, :-1].float()
            loss = F.cross_entropy(lg.reshape(-1, s["V"]), tok[:, 1:].reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        best = timed(step, a.iters)
        print("what=train size=%s batch=%d seq=%d tokens_per_s=%.1f step_s=%.4f peak_mem_gib=%.2f"
              % (a.size, a.batch, a.seq, a.batch * a.seq / best, best, torch.cuda.max_memory_allocated() / 2**30 if dev == "cuda" else 0))
    else:
        m = m.to(torch.bfloat16)
        P, L, N = a.prompts, a.prompt_len, a.new
        prompts = torch.randint(0, s["V"], (P, L), device=dev)
        hd = s["C"] // s["NH"]

        def gen(n):
            caches = [(torch.empty(P, s["NKV"], L + N, hd, device=dev, dtype=torch.bfloat16),
                       torch.empty(P, s["NKV"], L + N, hd, device=dev, dtype=torch.bfloat16)) for _ in range(s["L"])]
            with torch.no_grad():
                h = m.hidden(prompts, 0, caches)[:, -1:]
                for t in range(n):
                    nxt = m.logits(h)[:, 0].argmax(-1, keepdim=True)
                    if t + 1 < n:
                        h = m.hidden(nxt, L + t, caches)

        t1, tn = timed(lambda: gen(1), a.iters), timed(lambda: gen(N), a.iters)
        dec = (tn - t1) / (N - 1)
        print("what=decode size=%s prompts=%d prompt_len=%d new=%d tokens_per_s=%.1f step_s=%.5f prefill_s=%.4f"
              % (a.size, P, L, N, P / dec, dec, t1))


if __name__ == "__main__":
    main()
