/* cmd_score.c - `pure score`: per-token scores of given sequences into HDF5.
 *
 * Input: FILE.jsonl, one {"tokens": [...]} or {"text": "..."} per line.
 * Output (storage/artifact.h, ragged = values + offsets per input row):
 *   tokens    ragged i32: the scored tokens;
 *   causal LM:      logprobs ragged f32, len-1 values per row: value j is
 *                   log p(tokens[j+1] | tokens[0..j]); entropy likewise;
 *   classification: probs ragged f32, len * num_labels values per row
 *                   (softmax of the logits at each token, row-major).
 * Root attributes: model, head ("causal_lm" | "token_classification"), num_labels.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmd_util.h"
#include "cli/commands.h"
#include "storage/artifact.h"
#include "util/fs.h"
#include "util/log.h"

static const char *USAGE =
    "usage: pure score --model DIR --input FILE.jsonl --output FILE.h5 [--tokenizer FILE]\n"
    "                  [--batch N=8] [--device cpu|cuda|auto] [--threads N]\n";

/* Scores rows [i0, i1) into vals at their offsets. */
static int score_batch(Model *m, const CmdInput *in, int i0, int i1, const int64_t *off, const int64_t *off_ent,
                       float *vals, float *ent_vals, PureErr *err) {
    const ModelConfig *c = model_config(m);
    int B = i1 - i0, T = 1, W = c->num_labels > 0 ? c->num_labels : 1;
    for (int i = i0; i < i1; i++) T = in[i].n > T ? in[i].n : T;
    int32_t *tokens = xcalloc((size_t)B * T, sizeof(int32_t)), *lens = xcalloc(B, sizeof(int32_t));
    float *out = xmalloc(sizeof(float) * B * T * W), *ent = xmalloc(sizeof(float) * B * T);
    for (int b = 0; b < B; b++) {
        memcpy(tokens + (size_t)b * T, in[i0 + b].tokens, sizeof(int32_t) * in[i0 + b].n);
        lens[b] = in[i0 + b].n;
    }
    ModelBatch mb = {B, T, tokens, lens};
    int rc = model_forward(m, &mb, out, c->num_labels ? NULL : ent, 0, err);
    for (int b = 0; !rc && b < B; b++) {
        int i = i0 + b, n = in[i].n;
        if (c->num_labels > 0) {
            for (int t = 0; t < n; t++) {
                const float *l = out + ((size_t)b * T + t) * W;
                float *p = vals + off[i] + (size_t)t * W, mx = l[0];
                for (int k = 1; k < W; k++) mx = l[k] > mx ? l[k] : mx;
                double z = 0;
                for (int k = 0; k < W; k++) z += exp(l[k] - mx);
                for (int k = 0; k < W; k++) p[k] = (float)(exp(l[k] - mx) / z);
            }
        } else {
            for (int t = 0; t + 1 < n; t++) {
                vals[off[i] + t] = out[(size_t)b * T + t];
                ent_vals[off_ent[i] + t] = ent[(size_t)b * T + t];
            }
        }
    }
    free(tokens), free(lens), free(out), free(ent);
    return rc;
}

int cmd_score(int argc, char **argv) {
    const char *model = NULL, *input = NULL, *output = NULL, *tok_path = NULL, *device = "cpu";
    long long batch = 8, threads = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return fputs(USAGE, stdout), PURE_EXIT_OK;
        if (!(v = cmd_value(argc, argv, &i))) return PURE_EXIT_USAGE;
        if (!strcmp(a, "--model")) model = v;
        else if (!strcmp(a, "--input")) input = v;
        else if (!strcmp(a, "--output")) output = v;
        else if (!strcmp(a, "--tokenizer")) tok_path = v;
        else if (!strcmp(a, "--device")) device = v;
        else if (!strcmp(a, "--batch") ? cmd_int(a, v, &batch)
                 : !strcmp(a, "--threads") ? cmd_int(a, v, &threads)
                                           : (fprintf(stderr, "pure score: unknown option %s\n%s", a, USAGE), -1))
            return PURE_EXIT_USAGE;
    }
    if (!model || !input || !output || batch < 1) {
        fprintf(stderr, "pure score: need --model, --input and --output (and --batch >= 1)\n%s", USAGE);
        return PURE_EXIT_USAGE;
    }
    model_set_threads((int)threads);
    Model *m;
    Tokenizer *tok;
    if (cmd_load(model, tok_path, 0, device, &m, &tok)) return PURE_EXIT_FAIL;
    const ModelConfig *c = model_config(m);
    CmdInput *in = NULL;
    int n = 0, rc = PURE_EXIT_OK;
    PureErr err = {0};
    if (cmd_read_inputs(input, "text", tok, &in, &n)) rc = PURE_EXIT_FAIL;
    for (int i = 0; rc == PURE_EXIT_OK && i < n; i++)
        if (in[i].n < 1) log_error("%s:%d: empty sequence", input, i + 1), rc = PURE_EXIT_FAIL;
    int W = c->num_labels > 0 ? c->num_labels : 1;
    int64_t *off = xcalloc((size_t)n + 1, sizeof(int64_t)), *off_ent = xcalloc((size_t)n + 1, sizeof(int64_t)),
            *off_tok = xcalloc((size_t)n + 1, sizeof(int64_t));
    for (int i = 0; rc == PURE_EXIT_OK && i < n; i++) {
        off_tok[i + 1] = off_tok[i] + in[i].n;
        off_ent[i + 1] = off_ent[i] + (in[i].n - 1);
        off[i + 1] = off[i] + (c->num_labels > 0 ? (int64_t)in[i].n * W : in[i].n - 1);
    }
    float *vals = xmalloc(sizeof(float) * (off[n] + 1)), *ent_vals = xmalloc(sizeof(float) * (off_ent[n] + 1));
    int32_t *toks = xmalloc(sizeof(int32_t) * (off_tok[n] + 1));
    for (int i = 0; rc == PURE_EXIT_OK && i < n; i++) memcpy(toks + off_tok[i], in[i].tokens, sizeof(int32_t) * in[i].n);
    for (int i0 = 0; rc == PURE_EXIT_OK && i0 < n; i0 += (int)batch) {
        int i1 = i0 + (int)batch < n ? i0 + (int)batch : n;
        if (score_batch(m, in, i0, i1, off, off_ent, vals, ent_vals, &err)) {
            log_error("%s: rows %d-%d: %s", input, i0 + 1, i1, err.msg);
            rc = PURE_EXIT_FAIL;
        }
    }
    if (rc == PURE_EXIT_OK) {
        /* write beside the target, then rename: a reader never sees half a file */
        char *tmp = xmalloc(strlen(output) + 32);
        sprintf(tmp, "%s.tmp.%d", output, (int)getpid());
        Artifact *a = artifact_create(tmp, &err);
        int w = !a;
        if (!w) w = artifact_write_ragged(a, "tokens", DT_I32, n, off_tok, toks, &err);
        if (!w) w = artifact_write_ragged(a, c->num_labels ? "probs" : "logprobs", DT_F32, n, off, vals, &err);
        if (!w && !c->num_labels) w = artifact_write_ragged(a, "entropy", DT_F32, n, off_ent, ent_vals, &err);
        if (!w) w = artifact_set_attr_str(a, "/", "model", model, &err);
        if (!w) w = artifact_set_attr_str(a, "/", "head", c->num_labels ? "token_classification" : "causal_lm", &err);
        if (!w) w = artifact_set_attr_i64(a, "/", "num_labels", c->num_labels, &err);
        if (a && artifact_close(a, w ? NULL : &err)) w = 1;
        if (!w) w = fs_rename_durable(tmp, output, &err);
        if (w) {
            log_error("%s: %s", output, err.msg);
            remove(tmp);
            rc = PURE_EXIT_FAIL;
        } else {
            log_info("scored %d sequences (%lld tokens) into %s", n, (long long)off_tok[n], output);
        }
        free(tmp);
    }
    free(off), free(off_ent), free(off_tok), free(vals), free(ent_vals), free(toks);
    cmd_inputs_free(in, n);
    tokenizer_free(tok);
    model_free(m);
    return rc;
}
