"""tokenizers_compat.py - pure's tokenizer/ against Hugging Face tokenizers (the Rust library).

Three tokenizer.json families:
  qwen   the shared Qwen2.5 tokenizer (../shared/tokenizers/qwen/tokenizer.json);
  llama3 a Llama-3-style one trained here with the tokenizers library (Split on the
         Llama 3 pattern, then ByteLevel without its regex, ignore_merges, special tokens);
  gpt2   a GPT-2-style one trained here (ByteLevel with the GPT-2 regex, <|endoftext|>).
Texts: every string of the shared benchmark files, and random Unicode (mixed scripts,
combining marks, emoji, unusual whitespace, digits of other scripts, text around special
tokens). The ids must be identical to `Tokenizer.encode(text, add_special_tokens=False)`
(pure adds no BOS/EOS), with and without special-token matching, and decoding pure's ids
must give HF's decode of them.

Usage: tokenizers_compat.py TOK_IDS_BIN SHARED_DIR
"""
import glob
import json
import os
import random
import subprocess
import sys
import tempfile

import tokenizers
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

from compat_util import Failures

LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                  r"|\s*[\r\n]+|\s+(?!\S)|\s+")
SPECIALS = {"llama3": ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|start_header_id|>",
                       "<|end_header_id|>"],
            "gpt2": ["<|endoftext|>"]}


def benchmark_texts(shared):
    texts = []
    for f in sorted(glob.glob(os.path.join(shared, "data/benchmarks/*/test.jsonl"))):
        for line in open(f, encoding="utf-8"):
            if line.strip():
                row = json.loads(line)
                texts += [v for v in row.values() if isinstance(v, str) and v]
    return texts


RANGES = [(0x20, 0x7E), (0x09, 0x0D), (0xA0, 0x17F), (0x300, 0x36F), (0x370, 0x3FF), (0x400, 0x4FF),
          (0x590, 0x6FF), (0x900, 0x97F), (0x0E00, 0x0E7F), (0x1100, 0x11FF), (0x2000, 0x206F), (0x3000, 0x303F),
          (0x3040, 0x30FF), (0x4E00, 0x4FFF), (0xAC00, 0xAD00), (0xFF00, 0xFFEF), (0x1F300, 0x1F64F),
          (0x1D400, 0x1D4FF), (0x10000, 0x1007F), (0x0660, 0x0669), (0x06F0, 0x06F9), (0xFE00, 0xFE0F),
          (0x85, 0x85), (0x2028, 0x2029)]


def random_texts(n, seed, specials):
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        parts = []
        for _ in range(rnd.randint(1, 40)):
            lo, hi = rnd.choice(RANGES)
            parts.append("".join(chr(rnd.randint(lo, hi)) for _ in range(rnd.randint(1, 6))))
            r = rnd.random()
            if r < 0.2:
                parts.append(rnd.choice([" ", "  ", "\n", "\n\n", "\t", " \n ", "\r\n"]))
            elif r < 0.25 and specials:
                parts.append(rnd.choice(specials))
            elif r < 0.3:
                parts.append(rnd.choice(["'s", "'LL", "123456", " 3.14", "x^2", "\\frac{1}{2}", "don't"]))
        out.append("".join(parts))
    return out


def train_family(kind, texts, path):
    if kind == "llama3":
        tok = Tokenizer(models.BPE(ignore_merges=True))
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)])
        tok.post_processor = processors.TemplateProcessing(single="<|begin_of_text|> $A", special_tokens=[
            ("<|begin_of_text|>", 0)])
    else:
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=3000, special_tokens=SPECIALS[kind], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer=trainer)
    tok.save(path)
    return path


def pure_encode(tok_ids, path, texts, special):
    data = b"".join(b"%d\n%s" % (len(t.encode("utf-8")), t.encode("utf-8")) for t in texts)
    r = subprocess.run([tok_ids, path] + (["--special"] if special else []), input=data, capture_output=True)
    if r.returncode != 0:
        raise RuntimeError("tok_ids %s: %s" % (path, r.stderr.decode(errors="replace")))
    lines = r.stdout.decode().split("\n")
    ids = [[int(x) for x in l.split()] for l in lines[0:2 * len(texts):2]]
    dec = [bytes.fromhex(l[len("decode "):]).decode("utf-8") for l in lines[1:2 * len(texts):2]]
    return ids, dec


def compare(fl, name, hf, tok_ids, path, texts):
    for special in (True, False):
        # split_special_tokens=True is HF's form of pure's allow_special = 0
        hf.encode_special_tokens = not special
        want = [e.ids for e in hf.encode_batch(texts, add_special_tokens=False)]
        got, dec = pure_encode(tok_ids, path, texts, special)
        bad = [i for i in range(len(texts)) if got[i] != want[i]]
        for i in bad[:3]:
            j = next((k for k in range(min(len(got[i]), len(want[i]))) if got[i][k] != want[i][k]),
                     min(len(got[i]), len(want[i])))
            print("  %s text %d %r: first difference at id %d: pure %s, HF %s" % (
                name, i, texts[i][:80], j, got[i][j:j + 5], want[i][j:j + 5]))
        fl.check(not bad, "%s (special=%d): %d of %d texts get other ids than HF tokenizers" % (
            name, special, len(bad), len(texts)))
        want_dec = hf.decode_batch(got, skip_special_tokens=False)
        bad_dec = [i for i in range(len(texts)) if dec[i] != want_dec[i]]
        fl.check(not bad_dec, "%s (special=%d): %d texts decode differently" % (name, special, len(bad_dec)))
        n_ids = sum(len(w) for w in want)
        print("%-28s special=%d  %5d texts %7d ids  ids %s  decode %s" % (
            name, special, len(texts), n_ids, "same" if not bad else "DIFFERENT",
            "same" if not bad_dec else "DIFFERENT"), flush=True)


def main():
    tok_ids, shared = sys.argv[1], sys.argv[2]
    fl = Failures("tokenizers_compat")
    print("tokenizers %s" % tokenizers.__version__)
    bench = benchmark_texts(shared)
    fl.check(len(bench) > 1000, "only %d benchmark texts found under %s" % (len(bench), shared))
    with tempfile.TemporaryDirectory(prefix="pure-compat-tok-") as tmp:
        families = [("qwen", os.path.join(shared, "tokenizers/qwen/tokenizer.json"))]
        for kind in ("llama3", "gpt2"):
            families.append((kind, train_family(kind, bench, os.path.join(tmp, kind + ".json"))))
        for kind, path in families:
            hf = Tokenizer.from_file(path)
            specials = [t.content for t in hf.get_added_tokens_decoder().values()]
            compare(fl, kind + "/benchmarks", hf, tok_ids, path, bench)
            compare(fl, kind + "/random-unicode", hf, tok_ids, path, random_texts(600, 16, specials))
    fl.done()


if __name__ == "__main__":
    main()
