/* spec_refs.c - references between stages ("stage.output", "state.X",
 * "loop.X"), the loop state and its updates, input ports, artifact kinds,
 * `every` compatibility, cycles and the topological order. */
#include <stdlib.h>
#include <string.h>

#include "runner/spec_internal.h"

const char *const spec_section_names[3] = {"stages", "loop.stages", "after"};
#define sec_name spec_section_names

/* ---------------------------------------------------------------- references */

static const char **stage_names(const Spec *s) {
    const char **names = xcalloc((size_t)s->nstages + 1, sizeof *names);
    for (int i = 0; i < s->nstages; i++) names[i] = s->stages[i].name;
    return names;
}

static const char **port_names(const PortDef *ports) {
    int n = 0;
    while (ports && ports[n].name) n++;
    const char **names = xcalloc((size_t)n + 1, sizeof *names);
    for (int i = 0; i < n; i++) names[i] = ports[i].name;
    return names;
}

static int find_port(const PortDef *ports, const char *name) {
    for (int i = 0; ports && ports[i].name; i++)
        if (!strcmp(ports[i].name, name)) return i;
    return -1;
}

static const char *art_name(ArtKind k) { return k == ART_DIR ? "a directory artifact" : "an HDF5 artifact"; }

/* Parses "stage.output" (or state.X / loop.X) as seen from section `from`. */
static int parse_ref(Spec *s, const YNode *v, Section from, const char *who, SpecRef *r, PureErr *err) {
    char b[80], hint[128];
    memset(r, 0, sizeof *r);
    r->mark = &v->mark;
    if (v->kind == YN_NULL) return r->kind = REF_NONE, 0;
    const char *dot = v->kind == YN_SCALAR ? strchr(v->str, '.') : NULL;
    if (!dot || dot == v->str || !dot[1])
        return yerr(err, &v->mark, "%s: expected a reference 'stage.output'%s, got %s", who,
                    from == SEC_LOOP ? " or 'state.NAME'" : from == SEC_AFTER ? " or 'loop.NAME'" : "",
                    ynode_describe(v, b, sizeof b));
    char head[128];
    snprintf(head, sizeof head, "%.*s", (int)(dot - v->str) < 127 ? (int)(dot - v->str) : 127, v->str);
    const char *tail = dot + 1;
    if (!strcmp(head, "state") || !strcmp(head, "loop")) {
        int is_state = head[0] == 's';
        if (is_state && from != SEC_LOOP)
            return yerr(err, &v->mark, "%s: 'state.%s' can only be used inside loop.stages%s", who, tail,
                        from == SEC_AFTER ? " (after the loop, use 'loop.NAME' for the final value)" : "");
        if (!is_state && from != SEC_AFTER)
            return yerr(err, &v->mark, "%s: 'loop.%s' (the final loop value) can only be used in after:", who, tail);
        const char **names = xcalloc((size_t)s->nstates + 1, sizeof *names);
        for (int i = 0; i < s->nstates; i++) names[i] = s->states[i].name;
        int idx = -1;
        for (int i = 0; i < s->nstates; i++)
            if (!strcmp(s->states[i].name, tail)) idx = i;
        suggest_hint(tail, names, hint, sizeof hint);
        free(names);
        if (idx < 0)
            return yerr(err, &v->mark, "%s: '%s' is not a loop state value%s (declare it under loop.state)", who,
                        v->str, hint);
        r->kind = is_state ? REF_STATE : REF_LOOP;
        r->state = idx;
        return 0;
    }
    int si = spec_stage_index(s, head);
    if (si < 0) {
        const char **names = stage_names(s);
        suggest_hint(head, names, hint, sizeof hint);
        free(names);
        return yerr(err, &v->mark, "%s: input '%s' refers to no stage named '%s'%s", who, v->str, head, hint);
    }
    const SpecStage *src = &s->stages[si];
    if (src->sec > from || (from == SEC_PRE && src->sec != SEC_PRE))
        return yerr(err, &v->mark, "%s: '%s' reads stage '%s' of %s, which runs later (after this one)", who, v->str,
                    head, sec_name[src->sec]);
    int oi = find_port(src->kind->outputs, tail);
    if (oi < 0) {
        const char **names = port_names(src->kind->outputs);
        suggest_hint(tail, names, hint, sizeof hint);
        char list[512] = "";
        for (int i = 0; names[i]; i++) {
            if (i) strncat(list, ", ", sizeof list - strlen(list) - 1);
            strncat(list, names[i], sizeof list - strlen(list) - 1);
        }
        free(names);
        return yerr(err, &v->mark, "%s: stage '%s' (kind %s) has no output '%s'%s; its outputs: %s", who, head,
                    src->kind->kind, tail, hint, list[0] ? list : "none");
    }
    r->kind = REF_STAGE;
    r->stage = si;
    r->output = oi;
    return 0;
}

/* The artifact kind a reference yields (-1 for null). */
static int ref_art(const Spec *s, const SpecRef *r) {
    switch (r->kind) {
    case REF_STAGE: return (int)s->stages[r->stage].kind->outputs[r->output].kind;
    case REF_STATE:
    case REF_LOOP: return ref_art(s, &s->states[r->state].update);
    default: return -1;
    }
}

int spec_parse_states(Spec *s, const YNode *loop, PureErr *err) {
    char b[80];
    const YNode *state = ynode_get(loop, "state"), *update = ynode_get(loop, "update");
    if (state && state->kind != YN_MAP && state->kind != YN_NULL)
        return yerr(err, &state->mark, "loop.state: expected a map of name -> initial value, got %s",
                    ynode_describe(state, b, sizeof b));
    if (update && update->kind != YN_MAP && update->kind != YN_NULL)
        return yerr(err, &update->mark, "loop.update: expected a map of name -> stage.output, got %s",
                    ynode_describe(update, b, sizeof b));
    int n = state && state->kind == YN_MAP ? state->n : 0;
    s->states = xcalloc((size_t)n + 1, sizeof *s->states);
    for (int i = 0; i < n; i++) {
        s->states[i].name = xstrdup(state->keys[i]);
        s->states[i].mark = &state->kmarks[i];
    }
    s->nstates = n;
    for (int i = 0; i < n; i++) {
        char who[160];
        snprintf(who, sizeof who, "loop.state.%s", state->keys[i]);
        if (parse_ref(s, state->items[i], SEC_PRE, who, &s->states[i].init, err)) return -1;
    }
    if (update && update->kind == YN_MAP) {
        for (int i = 0; i < update->n; i++) {
            int idx = -1;
            for (int k = 0; k < n; k++)
                if (!strcmp(s->states[k].name, update->keys[i])) idx = k;
            if (idx < 0) {
                const char **names = xcalloc((size_t)n + 1, sizeof *names);
                for (int k = 0; k < n; k++) names[k] = s->states[k].name;
                char hint[128];
                suggest_hint(update->keys[i], names, hint, sizeof hint);
                free(names);
                return yerr(err, &update->kmarks[i], "loop.update: '%s' is not declared under loop.state%s",
                            update->keys[i], hint);
            }
            char who[160];
            snprintf(who, sizeof who, "loop.update.%s", update->keys[i]);
            SpecRef *u = &s->states[idx].update;
            if (parse_ref(s, update->items[i], SEC_LOOP, who, u, err)) return -1;
            if (u->kind != REF_STAGE || s->stages[u->stage].sec != SEC_LOOP)
                return yerr(err, &update->items[i]->mark, "%s: expected the output of a stage in loop.stages", who);
            /* an update from an `every: K` stage is fine: in the iterations it
               does not run, the state keeps its last value (plan.c) */
        }
    }
    for (int i = 0; i < n; i++) {
        SpecState *st = &s->states[i];
        if (st->update.kind == REF_NONE)
            return yerr(err, st->mark, "loop.state.%s: no update; add '%s: stage.output' under loop.update", st->name,
                        st->name);
        int ka = ref_art(s, &st->init), kb = ref_art(s, &st->update);
        if (ka >= 0 && ka != kb)
            return yerr(err, st->init.mark, "loop.state.%s: initial value is %s but the update is %s", st->name,
                        art_name((ArtKind)ka), art_name((ArtKind)kb));
    }
    return 0;
}

int spec_parse_inputs(Spec *s, int si, const YNode *node, PureErr *err) {
    SpecStage *st = &s->stages[si];
    char who[200], b[80];
    snprintf(who, sizeof who, "stage '%s' (kind %s)", st->name, st->kind->kind);
    const PortDef *ports = st->kind->inputs;
    int np = 0;
    while (ports && ports[np].name) np++;
    st->ninputs = np;
    st->inputs = xcalloc((size_t)np + 1, sizeof *st->inputs);
    const YNode *in = ynode_get(node, "inputs");
    if (in && in->kind != YN_MAP && in->kind != YN_NULL)
        return yerr(err, &in->mark, "%s: inputs: expected a map of port -> stage.output, got %s", who,
                    ynode_describe(in, b, sizeof b));
    for (int i = 0; in && in->kind == YN_MAP && i < in->n; i++) {
        int pi = find_port(ports, in->keys[i]);
        if (pi < 0) {
            const char **names = port_names(ports);
            char hint[128], list[512] = "";
            suggest_hint(in->keys[i], names, hint, sizeof hint);
            for (int k = 0; names[k]; k++) {
                if (k) strncat(list, ", ", sizeof list - strlen(list) - 1);
                strncat(list, names[k], sizeof list - strlen(list) - 1);
            }
            free(names);
            return yerr(err, &in->kmarks[i], "%s: unknown input port '%s'%s; its inputs: %s", who, in->keys[i], hint,
                        list[0] ? list : "none");
        }
        char pwho[260];
        snprintf(pwho, sizeof pwho, "%s input '%s'", who, ports[pi].name);
        SpecRef *r = &st->inputs[pi];
        if (parse_ref(s, in->items[i], st->sec, pwho, r, err)) return -1;
        if (r->kind == REF_STAGE && r->stage == si)
            return yerr(err, r->mark, "%s: cycle: the stage reads its own output", pwho);
        int ak = ref_art(s, r);
        if (ak >= 0 && ak != (int)ports[pi].kind)
            return yerr(err, r->mark, "%s: expects %s, but '%s' is %s", pwho, art_name(ports[pi].kind),
                        in->items[i]->str, art_name((ArtKind)ak));
        if (r->kind == REF_STATE && s->states[r->state].init.kind == REF_NONE && !ports[pi].optional)
            return yerr(err, r->mark, "%s: 'state.%s' starts as null (no value in iteration 0) but this port is required",
                        pwho, s->states[r->state].name);
        /* a loop stage reading an `every` stage must run only when that one does */
        if (r->kind == REF_STAGE && st->sec == SEC_LOOP && s->stages[r->stage].sec == SEC_LOOP) {
            int pe = s->stages[r->stage].every;
            if (st->every % pe != 0)
                return yerr(err, r->mark, "%s: runs every %d iteration(s) but reads '%s', which runs only every %d",
                            pwho, st->every, s->stages[r->stage].name, pe);
        }
    }
    for (int i = 0; i < np; i++)
        if (st->inputs[i].kind == REF_NONE && !ports[i].optional)
            return yerr(err, st->mark, "%s: required input '%s' is not connected (%s); add inputs: {%s: stage.output}",
                        who, ports[i].name, ports[i].doc ? ports[i].doc : "", ports[i].name);
    return 0;
}

/* ---------------------------------------------------------------- order */

/* DFS topological sort within each section; reports a cycle with its path. */
static int visit(Spec *s, int si, int *color, int *stack, int depth, int *out, int *nout, PureErr *err) {
    if (color[si] == 2) return 0;
    stack[depth] = si;
    if (color[si] == 1) {
        int start = 0;
        while (stack[start] != si) start++;
        char path[1024] = "";
        for (int i = start; i <= depth; i++) {
            if (i > start) strncat(path, " -> ", sizeof path - strlen(path) - 1);
            strncat(path, s->stages[stack[i]].name, sizeof path - strlen(path) - 1);
        }
        return yerr(err, s->stages[si].mark, "cycle between stages: %s (each reads the next one's output)", path);
    }
    color[si] = 1;
    SpecStage *st = &s->stages[si];
    for (int i = 0; i < st->ninputs; i++) {
        SpecRef *r = &st->inputs[i];
        if (r->kind == REF_STAGE && s->stages[r->stage].sec == st->sec)
            if (visit(s, r->stage, color, stack, depth + 1, out, nout, err)) return -1;
    }
    color[si] = 2;
    out[(*nout)++] = si;
    return 0;
}

int spec_order_stages(Spec *s, PureErr *err) {
    int *color = xcalloc((size_t)s->nstages + 1, sizeof *color);
    int *stack = xcalloc((size_t)s->nstages + 1, sizeof *stack);
    s->order = xcalloc((size_t)s->nstages + 1, sizeof *s->order);
    int nout = 0, rc = 0;
    for (int sec = SEC_PRE; sec <= SEC_AFTER && !rc; sec++)
        for (int i = 0; i < s->nstages && !rc; i++)
            if ((int)s->stages[i].sec == sec) rc = visit(s, i, color, stack, 0, s->order, &nout, err);
    free(color);
    free(stack);
    return rc;
}
