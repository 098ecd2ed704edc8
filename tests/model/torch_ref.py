"""torch_ref.py - an independent PyTorch (float64) implementation of the
Qwen2/Llama decoder used to check the C engine (tests/model/test_model_parity.c).

Works on a padded batch with an explicit attention mask (the engine packs
tokens instead), computes full-vocabulary log-softmax (the engine chunks),
and uses autograd for every gradient. Reads the dump folders given as arguments;
prints the largest error per array and exits 1 if any exceeds 1e-4 relative
to the largest reference magnitude of that array.
"""
import math
import os
import sys

import numpy as np
import torch

torch.set_default_dtype(torch.float64)
TOL = 1e-4


def load(d):
    arrays = {}
    for line in open(os.path.join(d, "manifest.txt")):
        parts = line.split()
        name, dtype, nd = parts[0], parts[1], int(parts[2])
        shape = [int(x) for x in parts[3:3 + nd]]
        a = np.fromfile(os.path.join(d, name + ".bin"), dtype=np.float32 if dtype == "f32" else np.int32)
        arrays[name] = a.reshape(shape)
    cfg_line, adam_line = open(os.path.join(d, "config.txt")).read().split("\n")[:2]
    c = cfg_line.split()
    cfg = dict(arch=c[0], V=int(c[1]), C=int(c[2]), F=int(c[3]), L=int(c[4]), NH=int(c[5]), NKV=int(c[6]),
               hd=int(c[7]), theta=float(c[8]), eps=float(c[9]), tie=int(c[10]), bias=int(c[11]), labels=int(c[12]))
    a = adam_line.split()
    adam = dict(lr=float(a[0]), b1=float(a[1]), b2=float(a[2]), eps=float(a[3]), wd=float(a[4]), clip=float(a[5]),
                warmup=int(a[6]), total=int(a[7]), min_ratio=float(a[8]))
    return arrays, cfg, adam


def rmsnorm(x, w, eps):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * w


def rope(x, theta):
    # x: (B, H, T, hd); rotate-half convention
    T, hd = x.shape[2], x.shape[3]
    inv = theta ** (-torch.arange(0, hd, 2, dtype=torch.float64) / hd)
    ang = torch.arange(T, dtype=torch.float64)[:, None] * inv[None, :]
    cos = torch.cat([ang.cos(), ang.cos()], -1)
    sin = torch.cat([ang.sin(), ang.sin()], -1)
    x1, x2 = x[..., :hd // 2], x[..., hd // 2:]
    rot = torch.cat([-x2, x1], -1)
    return x * cos + rot * sin


def trunk(P, cfg, tokens, lengths):
    """Final-norm hidden states (B, T, C) of a right-padded batch, and the validity mask."""
    B, T = tokens.shape
    C, NH, NKV, hd = cfg["C"], cfg["NH"], cfg["NKV"], cfg["hd"]
    valid = torch.arange(T)[None, :] < lengths[:, None]
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    mask = causal[None, :, :] & valid[:, None, :]  # (B, Tq, Tk)
    x = P["model.embed_tokens.weight"][tokens]
    for l in range(cfg["L"]):
        p = "model.layers.%d." % l
        h = rmsnorm(x, P[p + "input_layernorm.weight"], cfg["eps"])

        def proj(name, n):
            y = h @ P[p + "self_attn.%s_proj.weight" % name].T
            if cfg["bias"]:
                y = y + P[p + "self_attn.%s_proj.bias" % name]
            return y.view(B, T, n, hd).transpose(1, 2)

        q, k, v = proj("q", NH), proj("k", NKV), proj("v", NKV)
        q, k = rope(q, cfg["theta"]), rope(k, cfg["theta"])
        k = k.repeat_interleave(NH // NKV, dim=1)
        v = v.repeat_interleave(NH // NKV, dim=1)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        s = s.masked_fill(~mask[:, None], float("-inf"))
        a = torch.softmax(s, -1)
        a = torch.nan_to_num(a)  # padded query rows see nothing
        o = (a @ v).transpose(1, 2).reshape(B, T, NH * hd)
        x = x + o @ P[p + "self_attn.o_proj.weight"].T
        h = rmsnorm(x, P[p + "post_attention_layernorm.weight"], cfg["eps"])
        g = h @ P[p + "mlp.gate_proj.weight"].T
        u = h @ P[p + "mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(g) * u) @ P[p + "mlp.down_proj.weight"].T
    return rmsnorm(x, P["model.norm.weight"], cfg["eps"]), valid


def forward(P, cfg, tokens, lengths):
    x, valid = trunk(P, cfg, tokens, lengths)
    T = tokens.shape[1]
    if cfg["labels"]:
        logits = x @ P["score.weight"].T + P["score.bias"]
        return logits * valid[..., None], None, valid
    W = P["model.embed_tokens.weight"] if cfg["tie"] else P["lm_head.weight"]
    logp_all = torch.log_softmax(x @ W.T, -1)  # (B, T, V)
    nxt = torch.cat([tokens[:, 1:], tokens[:, :1]], 1)
    has_target = torch.arange(T)[None, :] < (lengths[:, None] - 1)
    logp = logp_all.gather(-1, nxt[..., None])[..., 0] * has_target
    ent = -(logp_all.exp() * logp_all).sum(-1) * has_target
    return logp, ent, has_target


def relerr(a, ref):
    a, ref = np.asarray(a, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    return np.abs(a - ref).max() / max(np.abs(ref).max(), 1e-30) if ref.size else 0.0


def main():
    failed = [d for d in sys.argv[1:] if not check_dir(d)]
    if failed:
        print("FAILED: " + " ".join(failed))
        sys.exit(1)


def check_dir(d):
    print(os.path.basename(d))
    A, cfg, adam = load(d)
    names = [k[len("param."):] for k in A if k.startswith("param.")]
    P = {n: torch.tensor(A["param." + n], dtype=torch.float64, requires_grad=True) for n in names}
    tokens = torch.tensor(A["tokens"], dtype=torch.long)
    lengths = torch.tensor(A["lengths"], dtype=torch.long)
    out, ent, mask = forward(P, cfg, tokens, lengths)
    dout = torch.tensor(A["dout"], dtype=torch.float64)
    if cfg["labels"]:
        loss = (out * dout * mask[..., None]).sum()
    else:
        loss = (out * dout * mask).sum()
    loss.backward()
    fails = []

    def check(what, got, ref):
        e = relerr(got, ref)
        print("  %-55s max rel err %.2e" % (what, e))
        if not e <= TOL:
            fails.append(what)

    check("out (%s)" % ("class logits" if cfg["labels"] else "log-probs"), A["out"], out.detach().numpy())
    if ent is not None:
        check("entropy", A["entropy"], ent.detach().numpy())
    c_loss = float((torch.tensor(A["out"], dtype=torch.float64) * dout).sum())
    check("loss sum(dout * out)", [c_loss], [float(loss)])
    worst = 0.0
    for n in names:
        e = relerr(A["grad." + n], P[n].grad.numpy())
        worst = max(worst, e)
        if not e <= TOL:
            fails.append("grad." + n)
            print("  grad %-50s max rel err %.2e  FAIL" % (n, e))
    print("  every gradient (%d tensors): worst max rel err %.2e" % (len(names), worst))

    # greedy generation without a cache: argmax of a full forward each step
    if "gen" in A:
        gen = A["gen"]
        ok = True
        with torch.no_grad():
            for b in range(tokens.shape[0]):
                seq = tokens[b, :lengths[b]].tolist()
                for j in range(gen.shape[1]):
                    x, _ = trunk(P, cfg, torch.tensor([seq]), torch.tensor([len(seq)]))
                    W = P["model.embed_tokens.weight"] if cfg["tie"] else P["lm_head.weight"]
                    nxt = int(torch.argmax(x[0, -1] @ W.T))
                    if nxt != int(gen[b, j]):
                        ok = False
                    seq.append(nxt)
        print("  greedy generation token-identical: %s" % ok)
        if not ok:
            fails.append("greedy generation")

    # AdamW: two steps on the same gradients, decay on matrices only, global-norm clip
    with torch.no_grad():
        grads = {n: P[n].grad.clone() for n in names}
    decay = [P[n] for n in names if P[n].dim() == 2]
    nodecay = [P[n] for n in names if P[n].dim() == 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": adam["wd"]}, {"params": nodecay, "weight_decay": 0.0}],
                            lr=adam["lr"], betas=(adam["b1"], adam["b2"]), eps=adam["eps"])

    def lr_at(t):
        if t < adam["warmup"]:
            return adam["lr"] * (t + 1) / adam["warmup"]
        prog = min(1.0, (t - adam["warmup"]) / max(1, adam["total"] - adam["warmup"]))
        return adam["lr"] * (adam["min_ratio"] + (1 - adam["min_ratio"]) * 0.5 * (1 + math.cos(math.pi * prog)))

    norms = []
    for t in range(2):
        for n in names:
            P[n].grad = grads[n].clone()
        norms.append(float(torch.nn.utils.clip_grad_norm_([P[n] for n in names], adam["clip"])))
        for g in opt.param_groups:
            g["lr"] = lr_at(t)
        opt.step()
    meta = A["adam_meta"]
    check("grad norm (2 steps)", meta[:2], norms)
    check("schedule lr (2 steps)", meta[2:], [lr_at(0), lr_at(1)])
    worst = 0.0
    for n in names:
        e = relerr(A["adam." + n], P[n].detach().numpy())
        worst = max(worst, e)
        if not e <= TOL:
            fails.append("adam." + n)
    print("  params after 2 AdamW steps: worst max rel err %.2e" % worst)
    if fails:
        print("  FAILED: " + ", ".join(fails))
    return not fails



if __name__ == "__main__":
    main()
