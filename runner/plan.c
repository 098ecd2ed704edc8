/* plan.c - unrolling the spec into instances, resolving references, fingerprints. */
#include "runner/plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/hash.h"
#include "util/rng.h"

int plan_runs_in(const Spec *s, const SpecStage *st, int iter) {
    return (iter + 1) % st->every == 0 || iter == s->iterations - 1;
}

const char *plan_label(const Plan *p, int i, char *buf, size_t cap) {
    const Inst *in = &p->insts[i];
    if (in->iter < 0) snprintf(buf, cap, "%s", p->spec->stages[in->stage].name);
    else snprintf(buf, cap, "%s[%d]", p->spec->stages[in->stage].name, in->iter);
    return buf;
}

/* The instance a stage-reference resolves to, seen from iteration `iter`. */
static int resolve_stage(const Plan *p, int stage, int iter) {
    const Spec *s = p->spec;
    if (s->stages[stage].sec != SEC_LOOP) return p->single[stage];
    int it = iter >= 0 ? iter : s->iterations - 1;
    return it >= 0 ? p->loop_idx[stage][it] : -1;
}

static int resolve(const Plan *p, const SpecRef *r, int iter, int *out) {
    const Spec *s = p->spec;
    switch (r->kind) {
    case REF_STAGE: *out = r->output; return resolve_stage(p, r->stage, iter);
    case REF_STATE:
    case REF_LOOP: {
        const SpecState *st = &s->states[r->state];
        int prev = r->kind == REF_STATE ? iter - 1 : s->iterations - 1;
        /* the latest iteration whose update stage ran (every: K); none yet = the initial value */
        while (prev >= 0 && p->loop_idx[st->update.stage][prev] < 0) prev--;
        if (prev < 0) return st->init.kind == REF_NONE ? -1 : resolve(p, &st->init, -1, out);
        *out = st->update.output;
        return p->loop_idx[st->update.stage][prev];
    }
    default: return -1;
    }
}

static void add_inst(Plan *p, int stage, int iter) {
    const SpecStage *st = &p->spec->stages[stage];
    Inst *in = &p->insts[p->n];
    memset(in, 0, sizeof *in);
    in->stage = stage;
    in->iter = iter;
    char label[160], dir[256];
    snprintf(label, sizeof label, "%s/%d", st->name, iter);
    in->seed = rng_derive(p->spec->seed, label);
    if (iter < 0) snprintf(dir, sizeof dir, "stages/%s", st->name);
    else snprintf(dir, sizeof dir, "stages/%s/%d", st->name, iter);
    in->dir = xstrdup(dir);
    if (iter < 0) p->single[stage] = p->n;
    else p->loop_idx[stage][iter] = p->n;
    p->n++;
}

static int link_inst(Plan *p, int i, PureErr *err) {
    const Spec *s = p->spec;
    Inst *in = &p->insts[i];
    const SpecStage *st = &s->stages[in->stage];
    in->in = xcalloc((size_t)st->ninputs + 1, sizeof *in->in);
    in->in_out = xcalloc((size_t)st->ninputs + 1, sizeof *in->in_out);
    cJSON *id = cJSON_CreateObject();
    cJSON_AddStringToObject(id, "kind", st->kind->kind);
    cJSON_AddNumberToObject(id, "version", st->kind->version);
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)in->seed);
    cJSON_AddStringToObject(id, "seed", seed);
    cJSON *params = cJSON_AddObjectToObject(id, "params");
    /* A parameter at its default stays out of the identity: adding a parameter whose default keeps the old
     * behaviour leaves every result valid. A kind that changes a default or a behaviour bumps its version
     * (docs/contributing.md; tests/runner/param_defaults.sh holds the defaults to that). */
    for (int k = 0; k < st->nparams; k++)
        if (!st->params[k].at_default)
            cJSON_AddStringToObject(params, st->params[k].def->name, st->params[k].canon);
    cJSON *inputs = cJSON_AddObjectToObject(id, "inputs");
    for (int k = 0; k < st->ninputs; k++) {
        in->in[k] = resolve(p, &st->inputs[k], in->iter, &in->in_out[k]);
        const char *port = st->kind->inputs[k].name;
        /* An optional input left unconnected stays out of the identity, as a parameter at its default does:
         * adding an optional input to a kind leaves every result valid. */
        if (in->in[k] < 0 && st->inputs[k].kind == REF_NONE) continue;
        if (in->in[k] < 0) {
            /* only a loop with 0 iterations leaves a connected port without a value */
            if (!st->kind->inputs[k].optional) {
                cJSON_Delete(id);
                return yerr(err, st->inputs[k].mark,
                            "stage '%s': input '%s' reads a loop value, but the loop has 0 iterations", st->name,
                            port);
            }
            cJSON_AddNullToObject(inputs, port);
            continue;
        }
        const Inst *src = &p->insts[in->in[k]];
        char ref[160];
        snprintf(ref, sizeof ref, "%s:%s", src->fp, s->stages[src->stage].kind->outputs[in->in_out[k]].name);
        cJSON_AddStringToObject(inputs, port, ref);
        Inst *srcw = &p->insts[in->in[k]];
        srcw->cons = xrealloc(srcw->cons, (size_t)(srcw->ncons + 1) * sizeof *srcw->cons);
        srcw->cons[srcw->ncons++] = i;
    }
    char *text = cJSON_PrintUnformatted(id);
    Sha256 h;
    uint8_t d[32];
    sha256_init(&h);
    sha256_update(&h, "pure-fingerprint-1\n", 19);
    sha256_update(&h, text, strlen(text));
    sha256_final(&h, d);
    sha256_to_hex(d, in->fp);
    cJSON_free(text);
    in->identity = id;
    return 0;
}

Plan *plan_build(const Spec *s, PureErr *err) {
    Plan *p = xcalloc(1, sizeof *p);
    p->spec = s;
    int total = 0;
    p->single = xcalloc((size_t)s->nstages + 1, sizeof *p->single);
    p->loop_idx = xcalloc((size_t)s->nstages + 1, sizeof *p->loop_idx);
    for (int i = 0; i < s->nstages; i++) {
        p->single[i] = -1;
        if (s->stages[i].sec != SEC_LOOP) {
            total++;
            continue;
        }
        p->loop_idx[i] = xmalloc(sizeof(int) * (size_t)(s->iterations + 1));
        for (int it = 0; it < s->iterations; it++) {
            p->loop_idx[i][it] = -1;
            total += plan_runs_in(s, &s->stages[i], it);
        }
    }
    p->insts = xcalloc((size_t)total + 1, sizeof *p->insts);
    for (int k = 0; k < s->nstages; k++)
        if (s->stages[s->order[k]].sec == SEC_PRE) add_inst(p, s->order[k], -1);
    for (int it = 0; it < s->iterations; it++)
        for (int k = 0; k < s->nstages; k++) {
            const SpecStage *st = &s->stages[s->order[k]];
            if (st->sec == SEC_LOOP && plan_runs_in(s, st, it)) add_inst(p, s->order[k], it);
        }
    for (int k = 0; k < s->nstages; k++)
        if (s->stages[s->order[k]].sec == SEC_AFTER) add_inst(p, s->order[k], -1);
    for (int i = 0; i < p->n; i++)
        if (link_inst(p, i, err)) {
            plan_free(p);
            return NULL;
        }
    return p;
}

void plan_free(Plan *p) {
    if (!p) return;
    for (int i = 0; i < p->n; i++) {
        free(p->insts[i].in);
        free(p->insts[i].in_out);
        free(p->insts[i].cons);
        free(p->insts[i].dir);
        cJSON_Delete(p->insts[i].identity);
    }
    for (int i = 0; i < p->spec->nstages; i++) free(p->loop_idx[i]);
    free(p->loop_idx);
    free(p->single);
    free(p->insts);
    free(p);
}
