/* cmd_credit.c - `pure credit`: try a credit rule on a JSON batch.
 *
 *   pure credit [--rule RULE|FILE.lua] [--temperature T] [--gamma G]
 *               [--baseline BASELINE] [--max-length N] [--whiten]
 *               [--prm-coef C] [--vr-coef C] [--kl-coef B] [--max-tokens N]
 *               [--lua-max-instructions N] [--lua-max-memory-mb M] [--lua-max-seconds S]
 *               < batch.json > result.json
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
 * The batch is read by credit_json_read() (stages/credit/credit_json.c: strict
 * JSON, at most --max-tokens tokens in all) and computed by credit_compute(),
 * the same code as the credit stage.
 * Exit codes: 0 ok, 1 the Lua rule failed (load or run, or its values
 * overflowed), 2 bad flags or bad input (a built-in rule's returns that
 * overflow float32 included).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stages/credit/credit.h"
#include "cli/commands.h"
#include "util/fs.h"

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
            "                   [--prm-coef C] [--vr-coef C] [--kl-coef B] [--max-tokens N]\n"
            "                   [--lua-max-instructions N] [--lua-max-memory-mb M] [--lua-max-seconds S]\n"
            "                   < batch.json > result.json\n"
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
    int64_t max_tokens;
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
        } else if (!strcmp(f, "--lua-max-seconds")) {
            if (parse_num(f, v, 1e-3, 1e6, &o->limits.max_seconds, err) < 0) return -1;
        } else if (!strcmp(f, "--max-tokens")) {
            if (parse_num(f, v, 1, 1e12, &x, err) < 0 || x != floor(x))
                return err_set(err, "--max-tokens expects a whole number >= 1, got '%s'", v ? v : "(nothing)");
            o->max_tokens = (int64_t)x;
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
    CreditJson jb;
    int rc = credit_json_read(text, len, INPUT_NAME, o.max_tokens, &jb, &err);
    free(text);
    if (rc < 0) {
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
        /* the input was valid: the Lua rule failed, or the returns overflow float32 (bad input for a built-in) */
        code = o.script ? PURE_EXIT_FAIL : PURE_EXIT_USAGE;
    } else {
        print_result(stdout, &res);
        credit_result_free(&res);
    }
    if (code != PURE_EXIT_OK) fprintf(stderr, "pure credit: %s\n", err.msg);
    sandbox_close(o.cfg.lua);
    credit_json_free(&jb);
    return code;
}
