"""pure_to_hf.py - models trained by pure, read by Hugging Face transformers.

Runs pipelines/smoke.yaml (every stage kind at the smallest size: SFT, PRM training, two RL
iterations), then loads what pure wrote with the Auto classes researchers use:
  - the final policy with AutoConfig, GenerationConfig, AutoTokenizer and
    AutoModelForCausalLM: no missing or unexpected weights, transformers' log-probs equal
    `pure score` (<= 1e-4), greedy tokens equal `pure generate`, AutoTokenizer's ids equal
    pure's, eos agrees between config, generation config and tokenizer;
  - the PRM with AutoModelForTokenClassification: softmax of its logits equals `pure score`'s
    probabilities (<= 1e-4).

Usage: pure_to_hf.py PURE_BIN REPO_ROOT
"""
import glob
import os
import sys
import tempfile

import numpy as np
import torch
from transformers import (AutoConfig, AutoModelForCausalLM, AutoModelForTokenClassification, AutoTokenizer,
                          GenerationConfig)

from compat_util import Failures, max_abs, pure_greedy, pure_score, read_ragged, run, write_jsonl

TOL = 1e-4
TEXTS = ["12 + 7 = 19\n\n19 * 3 = 57", "What is 3 + 4?", "0\n\n1\n\n2", "Zoë: 5 - 8 = -3."]


def one(pattern, fl, what):
    found = sorted(glob.glob(pattern))
    fl.check(len(found) == 1, "%s: expected one folder matching %s, found %s" % (what, pattern, found))
    return found[-1] if found else None


def load_checked(fl, cls, d, what):
    m, info = cls.from_pretrained(d, dtype=torch.float32, attn_implementation="eager", output_loading_info=True)
    for k in ("missing_keys", "unexpected_keys", "mismatched_keys"):
        fl.check(not info.get(k), "%s: transformers reports %s %s" % (what, k, info.get(k)))
    return m.eval()


def check_policy(fl, pure, d, tmp):
    cfg = AutoConfig.from_pretrained(d)
    gen = GenerationConfig.from_pretrained(d)
    tok = AutoTokenizer.from_pretrained(d)
    fl.check(cfg.model_type == "qwen2" and cfg.architectures == ["Qwen2ForCausalLM"],
             "policy: AutoConfig reads %s %s" % (cfg.model_type, cfg.architectures))
    fl.check(gen.eos_token_id == cfg.eos_token_id == tok.eos_token_id,
             "policy: eos differs: generation_config %s, config %s, tokenizer %s" % (
                 gen.eos_token_id, cfg.eos_token_id, tok.eos_token_id))
    m = load_checked(fl, AutoModelForCausalLM, d, "policy")
    # pure's tokenization (through `pure score` on text) against AutoTokenizer
    inp, out = os.path.join(tmp, "texts.jsonl"), os.path.join(tmp, "texts.h5")
    write_jsonl(inp, [{"text": t} for t in TEXTS])
    run([pure, "score", "--model", d, "--input", inp, "--output", out, "--threads", "1"])
    pure_ids = [list(map(int, t)) for t in read_ragged(out, "tokens")]
    hf_ids = [tok(t, add_special_tokens=False).input_ids for t in TEXTS]
    fl.check(pure_ids == hf_ids, "policy: AutoTokenizer ids %s differ from pure's %s" % (hf_ids, pure_ids))
    got = read_ragged(out, "logprobs")
    err = 0.0
    with torch.no_grad():
        for ids, lp in zip(pure_ids, got):
            ref = torch.log_softmax(m(torch.tensor([ids])).logits[0].float(), -1)
            err = max(err, max_abs(lp, ref[torch.arange(len(ids) - 1), torch.tensor(ids[1:])].numpy()))
    fl.check(err <= TOL, "policy: log-probs differ from transformers by %.3g" % err)
    prompts = [ids[:max(1, len(ids) // 2)] for ids in pure_ids]
    new = 10
    got_gen = pure_greedy(pure, d, prompts, new, tmp, "policy_gen")
    for p, g in zip(prompts, got_gen):
        with torch.no_grad():
            want = m.generate(torch.tensor([p]), attention_mask=torch.ones(1, len(p), dtype=torch.long),
                              max_new_tokens=new, min_new_tokens=new, do_sample=False, pad_token_id=0)
        want = want[0, len(p):].tolist()
        fl.check(g == want, "policy: greedy from %s: pure %s, transformers generate %s" % (p, g, want))
    print("policy %s: log-prob max |diff| %.2e, %d greedy continuations compared" % (d, err, len(prompts)))


def check_prm(fl, pure, d, tmp):
    cfg = AutoConfig.from_pretrained(d)
    fl.check(cfg.architectures == ["Qwen2ForTokenClassification"] and cfg.num_labels == 2,
             "prm: AutoConfig reads %s with %d labels" % (cfg.architectures, cfg.num_labels))
    tok = AutoTokenizer.from_pretrained(d)
    m = load_checked(fl, AutoModelForTokenClassification, d, "prm")
    seqs = [tok(t, add_special_tokens=False).input_ids for t in TEXTS]
    probs, _ = pure_score(pure, d, seqs, tmp, "prm")
    err = 0.0
    with torch.no_grad():
        for ids, p in zip(seqs, probs):
            ref = torch.softmax(m(torch.tensor([ids])).logits[0].float(), -1).numpy().reshape(-1)
            err = max(err, max_abs(p, ref))
    fl.check(err <= TOL, "prm: probabilities differ from transformers by %.3g" % err)
    print("prm %s: probability max |diff| %.2e" % (d, err))


def main():
    pure, root = sys.argv[1], sys.argv[2]
    fl = Failures("pure_to_hf")
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="pure-compat-run-") as tmp:
        rd = os.path.join(tmp, "run")
        run([pure, "run", os.path.join(root, "pipelines/smoke.yaml"), "--run-dir", rd, "--quiet"], cwd=root)
        policy = one(os.path.join(rd, "stages/optimize/1/*/policy"), fl, "final policy")
        prm = one(os.path.join(rd, "stages/prm_train/*/prm"), fl, "trained PRM")
        if policy:
            check_policy(fl, pure, policy, tmp)
        if prm:
            check_prm(fl, pure, prm, tmp)
    fl.done()


if __name__ == "__main__":
    main()
