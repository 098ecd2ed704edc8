/* prm_eval.c - the `prm_eval` stage kind: how good is a PRM on responses it
 * was not trained on?
 *
 * A PRM is judged where RL uses it: on the policy's own rollouts. The
 * pipeline samples held-out prompts (a rollout stage), scores them with the
 * PRM under test (a prm stage: `scores`) and with the exact checker (a prm
 * stage in oracle mode: `labels`, > 0 = correct step), and grades the final
 * answers (a verify stage: `verifiable`). This stage compares them:
 *   step_auc               P(score of a correct step > score of a wrong step), ties 1/2
 *   wrong_step_recall      share of wrong steps scored below `threshold`
 *   wrong_step_precision   share of steps scored below `threshold` that are wrong
 *   response_auc           the same AUC for the response's min step score against answer correctness
 *   wrong_all_pass_fraction  wrong-answer responses with every step scored at or above `threshold`
 *   answer_argmin_fraction   correct responses (>= 2 steps) whose lowest score is the last step's
 * the first three again on the steps up to and including each response's
 * first wrong step (first_error_*: the PRM800K / ProcessBench protocol, where
 * nothing after an error is labelled), and ProcessBench's own score: the
 * predicted first error is the first step scored below `threshold`;
 *   processbench_error_acc   erroneous responses whose first error is found exactly
 *   processbench_correct_acc error-free responses with no step flagged
 *   processbench_f1          their harmonic mean
 * and says whether the quality bar (min_wrong_recall, min_wrong_precision,
 * min_response_auc; docs/results-criteria.md) is met, with the step metrics
 * of `bar_steps`. It warns, or fails with
 * `enforce: true`; the numbers are reported either way, so every result can
 * show the PRM's quality beside it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stages/common/io.h"
#include "stages/common/layouts.h"
#include "stages/stage.h"

static const PortDef pe_inputs[] = {
    {"rollouts", ART_H5, 0, "held-out responses (a rollout stage)", layout_rollouts},
    {"scores", ART_H5, 0, "the PRM under test's step rewards on them (a prm stage)", layout_rewards},
    {"labels", ART_H5, 0, "the true step labels: step rewards > 0 are correct steps (a prm stage in oracle mode)",
     layout_rewards},
    {"verifiable", ART_H5, 1, "answer correctness of the responses (a verify stage): enables the response metrics",
     layout_verifiable},
    {0},
};
static const PortDef pe_outputs[] = {
    {"quality", ART_H5, 0, "per-response summary and the quality metrics as attributes", layout_prm_quality},
    {0},
};
enum { PE_BAR_ALL, PE_BAR_FIRST_ERROR };
static const char *const pe_bar_steps[] = {"all", "to_first_error", NULL};
static const ParamDef pe_params[] = {
    {"threshold", PT_FLOAT, "0", -1e9, 1e9, NULL, "a step scored below this is flagged wrong"},
    {"min_wrong_recall", PT_FLOAT, "0.8", 0, 1, NULL, "quality bar: wrong-step recall at the threshold"},
    {"min_wrong_precision", PT_FLOAT, "0.9", 0, 1, NULL, "quality bar: wrong-step precision at the threshold"},
    {"min_response_auc", PT_FLOAT, "0.9", 0, 1, NULL, "quality bar: response AUC of the min step score"},
    {"bar_steps", PT_ENUM, "all", 1, 0, pe_bar_steps,
     "the steps whose recall and precision the bar reads: all, or to_first_error (each response's steps up to and "
     "including its first wrong one, as PRM800K labels and ProcessBench judges)"},
    {"enforce", PT_BOOL, "false", 1, 0, NULL, "fail the stage when the bar is not met (default: warn)"},
    {0},
};

typedef struct Scored {
    float s;
    uint8_t pos;
} Scored;

static int by_score(const void *a, const void *b) {
    float x = ((const Scored *)a)->s, y = ((const Scored *)b)->s;
    return x < y ? -1 : x > y;
}

/* Mann-Whitney AUC of positives over negatives with ties counted 1/2; NAN
 * when either class is empty. Sorts v. */
static double auc(Scored *v, int64_t n) {
    qsort(v, (size_t)n, sizeof *v, by_score);
    double rank_sum = 0;
    int64_t npos = 0;
    for (int64_t i = 0; i < n;) {
        int64_t j = i;
        while (j < n && v[j].s == v[i].s) j++;
        double mid = 0.5 * (double)(i + 1 + j); /* average rank of the tie block (1-based) */
        for (int64_t k = i; k < j; k++)
            if (v[k].pos) rank_sum += mid, npos++;
        i = j;
    }
    int64_t nneg = n - npos;
    if (npos == 0 || nneg == 0) return NAN;
    return (rank_sum - 0.5 * (double)npos * (double)(npos + 1)) / ((double)npos * (double)nneg);
}

static double ratio(int64_t a, int64_t b) { return b ? (double)a / (double)b : NAN; }

typedef struct Quality {
    double step_auc, recall, precision, response_auc, all_pass, argmin_last, correct_steps, step_accuracy;
    double fe_step_auc, fe_recall, fe_precision; /* on the steps up to each response's first error */
    double pb_error_acc, pb_correct_acc, pb_f1;  /* ProcessBench */
    int64_t steps, wrong, responses, zero_step;
} Quality;

static void measure(const Rollouts *ro, const float *sc, const float *lab, const uint8_t *correct, float th,
                    float *resp_min, int32_t *resp_wrong, int32_t *resp_flagged, Quality *q) {
    int64_t S = ro->step_ends.off[ro->n], tp = 0, flagged = 0, right = 0, n_wrong_resp = 0, all_pass = 0,
            n_argmin = 0, argmin_last = 0, nr = 0;
    int64_t nfe = 0, fe_tp = 0, fe_flagged = 0, fe_wrong = 0, pb_err = 0, pb_err_hit = 0, pb_ok = 0, pb_ok_hit = 0;
    Scored *steps = xmalloc(((size_t)S + 1) * sizeof *steps), *resp = xmalloc(((size_t)ro->n + 1) * sizeof *resp);
    Scored *fe_steps = xmalloc(((size_t)S + 1) * sizeof *fe_steps);
    memset(q, 0, sizeof *q);
    for (int64_t i = 0; i < ro->n; i++) {
        int64_t o = ro->step_ends.off[i], k = ragged_len(&ro->step_ends, i), am = 0;
        int32_t w = 0, f = 0;
        int64_t first_err = -1, first_flag = -1;
        for (int64_t t = 0; t < k; t++) {
            int ok = lab[o + t] > 0, flag = sc[o + t] < th;
            steps[o + t] = (Scored){sc[o + t], (uint8_t)ok};
            w += !ok, f += flag;
            tp += !ok && flag;
            right += ok != flag;
            if (sc[o + t] < sc[o + am]) am = t;
            if (first_err < 0) { /* in scope: up to and including the first wrong step */
                fe_steps[nfe++] = (Scored){sc[o + t], (uint8_t)ok};
                fe_wrong += !ok, fe_flagged += flag, fe_tp += !ok && flag;
                if (!ok) first_err = t;
            }
            if (first_flag < 0 && flag) first_flag = t;
        }
        q->wrong += w, flagged += f;
        if (k && first_err >= 0) pb_err++, pb_err_hit += first_flag == first_err;
        if (k && first_err < 0) pb_ok++, pb_ok_hit += first_flag < 0;
        resp_min[i] = k ? sc[o + am] : NAN;
        resp_wrong[i] = w, resp_flagged[i] = f;
        if (!k) {
            q->zero_step++;
            continue;
        }
        if (!correct) continue;
        resp[nr++] = (Scored){resp_min[i], correct[i]};
        if (!correct[i]) n_wrong_resp++, all_pass += f == 0;
        if (correct[i] && k >= 2) n_argmin++, argmin_last += am == k - 1;
    }
    q->steps = S, q->responses = ro->n;
    q->correct_steps = ratio(S - q->wrong, S);
    q->step_accuracy = ratio(right, S);
    q->recall = ratio(tp, q->wrong);
    q->precision = ratio(tp, flagged);
    q->step_auc = auc(steps, S);
    q->response_auc = correct ? auc(resp, nr) : NAN;
    q->all_pass = correct ? ratio(all_pass, n_wrong_resp) : NAN;
    q->argmin_last = correct ? ratio(argmin_last, n_argmin) : NAN;
    q->fe_step_auc = auc(fe_steps, nfe);
    q->fe_recall = ratio(fe_tp, fe_wrong);
    q->fe_precision = ratio(fe_tp, fe_flagged);
    q->pb_error_acc = ratio(pb_err_hit, pb_err);
    q->pb_correct_acc = ratio(pb_ok_hit, pb_ok);
    double pb_sum = q->pb_error_acc + q->pb_correct_acc; /* NaN when either is undefined */
    q->pb_f1 = pb_sum > 0 ? 2 * q->pb_error_acc * q->pb_correct_acc / pb_sum : isnan(pb_sum) ? NAN : 0;
    free(steps), free(resp), free(fe_steps);
}

static int pe_run(StageCtx *ctx, PureErr *err) {
    Rollouts ro;
    if (input_read_rollouts(ctx, "rollouts", &ro, err)) return -1;
    Ragged sc = {0}, lab = {0};
    uint8_t *correct = NULL;
    int rc = input_read_rewards(ctx, "scores", &ro.step_ends, &sc, err) ||
             input_read_rewards(ctx, "labels", &ro.step_ends, &lab, err);
    if (!rc && stage_input_path(ctx, "verifiable")) {
        /* `correct` (not the reward: a 10%-reference verify still grades every row) */
        Artifact *a = stage_input_open(ctx, "verifiable", err);
        int64_t dims[ARTIFACT_MAX_DIMS];
        if (!a || !(correct = artifact_read(a, "correct", DT_U8, 1, dims, err))) rc = -1;
        else if (dims[0] != ro.n)
            rc = err_set(err, "input 'verifiable': %s: 'correct' has %lld rows, the rollouts %lld", artifact_path(a),
                         (long long)dims[0], (long long)ro.n);
        if (a) artifact_close(a, NULL);
    }
    int64_t S = ro.step_ends.off[ro.n];
    for (int64_t t = 0; t < S && !rc; t++)
        if (!isfinite(((float *)sc.v)[t]) || !isfinite(((float *)lab.v)[t]))
            rc = err_set(err, "input '%s': step %lld: the reward is not finite",
                         isfinite(((float *)sc.v)[t]) ? "labels" : "scores", (long long)t);
    Quality q;
    size_t m = (size_t)ro.n + 1;
    float *rmin = xmalloc(m * sizeof(float));
    int32_t *rw = xmalloc(m * sizeof(int32_t)), *rf = xmalloc(m * sizeof(int32_t));
    if (!rc) {
        float th = (float)stage_param_float(ctx, "threshold");
        measure(&ro, sc.v, lab.v, correct, th, rmin, rw, rf, &q);
        struct { const char *name; double v; } mt[] = {
            {"step_auc", q.step_auc}, {"wrong_step_recall", q.recall}, {"wrong_step_precision", q.precision},
            {"response_auc", q.response_auc}, {"wrong_all_pass_fraction", q.all_pass},
            {"answer_argmin_fraction", q.argmin_last}, {"correct_step_fraction", q.correct_steps},
            {"step_accuracy", q.step_accuracy}, {"steps", (double)q.steps}, {"responses", (double)q.responses},
            {"first_error_step_auc", q.fe_step_auc}, {"first_error_recall", q.fe_recall},
            {"first_error_precision", q.fe_precision}, {"processbench_error_acc", q.pb_error_acc},
            {"processbench_correct_acc", q.pb_correct_acc}, {"processbench_f1", q.pb_f1},
        };
        int n_mt = (int)(sizeof mt / sizeof mt[0]);
        for (int k = 0; k < n_mt; k++)
            if (!isnan(mt[k].v)) stage_metric(ctx, mt[k].name, mt[k].v);
        /* the bar: a missing measurement (no wrong steps, no verify input) cannot pass it */
        int fe = stage_param_enum(ctx, "bar_steps") == PE_BAR_FIRST_ERROR;
        int below_recall = !((fe ? q.fe_recall : q.recall) >= stage_param_float(ctx, "min_wrong_recall"));
        int below_precision = !((fe ? q.fe_precision : q.precision) >= stage_param_float(ctx, "min_wrong_precision"));
        int below_auc = !(q.response_auc >= stage_param_float(ctx, "min_response_auc"));
        int meets = !below_recall && !below_precision && !below_auc;
        stage_metric(ctx, "meets_bar", meets);
        stage_log(ctx, "prm_eval: %lld responses, %lld steps (%.1f%% correct): step AUC %.3f, wrong-step recall %.3f "
                  "precision %.3f, response AUC %.3f; to the first error: step AUC %.3f, recall %.3f precision "
                  "%.3f; ProcessBench F1 %.3f%s", (long long)q.responses, (long long)q.steps,
                  100 * q.correct_steps, q.step_auc, q.recall, q.precision, q.response_auc, q.fe_step_auc,
                  q.fe_recall, q.fe_precision, q.pb_f1, meets ? " (meets the bar)" : "");
        if (!meets) {
            char what[160];
            snprintf(what, sizeof what, "%s%s%s%s", below_recall ? " wrong-step recall" : "",
                     below_precision ? " wrong-step precision" : "", below_recall || below_precision
                     ? (fe ? " (steps to the first error)" : " (all steps)") : "", below_auc ? " response AUC" : "");
            if (stage_param_bool(ctx, "enforce"))
                rc = err_set(err, "the PRM is below the quality bar on:%s (enforce: true)", what);
            else
                stage_warn(ctx, "the PRM is below the quality bar on:%s; results with it are reported as they are",
                           what);
        }
        for (int k = 0; k < n_mt; k++) mt[k].v = isnan(mt[k].v) ? -1 : mt[k].v;
        Artifact *a = rc ? NULL : stage_output_create(ctx, "quality", err);
        if (!rc && !a) rc = -1;
        if (a) {
            int64_t n = ro.n;
            rc = artifact_write(a, "min_score", DT_F32, 1, &n, rmin, err) ||
                 artifact_write(a, "wrong_steps", DT_I32, 1, &n, rw, err) ||
                 artifact_write(a, "flagged_steps", DT_I32, 1, &n, rf, err) ||
                 artifact_set_attr_i64(a, "/", "meets_bar", meets, err);
            for (int k = 0; k < n_mt && !rc; k++) rc = artifact_set_attr_f64(a, "/", mt[k].name, mt[k].v, err);
            if (artifact_close(a, rc ? NULL : err)) rc = -1;
        }
    }
    free(rmin), free(rw), free(rf), free(correct);
    ragged_free(&sc), ragged_free(&lab);
    rollouts_free(&ro);
    return rc;
}

const StageKind stage_kind_prm_eval = {
    "prm_eval", 2,
    "Measures a PRM on held-out rollouts against the exact step labels: step AUC, wrong-step recall and precision at "
    "a threshold, the response AUC of the min step score against answer correctness; checks a stated quality bar.",
    pe_inputs, pe_outputs, pe_params, pe_run, NULL,
};
