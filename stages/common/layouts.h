/* layouts.h - the datasets of the HDF5 artifacts the stage kinds exchange.
 *
 * One table per layout; ports point at them (PortDef.datasets), so the
 * host checks every input before a stage runs and every output before it
 * commits, `pure stages KIND` prints them and docs/artifacts.md is generated
 * from them (tests/runner/stages_doc.sh). Shape symbols: P prompts, N
 * responses, R evaluated rows, H history points; ragged row lengths:
 * "tokens" (one per response token), "steps" (one per "\n\n" step).
 * stages/common/io.c reads and writes the prompts and rollouts layouts. */
#ifndef PURE_COMMON_LAYOUTS_H
#define PURE_COMMON_LAYOUTS_H

#include "stages/stage.h"

extern const DatasetDef layout_prompts[];     /* data -> everyone */
extern const DatasetDef layout_rollouts[];    /* rollout -> prm, verify, credit, optimize */
extern const DatasetDef layout_rewards[];     /* prm -> credit, eval */
extern const DatasetDef layout_verifiable[];  /* verify -> credit */
extern const DatasetDef layout_advantages[];  /* credit -> optimize */
extern const DatasetDef layout_results[];     /* eval -> eval (history), reports */
extern const DatasetDef layout_prm_quality[]; /* prm_eval -> reports */
extern const DatasetDef layout_prm_calibration[]; /* prm_calibrate -> prm */

#endif
