"""tokenizer_hf_bench.py - the Hugging Face tokenizers (Rust) side of bench/tokenizer_hf_bench.sh:
load time and single-thread encode throughput over the same JSONL corpus, item by item
(as pure's stages encode) and as one encode_batch (Rust's own loop; one thread, RAYON_NUM_THREADS=1),
and the FNV-1a checksum of every id that bench/tokenizer_bench.c prints, so equal checksums
mean the same ids. Prints "key value" lines.

Usage: tokenizer_hf_bench.py TOKENIZER_JSON CORPUS_JSONL [REPEATS]
"""
import json
import sys
import time

from tokenizers import Tokenizer


def main():
    path, corpus = sys.argv[1], sys.argv[2]
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    texts = [json.loads(l)["text"] for l in open(corpus, encoding="utf-8") if l.strip()]
    nbytes = sum(len(t.encode("utf-8")) for t in texts)
    loads = []
    for _ in range(5):
        t0 = time.process_time()
        tok = Tokenizer.from_file(path)
        loads.append(time.process_time() - t0)
    print("hf_load_ms_cpu_median %.1f" % (1e3 * sorted(loads)[2]))
    best_one = best_batch = 1e30
    for _ in range(repeats):
        t0 = time.process_time()
        ids = [tok.encode(t, add_special_tokens=False).ids for t in texts]
        best_one = min(best_one, time.process_time() - t0)
        t0 = time.process_time()
        tok.encode_batch(texts, add_special_tokens=False)
        best_batch = min(best_batch, time.process_time() - t0)
    h = 2166136261
    for item in ids:
        for i in item:
            h = ((h ^ i) * 16777619) & 0xFFFFFFFF
        h = ((h ^ 0xFFFFFFFF) * 16777619) & 0xFFFFFFFF
    print("hf_corpus_items %d\nhf_corpus_bytes %d\nhf_tokens %d" % (len(texts), nbytes, sum(map(len, ids))))
    print("hf_encode_MBps %.2f" % (nbytes / best_one / 1e6))
    print("hf_encode_batch_MBps %.2f" % (nbytes / best_batch / 1e6))
    print("hf_ids_checksum %08x" % h)


if __name__ == "__main__":
    main()
