/* registry.c - the table of stage kinds.
 *
 * To add a stage kind: create stages/<kind>/<kind>.c defining a
 * `const StageKind stage_kind_<kind>` (see stages/stage.h), declare it below
 * and add it to `builtin`. Validation, `pure stages` and the generated YAML
 * reference (docs/pipeline-spec.md) pick it up from this table.
 *
 * With PURE_TEST_KINDS=1 in the environment the runner's test-only kinds
 * (runner/test_kinds.c, names starting with test_) are registered too.
 */
#include <stdlib.h>
#include <string.h>
#include "stage.h"

extern const StageKind stage_kind_data;
extern const StageKind stage_kind_sft;
extern const StageKind stage_kind_rollout;
extern const StageKind stage_kind_prm;
extern const StageKind stage_kind_prm_train;
extern const StageKind stage_kind_verify;
extern const StageKind stage_kind_credit;
extern const StageKind stage_kind_optimize;
extern const StageKind stage_kind_eval;

static const StageKind *builtin[] = {
    &stage_kind_data,   &stage_kind_sft,    &stage_kind_rollout,  &stage_kind_prm,  &stage_kind_prm_train,
    &stage_kind_verify, &stage_kind_credit, &stage_kind_optimize, &stage_kind_eval, NULL,
};

#define MAX_KINDS 64
static const StageKind *all_kinds[MAX_KINDS + 1];
static int n_kinds = -1;

void runner_test_kinds_register(void);

static void ensure_init(void) {
    if (n_kinds >= 0) return;
    n_kinds = 0;
    for (int i = 0; builtin[i]; i++) all_kinds[n_kinds++] = builtin[i];
    all_kinds[n_kinds] = NULL;
    const char *t = getenv("PURE_TEST_KINDS");
    if (t && t[0] == '1') runner_test_kinds_register();
}

void stage_kind_register(const StageKind *k) {
    ensure_init();
    if (n_kinds < MAX_KINDS && !stage_kind_find(k->kind)) {
        all_kinds[n_kinds++] = k;
        all_kinds[n_kinds] = NULL;
    }
}

const StageKind *stage_kind_find(const char *kind) {
    ensure_init();
    for (int i = 0; i < n_kinds; i++)
        if (strcmp(all_kinds[i]->kind, kind) == 0) return all_kinds[i];
    return NULL;
}

const StageKind *const *stage_kind_all(void) {
    ensure_init();
    return all_kinds;
}
