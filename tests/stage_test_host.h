/* stage_test_host.h - runs one stage kind the way the runner does, without
 * a spec or a run directory: parameters as "name=YAML value" strings (the
 * registry defaults for the rest, parsed by the runner's own parser), inputs
 * as "port=path" strings, outputs into a folder. The ports are checked as in
 * a real run (stages/stage_host.h). For unit tests of a kind's run() and
 * check() on hand-made artifacts. */
#ifndef PURE_STAGE_TEST_HOST_H
#define PURE_STAGE_TEST_HOST_H

#include <cjson/cJSON.h>
#include "stages/stage.h"

/* Validate-time: parses the parameters and calls the kind's check(). */
int test_stage_check(const StageKind *k, const char *const *params, PureErr *err);
/* Run-time: check inputs, run(), check outputs. *metrics (if non-NULL) gets
 * a copy of what the run reported (caller frees with cJSON_Delete). */
int test_stage_run(const StageKind *k, const char *const *params, const char *const *inputs, const char *out_dir,
                   cJSON **metrics, PureErr *err);

#endif
