/* test_credit_fingerprint.c - editing a Lua rule's bytes changes the credit
 * stage's fingerprint and those of everything after it, and nothing before it
 * (issue 3): plans a small pipeline with the real runner (nothing runs), edits
 * the script, plans again and compares. Also: `script` resolves against the
 * spec's folder, and the credit stage's check() rejects a script with a syntax
 * error when the spec is validated. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/commands.h"
#include "runner/plan.h"
#include "runner/spec.h"
#include "tests/check.h"
#include "util/fs.h"

static char dir[256], spec_path[512], rule_path[512];

/* Test kinds: a source of rollouts and a consumer of advantages (never run),
 * so the test depends on the runner and the credit kind only. */
extern const StageKind stage_kind_credit;
static int never_run(StageCtx *ctx, PureErr *err) { (void)ctx; return err_set(err, "not run in this test"); }
static const PortDef no_ports[] = {{0}};
static const ParamDef no_params[] = {{0}};
static const PortDef source_out[] = {{"rollouts", ART_H5, 0, "rollouts"}, {0}};
static const PortDef sink_in[] = {{"advantages", ART_H5, 0, "advantages"}, {0}};
static const PortDef sink_out[] = {{"out", ART_H5, 0, "anything"}, {0}};
static const StageKind t_source = {"t_source", 1, "test source", no_ports, source_out, no_params, never_run, 0};
static const StageKind t_sink = {"t_sink", 1, "test sink", sink_in, sink_out, no_params, never_run, 0};
/* The kinds this test's specs may use: the two above and the shipped credit kind. */
static const StageKind *const kinds[] = {&t_source, &t_sink, &stage_kind_credit, NULL};

static const char spec_text[] =
    "seed: 3\n"
    "stages:\n"
    "  source: {kind: t_source}\n"
    "  other: {kind: t_source}\n"
    "  credit: {kind: credit, inputs: {rollouts: source.rollouts}, rule: lua, script: rules/rule.lua}\n"
    "  sink: {kind: t_sink, inputs: {advantages: credit.advantages}}\n"
    "  after: {kind: t_sink, inputs: {advantages: credit.advantages}}\n";

static void write_file(const char *path, const char *text) {
    PureErr err;
    CHECK(fs_write_atomic(path, text, strlen(text), &err) == 0);
}

/* Fingerprints of every instance, by label, into fps (n entries). */
static int plan_fps(char labels[][64], char fps[][65], int cap) {
    PureErr err;
    err_clear(&err);
    Spec *s = spec_load(spec_path, NULL, 0, kinds, &err);
    if (!s) {
        fprintf(stderr, "spec_load: %s\n", err.msg);
        return -1;
    }
    Plan *p = plan_build(s, &err);
    if (!p) {
        fprintf(stderr, "plan_build: %s\n", err.msg);
        spec_free(s);
        return -1;
    }
    int n = p->n < cap ? p->n : cap;
    for (int i = 0; i < n; i++) {
        plan_label(p, i, labels[i], 64);
        memcpy(fps[i], p->insts[i].fp, 65);
    }
    plan_free(p);
    spec_free(s);
    return n;
}

static int changed(char labels[][64], char a[][65], char b[][65], int n, const char *label) {
    for (int i = 0; i < n; i++)
        if (!strcmp(labels[i], label)) return strcmp(a[i], b[i]) != 0;
    fprintf(stderr, "no instance %s\n", label);
    check_failures++;
    return -1;
}

int main(void) {
    /* the shipped table holds the same credit kind */
    CHECK(stage_kind_find(registry_kinds, "credit") == &stage_kind_credit);
    snprintf(dir, sizeof dir, "/tmp/test_credit_fp.%d", (int)getpid());
    snprintf(spec_path, sizeof spec_path, "%s/spec.yaml", dir);
    snprintf(rule_path, sizeof rule_path, "%s/rules/rule.lua", dir);
    PureErr err;
    char rules_dir[512];
    snprintf(rules_dir, sizeof rules_dir, "%s/rules", dir);
    fs_mkdir_p(rules_dir, &err);
    write_file(spec_path, spec_text);
    write_file(rule_path, "function credit(rs, p)\n  local o = {}\n  for k, r in ipairs(rs) do o[k] = {steps = {}} end\n"
                          "  return o\nend\n");
    static char labels[64][64], fa[64][65], fb[64][65];
    int n = plan_fps(labels, fa, 64);
    CHECK(n > 0);
    if (n <= 0) return check_report("test_credit_fingerprint");
    /* same bytes, same fingerprints */
    CHECK(plan_fps(labels, fb, 64) == n);
    for (int i = 0; i < n; i++) CHECK_STR(fa[i], fb[i]);
    /* one byte more (a comment) */
    write_file(rule_path, "-- edited\nfunction credit(rs, p)\n  local o = {}\n"
                          "  for k, r in ipairs(rs) do o[k] = {steps = {}} end\n  return o\nend\n");
    CHECK(plan_fps(labels, fb, 64) == n);
    const char *same[] = {"source", "other"};
    const char *diff[] = {"credit", "sink", "after"};
    for (size_t k = 0; k < sizeof same / sizeof same[0]; k++) {
        int c = changed(labels, fa, fb, n, same[k]);
        if (c) fprintf(stderr, "%s changed but does not read the script\n", same[k]);
        CHECK(c == 0);
    }
    for (size_t k = 0; k < sizeof diff / sizeof diff[0]; k++) {
        int c = changed(labels, fa, fb, n, diff[k]);
        if (c != 1) fprintf(stderr, "%s kept its fingerprint after the script changed\n", diff[k]);
        CHECK(c == 1);
    }
    /* validate time: loading the spec runs the credit stage's check(), which loads
     * the script and reports a syntax error with its line */
    write_file(rule_path, "function credit(rs, p)\n  return {\nend\n");
    err_clear(&err);
    Spec *s = spec_load(spec_path, NULL, 0, kinds, &err);
    CHECK(s == NULL);
    if (!strstr(err.msg, "rule.lua:3:")) fprintf(stderr, "  got: %s\n", err.msg);
    CHECK(strstr(err.msg, "rule.lua:3:") != NULL);
    spec_free(s);
    fs_remove_all(dir, &err);
    return check_report("test_credit_fingerprint");
}
