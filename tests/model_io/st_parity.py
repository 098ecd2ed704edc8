"""st_parity.py - safetensors parity between pure and PyTorch (torch 1.13 has
no safetensors package, so the format is parsed and written here by hand).

  st_parity.py check FILE  FILE written by pure: header layout as Hugging Face
                           writes it; as_bf16 / as_f16 equal torch's own
                           conversion of the f32 tensor `src`, bit for bit
  st_parity.py write DIR   torch-made files for pure to read: DIR/torch.safetensors
                           (unpadded header) and DIR/sharded/ (two shards + index),
                           each with w.{f32,bf16,f16} and expect.{...} = torch's f32 view
Exit 77 when torch or numpy is missing."""
import json
import os
import struct
import sys

try:
    import numpy as np
    import torch
except ImportError:
    sys.exit(77)

DT = {"F32": (torch.float32, 4), "BF16": (torch.bfloat16, 2), "F16": (torch.float16, 2)}


def load(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, en = e["data_offsets"]
        dtype, _ = DT[e["dtype"]]
        buf = bytearray(data[b:en])
        out[name] = torch.frombuffer(buf, dtype=dtype).reshape(e["shape"])
    return n, header, out


def check(path):
    n, header, t = load(path)
    assert n % 8 == 0, n
    keys = list(header.keys())
    assert keys[0] == "__metadata__" and keys[1:] == sorted(keys[1:]), keys
    assert header["__metadata__"] == {"format": "pt", "producer": "pure"}, header["__metadata__"]
    # data packed in header order, no gaps
    end = 0
    for k in keys[1:]:
        b, e = header[k]["data_offsets"]
        assert b == end, (k, b, end)
        end = e
    src = t["src"]
    for name, dt in (("as_bf16", torch.bfloat16), ("as_f16", torch.float16)):
        ref = src.to(dt)
        got = t[name]
        same = (ref.view(torch.int16) == got.view(torch.int16)) | (torch.isnan(ref.float()) & torch.isnan(got.float()))
        if not bool(same.all()):
            bad = (~same).nonzero()[:5].tolist()
            for i, j in bad:
                print(name, "src", src[i, j].item(), "torch", hex(ref.view(torch.int16)[i, j].item() & 0xFFFF),
                      "pure", hex(got.view(torch.int16)[i, j].item() & 0xFFFF))
            sys.exit(1)
    print("torch check ok: %d values, bf16 and f16 bit-identical" % src.numel())


def save(path, tensors, pad=True, metadata=None):
    header, blobs, off = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name in sorted(tensors):
        x = tensors[name].contiguous()
        tag = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16"}[x.dtype]
        b = x.view(torch.uint8).numpy().tobytes() if x.dtype != torch.float32 else x.numpy().tobytes()
        header[name] = {"dtype": tag, "shape": list(x.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    if pad:
        h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def tensors(seed, shape):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(shape, generator=g) * torch.exp(torch.randn(shape, generator=g) * 4)
    out = {}
    for tag, dt in (("f32", torch.float32), ("bf16", torch.bfloat16), ("f16", torch.float16)):
        v = w.to(dt)
        out["w." + tag] = v
        out["expect." + tag] = v.float()
    return out


def write(d):
    # an odd-length, unpadded header: data starts unaligned
    save(os.path.join(d, "torch.safetensors"), tensors(1, (33, 7)), pad=False)
    sd = os.path.join(d, "sharded")
    os.makedirs(sd, exist_ok=True)
    t = tensors(2, (16, 9))
    names = sorted(t)
    parts = [names[: len(names) // 2], names[len(names) // 2:]]
    wm = {}
    for i, part in enumerate(parts):
        fn = "model-%05d-of-00002.safetensors" % (i + 1)
        save(os.path.join(sd, fn), {k: t[k] for k in part}, metadata={"format": "pt"})
        wm.update({k: fn for k in part})
    json.dump({"metadata": {"total_size": 0}, "weight_map": wm}, open(os.path.join(sd, "model.safetensors.index.json"), "w"))
    print("torch write ok")


if __name__ == "__main__":
    {"check": check, "write": write}[sys.argv[1]](sys.argv[2])
