/* calib.h - a PRM's step score and its LM's surprise, combined by a fitted
 * logistic regression (the prm_calibrate stage fits it; the prm stage, mode
 * model with the `lm` and `calibration` inputs, applies it).
 *
 * Why: a token-classification head trained on step labels reads the hidden
 * state at a step's end and, on the toy task, passes about half of the
 * off-by-one slips, while the LM under it gives the wrong result digit a low
 * probability (docs/results.md, session 12). The regression lets the PRM use
 * both: P(step correct) = sigmoid(bias + w_head * head + w_lm * lm), where
 * head is the PRM's P(+) - P(-) and lm the lowest log-probability of the
 * step's tokens under the LM. The reward is 2 P - 1, in [-1, 1] like P(+) -
 * P(-), so thresholds and the min-form rule read it the same way. */
#ifndef PURE_COMMON_CALIB_H
#define PURE_COMMON_CALIB_H

#include <stdint.h>
#include "storage/artifact.h"
#include "util/err.h"

enum { CALIB_BIAS, CALIB_HEAD, CALIB_LM, CALIB_NW };

typedef struct CalibFit {
    double w[CALIB_NW];  /* bias, w_head, w_lm */
    double log_loss;     /* mean negative log-likelihood at w (without the ridge term) */
    int iterations;      /* Newton steps taken */
    int64_t steps, wrong;
} CalibFit;

/* Maximum penalised likelihood of y[i] (1 = correct step) given (head[i],
 * lm[i]), ridge * (w_head^2 + w_lm^2) / 2 added to the negative
 * log-likelihood (the bias is not penalised), by Newton's method in double.
 * Steps with a non-finite feature are skipped. Fails when fewer than two
 * steps remain, when they are all of one class and ridge is 0, or when the
 * iteration does not converge. */
int calib_fit(const float *head, const float *lm, const uint8_t *y, int64_t n, double ridge, CalibFit *f,
              PureErr *err);

/* 2 sigmoid(w . (1, head, lm)) - 1; NAN when a feature is not finite. */
float calib_reward(const double w[CALIB_NW], float head, float lm);

/* Reads / writes the weights as the root attributes bias, w_head, w_lm of a
 * calibration artifact (layout_prm_calibration); reading checks they are
 * finite, naming the file. */
int calib_read(Artifact *a, double w[CALIB_NW], PureErr *err);
int calib_write(Artifact *a, const CalibFit *f, PureErr *err);

#endif
