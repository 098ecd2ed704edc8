/* rollview.c - loading, selecting and printing one iteration's rollouts
 * (see rollview.h). */
#include "report/rollview.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/text.h"

/* ---------------------------------------------------------------- loading */

static Artifact *open_input(const RunView *rv, const RvInst *in, const char *port, const RvInst **prod,
                            PureErr *err) {
    char *path = NULL;
    *prod = runview_input(rv, in, port, &path, err);
    if (!*prod) return NULL;
    Artifact *a = artifact_open(path, err);
    free(path);
    return a;
}

/* A verify stage run of this run that graded exactly these rollouts. */
static const RvInst *find_verify(const RunView *rv, const RvInst *rollout) {
    const RvInst **v;
    int n = runview_of_kind(rv, "verify", &v);
    const RvInst *found = NULL;
    char ref[128];
    snprintf(ref, sizeof ref, "%s:rollouts", rollout->fp);
    for (int i = 0; i < n && !found; i++) {
        const cJSON *ins =
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(v[i]->done, "identity"), "inputs");
        const char *r = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ins, "rollouts"));
        if (r && !strcmp(r, ref)) found = v[i];
    }
    free(v);
    return found;
}

static void *read_rows(Artifact *a, const char *name, DType t, int64_t n, PureErr *err) {
    if (!artifact_has(a, name)) {
        err_set(err, "%s: missing dataset '%s'", artifact_path(a), name);
        return NULL;
    }
    int64_t dims[ARTIFACT_MAX_DIMS];
    void *p = artifact_read(a, name, t, 1, dims, err);
    if (p && dims[0] != n) {
        err_set(err, "%s: dataset '%s' has %lld rows, the rollouts have %lld", artifact_path(a), name,
                (long long)dims[0], (long long)n);
        free(p);
        return NULL;
    }
    return p;
}

static int load_verify(RollView *v, Artifact *a, PureErr *err) {
    int64_t n = v->ro.n, ns = 0;
    if (!(v->vreward = read_rows(a, "reward", DT_F32, n, err)) ||
        !(v->has_reward = read_rows(a, "has_reward", DT_U8, n, err)) ||
        !(v->correct = read_rows(a, "correct", DT_U8, n, err)))
        return -1;
    if (!artifact_has(a, "extracted")) return err_set(err, "%s: missing dataset 'extracted'", artifact_path(a));
    v->extracted = artifact_read_strings(a, "extracted", &ns, err);
    if (!v->extracted) return -1;
    if (ns != n) {
        artifact_strings_free(v->extracted, ns);
        v->extracted = NULL;
        return err_set(err, "%s: dataset 'extracted' has %lld rows, the rollouts have %lld", artifact_path(a),
                       (long long)ns, (long long)n);
    }
    v->has_verify = 1;
    return 0;
}

static const char *param_str(const RvInst *in, const char *name) {
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(in->done, "identity"), "params");
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, name));
    if (!s) return "?";
    const char *colon = strchr(s, ':'); /* enums are stored "INDEX:name" */
    return colon ? colon + 1 : s;
}

/* Picks the credit stage run of iteration iter (-1: the last one). */
static const RvInst *pick_credit(const RunView *rv, int iter, const char *name, PureErr *err) {
    const RvInst **c;
    int n = runview_of_kind(rv, "credit", &c), m = 0;
    const RvInst *found = NULL;
    if (iter < 0)
        for (int i = 0; i < n; i++)
            if ((!name || !strcmp(c[i]->stage, name)) && c[i]->iter > iter) iter = c[i]->iter;
    char names[512] = "";
    for (int i = 0; i < n; i++) {
        if (c[i]->iter != iter || (name && strcmp(c[i]->stage, name))) continue;
        found = c[i];
        m++;
        size_t l = strlen(names);
        snprintf(names + l, sizeof names - l, "%s%s", l ? ", " : "", c[i]->stage);
    }
    if (!found) {
        char have[256] = "";
        int lo = -1, hi = -1;
        for (int i = 0; i < n; i++)
            if (!name || !strcmp(c[i]->stage, name)) {
                if (lo < 0 || c[i]->iter < lo) lo = c[i]->iter;
                if (c[i]->iter > hi) hi = c[i]->iter;
            }
        if (lo >= 0) snprintf(have, sizeof have, " (iterations with one: %d-%d)", lo, hi);
        if (n == 0) err_set(err, "%s: no committed credit stage run (run the pipeline first?)", rv->root);
        else if (iter < 0 || name) err_set(err, "%s: no committed credit stage '%s'%s", rv->root, name ? name : "", have);
        else err_set(err, "%s: no committed credit stage run in iteration %d%s", rv->root, iter, have);
    } else if (m > 1) {
        err_set(err, "%s: iteration %d has %d credit stages (%s): choose one with --stage", rv->root, iter, m, names);
        found = NULL;
    }
    free(c);
    return found;
}

static void derive(RollView *v) {
    int64_t n = v->ro.n;
    v->score = xcalloc((size_t)n + 1, sizeof *v->score);
    v->total = xcalloc((size_t)n + 1, sizeof *v->total);
    v->min_step = xcalloc((size_t)n + 1, sizeof *v->min_step);
    v->flags = xcalloc((size_t)n + 1, sizeof *v->flags);
    for (int64_t i = 0; i < n; i++) {
        const float *adv = (const float *)v->adv.v + v->adv.off[i];
        const float *ret = (const float *)v->returns.v + v->returns.off[i];
        int len = (int)ragged_len(&v->adv, i);
        v->score[i] = len > 0 ? adv[0] : 0;
        v->total[i] = len > 0 ? ret[0] : 0;
        const float *r = (const float *)v->rewards.v + v->rewards.off[i];
        int ns = (int)ragged_len(&v->rewards, i);
        v->min_step[i] = -1;
        for (int s = 0; s < ns; s++)
            if (v->min_step[i] < 0 || r[s] < r[v->min_step[i]]) v->min_step[i] = s;
        if (v->has_verify && v->has_reward[i] && !v->correct[i] && v->score[i] > 0)
            v->flags[i] |= RV_FLAG_WRONG_REINFORCED;
        for (int s = 1; s < ns && !(v->flags[i] & RV_FLAG_REPEATED_STEP); s++) {
            size_t la, lb;
            const char *a = rollview_step_text(v, i, s, &la);
            text_trim(&a, &la);
            for (int t = 0; a && la > 0 && t < s; t++) {
                const char *b = rollview_step_text(v, i, t, &lb);
                text_trim(&b, &lb);
                if (lb == la && !memcmp(a, b, la)) {
                    v->flags[i] |= RV_FLAG_REPEATED_STEP;
                    break;
                }
            }
        }
    }
}

int rollview_load(const RunView *rv, int iter, const char *credit_stage, RollView *v, PureErr *err) {
    memset(v, 0, sizeof *v);
    const RvInst *credit = pick_credit(rv, iter, credit_stage, err);
    if (!credit) return -1;
    v->iteration = credit->iter;
    v->credit_stage = xstrdup(credit->stage);
    v->rule = xstrdup(param_str(credit, "rule"));
    const RvInst *rollout, *prm, *data, *ver = NULL;
    Artifact *a = open_input(rv, credit, "rollouts", &rollout, err);
    int rc = !a || rollouts_read(a, &v->ro, err);
    artifact_close(a, NULL);
    if (rc) goto fail;
    v->rollout_stage = xstrdup(rollout->stage);
    a = open_input(rv, credit, "rewards", &prm, err);
    rc = !a || rewards_read(a, &v->ro.step_ends, &v->rewards, err);
    if (!rc) {
        char *mode = artifact_get_attr_str(a, "/", "mode", NULL); /* optional attribute */
        v->prm_mode = mode ? mode : xstrdup(param_str(prm, "mode"));
    }
    artifact_close(a, NULL);
    if (rc) goto fail;
    v->prm_stage = xstrdup(prm->stage);
    /* the verifiable result: what credit used, else a verify stage on the same rollouts */
    const cJSON *ins = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(credit->done, "identity"), "inputs");
    if (cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ins, "verifiable"))) {
        a = open_input(rv, credit, "verifiable", &ver, err);
        if (!a) goto fail;
    } else if ((ver = find_verify(rv, rollout))) {
        char *path = runview_output(ver, "verifiable", err);
        a = path ? artifact_open(path, err) : NULL;
        free(path);
        if (!a) goto fail;
    }
    if (ver) {
        rc = load_verify(v, a, err);
        artifact_close(a, NULL);
        if (rc) goto fail;
        v->verify_stage = xstrdup(ver->stage);
    }
    a = open_input(rv, rollout, "prompts", &data, err);
    rc = !a || prompts_read(a, &v->pr, err);
    artifact_close(a, NULL);
    if (rc) goto fail;
    for (int64_t i = 0; i < v->ro.n; i++)
        if (v->ro.prompt_index[i] < 0 || v->ro.prompt_index[i] >= v->pr.n) {
            err_set(err, "%s: response %lld has prompt_index %lld, but %s[%s] has %lld prompts", rollout->dir,
                    (long long)i, (long long)v->ro.prompt_index[i], data->stage, "prompts", (long long)v->pr.n);
            goto fail;
        }
    char *path = runview_output(credit, "advantages", err);
    a = path ? artifact_open(path, err) : NULL;
    free(path);
    rc = !a || ragged_read_aligned(a, "returns", &v->ro.tokens, "tokens", &v->returns, err) ||
         ragged_read_aligned(a, "advantages", &v->ro.tokens, "tokens", &v->adv, err);
    artifact_close(a, NULL);
    if (rc) goto fail;
    derive(v);
    return 0;
fail:
    rollview_free(v);
    return -1;
}

void rollview_free(RollView *v) {
    free(v->credit_stage);
    free(v->rule);
    free(v->rollout_stage);
    free(v->prm_stage);
    free(v->prm_mode);
    free(v->verify_stage);
    if (v->extracted) artifact_strings_free(v->extracted, v->ro.n); /* before rollouts_free clears ro.n */
    rollouts_free(&v->ro);
    prompts_free(&v->pr);
    ragged_free(&v->rewards);
    free(v->vreward);
    free(v->has_reward);
    free(v->correct);
    ragged_free(&v->returns);
    ragged_free(&v->adv);
    free(v->score);
    free(v->total);
    free(v->min_step);
    free(v->flags);
    memset(v, 0, sizeof *v);
}

/* ---------------------------------------------------------------- selection */

const char *rollview_step_text(const RollView *v, int64_t i, int64_t s, size_t *len) {
    *len = 0;
    if (v->ro.step_bytes.n != v->ro.n || s >= ragged_len(&v->ro.step_bytes, i)) return NULL;
    const int32_t *b = (const int32_t *)v->ro.step_bytes.v + v->ro.step_bytes.off[i];
    const char *t = v->ro.text[i];
    size_t tl = strlen(t);
    size_t from = s == 0 ? 0 : (size_t)(b[s - 1] < 0 ? 0 : b[s - 1]), to = (size_t)(b[s] < 0 ? 0 : b[s]);
    /* offsets come from the file: clip them to the text */
    if (from > tl) from = tl;
    if (to > tl) to = tl;
    if (to < from) to = from;
    *len = to - from;
    return t + from;
}

int rollview_step_start(const RollView *v, int64_t i, int64_t s) {
    if (s == 0) return 0;
    const int32_t *e = (const int32_t *)v->ro.step_ends.v + v->ro.step_ends.off[i];
    return e[s - 1] + 1;
}

static const RollView *sort_view;
static RvSort sort_key;

static double key_of(int64_t i) {
    switch (sort_key) {
    case RV_SORT_ADVANTAGE: return sort_view->score[i];
    case RV_SORT_REWARD: return sort_view->total[i];
    case RV_SORT_LENGTH: return sort_view->ro.length[i];
    default: return 0;
    }
}

/* Descending (best first), then by row so equal keys keep the stored order. */
static int cmp_rows(const void *pa, const void *pb) {
    int a = *(const int *)pa, b = *(const int *)pb;
    double ka = key_of(a), kb = key_of(b);
    if (isnan(ka) != isnan(kb)) return isnan(ka) ? 1 : -1;
    if (ka > kb) return -1;
    if (ka < kb) return 1;
    return a - b;
}

int rollview_select(const RollView *v, RvSort sort, RvFilter filter, int limit, int **idx, int *matched) {
    int *out = xcalloc((size_t)v->ro.n + 1, sizeof *out), n = 0;
    for (int64_t i = 0; i < v->ro.n; i++) {
        if (filter == RV_FILTER_WRONG && !(v->has_verify && v->has_reward[i] && !v->correct[i])) continue;
        if (filter == RV_FILTER_FLAGGED && !v->flags[i]) continue;
        out[n++] = (int)i;
    }
    if (sort != RV_SORT_NONE) {
        sort_view = v;
        sort_key = sort;
        qsort(out, (size_t)n, sizeof *out, cmp_rows);
        sort_view = NULL;
    }
    if (matched) *matched = n;
    if (limit > 0 && n > limit) n = limit;
    *idx = out;
    return n;
}

/* ---------------------------------------------------------------- printing */

#define C(code) (color ? code : "")
#define RESET C("\033[0m")

static void print_flags(FILE *f, unsigned fl, int color) {
    if (!fl) return;
    fprintf(f, "  %s[flagged:", C("\033[1;35m"));
    if (fl & RV_FLAG_WRONG_REINFORCED) fputs(" wrong but reinforced", f);
    if (fl & RV_FLAG_REPEATED_STEP) fputs(" repeats a step", f);
    fprintf(f, "]%s", RESET);
}

static const char *finish_name(int32_t fin) { return fin == 0 ? "eos" : fin == 1 ? "stop" : fin == 2 ? "length limit" : "?"; }

static void print_one(FILE *f, const RollView *v, int64_t i, int color) {
    const Rollouts *ro = &v->ro;
    int64_t p = ro->prompt_index[i];
    fprintf(f, "%s#%lld%s  prompt %lld (group %lld)  advantage %+.4f  return %+.4f  length %d (%s)", C("\033[1m"),
            (long long)i, RESET, (long long)p, (long long)ro->group[i], v->score[i], v->total[i], ro->length[i],
            finish_name(ro->finish[i]));
    print_flags(f, v->flags[i], color);
    fputc('\n', f);
    fputs("  problem: ", f);
    text_put_terminal(f, v->pr.problem[p], strlen(v->pr.problem[p]), "           ");
    fputc('\n', f);
    if (v->has_verify) {
        fputs("  verify:  ", f);
        if (!v->has_reward[i]) fputs("no reference", f);
        else if (v->correct[i]) fprintf(f, "%scorrect%s", C("\033[32m"), RESET);
        else fprintf(f, "%swrong%s", C("\033[31m"), RESET);
        fputs("  answer \"", f);
        text_put_terminal(f, v->extracted[i], strlen(v->extracted[i]), NULL);
        fputs("\"  reference \"", f);
        text_put_terminal(f, v->pr.reference[p], strlen(v->pr.reference[p]), NULL);
        fprintf(f, "\"  reward %+.3f\n", v->vreward[i]);
    }
    const float *r = (const float *)v->rewards.v + v->rewards.off[i];
    const float *ret = (const float *)v->returns.v + v->returns.off[i];
    const float *adv = (const float *)v->adv.v + v->adv.off[i];
    int ns = (int)ragged_len(&v->rewards, i), len = (int)ragged_len(&v->adv, i);
    for (int s = 0; s < ns; s++) {
        int t = rollview_step_start(v, i, s), mn = s == v->min_step[i];
        fprintf(f, "  %sstep %-3d prm %+.4f%s", mn ? C("\033[1;33m") : "", s + 1, r[s], mn ? RESET : "");
        if (t >= 0 && t < len) fprintf(f, "  return %+.4f  advantage %+.4f", ret[t], adv[t]);
        if (mn) fprintf(f, "  %s<- min%s", C("\033[1;33m"), RESET);
        fputc('\n', f);
        size_t tl;
        const char *txt = rollview_step_text(v, i, s, &tl);
        if (txt) {
            fprintf(f, "%s    | ", C("\033[2m"));
            text_put_terminal(f, txt, tl, "    | ");
            fprintf(f, "%s\n", RESET);
        }
    }
    if (ns == 0) fputs("  (no steps)\n", f);
    if (ro->step_bytes.n != ro->n) {
        fprintf(f, "%s    | ", C("\033[2m"));
        text_put_terminal(f, ro->text[i], strlen(ro->text[i]), "    | ");
        fprintf(f, "%s\n", RESET);
    }
    fputc('\n', f);
}

/* Names from done records and attributes are stored text too: escaped like the rest. */
static void put(FILE *f, const char *s) { text_put_terminal(f, s ? s : "?", s ? strlen(s) : 1, NULL); }

void rollview_print(FILE *f, const RollView *v, const int *idx, int n, int matched, int color) {
    fprintf(f, "%siteration %d%s  credit '", C("\033[1m"), v->iteration, RESET);
    put(f, v->credit_stage);
    fputs("' (rule ", f);
    put(f, v->rule);
    fputs(")  process rewards from '", f);
    put(f, v->prm_stage);
    fputs("' (mode ", f);
    put(f, v->prm_mode);
    fputs(")  verifiable: ", f);
    put(f, v->verify_stage ? v->verify_stage : "none");
    fprintf(f, "\n%lld responses from '", (long long)v->ro.n);
    put(f, v->rollout_stage);
    fprintf(f, "', %d match, %d shown%s\n\n", matched, n, matched > n ? " (--limit)" : "");
    for (int k = 0; k < n; k++) print_one(f, v, idx[k], color);
}
