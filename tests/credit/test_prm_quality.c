/* test_prm_quality.c - the PRM-quality machinery of issue 11, run as the
 * runner runs the kinds (tests/stage_test_host.h):
 *   - the toy checker's step kinds and the hard negatives (one defect each);
 *   - prm mode `controlled`: at rate 0 it is the oracle, at rate 1 it flips
 *     exactly the steps of the named kind, verdicts are a function of the
 *     step's text, and a middle rate flips about that share;
 *   - prm_eval: AUC, recall and precision on hand-worked values, on all steps
 *     and up to the first error, ProcessBench's F1, the bar;
 *   - verify's reference_fraction: a fixed share of prompt rows, the same
 *     for any rollouts, `correct` still graded everywhere;
 *   - prm validate-time checks of Lua scripts and of a stray `script`;
 *   - the calibration (stages/common/calib.h): the fit on a hand-worked
 *     saturated design, its failures, prm_calibrate's run and its hostile
 *     inputs, and the prm stage's checks of the `lm` and `calibration` inputs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stages/common/calib.h"
#include "stages/common/steps.h"
#include "stages/common/toy.h"
#include "stages/stage.h"
#include "storage/artifact.h"
#include "tests/check.h"
#include "tests/stage_test_host.h"
#include "util/fs.h"

extern const StageKind stage_kind_prm, stage_kind_prm_eval, stage_kind_verify, stage_kind_prm_calibrate;

static char dir[] = "/tmp/pure_test_prm_quality_XXXXXX";

static char *path_in(const char *name) { return fs_join(dir, name); }

/* Prompts artifact of n toy problems (references = answers). */
static void write_prompts(const char *name, const char *const *problem, const char *const *ref, int64_t n) {
    PureErr err = {0};
    char *path = path_in(name);
    Artifact *a = artifact_create(path, &err);
    int64_t *ids = xmalloc((size_t)n * sizeof *ids);
    uint8_t *has = xmalloc((size_t)n);
    for (int64_t i = 0; i < n; i++) ids[i] = i, has[i] = 1;
    CHECK(a && artifact_write(a, "id", DT_I64, 1, &n, ids, &err) == 0);
    CHECK(artifact_write_strings(a, "benchmark", n, problem, &err) == 0);
    CHECK(artifact_write_strings(a, "problem", n, problem, &err) == 0);
    CHECK(artifact_write_strings(a, "prompt", n, problem, &err) == 0);
    CHECK(artifact_write_strings(a, "solution", n, ref, &err) == 0);
    CHECK(artifact_write_strings(a, "reference", n, ref, &err) == 0);
    CHECK(artifact_write(a, "has_reference", DT_U8, 1, &n, has, &err) == 0);
    CHECK(artifact_close(a, &err) == 0);
    free(ids), free(has), free(path);
}

/* Rollouts of the given texts: one fake token per text step, so stored steps are the text steps. */
static void write_rollouts(const char *name, const char *const *text, const int64_t *prompt, int64_t n) {
    PureErr err = {0};
    char *path = path_in(name);
    Artifact *a = artifact_create(path, &err);
    int64_t *off = xcalloc((size_t)n + 1, sizeof *off), *poff = xcalloc((size_t)n + 1, sizeof *poff),
            *grp = xmalloc((size_t)n * sizeof *grp);
    int32_t *len = xmalloc((size_t)n * sizeof *len), *fin = xcalloc((size_t)n, sizeof *fin);
    int32_t ends[4096], bytes[4096], ids[4096];
    float lp[4096] = {0};
    for (int64_t i = 0; i < n; i++) {
        size_t *e = NULL, *st = NULL;
        int ns = steps_split(text[i], strlen(text[i]), &e, &st);
        for (int s = 0; s < ns; s++) ends[off[i] + s] = s, bytes[off[i] + s] = (int32_t)e[s], ids[off[i] + s] = 65;
        off[i + 1] = off[i] + ns;
        poff[i + 1] = i + 1;
        len[i] = ns, grp[i] = prompt[i];
        free(e), free(st);
    }
    CHECK(a && artifact_write(a, "prompt_index", DT_I64, 1, &n, prompt, &err) == 0);
    CHECK(artifact_write(a, "group", DT_I64, 1, &n, grp, &err) == 0);
    CHECK(artifact_write_ragged(a, "prompt_tokens", DT_I32, n, poff, ids, &err) == 0);
    CHECK(artifact_write_ragged(a, "tokens", DT_I32, n, off, ids, &err) == 0);
    CHECK(artifact_write_ragged(a, "logprobs", DT_F32, n, off, lp, &err) == 0);
    CHECK(artifact_write(a, "length", DT_I32, 1, &n, len, &err) == 0);
    CHECK(artifact_write(a, "finish", DT_I32, 1, &n, fin, &err) == 0);
    CHECK(artifact_write_strings(a, "text", n, text, &err) == 0);
    CHECK(artifact_write_ragged(a, "step_ends", DT_I32, n, off, ends, &err) == 0);
    CHECK(artifact_write_ragged(a, "step_bytes", DT_I32, n, off, bytes, &err) == 0);
    CHECK(artifact_close(a, &err) == 0);
    free(off), free(poff), free(grp), free(len), free(fin), free(path);
}

static void write_rewards(const char *name, const int64_t *off, int64_t n, const float *v) {
    PureErr err = {0};
    char *path = path_in(name);
    Artifact *a = artifact_create(path, &err);
    CHECK(a && artifact_write_ragged(a, "step_rewards", DT_F32, n, off, v, &err) == 0);
    CHECK(artifact_close(a, &err) == 0);
    free(path);
}

/* Runs prm on rollouts.h5/prompts.h5; out gets the step rewards (n_out values). */
static int run_prm(const char *const *params, float *out, int64_t n_out, cJSON **metrics, PureErr *err) {
    char r[600], p[600];
    char *rp = path_in("rollouts.h5"), *pp = path_in("prompts.h5"), *od = path_in("prm_out");
    snprintf(r, sizeof r, "rollouts=%s", rp);
    snprintf(p, sizeof p, "prompts=%s", pp);
    const char *inputs[] = {r, p, NULL};
    PureErr tmp;
    fs_remove_all(od, &tmp);
    fs_mkdir_p(od, &tmp);
    int rc = test_stage_run(&stage_kind_prm, params, inputs, od, metrics, err);
    if (!rc) {
        char *h5 = fs_join(od, "rewards.h5");
        Artifact *a = artifact_open(h5, err);
        int64_t rows, *off;
        float *v;
        CHECK(a && artifact_read_ragged(a, "step_rewards", DT_F32, &rows, &off, (void **)&v, err) == 0);
        if (a) {
            CHECK(off[rows] == n_out);
            memcpy(out, v, (size_t)n_out * sizeof *v);
            free(off), free(v);
            artifact_close(a, NULL);
        }
        free(h5);
    }
    free(rp), free(pp), free(od);
    return rc;
}

static double metric(const cJSON *m, const char *name) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, name);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* ---------------------------------------------------------------- the checker and hard negatives */

static void test_kinds_and_negatives(void) {
    ToyCheckOptions o;
    toy_check_options_default(&o);
    o.require_progress = 1;
    float r[8];
    ToyStepInfo in[8];
    const char *P = "23+45-12=?";
    CHECK(toy_check_steps_info(P, "23+45=68\n\n68+0=68\n\n68-12=55\n\n\\boxed{55}", &o, r, in, 8) == 4);
    CHECK(in[0].kind == TOY_STEP_PROGRESS && in[1].kind == TOY_STEP_FILLER && in[2].kind == TOY_STEP_SLIP &&
          in[2].error == -1 && in[3].kind == TOY_STEP_WRONG_ANSWER && in[3].error == -1);
    CHECK(r[0] > 0 && r[1] > 0 && r[2] < 0 && r[3] < 0);
    CHECK(toy_check_steps_info(P, "23-12=11\n\nso\n\n\\boxed{56}", &o, r, in, 8) == 3);
    CHECK(in[0].kind == TOY_STEP_OFF_TRACK && in[1].kind == TOY_STEP_OTHER && in[2].kind == TOY_STEP_ANSWER);
    /* every hard negative has exactly the defect it names, and a wrong final answer */
    ToyConfig c;
    toy_config_default(&c);
    int seen[TOY_NEG_KINDS] = {0};
    for (uint64_t i = 0; i < 300; i++) {
        ToyProblem p;
        toy_problem_generate(&c, 9, i, &p);
        for (int k = 0; k < TOY_NEG_KINDS; k++) {
            char *neg = toy_negative(&p, k, 4, i);
            char *again = toy_negative(&p, k, 4, i);
            CHECK(!strcmp(neg, again));
            float rw[16];
            ToyStepInfo si[16];
            int n = toy_check_steps_info(p.text, neg, &o, rw, si, 16), slips = 0, off = 0, wrong_ans = 0, ans = 0;
            CHECK(n >= 2 && n <= 16);
            for (int s = 0; s < n && s < 16; s++) {
                slips += si[s].kind == TOY_STEP_SLIP;
                off += si[s].kind == TOY_STEP_OFF_TRACK;
                wrong_ans += si[s].kind == TOY_STEP_WRONG_ANSWER;
                ans += si[s].kind == TOY_STEP_ANSWER;
            }
            if (k == TOY_NEG_SMALL_SLIP) {
                CHECK(slips == 1 && off == 0);
                for (int s = 0; s < n; s++)
                    if (si[s].kind == TOY_STEP_SLIP) CHECK(labs(si[s].error) >= 1 && labs(si[s].error) <= 2);
            }
            if (k == TOY_NEG_WRONG_ANSWER) CHECK(slips == 0 && off == 0 && wrong_ans == 1);
            /* a skip is drawn where the next operation differs and is not "+0", so it never reads as progress */
            int can_skip = 0;
            for (int g = 0; g + 2 < p.n_operands; g++)
                can_skip |= p.operands[g + 2] != 0 && (p.ops[g] != p.ops[g + 1] || p.operands[g + 1] != p.operands[g + 2]);
            if (k == TOY_NEG_SKIP && can_skip) CHECK(off >= 1);
            if (k == TOY_NEG_OPERAND) CHECK(off >= 1);
            /* the defect makes the answer wrong, except a skip or miscopy that happens to land on it */
            if (k == TOY_NEG_SMALL_SLIP || k == TOY_NEG_WRONG_ANSWER) CHECK(ans == 0);
            seen[k] += ans == 0;
            free(neg), free(again);
        }
    }
    for (int k = 0; k < TOY_NEG_KINDS; k++) CHECK(seen[k] > 200);
    /* the clean solution is all correct steps and the right answer */
    for (uint64_t i = 0; i < 300; i++) {
        ToyProblem p;
        toy_problem_generate(&c, 9, i, &p);
        char *pos = toy_clean_solution(&p);
        float rw[16];
        int n = toy_check_steps(p.text, pos, &o, rw, 16);
        CHECK(n == p.n_operands);
        for (int s = 0; s < n && s < 16; s++) CHECK(rw[s] > 0);
        free(pos);
    }
}

/* ---------------------------------------------------------------- prm mode controlled */

static const char *const problems[] = {"23+45-12=?", "7+8=?", "30-4+6=?"};
static const char *const answers[] = {"56", "15", "32"};

static void test_controlled(void) {
    write_prompts("prompts.h5", problems, answers, 3);
    /* steps: + slip(-1) + - | + slip(+5) - | + + + */
    const char *text[] = {"23+45=68\n\n68-12=55\n\n\\boxed{55}", "7+8=20\n\n\\boxed{20}",
                          "30-4=26\n\n26+6=32\n\nThe answer is \\boxed{32}."};
    int64_t pi[] = {0, 1, 2};
    write_rollouts("rollouts.h5", text, pi, 3);
    float oracle[8], got[8];
    PureErr err = {0};
    static const char *const p_or[] = {"mode=oracle", NULL};
    CHECK(run_prm(p_or, oracle, 8, NULL, &err) == 0);
    static const char *const p0[] = {"mode=controlled", NULL};
    CHECK(run_prm(p0, got, 8, NULL, &err) == 0);
    CHECK(!memcmp(oracle, got, sizeof got));
    /* every correct step rejected */
    static const char *const pr[] = {"mode=controlled", "false_reject=1", NULL};
    CHECK(run_prm(pr, got, 8, NULL, &err) == 0);
    for (int k = 0; k < 8; k++) CHECK(got[k] == -1.0f);
    /* small slips accepted: step 1 (off by 1) flips, step 3 (off by 5) stays wrong, answers stay wrong */
    static const char *const ps[] = {"mode=controlled", "false_accept_slip=1", "slip_margin=2", NULL};
    cJSON *m = NULL;
    CHECK(run_prm(ps, got, 8, &m, &err) == 0);
    float want[8] = {1, 1, -1, -1, -1, 1, 1, 1};
    for (int k = 0; k < 8; k++) CHECK(got[k] == want[k]);
    CHECK(fabs(metric(m, "flipped_fraction") - 1.0 / 8) < 1e-9);
    cJSON_Delete(m);
    static const char *const pa[] = {"mode=controlled", "false_accept=1", "slip_margin=2", NULL};
    CHECK(run_prm(pa, got, 8, NULL, &err) == 0);
    float want_a[8] = {1, -1, 1, 1, 1, 1, 1, 1};
    for (int k = 0; k < 8; k++) CHECK(got[k] == want_a[k]);

    /* a middle rate flips about that share, and a step's verdict depends on its text, not on where it is */
    enum { N = 400 };
    static char buf[N][64];
    const char *many[N];
    int64_t pm[N];
    for (int i = 0; i < N; i++) {
        /* correct first steps with varied operands would need varied problems: use wrong ones instead */
        snprintf(buf[i], sizeof buf[i], "7+8=%d\n\n7+8=%d", 100 + i, 100 + i);
        many[i] = buf[i], pm[i] = 1;
    }
    write_rollouts("rollouts.h5", many, pm, N);
    static float v[2 * N];
    static const char *const pm3[] = {"mode=controlled", "false_accept=0.3", NULL};
    CHECK(run_prm(pm3, v, 2 * N, NULL, &err) == 0);
    int acc = 0;
    for (int i = 0; i < N; i++) {
        CHECK(v[2 * i] == v[2 * i + 1]); /* the same step text, the same verdict */
        acc += v[2 * i] > 0;
    }
    /* 400 draws at p = 0.3: sd 9.2, so [80, 160] is beyond 4 sd */
    CHECK(acc > 80 && acc < 160);
    static const char *const pm4[] = {"mode=controlled", "false_accept=0.3", "noise_seed=5", NULL};
    static float v2[2 * N];
    CHECK(run_prm(pm4, v2, 2 * N, NULL, &err) == 0);
    CHECK(memcmp(v, v2, sizeof v) != 0);
}

/* ---------------------------------------------------------------- prm_eval */

static int run_eval(const char *const *params, int with_verify, cJSON **m, PureErr *err) {
    char r[600], s[600], l[600], v[600];
    char *rp = path_in("rollouts.h5"), *sp = path_in("scores.h5"), *lp = path_in("labels.h5"),
         *vp = path_in("verifiable.h5"), *od = path_in("eval_out");
    snprintf(r, sizeof r, "rollouts=%s", rp);
    snprintf(s, sizeof s, "scores=%s", sp);
    snprintf(l, sizeof l, "labels=%s", lp);
    snprintf(v, sizeof v, "verifiable=%s", vp);
    const char *inputs[] = {r, s, l, with_verify ? v : NULL, NULL};
    PureErr tmp;
    fs_remove_all(od, &tmp);
    fs_mkdir_p(od, &tmp);
    int rc = test_stage_run(&stage_kind_prm_eval, params, inputs, od, m, err);
    free(rp), free(sp), free(lp), free(vp), free(od);
    return rc;
}

static void write_verifiable(const uint8_t *cor, int64_t n) {
    PureErr err = {0};
    char *vp = path_in("verifiable.h5");
    Artifact *a = artifact_create(vp, &err);
    float rw[16];
    uint8_t has[16];
    const char *ex[16];
    for (int64_t i = 0; i < n; i++) rw[i] = cor[i], has[i] = 1, ex[i] = "";
    CHECK(a && artifact_write(a, "reward", DT_F32, 1, &n, rw, &err) == 0);
    CHECK(artifact_write(a, "has_reward", DT_U8, 1, &n, has, &err) == 0);
    CHECK(artifact_write(a, "correct", DT_U8, 1, &n, cor, &err) == 0);
    CHECK(artifact_write_strings(a, "extracted", n, ex, &err) == 0);
    CHECK(artifact_close(a, &err) == 0);
    free(vp);
}

/* The metrics on the steps up to each response's first error, and ProcessBench's score, on hand-worked values. */
static void test_prm_eval_first_error(void) {
    /* (label, score) per step; '|' = the first error, steps after it are out of scope
     *   r0: (+,0.5) (-,0.3)| (-,-0.4)     first flagged: step 2, not the first error -> miss
     *   r1: (-,-0.2)| (+,0.6) (-,0.1)     first flagged: step 0 -> hit
     *   r2: (+,0.7) (+,-0.1) (+,0.8)      error-free, step 1 flagged -> miss
     *   r3: (+,0.2) (+,0.9)               error-free, none flagged -> hit
     *   r4: (-,-0.3)| (+,0.5)             hit
     * in scope: positives {0.5, 0.7, -0.1, 0.8, 0.2, 0.9}, negatives {0.3, -0.2, -0.3}: 16 of 18 pairs;
     * wrong {0.3, -0.2, -0.3}, 2 flagged; flagged {-0.2, -0.1, -0.3}, 2 wrong.
     * all steps: 5 wrong, 3 of them flagged; 4 flagged. ProcessBench: errors 2/3, error-free 1/2, F1 4/7. */
    const char *t3 = "1+1=2\n\n2+2=4\n\n4+4=8", *t2 = "1+1=2\n\n2+2=4";
    const char *text[] = {t3, t3, t3, t2, t2};
    int64_t pi[] = {0, 1, 2, 3, 4}, off[] = {0, 3, 6, 9, 11, 13};
    write_rollouts("rollouts.h5", text, pi, 5);
    float lab[] = {1, -1, -1, -1, 1, -1, 1, 1, 1, 1, 1, -1, 1};
    float sc[] = {0.5f, 0.3f, -0.4f, -0.2f, 0.6f, 0.1f, 0.7f, -0.1f, 0.8f, 0.2f, 0.9f, -0.3f, 0.5f};
    write_rewards("labels.h5", off, 5, lab);
    write_rewards("scores.h5", off, 5, sc);
    uint8_t cor[] = {0, 0, 1, 1, 0};
    write_verifiable(cor, 5);
    PureErr err = {0};
    cJSON *m = NULL;
    static const char *const p[] = {NULL};
    CHECK(run_eval(p, 1, &m, &err) == 0);
    CHECK(fabs(metric(m, "first_error_step_auc") - 16.0 / 18) < 1e-9);
    CHECK(fabs(metric(m, "first_error_recall") - 2.0 / 3) < 1e-9);
    CHECK(fabs(metric(m, "first_error_precision") - 2.0 / 3) < 1e-9);
    CHECK(fabs(metric(m, "wrong_step_recall") - 3.0 / 5) < 1e-9);
    CHECK(fabs(metric(m, "wrong_step_precision") - 3.0 / 4) < 1e-9);
    CHECK(fabs(metric(m, "processbench_error_acc") - 2.0 / 3) < 1e-9);
    CHECK(fabs(metric(m, "processbench_correct_acc") - 0.5) < 1e-9);
    CHECK(fabs(metric(m, "processbench_f1") - 4.0 / 7) < 1e-9);
    cJSON_Delete(m);
    /* the bar reads the steps it is told to: recall 2/3 to the first error passes 0.65, 3/5 on all steps does not */
    static const char *const pall[] = {"min_wrong_recall=0.65", "min_wrong_precision=0.6", "min_response_auc=0",
                                       "enforce=true", NULL};
    static const char *const pfe[] = {"min_wrong_recall=0.65", "min_wrong_precision=0.6", "min_response_auc=0",
                                      "enforce=true", "bar_steps=to_first_error", NULL};
    m = NULL;
    CHECK(run_eval(pall, 1, &m, &err) < 0 && strstr(err.msg, "wrong-step recall (all steps)"));
    cJSON_Delete(m);
    m = NULL;
    CHECK(run_eval(pfe, 1, &m, &err) == 0 && metric(m, "meets_bar") == 1);
    cJSON_Delete(m);
    static const char *const pbad[] = {"bar_steps=first", NULL};
    m = NULL;
    CHECK(run_eval(pbad, 1, &m, &err) < 0 && strstr(err.msg, "bar_steps"));
    cJSON_Delete(m);
}

static void test_prm_eval(void) {
    /* 3 responses: steps (label, score): r0 (+,0.9) (-,-0.5); r1 (+,0.1) (-,0.2); r2 (+,0.6) (+,0.4)
     * step AUC: positives {0.9, 0.1, 0.6, 0.4} over negatives {-0.5, 0.2}: 4 + 1 + 2 + 2 = 7 of 8 pairs */
    const char *text[] = {"1+1=2\n\n2+2=4", "1+1=2\n\n2+2=4", "1+1=2\n\n2+2=4"};
    int64_t pi[] = {0, 1, 2}, off[] = {0, 2, 4, 6};
    write_rollouts("rollouts.h5", text, pi, 3);
    float lab[] = {1, -1, 1, -1, 1, 1}, sc[] = {0.9f, -0.5f, 0.1f, 0.2f, 0.6f, 0.4f};
    write_rewards("labels.h5", off, 3, lab);
    write_rewards("scores.h5", off, 3, sc);
    /* verifiable: r0 wrong, r1 wrong, r2 right; min scores -0.5, 0.1, 0.4: response AUC 1 */
    PureErr err = {0};
    uint8_t cor[] = {0, 0, 1};
    write_verifiable(cor, 3);
    cJSON *m = NULL;
    static const char *const p[] = {NULL};
    CHECK(run_eval(p, 1, &m, &err) == 0);
    CHECK(fabs(metric(m, "step_auc") - 7.0 / 8) < 1e-9);
    CHECK(fabs(metric(m, "wrong_step_recall") - 0.5) < 1e-9);   /* -0.5 flagged, 0.2 missed */
    CHECK(fabs(metric(m, "wrong_step_precision") - 1.0) < 1e-9);
    CHECK(fabs(metric(m, "response_auc") - 1.0) < 1e-9);
    CHECK(fabs(metric(m, "wrong_all_pass_fraction") - 0.5) < 1e-9); /* r1: no step flagged */
    CHECK(fabs(metric(m, "answer_argmin_fraction") - 1.0) < 1e-9);  /* r2's lowest is its last step */
    CHECK(fabs(metric(m, "correct_step_fraction") - 4.0 / 6) < 1e-9);
    CHECK(metric(m, "meets_bar") == 0);
    cJSON_Delete(m);
    /* a threshold of 0.3 flags 0.1, 0.2 and -0.5: recall 1, precision 2/3 */
    static const char *const p3[] = {"threshold=0.3", NULL};
    CHECK(run_eval(p3, 1, &m, &err) == 0);
    CHECK(fabs(metric(m, "wrong_step_recall") - 1.0) < 1e-9 && fabs(metric(m, "wrong_step_precision") - 2.0 / 3) < 1e-9);
    cJSON_Delete(m);
    /* enforce fails below the bar and names what is missing; without the verifiable input the response AUC
     * is unknown, so the bar cannot be met */
    static const char *const pe[] = {"threshold=0.3", "min_wrong_precision=0.6", "enforce=true", NULL};
    CHECK(run_eval(pe, 1, &m, &err) == 0);
    CHECK(metric(m, "meets_bar") == 1);
    cJSON_Delete(m);
    m = NULL;
    CHECK(run_eval(pe, 0, &m, &err) < 0 && strstr(err.msg, "below the quality bar on: response AUC"));
    cJSON_Delete(m);
    /* labels that do not align with the rollouts' steps are refused */
    int64_t bad_off[] = {0, 2, 4, 5};
    write_rewards("labels.h5", bad_off, 3, lab);
    m = NULL;
    CHECK(run_eval(p, 1, &m, &err) < 0 && strstr(err.msg, "labels"));
    cJSON_Delete(m);
    /* a NaN score is refused */
    write_rewards("labels.h5", off, 3, lab);
    sc[3] = NAN;
    write_rewards("scores.h5", off, 3, sc);
    m = NULL;
    CHECK(run_eval(p, 1, &m, &err) < 0 && strstr(err.msg, "input 'scores': step 3"));
    cJSON_Delete(m);
}

/* ---------------------------------------------------------------- verify reference_fraction */

static int verify_has(const char *const *params, uint8_t *has, uint8_t *cor, int64_t n, PureErr *err) {
    char r[600], p[600];
    char *rp = path_in("rollouts.h5"), *pp = path_in("prompts.h5"), *od = path_in("verify_out");
    snprintf(r, sizeof r, "rollouts=%s", rp);
    snprintf(p, sizeof p, "prompts=%s", pp);
    const char *inputs[] = {r, p, NULL};
    PureErr tmp;
    fs_remove_all(od, &tmp);
    fs_mkdir_p(od, &tmp);
    int rc = test_stage_run(&stage_kind_verify, params, inputs, od, NULL, err);
    if (!rc) {
        char *h5 = fs_join(od, "verifiable.h5");
        Artifact *a = artifact_open(h5, err);
        int64_t d[ARTIFACT_MAX_DIMS];
        uint8_t *h = a ? artifact_read(a, "has_reward", DT_U8, 1, d, err) : NULL;
        uint8_t *c = a ? artifact_read(a, "correct", DT_U8, 1, d, err) : NULL;
        CHECK(h && c && d[0] == n);
        if (h && c) memcpy(has, h, (size_t)n), memcpy(cor, c, (size_t)n);
        free(h), free(c);
        artifact_close(a, NULL);
        free(h5);
    }
    free(rp), free(pp), free(od);
    return rc;
}

static void test_reference_fraction(void) {
    enum { P = 1000 };
    static char pb[P][32], rf[P][16], tx[2 * P][48];
    const char *prob[P], *ref[P], *text[2 * P];
    int64_t pi[2 * P];
    for (int i = 0; i < P; i++) {
        snprintf(pb[i], sizeof pb[i], "%d+1=?", i);
        snprintf(rf[i], sizeof rf[i], "%d", i + 1);
        prob[i] = pb[i], ref[i] = rf[i];
    }
    write_prompts("prompts.h5", prob, ref, P);
    /* two responses per prompt, in reverse prompt order, the second always wrong */
    for (int i = 0; i < 2 * P; i++) {
        int row = P - 1 - i / 2;
        snprintf(tx[i], sizeof tx[i], "\\boxed{%d}", i % 2 ? -1 : row + 1);
        text[i] = tx[i], pi[i] = row;
    }
    write_rollouts("rollouts.h5", text, pi, 2 * P);
    static uint8_t has[2 * P], cor[2 * P], has2[2 * P];
    PureErr err = {0};
    static const char *const p10[] = {"reference_fraction=0.1", "reference_seed=3", NULL};
    CHECK(verify_has(p10, has, cor, 2 * P, &err) == 0);
    int kept = 0, graded = 0;
    for (int i = 0; i < 2 * P; i++) {
        CHECK(has[i] == has[i ^ 1]); /* a prompt keeps its reference for all its responses */
        kept += has[i];
        graded += cor[i];
        CHECK(cor[i] == !(i % 2));
    }
    CHECK(graded == P);               /* correctness is graded on every row */
    CHECK(kept > 2 * 60 && kept < 2 * 140); /* 1000 prompts at 0.1: sd 9.5 prompts */
    /* the same rows for other rollouts of the same prompts: keyed on the prompt row */
    write_rollouts("rollouts.h5", text + 1, pi + 1, 2 * P - 1);
    CHECK(verify_has(p10, has2, cor, 2 * P - 1, &err) == 0);
    for (int i = 0; i < 2 * P - 1; i++) CHECK(has2[i] == has[i + 1]);
    static const char *const p1[] = {NULL};
    write_rollouts("rollouts.h5", text, pi, 2 * P);
    CHECK(verify_has(p1, has, cor, 2 * P, &err) == 0);
    for (int i = 0; i < 2 * P; i++) CHECK(has[i] == 1);
}

/* ---------------------------------------------------------------- validate-time script checks */

static void test_validate_scripts(void) {
    PureErr err = {0};
    char *bad = path_in("bad.lua"), *none = path_in("none.lua"), arg[700];
    const char *b = "function score(p, s, r\n", *n = "x = 1\n";
    CHECK(fs_write_atomic(bad, b, strlen(b), &err) == 0 && fs_write_atomic(none, n, strlen(n), &err) == 0);
    snprintf(arg, sizeof arg, "script=%s", bad);
    const char *p1[] = {"mode=lua", arg, NULL};
    CHECK(test_stage_check(&stage_kind_prm, p1, &err) < 0 && strstr(err.msg, "bad.lua"));
    snprintf(arg, sizeof arg, "script=%s", none);
    CHECK(test_stage_check(&stage_kind_prm, p1, &err) < 0 && strstr(err.msg, "defines no function score"));
    const char *p2[] = {"mode=oracle", arg, NULL};
    CHECK(test_stage_check(&stage_kind_prm, p2, &err) < 0 && strstr(err.msg, "script is set but mode is oracle"));
    free(bad), free(none);
}

/* ---------------------------------------------------------------- calibration */

/* Three design points, each with its own observed rate, so the maximum-likelihood fit (ridge 0) reproduces the
 * rates exactly: logistic regression with as many parameters as distinct points is saturated. (head, lm) = (0, 0):
 * 3 of 4 correct, bias = logit(3/4) = ln 3; (1, 0): 1 of 4, bias + w_head = logit(1/4) = -ln 3, so w_head = -2 ln 3;
 * (0, 1): 2 of 4, bias + w_lm = 0, so w_lm = -ln 3. NaN rows are skipped. */
static void test_calib_fit(void) {
    float head[13] = {0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, NAN}, lm[13] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0};
    uint8_t y[13] = {1, 1, 1, 0, 1, 0, 0, 0, 1, 1, 0, 0, 1};
    CalibFit f;
    PureErr err = {0};
    CHECK(calib_fit(head, lm, y, 13, 0, &f, &err) == 0);
    double l3 = log(3.0);
    CHECK(fabs(f.w[CALIB_BIAS] - l3) < 1e-8 && fabs(f.w[CALIB_HEAD] + 2 * l3) < 1e-8 && fabs(f.w[CALIB_LM] + l3) < 1e-8);
    CHECK(f.steps == 12 && f.wrong == 6);
    /* log-loss: 4 rows at p = 3/4 (3 right), 4 at 1/4 (1 right), 4 at 1/2 */
    double ll = -(3 * log(0.75) + log(0.25) + 3 * log(0.75) + log(0.25) + 4 * log(0.5)) / 12;
    CHECK(fabs(f.log_loss - ll) < 1e-9);
    /* the reward at each point is 2 p - 1; a missing feature gives NaN */
    CHECK(fabs(calib_reward(f.w, 0, 0) - 0.5f) < 1e-6 && fabs(calib_reward(f.w, 1, 0) + 0.5f) < 1e-6);
    CHECK(fabs(calib_reward(f.w, 0, 1)) < 1e-6 && isnan(calib_reward(f.w, NAN, 0)) && isnan(calib_reward(f.w, 0, INFINITY)));
    /* a ridge pulls the two weights towards 0, never the bias's sign */
    CalibFit g;
    CHECK(calib_fit(head, lm, y, 13, 1.0, &g, &err) == 0);
    CHECK(fabs(g.w[CALIB_HEAD]) < fabs(f.w[CALIB_HEAD]) && fabs(g.w[CALIB_LM]) < fabs(f.w[CALIB_LM]) && g.w[CALIB_BIAS] > 0);
    /* failures: one class without a ridge; separable labels without a ridge; too few steps; collinear features */
    uint8_t all[12] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, sep[12] = {1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1};
    CHECK(calib_fit(head, lm, all, 12, 0, &f, &err) < 0 && strstr(err.msg, "all 12 steps are correct"));
    CHECK(calib_fit(head, lm, sep, 12, 0, &f, &err) < 0 && strstr(err.msg, "separable"));
    CHECK(calib_fit(head, lm, sep, 12, 1e-3, &f, &err) == 0 && f.w[CALIB_HEAD] < -5);
    CHECK(calib_fit(head + 12, lm + 12, y + 12, 1, 0, &f, &err) < 0 && strstr(err.msg, "too few"));
    float same[12] = {0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0};
    CHECK(calib_fit(head, same, y, 12, 0, &f, &err) < 0 && strstr(err.msg, "collinear")); /* lm = head */
}

static void write_calibration(const char *name, double bias, double wh, double wl) {
    PureErr err = {0};
    char *path = path_in(name);
    Artifact *a = artifact_create(path, &err);
    CalibFit f = {{bias, wh, wl}, 0.5, 3, 10, 4};
    CHECK(a && calib_write(a, &f, &err) == 0);
    CHECK(artifact_close(a, &err) == 0);
    free(path);
}

static int run_calibrate(const char *features, cJSON **m, PureErr *err) {
    char r[600], f[600], l[600];
    char *rp = path_in("rollouts.h5"), *fp = path_in(features), *lp = path_in("labels.h5"), *od = path_in("cal_out");
    snprintf(r, sizeof r, "rollouts=%s", rp);
    snprintf(f, sizeof f, "features=%s", fp);
    snprintf(l, sizeof l, "labels=%s", lp);
    const char *inputs[] = {r, f, l, NULL};
    static const char *const params[] = {"ridge=0", NULL};
    PureErr tmp;
    fs_remove_all(od, &tmp);
    fs_mkdir_p(od, &tmp);
    int rc = test_stage_run(&stage_kind_prm_calibrate, params, inputs, od, m, err);
    free(rp), free(fp), free(lp), free(od);
    return rc;
}

static void test_prm_calibrate(void) {
    /* the saturated design of test_calib_fit as 6 two-step responses */
    const char *text[6];
    int64_t pi[6], off[7] = {0};
    for (int i = 0; i < 6; i++) text[i] = "1+1=2\n\n2+2=4", pi[i] = i % 3, off[i + 1] = 2 * (i + 1);
    write_prompts("prompts.h5", problems, answers, 3);
    write_rollouts("rollouts.h5", text, pi, 6);
    float head[12] = {0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0}, lm[12] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1};
    float lab[12] = {1, 1, 1, -1, 1, -1, -1, -1, 1, 1, -1, -1};
    PureErr err = {0};
    char *fp = path_in("features.h5");
    Artifact *a = artifact_create(fp, &err);
    CHECK(a && artifact_write_ragged(a, "step_rewards", DT_F32, 6, off, head, &err) == 0);
    CHECK(artifact_write_ragged(a, "step_head", DT_F32, 6, off, head, &err) == 0);
    CHECK(artifact_write_ragged(a, "step_lm_min_logprob", DT_F32, 6, off, lm, &err) == 0);
    CHECK(artifact_close(a, &err) == 0);
    write_rewards("labels.h5", off, 6, lab);
    cJSON *m = NULL;
    CHECK(run_calibrate("features.h5", &m, &err) == 0);
    CHECK(fabs(metric(m, "bias") - log(3.0)) < 1e-8 && fabs(metric(m, "w_head") + 2 * log(3.0)) < 1e-8 &&
          fabs(metric(m, "w_lm") + log(3.0)) < 1e-8 && metric(m, "steps") == 12);
    cJSON_Delete(m);
    /* what it wrote reads back */
    char *cp = path_in("cal_out/calibration.h5");
    double w[CALIB_NW];
    CHECK((a = artifact_open(cp, &err)) != NULL && calib_read(a, w, &err) == 0 && fabs(w[CALIB_LM] + log(3.0)) < 1e-8);
    if (a) artifact_close(a, NULL);
    free(cp);
    /* features without the LM's: the error names the port, the file, the dataset and the fix */
    write_rewards("plain.h5", off, 6, head);
    m = NULL;
    CHECK(run_calibrate("plain.h5", &m, &err) < 0 && strstr(err.msg, "input 'features'") &&
          strstr(err.msg, "plain.h5") && strstr(err.msg, "step_head") && strstr(err.msg, "given the input 'lm'"));
    cJSON_Delete(m);
    m = NULL;
    /* a NaN label */
    lab[5] = NAN;
    write_rewards("labels.h5", off, 6, lab);
    CHECK(run_calibrate("features.h5", &m, &err) < 0 && strstr(err.msg, "input 'labels': step 5"));
    cJSON_Delete(m);
    /* a calibration with a non-finite weight is refused, naming the file and the attribute */
    write_calibration("badcal.h5", 0.1, NAN, 1);
    char *bp = path_in("badcal.h5");
    CHECK((a = artifact_open(bp, &err)) != NULL && calib_read(a, w, &err) < 0 && strstr(err.msg, "badcal.h5") &&
          strstr(err.msg, "'w_head'"));
    if (a) artifact_close(a, NULL);
    /* a file that is not a calibration */
    char *lp = path_in("labels.h5");
    CHECK((a = artifact_open(lp, &err)) != NULL && calib_read(a, w, &err) < 0 && strstr(err.msg, "not a PRM calibration"));
    if (a) artifact_close(a, NULL);
    /* the prm stage: lm and calibration are for mode model, and a calibration needs its lm */
    char r[600], p[600], c[600], l[600];
    char *rp = path_in("rollouts.h5"), *pp = path_in("prompts.h5"), *od = path_in("prm_out");
    write_calibration("cal.h5", 0.1, 2, 1);
    char *gp = path_in("cal.h5");
    snprintf(r, sizeof r, "rollouts=%s", rp);
    snprintf(p, sizeof p, "prompts=%s", pp);
    snprintf(c, sizeof c, "calibration=%s", gp);
    snprintf(l, sizeof l, "lm=%s", dir);
    const char *in1[] = {r, p, l, NULL};
    static const char *const oracle[] = {"mode=oracle", NULL};
    PureErr tmp;
    fs_remove_all(od, &tmp);
    fs_mkdir_p(od, &tmp);
    CHECK(test_stage_run(&stage_kind_prm, oracle, in1, od, NULL, &err) < 0 && strstr(err.msg, "not mode oracle"));
    snprintf(l, sizeof l, "model=%s", dir); /* checked before the model is read */
    const char *in3[] = {r, p, l, c, NULL};
    static const char *const model[] = {"mode=model", NULL};
    CHECK(test_stage_run(&stage_kind_prm, model, in3, od, NULL, &err) < 0 && strstr(err.msg, "needs the input 'lm'"));
    free(rp), free(pp), free(od), free(gp), free(bp), free(lp), free(fp);
}

int main(void) {
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_kinds_and_negatives();
    test_controlled();
    test_prm_eval();
    test_prm_eval_first_error();
    test_reference_fraction();
    test_validate_scripts();
    test_calib_fit();
    test_prm_calibrate();
    PureErr err;
    fs_remove_all(dir, &err);
    return check_report("test_prm_quality");
}
