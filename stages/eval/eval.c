/* eval.c - the `eval` stage kind: greedy pass@1 with the verifier, and the monitor.
 *
 * Generates one greedy response per prompt, grades it with the verify stage's
 * implementation (verifier/verify.h), and reports per-benchmark accuracy,
 * their average, response length, steps per response and a repetition score.
 * History for the reward-hacking monitor (stages/eval/monitor.h) travels in
 * the results artifact itself: an optional `history` input (the previous
 * eval's results, carried by the loop state) is extended with this
 * evaluation and written back, together with the iteration's mean process
 * reward when a `rewards` input (prm.rewards) is connected.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stages/common/io.h"
#include "stages/common/shard.h"
#include "stages/common/lm.h"
#include "stages/common/steps.h"
#include "stages/common/stops.h"
#include "stages/eval/monitor.h"
#include "stages/common/layouts.h"
#include "stages/stage.h"
#include "verifier/verify.h"

static const PortDef eval_inputs[] = {
    {"policy", ART_DIR, 0, "the policy to evaluate"},
    {"data", ART_H5, 0, "prompts with references (data stage, e.g. data.test)", layout_prompts},
    {"rewards", ART_H5, 1, "this iteration's prm.rewards: its mean step reward enters the monitor's history",
     layout_rewards},
    {"history", ART_H5, 1, "a previous eval's results (loop state): the monitor compares against its history",
     layout_results},
    {0},
};
static const PortDef eval_outputs[] = {
    {"results", ART_H5, 0, "per-response rows, accuracies as root attributes, history/* for the monitor",
     layout_results},
    {0},
};
static const ParamDef eval_params[] = {
    {"max_new_tokens", PT_INT, "256", 1, 1e6, NULL, "longest response"},
    {"cap_at_context", PT_BOOL, "false", 1, 0, NULL,
     "a prompt whose prompt + max_new_tokens passes the model's max_position is answered up to max_position, as "
     "vLLM does (the official evaluation), instead of being refused"},
    {"limit", PT_INT, "0", 0, 1e12, NULL, "evaluate the first N prompts only (0 = all)"},
    {"batch_size", PT_INT, "64", 1, 1e6, NULL, "prompts per generation call"},
    {"chat_template", PT_BOOL, "false", 1, 0, NULL, "wrap prompts in the tokenizer's ChatML template"},
    {"stop", PT_LIST, "[]", 1, 0, NULL,
     "stop words besides eos: one that is a special token (<|im_end|>) stops on its id, others on the decoded text"},
    {"repetition_ngram", PT_INT, "4", 1, 1000, NULL, "n of the token n-grams behind the repetition score"},
    {"monitor_acc_drop", PT_FLOAT, "0.05", 0, 1, NULL, "monitor: accuracy fall (absolute) that counts"},
    {"monitor_reward_rise", PT_FLOAT, "0.05", 0, 1e9, NULL, "monitor: process-reward rise that counts"},
    {"monitor_ratio", PT_FLOAT, "2.0", 1, 1e9, NULL, "monitor: steps/length collapse or explosion factor"},
    {"summary", PT_BOOL, "false", 1, 0, NULL, "print the summary table (per benchmark and the history)"},
    {"samples", PT_INT, "0", 0, 4096, NULL,
     "sampled pass@1: k responses per prompt at `temperature`, besides the greedy one (0 = greedy only)"},
    {"temperature", PT_FLOAT, "1.0", 1e-6, 100, NULL, "sampled pass@1: sampling temperature"},
    COMMON_DEVICE_PARAM("where the model runs"),
    COMMON_PRECISION_PARAM,
    {0},
};

/* Mean step reward of a prm rewards artifact (NAN when not connected). */
static int mean_reward(StageCtx *ctx, double *out, PureErr *err) {
    *out = NAN;
    if (!stage_input_path(ctx, "rewards")) return 0;
    Artifact *a = stage_input_open(ctx, "rewards", err);
    if (!a) return -1;
    Ragged r = {0};
    int rc = 0;
    if (!artifact_has(a, "step_rewards"))
        rc = err_set(err, "input 'rewards': %s has no 'step_rewards' (expected a prm stage output)", artifact_path(a));
    else if (artifact_read_ragged(a, "step_rewards", DT_F32, &r.n, &r.off, &r.v, err))
        rc = -1;
    if (!rc) {
        double s = 0;
        for (int64_t i = 0; i < r.off[r.n]; i++) s += ((float *)r.v)[i];
        *out = r.off[r.n] ? s / r.off[r.n] : NAN;
    }
    ragged_free(&r);
    artifact_close(a, NULL);
    return rc;
}

/* Previous history (n points, malloc'd) from the `history` input. */
static int read_history(StageCtx *ctx, EvalPoint **h, int *n, PureErr *err) {
    *h = NULL;
    *n = 0;
    if (!stage_input_path(ctx, "history")) return 0;
    Artifact *a = stage_input_open(ctx, "history", err);
    if (!a) return -1;
    static const char *names[] = {"history/iteration", "history/accuracy", "history/process_reward", "history/steps",
                                  "history/length"};
    double *v[5] = {0};
    int64_t dims[ARTIFACT_MAX_DIMS], len = -1;
    int rc = 0;
    for (int k = 0; k < 5 && !rc; k++) {
        if (!artifact_has(a, names[k]))
            rc = err_set(err, "input 'history': %s has no '%s' (expected an eval stage's results)", artifact_path(a),
                         names[k]);
        else if (!(v[k] = artifact_read(a, names[k], DT_F64, 1, dims, err)))
            rc = -1;
        else if (len >= 0 && dims[0] != len)
            rc = err_set(err, "input 'history': %s: '%s' has %lld rows, expected %lld", artifact_path(a), names[k],
                         (long long)dims[0], (long long)len);
        else
            len = dims[0];
    }
    if (!rc) {
        *h = xmalloc(((size_t)len + 1) * sizeof(EvalPoint));
        for (int64_t i = 0; i < len; i++)
            (*h)[i] = (EvalPoint){(int)v[0][i], v[1][i], v[2][i], v[3][i], v[4][i]};
        *n = (int)len;
    }
    for (int k = 0; k < 5; k++) free(v[k]);
    artifact_close(a, NULL);
    return rc;
}

/* Sampled pass@1: k responses per prompt at temperature T; frac[r] = share of
 * prompt r's responses graded correct. Streams are (prompt, sample) pairs
 * offset past the greedy ones, so the result does not depend on batching. */
static int sampled_pass(StageCtx *ctx, const Policy *p, const Prompts *pr, int64_t lo, int64_t n,
                        const SampleConfig *greedy, int k, int bs, int chat, float *frac, PureErr *err) {
    SampleConfig sc = *greedy;
    sc.temperature = (float)stage_param_float(ctx, "temperature");
    int rows = bs * k;
    int32_t **ids = xcalloc((size_t)rows, sizeof(int32_t *));
    int *plen = xcalloc((size_t)rows, sizeof(int));
    uint64_t *stream = xcalloc((size_t)rows, sizeof(uint64_t));
    SampleResult *res = xcalloc((size_t)rows, sizeof *res);
    int rc = 0;
    for (int64_t s = lo; s < n && !rc; s += bs) {
        int c = (int)(n - s < bs ? n - s : bs);
        for (int i = 0; i < c && !rc; i++) {
            int32_t *one;
            int len;
            if (policy_encode_prompt(p->tok, pr->prompt[s + i], chat, &one, &len, err)) {
                rc = err_prefix(err, "prompt %lld", (long long)(s + i));
                break;
            }
            for (int j = 0; j < k; j++) {
                int row = i * k + j;
                ids[row] = j ? xmalloc((size_t)len * sizeof(int32_t)) : one;
                if (j) memcpy(ids[row], one, (size_t)len * sizeof(int32_t));
                plen[row] = len;
                stream[row] = ((uint64_t)1 << 40) + (uint64_t)(s + i) * (uint64_t)k + (uint64_t)j;
            }
        }
        if (!rc)
            rc = model_generate(p->m, p->tok, c * k, (const int32_t *const *)ids, plen, stream, &sc, res, err);
        for (int i = 0; i < c && !rc; i++) {
            int good = 0;
            for (int j = 0; j < k; j++) {
                SampleResult *r = &res[i * k + j];
                char *t = tokenizer_decode(p->tok, r->tokens, r->n, 1, NULL);
                good += verify_grade(t, pr->reference[s + i], NULL) == 1;
                free(t);
            }
            frac[s + i] = (float)good / (float)k;
        }
        for (int i = 0; i < c * k; i++) {
            free(ids[i]);
            ids[i] = NULL;
            sample_result_free(&res[i]);
            memset(&res[i], 0, sizeof res[i]);
        }
        stage_progress(ctx, s + c - lo, n - lo, "prompts (sampled)");
    }
    free(ids), free(plen), free(stream), free(res);
    return rc;
}

typedef struct Bench {
    char name[64];
    int n, correct;
    double length, steps, sampled;
} Bench;

static int write_results(StageCtx *ctx, int64_t n, char **bench, uint8_t *correct, int32_t *len, int32_t *steps,
                         float *rep, char **extracted, char **text, const float *sampled, double sampled_acc,
                         const Bench *b, int nb, double acc, const EvalPoint *h, int nh, const MonitorFlags *f,
                         PureErr *err) {
    Artifact *o = stage_output_create(ctx, "results", err);
    if (!o) return -1;
    int64_t nh64 = nh;
    double *col = xmalloc(((size_t)nh + 1) * sizeof(double));
    int rc = artifact_write_strings(o, "benchmark", n, (const char *const *)bench, err) ||
             artifact_write(o, "correct", DT_U8, 1, &n, correct, err) ||
             artifact_write(o, "length", DT_I32, 1, &n, len, err) ||
             artifact_write(o, "steps", DT_I32, 1, &n, steps, err) ||
             artifact_write(o, "repetition", DT_F32, 1, &n, rep, err) ||
             artifact_write_strings(o, "extracted", n, (const char *const *)extracted, err) ||
             artifact_write_strings(o, "text", n, (const char *const *)text, err) ||
             artifact_set_attr_f64(o, "/", "accuracy", acc, err) ||
             artifact_set_attr_i64(o, "/", "hack_flag", f->any, err);
    if (!rc && sampled)
        rc = artifact_write(o, "sampled_correct", DT_F32, 1, &n, sampled, err) ||
             artifact_set_attr_f64(o, "/", "sampled_accuracy", sampled_acc, err);
    static const char *names[] = {"history/iteration", "history/accuracy", "history/process_reward", "history/steps",
                                  "history/length"};
    for (int k = 0; k < 5 && !rc; k++) {
        for (int i = 0; i < nh; i++)
            col[i] = k == 0 ? h[i].iteration : k == 1 ? h[i].accuracy : k == 2 ? h[i].process_reward
                                                       : k == 3 ? h[i].steps : h[i].length;
        rc = artifact_write(o, names[k], DT_F64, 1, &nh64, col, err);
    }
    for (int i = 0; i < nb && !rc; i++) {
        char key[96];
        snprintf(key, sizeof key, "accuracy_%s", b[i].name);
        rc = artifact_set_attr_f64(o, "/", key, b[i].n ? (double)b[i].correct / b[i].n : 0, err);
    }
    free(col);
    if (artifact_close(o, rc ? NULL : err)) rc = -1;
    return rc;
}

static void print_summary(StageCtx *ctx, const Bench *b, int nb, double acc, const EvalPoint *h, int nh) {
    int final = stage_iteration(ctx) < 0;
    stage_log(ctx, "%-16s %6s %9s %8s %7s", "benchmark", "n", "accuracy", "length", "steps");
    for (int i = 0; i < nb; i++)
        stage_log(ctx, "%-16s %6d %9.3f %8.1f %7.2f", b[i].name, b[i].n, b[i].n ? (double)b[i].correct / b[i].n : 0,
                  b[i].n ? b[i].length / b[i].n : 0, b[i].n ? b[i].steps / b[i].n : 0);
    stage_log(ctx, "%-16s %6s %9.3f", "average", "", acc);
    if (nh < 2) return;
    stage_log(ctx, "%-10s %9s %14s %7s %8s", "iteration", "accuracy", "process_reward", "steps", "length");
    for (int i = 0; i < nh; i++) {
        char it[16], pr[32];
        snprintf(it, sizeof it, h[i].iteration < 0 ? "start" : (i == nh - 1 && final) ? "final" : "%d", h[i].iteration);
        snprintf(pr, sizeof pr, isnan(h[i].process_reward) ? "-" : "%.3f", h[i].process_reward);
        stage_log(ctx, "%-10s %9.3f %14s %7.2f %8.1f", it, h[i].accuracy, pr, h[i].steps, h[i].length);
    }
}

/* One eval's per-prompt results (n rows each). */
typedef struct EvalRows {
    uint8_t *correct;
    int32_t *len, *steps;
    float *rep, *sampled; /* sampled: NULL without samples */
    char **text, **extracted;
} EvalRows;

static void put_str(ShardBuf *b, const char *s) {
    int32_t n = (int32_t)strlen(s);
    shard_put_i32(b, n);
    shard_put(b, s, (size_t)n);
}

static int get_str(ShardBuf *b, char **out, PureErr *err) {
    int32_t n;
    if (shard_get_i32(b, &n, err)) return -1;
    if (n < 0 || (size_t)n > b->n - b->pos) return err_set(err, "eval: a gathered string of %d bytes", n);
    *out = xmalloc((size_t)n + 1);
    (*out)[n] = 0;
    return shard_get(b, *out, (size_t)n, err);
}

/* Collective: rows [lo, hi) of every rank to rank 0 (which then holds all n), and the capped counts summed. */
static int gather_rows(EvalRows *e, int64_t n, int64_t lo, int64_t hi, int64_t *capped, PureErr *err) {
    if (shard_ranks() == 1) return 0;
    ShardBuf mine = {0}, all = {0};
    shard_put(&mine, capped, sizeof *capped);
    shard_put(&mine, &lo, sizeof lo);
    shard_put(&mine, &hi, sizeof hi);
    for (int64_t r = lo; r < hi; r++) {
        shard_put(&mine, &e->correct[r], 1);
        shard_put_i32(&mine, e->len[r]);
        shard_put_i32(&mine, e->steps[r]);
        shard_put(&mine, &e->rep[r], sizeof(float));
        if (e->sampled) shard_put(&mine, &e->sampled[r], sizeof(float));
        put_str(&mine, e->text[r]);
        put_str(&mine, e->extracted[r]);
    }
    int rc = shard_gather(&mine, &all, err);
    shard_free(&mine);
    if (!rc && shard_is_writer()) {
        for (int64_t r = lo; r < hi; r++) free(e->text[r]), free(e->extracted[r]), e->text[r] = e->extracted[r] = NULL;
        int64_t r = 0;
        *capped = 0;
        for (int k = 0; k < shard_ranks() && !rc; k++) {
            int64_t c = 0, klo = 0, khi = 0;
            rc = shard_get(&all, &c, sizeof c, err) || shard_get(&all, &klo, sizeof klo, err) ||
                 shard_get(&all, &khi, sizeof khi, err);
            if (!rc && (klo < 0 || khi < klo || khi > n)) rc = err_set(err, "eval: gathered rows [%lld, %lld) of %lld",
                                                                   (long long)klo, (long long)khi, (long long)n);
            *capped += c;
            for (r = klo; r < khi && !rc; r++) {
                rc = shard_get(&all, &e->correct[r], 1, err) || shard_get_i32(&all, &e->len[r], err) ||
                     shard_get_i32(&all, &e->steps[r], err) || shard_get(&all, &e->rep[r], sizeof(float), err) ||
                     (e->sampled && shard_get(&all, &e->sampled[r], sizeof(float), err)) ||
                     get_str(&all, &e->text[r], err) || get_str(&all, &e->extracted[r], err);
            }
        }
    }
    shard_free(&all);
    return rc;
}

static int eval_run(StageCtx *ctx, PureErr *err) {
    Prompts pr;
    if (input_read_prompts(ctx, "data", &pr, err)) return -1;
    int rc = 0;
    int64_t n = stage_param_int(ctx, "limit");
    if (n == 0 || n > pr.n) n = pr.n;
    if (n == 0) {
        prompts_free(&pr);
        return err_set(err, "input 'data': no prompts to evaluate");
    }
    for (int64_t i = 0; i < n; i++)
        if (!pr.reference[i][0]) {
            rc = err_set(err, "input 'data': prompt %lld has no reference answer; eval grades against references",
                         (long long)i);
            prompts_free(&pr);
            return rc;
        }
    double preward;
    EvalPoint *hist = NULL;
    int nh = 0;
    if (mean_reward(ctx, &preward, err) || read_history(ctx, &hist, &nh, err)) {
        prompts_free(&pr);
        return -1;
    }
    Policy p;
    if (policy_load_ctx(ctx, stage_input_path(ctx, "policy"), "policy", 0, 0, &p, err)) {
        prompts_free(&pr);
        free(hist);
        return -1;
    }
    int chat = stage_param_bool(ctx, "chat_template"), bs = (int)stage_param_int(ctx, "batch_size");
    int ngram = (int)stage_param_int(ctx, "repetition_ngram");
    const char *const *words = NULL;
    int nwords = stage_param_list(ctx, "stop", &words);
    Stops stops;
    stops_init(&stops, p.tok, words, nwords);
    SampleConfig sc = {0};
    sc.max_new_tokens = (int)stage_param_int(ctx, "max_new_tokens");
    sc.temperature = 0;
    sc.top_p = 1;
    stops_apply(&stops, &sc);
    sc.seed = stage_seed(ctx);

    uint8_t *correct = xcalloc((size_t)n, 1);
    int32_t *len = xcalloc((size_t)n, sizeof(int32_t)), *steps = xcalloc((size_t)n, sizeof(int32_t));
    float *rep = xcalloc((size_t)n, sizeof(float));
    char **text = xcalloc((size_t)n, sizeof(char *)), **extracted = xcalloc((size_t)n, sizeof(char *));
    int32_t **ids = xcalloc((size_t)bs, sizeof(int32_t *));
    int *plen = xcalloc((size_t)bs, sizeof(int));
    uint64_t *stream = xcalloc((size_t)bs, sizeof(uint64_t));
    SampleResult *res = xcalloc((size_t)bs, sizeof *res);
    int maxp = model_config(p.m)->max_position, cap = stage_param_bool(ctx, "cap_at_context");
    int64_t capped = 0, lo, hi;
    /* each rank answers whole batches of prompts; rank 0 gathers the rows and writes */
    shard_rows(n, bs, &lo, &hi);
    for (int64_t s = lo; s < hi && !rc; s += bs) {
        int c = (int)(hi - s < bs ? hi - s : bs);
        for (int i = 0; i < c && !rc; i++) {
            stream[i] = (uint64_t)(s + i);
            if (policy_encode_prompt(p.tok, pr.prompt[s + i], chat, &ids[i], &plen[i], err))
                rc = err_prefix(err, "prompt %lld", (long long)(s + i));
            else if (plen[i] + sc.max_new_tokens > maxp && !cap)
                rc = err_set(err, "prompt %lld has %d tokens; with max_new_tokens %d it exceeds max_position %d "
                             "(cap_at_context: true answers up to max_position instead)",
                             (long long)(s + i), plen[i], sc.max_new_tokens, maxp);
            else if (plen[i] >= maxp)
                rc = err_set(err, "prompt %lld has %d tokens, which leaves no room for an answer within max_position %d",
                             (long long)(s + i), plen[i], maxp);
            else
                capped += plen[i] + sc.max_new_tokens > maxp; /* the engine stops it at maxp, finish length */
        }
        if (!rc) rc = model_generate(p.m, p.tok, c, (const int32_t *const *)ids, plen, stream, &sc, res, err);
        for (int i = 0; i < c && !rc; i++) {
            int64_t r = s + i;
            text[r] = tokenizer_decode(p.tok, res[i].tokens, res[i].n, 1, NULL);
            len[r] = res[i].n;
            size_t *ends = NULL;
            steps[r] = steps_split(text[r], strlen(text[r]), &ends, NULL);
            free(ends);
            rep[r] = (float)repetition_score(res[i].tokens, res[i].n, ngram);
            char *ex = NULL;
            correct[r] = verify_grade(text[r], pr.reference[r], &ex) == 1;
            extracted[r] = ex ? ex : xstrdup("");
        }
        for (int i = 0; i < c; i++) {
            free(ids[i]);
            ids[i] = NULL;
            sample_result_free(&res[i]);
            memset(&res[i], 0, sizeof res[i]);
        }
        stage_progress(ctx, s + c - lo, hi - lo, "prompts");
    }
    free(ids), free(plen), free(stream), free(res);
    int nsamples = (int)stage_param_int(ctx, "samples");
    float *sampled = nsamples > 0 ? xcalloc((size_t)n, sizeof(float)) : NULL;
    if (!rc && sampled) rc = sampled_pass(ctx, &p, &pr, lo, hi, &sc, nsamples, bs, chat, sampled, err);
    EvalRows er = {correct, len, steps, rep, sampled, text, extracted};
    if (!rc) rc = gather_rows(&er, n, lo, hi, &capped, err);
    if (!rc && !shard_is_writer()) rc = 1; /* done: rank 0 writes */
    if (!rc && cap) {
        stage_metric(ctx, "capped_prompt_fraction", (double)capped / (double)n);
        if (capped) stage_log(ctx, "eval: %lld of %lld prompts may only be answered up to max_position %d",
                              (long long)capped, (long long)n, maxp);
    }

    if (!rc) {
        /* per benchmark, in order of first appearance */
        Bench *b = xcalloc((size_t)n, sizeof *b);
        int nb = 0;
        double tl = 0, ts = 0, tr = 0;
        for (int64_t r = 0; r < n; r++) {
            int k = 0;
            while (k < nb && strcmp(b[k].name, pr.benchmark[r])) k++;
            if (k == nb) snprintf(b[nb++].name, sizeof b[0].name, "%s", pr.benchmark[r]);
            b[k].n++, b[k].correct += correct[r], b[k].length += len[r], b[k].steps += steps[r];
            if (sampled) b[k].sampled += sampled[r];
            tl += len[r], ts += steps[r], tr += rep[r];
        }
        double acc = 0, sacc = 0;
        for (int k = 0; k < nb; k++) {
            char key[96];
            snprintf(key, sizeof key, "accuracy_%s", b[k].name);
            stage_metric(ctx, key, (double)b[k].correct / b[k].n);
            acc += (double)b[k].correct / b[k].n / nb;
            sacc += b[k].sampled / b[k].n / nb;
        }
        hist = xrealloc(hist, ((size_t)nh + 1) * sizeof *hist);
        /* after the loop (iteration -1 with a history) the point follows the last one; the table says "final" */
        int it = stage_iteration(ctx);
        if (it < 0 && nh > 0) it = hist[nh - 1].iteration + 1;
        hist[nh++] = (EvalPoint){it, acc, preward, ts / n, tl / n};
        MonitorConfig mc = {stage_param_float(ctx, "monitor_acc_drop"), stage_param_float(ctx, "monitor_reward_rise"),
                            stage_param_float(ctx, "monitor_ratio")};
        MonitorFlags f;
        monitor_check(hist, nh, &mc, &f);
        stage_metric(ctx, "accuracy", acc);
        if (sampled) stage_metric(ctx, "sampled_accuracy", sacc);
        stage_metric(ctx, "length", tl / n);
        stage_metric(ctx, "steps", ts / n);
        stage_metric(ctx, "repetition", tr / n);
        if (!isnan(preward)) stage_metric(ctx, "process_reward", preward);
        stage_metric(ctx, "hack_flag", f.any);
        stage_metric(ctx, "hack_reward_up_accuracy_down", f.reward_up_acc_down);
        stage_metric(ctx, "hack_steps_collapse", f.steps_collapse);
        stage_metric(ctx, "hack_steps_explode", f.steps_explode);
        stage_metric(ctx, "hack_length_collapse", f.length_collapse);
        stage_metric(ctx, "hack_length_explode", f.length_explode);
        const EvalPoint *s0 = &hist[0], *e = &hist[nh - 1];
        if (f.reward_up_acc_down)
            stage_warn(ctx, "reward hacking? process reward rose while accuracy fell from %.3f to %.3f", s0->accuracy,
                       e->accuracy);
        if (f.steps_collapse || f.steps_explode)
            stage_warn(ctx, "reward hacking? steps per response %s: %.2f at the start, %.2f now",
                       f.steps_collapse ? "collapsed" : "exploded", s0->steps, e->steps);
        if (f.length_collapse || f.length_explode)
            stage_warn(ctx, "reward hacking? response length %s: %.1f at the start, %.1f now",
                       f.length_collapse ? "collapsed" : "exploded", s0->length, e->length);
        stage_log(ctx, "eval: accuracy %.3f over %lld prompts, length %.1f, steps %.2f, repetition %.3f", acc,
                  (long long)n, tl / n, ts / n, tr / n);
        if (stage_param_bool(ctx, "summary")) print_summary(ctx, b, nb, acc, hist, nh);
        if (sampled)
            stage_log(ctx, "eval: sampled pass@1 %.3f (%d samples per prompt, temperature %g)", sacc, nsamples,
                      stage_param_float(ctx, "temperature"));
        rc = write_results(ctx, n, pr.benchmark, correct, len, steps, rep, extracted, text, sampled, sacc, b, nb, acc,
                           hist, nh, &f, err);
        free(b);
    }
    for (int64_t r = 0; r < n; r++) free(text[r]), free(extracted[r]);
    free(text), free(extracted), free(correct), free(len), free(steps), free(rep), free(hist), free(sampled);
    stops_free(&stops);
    policy_free(&p);
    prompts_free(&pr);
    return rc > 0 ? 0 : rc;
}

const StageKind stage_kind_eval = {
    "eval", 1,
    "Greedy pass@1 on benchmark prompts graded by the verifier (and, with samples > 0, sampled pass@1: the share of "
    "k responses at `temperature` graded correct): per-benchmark accuracy and their average, response "
    "length, steps per response and a repetition score; a reward-hacking monitor compares against the history "
    "carried in `history` (process reward up while accuracy falls, steps or length collapsing or exploding).",
    eval_inputs, eval_outputs, eval_params, eval_run, NULL, STAGE_ALL_RANKS,
};
