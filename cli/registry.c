/* registry.c - the table of stage kinds the program ships.
 *
 * To add a stage kind: write stages/<kind>/<kind>.c defining a
 * `const StageKind stage_kind_<kind>` (stages/stage.h), declare it below and
 * add one row to the table (docs/contributing.md). Validation, `pure stages`,
 * docs/pipeline-spec.md and docs/artifacts.md pick it up from here. The
 * runner never names a kind: it is handed this table. */
#include "cli/commands.h"

extern const StageKind stage_kind_data;
extern const StageKind stage_kind_sft;
extern const StageKind stage_kind_rollout;
extern const StageKind stage_kind_prm;
extern const StageKind stage_kind_prm_train;
extern const StageKind stage_kind_prm_eval;
extern const StageKind stage_kind_prm_calibrate;
extern const StageKind stage_kind_verify;
extern const StageKind stage_kind_credit;
extern const StageKind stage_kind_optimize;
extern const StageKind stage_kind_eval;

const StageKind *const registry_kinds[] = {
    &stage_kind_data,   &stage_kind_sft,    &stage_kind_rollout,  &stage_kind_prm,      &stage_kind_prm_train,
    &stage_kind_prm_eval, &stage_kind_prm_calibrate, &stage_kind_verify, &stage_kind_credit, &stage_kind_optimize,
    &stage_kind_eval,   NULL,
};
