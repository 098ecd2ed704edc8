/* cmd_spec.c - `pure validate` (schema check, no compute) and `pure dag` (the stage graph as text). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "runner/sweep.h"
#include "util/hash.h"

static const char *validate_help =
    "usage: pure validate PIPELINE.yaml [--set key.path=value]...\n"
    "\n"
    "Checks the spec (YAML syntax, keys, kinds, parameter types and ranges, inputs,\n"
    "references, cycles, files) without running anything. Errors name file:line:column.\n"
    "Exit codes: 0 valid, 2 invalid.\n";

int cmd_validate(int argc, char **argv) {
    CliOpts o;
    int rc = cli_parse(argc, argv, "set", 1, validate_help, &o);
    if (rc) return rc > 0 ? PURE_EXIT_OK : PURE_EXIT_USAGE;
    PureErr err;
    err_clear(&err);
    Sweep *sw;
    if (cli_sweep(&o, &sw)) return PURE_EXIT_USAGE;
    if (sw) { /* every run of the sweep is a spec of its own */
        FpSet all = {0};
        /* per run, the digest of its fingerprints: two runs with one digest plan the same stage runs */
        char (*digest)[65] = xcalloc((size_t)sw->n + 1, sizeof *digest);
        for (int k = 0; k < sw->n; k++) {
            Spec *s = sweep_spec(sw, k, o.sets, o.nsets, cli_config()->kinds, &err);
            Plan *p = s ? plan_build(s, &err) : NULL;
            if (!p) {
                fprintf(stderr, "pure: %s\n", err.msg);
                spec_free(s);
                fpset_free(&all);
                free(digest);
                sweep_free(sw);
                return PURE_EXIT_USAGE;
            }
            FpSet one = {0};
            fpset_add_plan(&one, p);
            sha256_hex(one.fp, sizeof *one.fp * (size_t)one.n, digest[k]);
            fpset_free(&one);
            fpset_add_plan(&all, p);
            plan_free(p);
            spec_free(s);
        }
        int total = all.n, distinct = fpset_distinct(&all);
        printf("%s: valid sweep of %d runs (%d variants x %d seeds): %d stage runs, %d distinct (the rest shared)\n",
               o.spec, sw->n, sw->nvariants, sw->nseeds, total, distinct);
        for (int k = 0; k < sw->n; k++)
            for (int j = 0; j < k; j++)
                if (!strcmp(digest[j], digest[k])) {
                    printf("warning: runs '%s' and '%s' plan the same stage runs (does the sweep key change "
                           "anything?)\n", sw->runs[j].label, sw->runs[k].label);
                    break;
                }
        free(digest);
        fpset_free(&all);
        sweep_free(sw);
        return PURE_EXIT_OK;
    }
    Spec *spec;
    Plan *plan = cli_load(&o, &spec);
    if (!plan) return PURE_EXIT_USAGE;
    printf("%s: valid (%d stages, %d stage runs)\n", o.spec, spec->nstages, plan->n);
    cli_unload(plan, spec);
    return PURE_EXIT_OK;
}

static const char *dag_help =
    "usage: pure dag PIPELINE.yaml [--set key.path=value]... [--dot]\n"
    "\n"
    "Prints the stage graph: each stage with its kind and where each input comes from,\n"
    "in execution order, section by section (before the loop, the loop, after).\n"
    "--dot prints it in Graphviz form instead (pure dag p.yaml --dot | dot -Tsvg > p.svg);\n"
    "dashed edges carry the loop state into the next iteration.\n";

/* Graphviz: one node per stage, loop stages in a cluster, state edges dashed. */
static void print_dot(const Spec *s) {
    printf("digraph pipeline {\n  rankdir=LR;\n  node [shape=box, fontname=monospace];\n");
    for (int k = 0; k < s->nstages; k++) {
        const SpecStage *st = &s->stages[s->order[k]];
        if (st->sec == SEC_LOOP && (k == 0 || s->stages[s->order[k - 1]].sec != SEC_LOOP))
            printf("  subgraph cluster_loop {\n    label=\"loop x%d\";\n", s->iterations);
        char every[32] = "";
        if (st->every > 1) snprintf(every, sizeof every, "\\nevery %d", st->every);
        printf("  %s\"%s\" [label=\"%s\\n[%s]%s\"];\n", st->sec == SEC_LOOP ? "  " : "", st->name, st->name,
               st->kind->kind, every);
        if (st->sec == SEC_LOOP && (k + 1 == s->nstages || s->stages[s->order[k + 1]].sec != SEC_LOOP)) printf("  }\n");
    }
    for (int i = 0; i < s->nstages; i++) {
        const SpecStage *st = &s->stages[i];
        for (int k = 0; k < st->ninputs; k++) {
            const SpecRef *r = &st->inputs[k];
            const char *port = st->kind->inputs[k].name;
            if (r->kind == REF_STAGE)
                printf("  \"%s\" -> \"%s\" [label=\"%s\"];\n", s->stages[r->stage].name, st->name, port);
            else if (r->kind == REF_STATE || r->kind == REF_LOOP) {
                const SpecState *sv = &s->states[r->state];
                printf("  \"%s\" -> \"%s\" [label=\"%s.%s\", style=dashed];\n", s->stages[sv->update.stage].name,
                       st->name, r->kind == REF_STATE ? "state" : "loop", sv->name);
                if (r->kind == REF_STATE && sv->init.kind == REF_STAGE)
                    printf("  \"%s\" -> \"%s\" [label=\"%s (iteration 0)\", style=dotted];\n",
                           s->stages[sv->init.stage].name, st->name, sv->name);
            }
        }
    }
    printf("}\n");
}

static void print_stage(const Spec *s, int si) {
    const SpecStage *st = &s->stages[si];
    char buf[256];
    printf("  %-16s [%s]", st->name, st->kind->kind);
    if (st->every > 1) printf(" every %d", st->every);
    if (st->keep_last > 0) printf(" keep_last %d", st->keep_last);
    int first = 1;
    for (int k = 0; k < st->ninputs; k++) {
        if (st->inputs[k].kind == REF_NONE) continue;
        printf("%s%s <- %s", first ? "\n      " : ", ", st->kind->inputs[k].name,
               spec_ref_str(s, &st->inputs[k], buf, sizeof buf));
        first = 0;
    }
    printf("\n");
}

int cmd_dag(int argc, char **argv) {
    CliOpts o;
    int rc = cli_parse(argc, argv, "set dot", 1, dag_help, &o);
    if (rc) return rc > 0 ? PURE_EXIT_OK : PURE_EXIT_USAGE;
    Spec *s;
    Plan *plan = cli_load(&o, &s);
    if (!plan) return PURE_EXIT_USAGE;
    if (o.dot) {
        print_dot(s);
        cli_unload(plan, s);
        return PURE_EXIT_OK;
    }
    static const char *titles[] = {"before the loop", "loop", "after the loop"};
    for (int sec = SEC_PRE; sec <= SEC_AFTER; sec++) {
        int any = 0;
        for (int k = 0; k < s->nstages; k++) any |= (int)s->stages[s->order[k]].sec == sec;
        if (!any && !(sec == SEC_LOOP && s->has_loop)) continue;
        if (sec == SEC_LOOP) printf("loop (%d iterations):\n", s->iterations);
        else printf("%s:\n", titles[sec]);
        if (sec == SEC_LOOP) {
            char a[256], b[256];
            for (int i = 0; i < s->nstates; i++)
                printf("  state %-10s = %s, then %s\n", s->states[i].name, spec_ref_str(s, &s->states[i].init, a, sizeof a),
                       spec_ref_str(s, &s->states[i].update, b, sizeof b));
        }
        for (int k = 0; k < s->nstages; k++)
            if ((int)s->stages[s->order[k]].sec == sec) print_stage(s, s->order[k]);
    }
    printf("%d stage runs, seed %llu\n", plan->n, (unsigned long long)s->seed);
    cli_unload(plan, s);
    return PURE_EXIT_OK;
}
