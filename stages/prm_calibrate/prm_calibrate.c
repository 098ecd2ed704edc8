/* prm_calibrate.c - the `prm_calibrate` stage kind: fits how much a learned
 * PRM's step score and its LM's surprise each say about a step
 * (stages/common/calib.h).
 *
 * The pipeline samples the policy on training prompts (never the held-out
 * ones prm_eval judges), scores them with a prm stage in mode model given the
 * `lm` input (`features`: step_head and step_lm_min_logprob) and with the
 * exact checker (`labels`, > 0 = correct step), and this stage fits a
 * logistic regression of the labels on the two features. A prm stage given
 * the fit as `calibration` then rewards 2 P(correct) - 1. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "stages/common/calib.h"
#include "stages/common/io.h"
#include "stages/common/layouts.h"
#include "stages/stage.h"

static const PortDef pc_inputs[] = {
    {"rollouts", ART_H5, 0, "the responses the features and labels score (a rollout stage on training prompts)",
     layout_rollouts},
    {"features", ART_H5, 0, "a prm stage in mode model with the `lm` input: step_head and step_lm_min_logprob",
     layout_rewards},
    {"labels", ART_H5, 0, "the true step labels: step rewards > 0 are correct steps (a prm stage in oracle mode)",
     layout_rewards},
    {0},
};
static const PortDef pc_outputs[] = {
    {"calibration", ART_H5, 0, "the fitted weights and the fit's log-loss, as attributes", layout_prm_calibration},
    {0},
};
static const ParamDef pc_params[] = {
    {"ridge", PT_FLOAT, "1.0e-3", 0, 1e6, NULL,
     "L2 penalty on the two weights (not the bias), added to the summed negative log-likelihood: keeps the fit "
     "finite when the features separate the labels"},
    {0},
};

static int pc_run(StageCtx *ctx, PureErr *err) {
    Rollouts ro;
    if (input_read_rollouts(ctx, "rollouts", &ro, err)) return -1;
    Ragged head = {0}, lm = {0}, lab = {0};
    const char *hint = "; score the rollouts with a prm stage in mode model given the input 'lm'";
    int rc = 0;
    if (input_read_step_values(ctx, "features", "step_head", &ro.step_ends, &head, err) ||
        input_read_step_values(ctx, "features", "step_lm_min_logprob", &ro.step_ends, &lm, err)) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        rc = err_set(err, "%s%s", msg, hint);
    }
    if (!rc) rc = input_read_rewards(ctx, "labels", &ro.step_ends, &lab, err);
    int64_t S = ro.step_ends.off[ro.n];
    uint8_t *y = xmalloc((size_t)S + 1);
    for (int64_t t = 0; t < S && !rc; t++) {
        float v = ((const float *)lab.v)[t];
        if (!isfinite(v))
            rc = err_set(err, "input 'labels': step %lld: the label is %g, not a finite reward", (long long)t, v);
        y[t] = v > 0;
    }
    CalibFit f;
    if (!rc) rc = calib_fit(head.v, lm.v, y, S, stage_param_float(ctx, "ridge"), &f, err);
    if (!rc) {
        stage_metric(ctx, "bias", f.w[CALIB_BIAS]);
        stage_metric(ctx, "w_head", f.w[CALIB_HEAD]);
        stage_metric(ctx, "w_lm", f.w[CALIB_LM]);
        stage_metric(ctx, "log_loss", f.log_loss);
        stage_metric(ctx, "steps", (double)f.steps);
        stage_log(ctx, "prm_calibrate: %lld steps (%lld wrong, %lld without features): P(correct) = sigmoid(%.4f + "
                  "%.4f * head + %.4f * lm), log-loss %.4f after %d Newton steps", (long long)f.steps,
                  (long long)f.wrong, (long long)(S - f.steps), f.w[CALIB_BIAS], f.w[CALIB_HEAD], f.w[CALIB_LM],
                  f.log_loss, f.iterations);
        Artifact *a = stage_output_create(ctx, "calibration", err);
        if (!a) rc = -1;
        else {
            rc = calib_write(a, &f, err);
            if (artifact_close(a, rc ? NULL : err)) rc = -1;
        }
    }
    free(y);
    ragged_free(&head), ragged_free(&lm), ragged_free(&lab);
    rollouts_free(&ro);
    return rc;
}

const StageKind stage_kind_prm_calibrate = {
    "prm_calibrate", 1,
    "Fits the calibration of a learned PRM: a logistic regression of the exact step labels on the PRM's step score "
    "and the lowest token log-prob of the step under its LM, for a prm stage to reward 2 P(correct) - 1.",
    pc_inputs, pc_outputs, pc_params, pc_run, NULL,
};
