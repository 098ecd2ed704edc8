/* credit_json.c - the JSON batch `pure credit` reads (cli/cmd_credit.c), as a
 * CreditBatch: field checks that name the response, and a cap on the batch's
 * tokens. A JSON `length` costs a few bytes of input but credit_compute()
 * allocates about 40 bytes per token, so the total is bounded here, before
 * anything is allocated from it (the kl arrays, the only per-token input, are
 * paid for by their own bytes). The fuzzer tests/fuzz/fuzz_credit.c drives
 * this reader and credit_compute() together. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "credit.h"
#include "util/json.h"

void credit_json_free(CreditJson *jb) {
    free(jb->group);
    free(jb->step_off);
    free(jb->length);
    free(jb->step_ends);
    free(jb->truncated);
    free(jb->has_verifiable);
    free(jb->step_rewards);
    free(jb->verifiable);
    free(jb->kl);
    memset(jb, 0, sizeof *jb);
}

static int get_int(const char *name, const cJSON *r, int64_t i, const char *key, int required, int64_t def,
                   int64_t lo, int64_t *out, PureErr *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, key);
    if (!v || cJSON_IsNull(v)) {
        if (required) return err_set(err, "%s: response %lld: missing field '%s'", name, (long long)i, key);
        *out = def;
        return 0;
    }
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!(d == floor(d) && d >= (double)lo && d < 2147483648.0))
        return err_set(err, "%s: response %lld: field '%s' must be an integer >= %lld", name, (long long)i, key,
                       (long long)lo);
    *out = (int64_t)d;
    return 0;
}

/* An optional array of numbers; returns its size (-1 when absent, -2 on error). */
static int64_t get_array(const char *name, const cJSON *r, int64_t i, const char *key, PureErr *err,
                         const cJSON **arr) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, key);
    *arr = NULL;
    if (!v || cJSON_IsNull(v)) return -1;
    if (!cJSON_IsArray(v))
        return err_set(err, "%s: response %lld: field '%s' must be an array", name, (long long)i, key), -2;
    int64_t k = 0;
    for (const cJSON *e = v->child; e; e = e->next, k++)
        if (!cJSON_IsNumber(e))
            return err_set(err, "%s: response %lld: %s[%lld] must be a number", name, (long long)i, key,
                           (long long)k), -2;
    *arr = v;
    return k;
}

/* First pass: sizes; second pass (fill = 1): copies. Keeps the checks in one place. */
static int read_responses(const char *name, const cJSON *list, CreditJson *jb, int fill, int64_t max_tokens,
                          int64_t *n_steps, int64_t *n_tok, int *any_kl, PureErr *err) {
    int64_t i = 0, s = 0, t = 0;
    for (const cJSON *r = list->child; r; r = r->next, i++) {
        if (!cJSON_IsObject(r)) return err_set(err, "%s: response %lld must be an object", name, (long long)i);
        int64_t group, length;
        if (get_int(name, r, i, "group", 1, 0, INT32_MIN, &group, err) < 0) return -1;
        if (get_int(name, r, i, "length", 1, 0, 0, &length, err) < 0) return -1;
        if (t + length > max_tokens)
            return err_set(err, "%s: response %lld: length %lld brings the batch to %lld tokens, over the limit of "
                                "%lld tokens per batch (pure credit --max-tokens raises it)", name, (long long)i,
                           (long long)length, (long long)(t + length), (long long)max_tokens);
        const cJSON *eos = cJSON_GetObjectItemCaseSensitive(r, "eos");
        if (eos && !cJSON_IsBool(eos))
            return err_set(err, "%s: response %lld: field 'eos' must be true or false", name, (long long)i);
        const cJSON *ends, *rewards, *kl;
        int64_t ne = get_array(name, r, i, "step_ends", err, &ends);
        int64_t nr = ne == -2 ? -2 : get_array(name, r, i, "step_rewards", err, &rewards);
        int64_t nk = nr == -2 ? -2 : get_array(name, r, i, "kl", err, &kl);
        if (ne == -2 || nr == -2 || nk == -2) return -1;
        if (ne < 0) ne = 0;
        if (nr < 0) nr = 0;
        if (nr != ne)
            return err_set(err, "%s: response %lld: %lld step_rewards for %lld step_ends (one reward per step)", name,
                           (long long)i, (long long)nr, (long long)ne);
        if (nk >= 0 && nk != length)
            return err_set(err, "%s: response %lld: kl has %lld values, expected one per token (length %lld)", name,
                           (long long)i, (long long)nk, (long long)length);
        if (nk >= 0) *any_kl = 1;
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, "verifiable");
        if (v && !cJSON_IsNull(v) && !cJSON_IsNumber(v))
            return err_set(err, "%s: response %lld: field 'verifiable' must be a number or null", name, (long long)i);
        if (fill) {
            jb->group[i] = group;
            jb->length[i] = (int32_t)length;
            jb->truncated[i] = eos && cJSON_IsFalse(eos);
            jb->has_verifiable[i] = v && cJSON_IsNumber(v);
            jb->verifiable[i] = jb->has_verifiable[i] ? (float)v->valuedouble : 0.0f;
            int64_t k = 0;
            for (const cJSON *e = ends ? ends->child : NULL; e; e = e->next, k++) {
                double d = e->valuedouble;
                if (d != floor(d) || fabs(d) > 2147483647.0)
                    return err_set(err, "%s: response %lld: step_ends[%lld] must be an integer", name, (long long)i,
                                   (long long)k);
                jb->step_ends[s + k] = (int32_t)d;
            }
            k = 0;
            for (const cJSON *e = rewards ? rewards->child : NULL; e; e = e->next, k++)
                jb->step_rewards[s + k] = (float)e->valuedouble;
            k = 0;
            for (const cJSON *e = kl ? kl->child : NULL; e; e = e->next, k++) jb->kl[t + k] = (float)e->valuedouble;
            jb->step_off[i + 1] = s + ne;
        }
        s += ne;
        t += length;
    }
    *n_steps = s;
    *n_tok = t;
    return 0;
}

int credit_json_read(const char *text, size_t len, const char *name, int64_t max_tokens, CreditJson *jb,
                     PureErr *err) {
    memset(jb, 0, sizeof *jb);
    if (max_tokens <= 0) max_tokens = CREDIT_JSON_MAX_TOKENS;
    cJSON *root = json_parse(text, len, name, err);
    if (!root) return -1;
    int rc = -1;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "responses");
    if (!cJSON_IsObject(root) || !cJSON_IsArray(list)) {
        err_set(err, "%s: expected an object with a \"responses\" array", name);
        goto done;
    }
    int64_t n = cJSON_GetArraySize(list), ns, nt;
    int any_kl = 0;
    if (read_responses(name, list, jb, 0, max_tokens, &ns, &nt, &any_kl, err) < 0) goto done;
    size_t n1 = (size_t)n + 1;
    jb->group = xcalloc(n1, sizeof *jb->group);
    jb->length = xcalloc(n1, sizeof *jb->length);
    jb->truncated = xcalloc(n1, 1);
    jb->has_verifiable = xcalloc(n1, 1);
    jb->verifiable = xcalloc(n1, sizeof *jb->verifiable);
    jb->step_off = xcalloc(n1, sizeof *jb->step_off);
    jb->step_ends = xcalloc((size_t)ns + 1, sizeof *jb->step_ends);
    jb->step_rewards = xcalloc((size_t)ns + 1, sizeof *jb->step_rewards);
    if (any_kl) jb->kl = xcalloc((size_t)nt + 1, sizeof *jb->kl);  /* responses without kl get zeros */
    if (read_responses(name, list, jb, 1, max_tokens, &ns, &nt, &any_kl, err) < 0) goto done;
    jb->b = (CreditBatch){.n = n, .group = jb->group, .length = jb->length, .truncated = jb->truncated,
                          .step_off = jb->step_off, .step_ends = jb->step_ends, .step_rewards = jb->step_rewards,
                          .verifiable = jb->verifiable, .has_verifiable = jb->has_verifiable, .kl = jb->kl};
    rc = 0;
done:
    cJSON_Delete(root);
    if (rc < 0) credit_json_free(jb);
    return rc;
}
