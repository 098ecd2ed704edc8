/* calib.c - the PRM calibration's fit and its use (calib.h). */
#include "calib.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>


static double sigmoid(double z) { return z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z)); }

/* log(1 + exp(z)) without overflow */
static double softplus(double z) { return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z)); }

/* Solves the 3 x 3 system h d = g by Gaussian elimination with partial pivoting; -1 when singular. */
static int solve3(double h[3][3], double g[3], double d[3]) {
    double a[3][4];
    for (int i = 0; i < 3; i++) {
        memcpy(a[i], h[i], sizeof h[i]);
        a[i][3] = g[i];
    }
    for (int c = 0; c < 3; c++) {
        int p = c;
        for (int r = c + 1; r < 3; r++)
            if (fabs(a[r][c]) > fabs(a[p][c])) p = r;
        if (!(fabs(a[p][c]) > 1e-300)) return -1;
        if (p != c)
            for (int k = 0; k < 4; k++) {
                double t = a[c][k];
                a[c][k] = a[p][k], a[p][k] = t;
            }
        for (int r = c + 1; r < 3; r++) {
            double f = a[r][c] / a[c][c];
            for (int k = c; k < 4; k++) a[r][k] -= f * a[c][k];
        }
    }
    for (int c = 2; c >= 0; c--) {
        double s = a[c][3];
        for (int k = c + 1; k < 3; k++) s -= a[c][k] * d[k];
        d[c] = s / a[c][c];
    }
    return 0;
}

/* The penalised negative log-likelihood (sum) at w, and with grad/hess non-NULL its derivatives. */
static double objective(const double *x, const uint8_t *y, int64_t m, double ridge, const double w[3], double g[3],
                        double h[3][3]) {
    double nll = 0;
    if (g) memset(g, 0, 3 * sizeof *g), memset(h, 0, 9 * sizeof **h);
    for (int64_t i = 0; i < m; i++) {
        const double *xi = x + 3 * i;
        double z = w[0] * xi[0] + w[1] * xi[1] + w[2] * xi[2];
        nll += softplus(z) - (y[i] ? z : 0); /* -log P(y | z) */
        if (!g) continue;
        double p = sigmoid(z), r = p - (y[i] ? 1 : 0), v = p * (1 - p);
        for (int a = 0; a < 3; a++) {
            g[a] += r * xi[a];
            for (int b = 0; b < 3; b++) h[a][b] += v * xi[a] * xi[b];
        }
    }
    nll += 0.5 * ridge * (w[1] * w[1] + w[2] * w[2]);
    if (g)
        for (int a = 1; a < 3; a++) g[a] += ridge * w[a], h[a][a] += ridge;
    return nll;
}

int calib_fit(const float *head, const float *lm, const uint8_t *y, int64_t n, double ridge, CalibFit *f,
              PureErr *err) {
    memset(f, 0, sizeof *f);
    double *x = xmalloc(((size_t)n + 1) * 3 * sizeof *x);
    uint8_t *yy = xmalloc((size_t)n + 1);
    int64_t m = 0, pos = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(head[i]) || !isfinite(lm[i])) continue;
        x[3 * m] = 1, x[3 * m + 1] = head[i], x[3 * m + 2] = lm[i];
        yy[m] = y[i] != 0;
        pos += yy[m++];
    }
    f->steps = m, f->wrong = m - pos;
    int rc = 0;
    if (m < 2) rc = err_set(err, "%lld steps with finite features: too few to fit a calibration", (long long)m);
    else if ((pos == 0 || pos == m) && ridge == 0)
        rc = err_set(err, "all %lld steps are %s: a calibration needs correct and wrong steps (or ridge > 0)",
                     (long long)m, pos ? "correct" : "wrong");
    /* Newton with step halving: the objective is convex, so a halved step that lowers it always exists until the
       gradient vanishes; start at the base rate (w = 0 but the bias) */
    double w[3] = {0, 0, 0};
    if (!rc && pos > 0 && pos < m) w[0] = log((double)pos / (double)(m - pos));
    double obj = rc ? 0 : objective(x, yy, m, ridge, w, NULL, NULL);
    int it = 0, done = 0;
    for (; !rc && it < 100 && !done; it++) {
        double g[3], h[3][3], d[3];
        objective(x, yy, m, ridge, w, g, h);
        if (solve3(h, g, d)) { /* at the start: the features themselves; later: the weights ran off */
            rc = it == 0 ? err_set(err, "the features of the %lld steps are collinear (a constant PRM or LM score?); "
                                   "no calibration can be fitted", (long long)m)
                         : err_set(err, "the features separate the labels of the %lld steps, so the weights grow "
                                   "without bound (separable data: set ridge > 0)", (long long)m);
            break;
        }
        double t = 1, next = obj, wn[3];
        for (int half = 0; half < 60; half++, t *= 0.5) {
            for (int a = 0; a < 3; a++) wn[a] = w[a] - t * d[a];
            next = objective(x, yy, m, ridge, wn, NULL, NULL);
            if (next <= obj) break;
        }
        double change = fabs(t * d[0]) + fabs(t * d[1]) + fabs(t * d[2]);
        if (next <= obj) memcpy(w, wn, sizeof w), obj = next;
        done = change < 1e-12 * (1 + fabs(w[0]) + fabs(w[1]) + fabs(w[2])) || next > obj;
    }
    if (!rc && !done)
        rc = err_set(err, "the calibration did not converge in 100 Newton steps (separable data? set ridge > 0)");
    if (!rc && !(isfinite(w[0]) && isfinite(w[1]) && isfinite(w[2])))
        rc = err_set(err, "the calibration's weights are not finite (separable data? set ridge > 0)");
    if (!rc) {
        memcpy(f->w, w, sizeof w);
        f->iterations = it;
        f->log_loss = (obj - 0.5 * ridge * (w[1] * w[1] + w[2] * w[2])) / (double)m;
    }
    free(x), free(yy);
    return rc;
}

float calib_reward(const double w[CALIB_NW], float head, float lm) {
    if (!isfinite(head) || !isfinite(lm)) return NAN;
    return (float)(2 * sigmoid(w[CALIB_BIAS] + w[CALIB_HEAD] * head + w[CALIB_LM] * lm) - 1);
}

static const char *const calib_names[CALIB_NW] = {"bias", "w_head", "w_lm"};

int calib_read(Artifact *a, double w[CALIB_NW], PureErr *err) {
    for (int k = 0; k < CALIB_NW; k++) {
        if (artifact_get_attr_f64(a, "/", calib_names[k], &w[k], err))
            return err_prefix(err, "%s: not a PRM calibration (expected the output of a prm_calibrate stage)",
                              artifact_path(a));
        if (!isfinite(w[k]))
            return err_set(err, "%s: attribute '%s' is %g; a calibration's weights must be finite", artifact_path(a),
                           calib_names[k], w[k]);
    }
    return 0;
}

int calib_write(Artifact *a, const CalibFit *f, PureErr *err) {
    for (int k = 0; k < CALIB_NW; k++)
        if (artifact_set_attr_f64(a, "/", calib_names[k], f->w[k], err)) return -1;
    return artifact_set_attr_f64(a, "/", "log_loss", f->log_loss, err) ||
           artifact_set_attr_i64(a, "/", "steps", f->steps, err) ||
           artifact_set_attr_i64(a, "/", "wrong_steps", f->wrong, err) ||
           artifact_set_attr_i64(a, "/", "iterations", f->iterations, err);
}
