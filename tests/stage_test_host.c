/* stage_test_host.c - see stage_test_host.h. */
#include "tests/stage_test_host.h"

#include <stdlib.h>
#include <string.h>

#include "runner/spec_internal.h"
#include "stages/stage_host.h"
#include "util/fs.h"

static int count_params(const StageKind *k) {
    int n = 0;
    while (k->params && k->params[n].name) n++;
    return n;
}

static void values_free(ParamValue *v, int n) {
    for (int i = 0; i < n; i++) {
        free(v[i].s);
        free(v[i].canon);
        for (int j = 0; j < v[i].nlist; j++) free(v[i].list[j]);
        free(v[i].list);
    }
    free(v);
}

/* Parses "name=value" overrides, defaults for the rest. */
static ParamValue *parse_params(const StageKind *k, const char *const *params, PureErr *err) {
    int n = count_params(k);
    ParamValue *v = xcalloc((size_t)n + 1, sizeof *v);
    for (int i = 0; i < n; i++) v[i].def = &k->params[i];
    for (int p = 0; params && params[p]; p++) {
        const char *eq = strchr(params[p], '=');
        int i = 0;
        while (eq && i < n && (strlen(k->params[i].name) != (size_t)(eq - params[p]) ||
                               strncmp(k->params[i].name, params[p], (size_t)(eq - params[p]))))
            i++;
        if (!eq || i == n) {
            err_set(err, "test host: '%s' is not name=value of a parameter of kind %s", params[p], k->kind);
            values_free(v, n);
            return NULL;
        }
        YNode *node = ydoc_load_string(eq + 1, "test", 1, 1, err);
        int rc = !node || spec_parse_param(&v[i], node, k->kind, err);
        ynode_free(node);
        if (rc) {
            values_free(v, n);
            return NULL;
        }
        v[i].set = 1;
    }
    for (int i = 0; i < n; i++)
        if (!v[i].set && (!v[i].def->def || spec_parse_default(&v[i], k->kind, err))) {
            if (!v[i].def->def) err_set(err, "test host: required parameter '%s' not given", v[i].def->name);
            values_free(v, n);
            return NULL;
        }
    return v;
}

int test_stage_check(const StageKind *k, const char *const *params, PureErr *err) {
    ParamValue *v = parse_params(k, params, err);
    if (!v) return -1;
    StageParams sp = {"test", k, v, count_params(k)};
    int rc = k->check ? k->check(&sp, err) : 0;
    values_free(v, sp.n);
    return rc;
}

int test_stage_run(const StageKind *k, const char *const *params, const char *const *inputs, const char *out_dir,
                   cJSON **metrics, PureErr *err) {
    ParamValue *v = parse_params(k, params, err);
    if (!v) return -1;
    int nin = 0;
    while (k->inputs && k->inputs[nin].name) nin++;
    const char **paths = xcalloc((size_t)nin + 1, sizeof *paths);
    for (int p = 0; inputs && inputs[p]; p++) {
        const char *eq = strchr(inputs[p], '=');
        for (int i = 0; eq && i < nin; i++)
            if (strlen(k->inputs[i].name) == (size_t)(eq - inputs[p]) &&
                !strncmp(k->inputs[i].name, inputs[p], (size_t)(eq - inputs[p])))
                paths[i] = eq + 1;
    }
    for (int i = 0; k->outputs && k->outputs[i].name; i++)
        if (k->outputs[i].kind == ART_DIR) {
            char *d = fs_join(out_dir, k->outputs[i].name);
            fs_mkdir_p(d, NULL);
            free(d);
        }
    StageRunInfo info = {.kind = k, .params = {"test", k, v, count_params(k)}, .iteration = -1, .seed = 1,
                         .in_paths = paths, .out_dir = out_dir, .scratch_dir = out_dir, .quiet = 1};
    StageCtx *c = stage_ctx_new(&info);
    int rc = stage_ctx_check_inputs(c, err);
    if (!rc) rc = k->run(c, err);
    if (!rc) rc = stage_ctx_check_outputs(c, err);
    if (metrics) *metrics = cJSON_Duplicate(stage_ctx_metrics(c), 1);
    stage_ctx_free(c);
    free(paths);
    values_free(v, info.params.n);
    return rc;
}
