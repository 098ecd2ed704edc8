/* cmd_credit.c - `pure credit`: try a credit rule on a JSON batch.
 *
 *   pure credit [--rule RULE|FILE.lua] [--temperature T] [--gamma G]
 *               [--baseline BASELINE] [--max-length N] [--whiten]
 *               [--prm-coef C] [--vr-coef C] [--kl-coef B]
 *               [--lua-max-instructions N] [--lua-max-memory-mb M] < batch.json > result.json
 *
 * RULE and BASELINE are the names of the rows of credit_rules and
 * credit_baselines (stages/credit/credit.h): the usage text and the error
 * messages list them from the tables. FILE.lua selects the rule that runs a
 * script (rule lua), with that file as the script.
 *
 * in:  {"responses": [{"group": 0, "length": 12, "eos": true, "step_ends": [3, 7, 11],
 *                      "step_rewards": [0.9, -0.2, 0.5], "verifiable": 1.0, "kl": [one per token]}]}
 * out: {"responses": [{"returns": [...], "advantages": [...]}], "metrics": {...}}
 *
 * The computation is credit_compute(), the same code as the credit stage.
 * Exit codes: 0 ok, 1 the Lua rule failed (load or run), 2 bad flags or bad input.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stages/credit/credit.h"
#include "cli/commands.h"
#include "util/fs.h"
#include "util/json.h"

#define INPUT_NAME "stdin"

#define SCRIPT_ARG "FILE.lua"

/* ---- the rule and baseline lists, from the tables ---- */

static int runs_script(const void *row) { return (((const CreditRule *)row)->needs & CREDIT_NEEDS_SCRIPT) != 0; }

/* "min|min-exact|sum|FILE.lua": the rules --rule takes by name, then FILE.lua. */
static const char *rule_choices(char *buf, size_t cap) {
    credit_table_names(credit_rules, sizeof *credit_rules, "|", runs_script, buf, cap);
    size_t len = strlen(buf);
    if (credit_script_rule()) snprintf(buf + len, cap - len, "%s" SCRIPT_ARG, len ? "|" : "");
    return buf;
}

static const char *baseline_choices(char *buf, size_t cap) {
    return credit_table_names(credit_baselines, sizeof *credit_baselines, "|", NULL, buf, cap);
}

/* The synopsis; with full (--help), each rule and baseline with its doc. */
static void print_usage(FILE *f, int full) {
    char rules[512], baselines[512];
    fprintf(f,
            "usage: pure credit [--rule %s] [--temperature T] [--gamma G]\n"
            "                   [--baseline %s] [--max-length N] [--whiten]\n"
            "                   [--prm-coef C] [--vr-coef C] [--kl-coef B]\n"
            "                   [--lua-max-instructions N] [--lua-max-memory-mb M] < batch.json > result.json\n"
            "Reads {\"responses\": [{\"group\", \"length\", \"eos\", \"step_ends\", \"step_rewards\", \"verifiable\", "
            "\"kl\"}]}\n"
            "and prints per-token returns and advantages plus metrics as JSON (docs/lua-api.md).\n",
            rule_choices(rules, sizeof rules), baseline_choices(baselines, sizeof baselines));
    if (!full) return;
    int w = (int)strlen(SCRIPT_ARG);
    for (const CreditRule *r = credit_rules; r->name; r++) w = (int)strlen(r->name) > w ? (int)strlen(r->name) : w;
    for (const CreditBaseline *b = credit_baselines; b->name; b++)
        w = (int)strlen(b->name) > w ? (int)strlen(b->name) : w;
    fputs("\nrules (--rule):\n", f);
    for (const CreditRule *r = credit_rules; r->name; r++)
        fprintf(f, "  %-*s  %s\n", w, runs_script(r) ? SCRIPT_ARG : r->name, r->doc);
    fputs("baselines (--baseline):\n", f);
    for (const CreditBaseline *b = credit_baselines; b->name; b++) fprintf(f, "  %-*s  %s\n", w, b->name, b->doc);
}

/* ---- the batch read from JSON, owning its arrays ---- */

typedef struct JsonBatch {
    CreditBatch b;
    int64_t *group, *step_off;
    int32_t *length, *step_ends;
    uint8_t *truncated, *has_verifiable;
    float *step_rewards, *verifiable, *kl;
} JsonBatch;

static void json_batch_free(JsonBatch *jb) {
    free(jb->group);
    free(jb->step_off);
    free(jb->length);
    free(jb->step_ends);
    free(jb->truncated);
    free(jb->has_verifiable);
    free(jb->step_rewards);
    free(jb->verifiable);
    free(jb->kl);
}

static int get_int(const cJSON *r, int64_t i, const char *key, int required, int64_t def, int64_t lo, int64_t *out,
                   PureErr *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, key);
    if (!v || cJSON_IsNull(v)) {
        if (required) return err_set(err, INPUT_NAME ": response %lld: missing field '%s'", (long long)i, key);
        *out = def;
        return 0;
    }
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!(d == floor(d) && d >= (double)lo && d < 2147483648.0))
        return err_set(err, INPUT_NAME ": response %lld: field '%s' must be an integer >= %lld", (long long)i, key,
                       (long long)lo);
    *out = (int64_t)d;
    return 0;
}

/* An optional array of numbers; returns its size (-1 when absent). */
static int64_t get_array(const cJSON *r, int64_t i, const char *key, PureErr *err, const cJSON **arr) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, key);
    *arr = NULL;
    if (!v || cJSON_IsNull(v)) return -1;
    if (!cJSON_IsArray(v))
        return err_set(err, INPUT_NAME ": response %lld: field '%s' must be an array", (long long)i, key), -2;
    int64_t k = 0;
    for (const cJSON *e = v->child; e; e = e->next, k++)
        if (!cJSON_IsNumber(e))
            return err_set(err, INPUT_NAME ": response %lld: %s[%lld] must be a number", (long long)i, key,
                           (long long)k), -2;
    *arr = v;
    return k;
}

/* First pass: sizes; second pass (fill = 1): copies. Keeps the checks in one place. */
static int read_responses(const cJSON *list, JsonBatch *jb, int fill, int64_t *n_steps, int64_t *n_tok,
                          int *any_kl, PureErr *err) {
    int64_t i = 0, s = 0, t = 0;
    for (const cJSON *r = list->child; r; r = r->next, i++) {
        if (!cJSON_IsObject(r)) return err_set(err, INPUT_NAME ": response %lld must be an object", (long long)i);
        int64_t group, length;
        if (get_int(r, i, "group", 1, 0, INT32_MIN, &group, err) < 0) return -1;
        if (get_int(r, i, "length", 1, 0, 0, &length, err) < 0) return -1;
        const cJSON *eos = cJSON_GetObjectItemCaseSensitive(r, "eos");
        if (eos && !cJSON_IsBool(eos))
            return err_set(err, INPUT_NAME ": response %lld: field 'eos' must be true or false", (long long)i);
        const cJSON *ends, *rewards, *kl;
        int64_t ne = get_array(r, i, "step_ends", err, &ends), nr = get_array(r, i, "step_rewards", err, &rewards);
        int64_t nk = get_array(r, i, "kl", err, &kl);
        if (ne == -2 || nr == -2 || nk == -2) return -1;
        if (ne < 0) ne = 0;
        if (nr < 0) nr = 0;
        if (nr != ne)
            return err_set(err, INPUT_NAME ": response %lld: %lld step_rewards for %lld step_ends (one reward per step)",
                           (long long)i, (long long)nr, (long long)ne);
        if (nk >= 0 && nk != length)
            return err_set(err, INPUT_NAME ": response %lld: kl has %lld values, expected one per token (length %lld)",
                           (long long)i, (long long)nk, (long long)length);
        if (nk >= 0) *any_kl = 1;
        if (fill) {
            jb->group[i] = group;
            jb->length[i] = (int32_t)length;
            jb->truncated[i] = eos && cJSON_IsFalse(eos);
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, "verifiable");
            if (v && !cJSON_IsNull(v) && !cJSON_IsNumber(v))
                return err_set(err, INPUT_NAME ": response %lld: field 'verifiable' must be a number or null",
                               (long long)i);
            jb->has_verifiable[i] = v && cJSON_IsNumber(v);
            jb->verifiable[i] = jb->has_verifiable[i] ? (float)v->valuedouble : 0.0f;
            int64_t k = 0;
            for (const cJSON *e = ends ? ends->child : NULL; e; e = e->next, k++) {
                double d = e->valuedouble;
                if (d != floor(d) || fabs(d) > 2147483647.0)
                    return err_set(err, INPUT_NAME ": response %lld: step_ends[%lld] must be an integer", (long long)i,
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

static int json_batch_read(const char *text, size_t len, JsonBatch *jb, PureErr *err) {
    memset(jb, 0, sizeof *jb);
    cJSON *root = json_parse(text, len, INPUT_NAME, err);
    if (!root) return -1;
    int rc = -1;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "responses");
    if (!cJSON_IsObject(root) || !cJSON_IsArray(list)) {
        err_set(err, INPUT_NAME ": expected an object with a \"responses\" array");
        goto done;
    }
    int64_t n = cJSON_GetArraySize(list), ns, nt;
    int any_kl = 0;
    if (read_responses(list, jb, 0, &ns, &nt, &any_kl, err) < 0) goto done;
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
    if (read_responses(list, jb, 1, &ns, &nt, &any_kl, err) < 0) goto done;
    jb->b = (CreditBatch){.n = n, .group = jb->group, .length = jb->length, .truncated = jb->truncated,
                          .step_off = jb->step_off, .step_ends = jb->step_ends, .step_rewards = jb->step_rewards,
                          .verifiable = jb->verifiable, .has_verifiable = jb->has_verifiable, .kl = jb->kl};
    rc = 0;
done:
    cJSON_Delete(root);
    return rc;
}

/* ---- output ---- */

static void print_floats(FILE *f, const float *v, int64_t n) {
    fputc('[', f);
    for (int64_t t = 0; t < n; t++) fprintf(f, t ? ", %.9g" : "%.9g", v[t]);
    fputc(']', f);
}

static void print_result(FILE *f, const CreditResult *res) {
    fputs("{\"responses\": [", f);
    for (int64_t i = 0; i < res->n; i++) {
        int64_t o = res->tok_off[i], L = res->tok_off[i + 1] - o;
        fputs(i ? ",\n  {\"returns\": " : "\n  {\"returns\": ", f);
        print_floats(f, res->returns + o, L);
        fputs(", \"advantages\": ", f);
        print_floats(f, res->advantages + o, L);
        fputc('}', f);
    }
    fputs("],\n \"metrics\": {", f);
    for (int k = 0; k < res->n_metrics; k++)
        fprintf(f, "%s\"%s\": %.9g", k ? ", " : "", res->metrics[k].name, res->metrics[k].value);
    fputs("}}\n", f);
}

/* ---- flags ---- */

static int parse_num(const char *flag, const char *s, double lo, double hi, double *out, PureErr *err) {
    char *end;
    errno = 0;
    double v = s ? strtod(s, &end) : 0;
    if (!s || end == s || *end || errno || !(v >= lo && v <= hi))
        return err_set(err, "%s expects a number in [%g, %g], got '%s'", flag, lo, hi, s ? s : "(nothing)");
    *out = v;
    return 0;
}

static int has_suffix(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

typedef struct CliOpts {
    CreditConfig cfg;
    const char *script;
    SandboxLimits limits;
} CliOpts;

static int parse_flags(int argc, char **argv, CliOpts *o, PureErr *err) {
    credit_config_init(&o->cfg);
    for (int a = 1; a < argc; a++) {
        const char *f = argv[a], *v = a + 1 < argc ? argv[a + 1] : NULL;
        double x;
        int used = 1;
        if (!strcmp(f, "--whiten")) {
            o->cfg.whiten = 1;
            used = 0;
        } else if (!strcmp(f, "--rule")) {
            char choices[512];
            const CreditRule *rule;
            if (!v) return err_set(err, "--rule expects %s", rule_choices(choices, sizeof choices));
            if (has_suffix(v, ".lua") && credit_script_rule()) {
                if (!fs_exists(v)) return err_set(err, "--rule: no such Lua file '%s'", v);
                o->cfg.rule = credit_script_rule();
                o->script = v;
            } else if (!(rule = credit_rule_find(v, NULL)) || runs_script(rule)) {
                return err_set(err, "--rule expects %s, got '%s'", rule_choices(choices, sizeof choices), v);
            } else {
                o->cfg.rule = rule;
            }
        } else if (!strcmp(f, "--baseline")) {
            char choices[512];
            const CreditBaseline *bl = v ? credit_baseline_find(v, NULL) : NULL;
            if (!bl)
                return err_set(err, "--baseline expects %s, got '%s'", baseline_choices(choices, sizeof choices),
                               v ? v : "(nothing)");
            o->cfg.baseline = bl;
        } else if (!strcmp(f, "--temperature")) {
            if (parse_num(f, v, 1e-9, 1e9, &o->cfg.temperature, err) < 0) return -1;
        } else if (!strcmp(f, "--gamma")) {
            if (parse_num(f, v, 0, 1, &o->cfg.gamma, err) < 0) return -1;
        } else if (!strcmp(f, "--max-length")) {
            if (parse_num(f, v, 0, 2147483647.0, &x, err) < 0 || x != floor(x))
                return err_set(err, "--max-length expects a whole number >= 0, got '%s'", v ? v : "(nothing)");
            o->cfg.max_length = (int64_t)x;
        } else if (!strcmp(f, "--prm-coef")) {
            if (parse_num(f, v, -1e9, 1e9, &o->cfg.prm_coef, err) < 0) return -1;
        } else if (!strcmp(f, "--vr-coef")) {
            if (parse_num(f, v, -1e9, 1e9, &o->cfg.vr_coef, err) < 0) return -1;
        } else if (!strcmp(f, "--kl-coef")) {
            if (parse_num(f, v, -1e9, 1e9, &o->cfg.kl_coef, err) < 0) return -1;
        } else if (!strcmp(f, "--lua-max-instructions")) {
            if (parse_num(f, v, 1, 1e15, &x, err) < 0) return -1;
            o->limits.max_instructions = (int64_t)x;
        } else if (!strcmp(f, "--lua-max-memory-mb")) {
            if (parse_num(f, v, 1, 1 << 20, &x, err) < 0) return -1;
            o->limits.max_memory = (size_t)(x * (1 << 20));
        } else {
            return err_set(err, "unknown flag '%s'", f);
        }
        a += used;
    }
    return 0;
}

int cmd_credit(int argc, char **argv) {
    for (int a = 1; a < argc; a++)
        if (!strcmp(argv[a], "--help") || !strcmp(argv[a], "-h")) {
            print_usage(stdout, 1);
            return PURE_EXIT_OK;
        }
    PureErr err;
    err_clear(&err);
    CliOpts o = {0};
    if (parse_flags(argc, argv, &o, &err) < 0) {
        fprintf(stderr, "pure credit: %s\n", err.msg);
        print_usage(stderr, 0);
        return PURE_EXIT_USAGE;
    }
    /* read stdin whole */
    size_t cap = 1 << 16, len = 0;
    char *text = xmalloc(cap);
    for (size_t got; (got = fread(text + len, 1, cap - len - 1, stdin)) > 0;) {
        len += got;
        if (cap - len < 2) text = xrealloc(text, cap *= 2);
    }
    text[len] = '\0';
    JsonBatch jb;
    int rc = json_batch_read(text, len, &jb, &err);
    free(text);
    if (rc < 0) {
        json_batch_free(&jb);
        fprintf(stderr, "pure credit: %s\n", err.msg);
        return PURE_EXIT_USAGE;
    }
    int code = PURE_EXIT_OK;
    CreditResult res;
    if (o.script && !(o.cfg.lua = sandbox_open(o.script, &o.limits, &err))) {
        code = PURE_EXIT_FAIL;
    } else if (credit_validate(&jb.b, &o.cfg, &err) < 0) {
        code = PURE_EXIT_USAGE;
    } else if (credit_compute(&jb.b, &o.cfg, &res, &err) < 0) {
        code = PURE_EXIT_FAIL;  /* the input was valid: the Lua rule failed */
    } else {
        print_result(stdout, &res);
        credit_result_free(&res);
    }
    if (code != PURE_EXIT_OK) fprintf(stderr, "pure credit: %s\n", err.msg);
    sandbox_close(o.cfg.lua);
    json_batch_free(&jb);
    return code;
}
