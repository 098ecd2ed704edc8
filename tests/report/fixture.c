/* fixture.c - see fixture.h. The rollouts of iteration i (scale = 1 + i):
 *
 *   resp  prompt  text (steps)                          step rewards       correct  adv/token      return at token t
 *   0     0       "Step A\n\n" "Step B\n\n" "Answer 5"  0.9 -0.4 0.5       yes      +0.5 * scale   0.1 + 0.01 t
 *   1     0       "x\n\n" "x\n\n" "Answer 7"            0.2 0.2 0.1        no       +0.25 * scale  0.9 + 0.01 t
 *   2     1       "Answer 8", one step                  0.3                no       -0.3 * scale   0.3 + 0.01 t
 *   3     1       "\xff\xfe ok " + hostile, one step     -0.7               (no ref) -0.45 * scale  -0.7 + 0.01 t
 *
 * lengths 6, 5, 7, 2 tokens; step_ends (0-based token of each step's end):
 * {1,3,5}, {0,2,4}, {6}, {1}. */
#include "tests/report/fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "storage/artifact.h"
#include "util/fs.h"
#include "util/hash.h"

const char *const fixture_hostile_problem = "<script>alert('x')</script> & \x1b[2J\"quoted\"";
const char *const fixture_hostile_response = "<img src=x onerror=alert(1)></pre>\x1b[31mred";

typedef struct Fx {
    const char *root;
    const FixtureRun *r;
    cJSON *plan;   /* instances array */
    FILE *metrics;
} Fx;

static void fp_of(const Fx *x, const char *stage, int iter, char fp[65]) {
    char id[256];
    snprintf(id, sizeof id, "%s/%d/seed%d/%s", stage, iter, x->r->seed, x->r->rule);
    /* data and the PRM are shared by variants of one seed, as in a real sweep */
    if (!strcmp(stage, "data")) snprintf(id, sizeof id, "data/seed%d", x->r->seed);
    sha256_hex(id, strlen(id), fp);
}

static char *inst_dir(const Fx *x, const char *stage, int iter, const char *fp) {
    char rel[512];
    if (iter >= 0) snprintf(rel, sizeof rel, "stages/%s/%d/%.16s", stage, iter, fp);
    else snprintf(rel, sizeof rel, "stages/%s/%.16s", stage, fp);
    return fs_join(x->root, rel);
}

static int write_json(const char *path, const cJSON *j) {
    char *t = cJSON_Print(j);
    FILE *f = fopen(path, "wb");
    int ok = f && fputs(t, f) >= 0;
    if (f) fclose(f);
    cJSON_free(t);
    if (!ok) fprintf(stderr, "fixture: cannot write %s\n", path);
    return ok ? 0 : -1;
}

/* The done record, latest.json, the metrics line and the plan entry of one
 * stage run whose single output `port` (file port.h5) is already written. */
static int commit(Fx *x, const char *stage, int iter, const char *kind, const char *fp, cJSON *params, cJSON *inputs,
                  const char *port, cJSON *metrics) {
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "fingerprint", fp);
    cJSON_AddStringToObject(d, "stage", stage);
    cJSON_AddNumberToObject(d, "iteration", iter);
    cJSON *id = cJSON_AddObjectToObject(d, "identity");
    cJSON_AddStringToObject(id, "kind", kind);
    cJSON_AddNumberToObject(id, "version", 1);
    cJSON_AddItemToObject(id, "params", params ? params : cJSON_CreateObject());
    cJSON_AddItemToObject(id, "inputs", inputs ? inputs : cJSON_CreateObject());
    cJSON *outs = cJSON_AddObjectToObject(d, "outputs"), *o = cJSON_AddObjectToObject(outs, port);
    cJSON_AddStringToObject(o, "kind", "h5");
    cJSON *files = cJSON_AddArrayToObject(o, "files"), *f = cJSON_CreateObject();
    char file[128];
    snprintf(file, sizeof file, "%s.h5", port);
    cJSON_AddStringToObject(f, "path", file);
    cJSON_AddItemToArray(files, f);
    if (!metrics) metrics = cJSON_CreateObject();
    cJSON_AddItemToObject(d, "metrics", metrics);
    char *dir = inst_dir(x, stage, iter, fp), *done = fs_join(dir, "done.json"), *parent = fs_dirname(dir);
    char *latest = fs_join(parent, "latest.json");
    int rc = write_json(done, d) || write_json(latest, d);
    if (!rc && cJSON_GetArraySize(metrics) > 0) {
        cJSON *line = cJSON_CreateObject();
        cJSON_AddStringToObject(line, "stage", stage);
        if (iter >= 0) cJSON_AddNumberToObject(line, "iteration", iter);
        else cJSON_AddNullToObject(line, "iteration");
        const cJSON *m;
        cJSON_ArrayForEach(m, metrics) cJSON_AddItemToObject(line, m->string, cJSON_Duplicate(m, 1));
        cJSON_AddStringToObject(line, "fingerprint", fp);
        char *t = cJSON_PrintUnformatted(line);
        fprintf(x->metrics, "%s\n", t);
        cJSON_free(t);
        cJSON_Delete(line);
    }
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "stage", stage);
    cJSON_AddNumberToObject(e, "iteration", iter);
    cJSON_AddStringToObject(e, "fingerprint", fp);
    cJSON_AddItemToArray(x->plan, e);
    cJSON_Delete(d);
    free(latest);
    free(parent);
    free(done);
    free(dir);
    return rc;
}

/* Creates the commit directory and opens its output file. */
static Artifact *create(const Fx *x, const char *stage, int iter, const char *fp, const char *port) {
    PureErr err = {0};
    char *dir = inst_dir(x, stage, iter, fp), file[128];
    snprintf(file, sizeof file, "%s.h5", port);
    char *path = fs_join(dir, file);
    Artifact *a = fs_mkdir_p(dir, &err) ? NULL : artifact_create(path, &err);
    if (!a) fprintf(stderr, "fixture: %s\n", err.msg);
    free(path);
    free(dir);
    return a;
}

static int done_or_fail(Artifact *a, int rc, PureErr *err) {
    if (artifact_close(a, rc ? NULL : err) || rc) {
        fprintf(stderr, "fixture: %s\n", err->msg);
        return -1;
    }
    return 0;
}

static cJSON *ref(const char *fp, const char *out) {
    char s[128];
    snprintf(s, sizeof s, "%s:%s", fp, out);
    return cJSON_CreateString(s);
}

static int write_data(Fx *x, char fp[65]) {
    fp_of(x, "data", -1, fp);
    Artifact *a = create(x, "data", -1, fp, "train");
    if (!a) return -1;
    PureErr err = {0};
    int64_t n = 2, id[2] = {0, 1};
    uint8_t has[2] = {1, 1};
    const char *bench[2] = {"toy", "toy"}, *prob[2] = {"What is 2+3?", fixture_hostile_problem},
               *prompt[2] = {"Q: What is 2+3?", "Q: hostile"}, *refs[2] = {"5", "9"}, *sol[2] = {"", ""};
    int rc = artifact_write(a, "id", DT_I64, 1, &n, id, &err) || artifact_write_strings(a, "benchmark", n, bench, &err) ||
             artifact_write_strings(a, "problem", n, prob, &err) || artifact_write_strings(a, "prompt", n, prompt, &err) ||
             artifact_write_strings(a, "reference", n, refs, &err) ||
             artifact_write(a, "has_reference", DT_U8, 1, &n, has, &err) ||
             artifact_write_strings(a, "solution", n, sol, &err);
    if (done_or_fail(a, rc, &err)) return -1;
    return commit(x, "data", -1, "data", fp, NULL, NULL, "train", NULL);
}

static int write_iteration(Fx *x, int it, const char *data_fp) {
    PureErr err = {0};
    double scale = 1 + it;
    char fro[65], fprm[65], fver[65], fcr[65], fev[65];
    fp_of(x, "rollout", it, fro);
    fp_of(x, "prm", it, fprm);
    fp_of(x, "verify", it, fver);
    fp_of(x, "credit", it, fcr);
    fp_of(x, "eval", it, fev);
    /* rollouts */
    enum { N = 4 };
    int32_t len[N] = {6, 5, 7, 2}, fin[N] = {0, 0, 2, 0};
    int64_t pidx[N] = {0, 0, 1, 1}, grp[N] = {0, 0, 1, 1};
    char hostile[256];
    snprintf(hostile, sizeof hostile, "\xff\xfe ok %s", fixture_hostile_response);
    const char *text[N] = {"Step A\n\nStep B\n\nAnswer 5", "x\n\nx\n\nAnswer 7", "Answer 8", hostile};
    int32_t se[] = {1, 3, 5, 0, 2, 4, 6, 1}, sb[] = {8, 16, 24, 3, 6, 14, 8, (int32_t)strlen(hostile)};
    int64_t soff[N + 1] = {0, 3, 6, 7, 8}, toff[N + 1] = {0, 6, 11, 18, 20}, poff[N + 1] = {0, 1, 2, 3, 4};
    int32_t toks[20], ptoks[4] = {1, 1, 2, 2};
    float lp[20], ret[20], adv[20];
    float adv0[N] = {0.5f, 0.25f, -0.3f, -0.45f}, ret0[N] = {0.1f, 0.9f, 0.3f, -0.7f};
    for (int i = 0; i < N; i++)
        for (int64_t t = toff[i]; t < toff[i + 1]; t++) {
            toks[t] = (int32_t)(10 + t);
            lp[t] = -1.0f;
            adv[t] = (float)(adv0[i] * scale);
            ret[t] = ret0[i] + 0.01f * (float)(t - toff[i]);
        }
    int64_t n = N;
    Artifact *a = create(x, "rollout", it, fro, "rollouts");
    if (!a) return -1;
    int rc = artifact_write(a, "prompt_index", DT_I64, 1, &n, pidx, &err) ||
             artifact_write(a, "group", DT_I64, 1, &n, grp, &err) ||
             artifact_write_ragged(a, "prompt_tokens", DT_I32, n, poff, ptoks, &err) ||
             artifact_write_ragged(a, "tokens", DT_I32, n, toff, toks, &err) ||
             artifact_write_ragged(a, "logprobs", DT_F32, n, toff, lp, &err) ||
             artifact_write(a, "length", DT_I32, 1, &n, len, &err) ||
             artifact_write(a, "finish", DT_I32, 1, &n, fin, &err) || artifact_write_strings(a, "text", n, text, &err) ||
             artifact_write_ragged(a, "step_ends", DT_I32, n, soff, se, &err) ||
             artifact_write_ragged(a, "step_bytes", DT_I32, n, soff, sb, &err);
    if (done_or_fail(a, rc, &err)) return -1;
    cJSON *in = cJSON_CreateObject();
    cJSON_AddItemToObject(in, "prompts", ref(data_fp, "train"));
    cJSON *m = cJSON_CreateObject();
    cJSON_AddNumberToObject(m, "length", 5.0);
    cJSON_AddNumberToObject(m, "steps", 2.0);
    if (commit(x, "rollout", it, "rollout", fro, NULL, in, "rollouts", m)) return -1;
    /* process rewards */
    float sr[] = {0.9f, -0.4f, 0.5f, 0.2f, 0.2f, 0.1f, 0.3f, -0.7f};
    if (!(a = create(x, "prm", it, fprm, "rewards"))) return -1;
    rc = artifact_write_ragged(a, "step_rewards", DT_F32, n, soff, sr, &err) ||
         artifact_set_attr_str(a, "/", "mode", "oracle", &err);
    if (done_or_fail(a, rc, &err)) return -1;
    in = cJSON_CreateObject();
    cJSON_AddItemToObject(in, "rollouts", ref(fro, "rollouts"));
    m = cJSON_CreateObject();
    cJSON_AddNumberToObject(m, "step_reward", x->r->reward0 - 0.01 * it);
    if (commit(x, "prm", it, "prm", fprm, NULL, in, "rewards", m)) return -1;
    /* verifiable rewards */
    float vr[N] = {1, 0, 0, 0};
    uint8_t hasr[N] = {1, 1, 1, 0}, cor[N] = {1, 0, 0, 0};
    const char *ex[N] = {"5", "7", "", "ok"};
    if (!(a = create(x, "verify", it, fver, "verifiable"))) return -1;
    rc = artifact_write(a, "reward", DT_F32, 1, &n, vr, &err) || artifact_write(a, "has_reward", DT_U8, 1, &n, hasr, &err) ||
         artifact_write(a, "correct", DT_U8, 1, &n, cor, &err) || artifact_write_strings(a, "extracted", n, ex, &err);
    if (done_or_fail(a, rc, &err)) return -1;
    in = cJSON_CreateObject();
    cJSON_AddItemToObject(in, "rollouts", ref(fro, "rollouts"));
    cJSON_AddItemToObject(in, "prompts", ref(data_fp, "train"));
    if (commit(x, "verify", it, "verify", fver, NULL, in, "verifiable", NULL)) return -1;
    /* advantages: the credit stage reads the rollouts and the PRM's rewards, not the verifier
       (the view finds the verify stage that graded the same rollouts) */
    if (!(a = create(x, "credit", it, fcr, "advantages"))) return -1;
    rc = artifact_write_ragged(a, "returns", DT_F32, n, toff, ret, &err) ||
         artifact_write_ragged(a, "advantages", DT_F32, n, toff, adv, &err);
    if (done_or_fail(a, rc, &err)) return -1;
    in = cJSON_CreateObject();
    cJSON_AddItemToObject(in, "rollouts", ref(fro, "rollouts"));
    cJSON_AddItemToObject(in, "rewards", ref(fprm, "rewards"));
    cJSON_AddNullToObject(in, "verifiable");
    cJSON *params = cJSON_CreateObject();
    char rule[64];
    snprintf(rule, sizeof rule, "3:%s", x->r->rule);
    cJSON_AddStringToObject(params, "rule", rule);
    m = cJSON_CreateObject();
    cJSON_AddNumberToObject(m, "advantages_mean", 0.0);
    if (commit(x, "credit", it, "credit", fcr, params, in, "advantages", m)) return -1;
    /* eval: only its metrics are read by the views; its results file is a stub */
    if (!(a = create(x, "eval", it, fev, "results"))) return -1;
    if (done_or_fail(a, artifact_set_attr_f64(a, "/", "accuracy", x->r->acc0 + x->r->acc_step * it, &err), &err))
        return -1;
    m = cJSON_CreateObject();
    cJSON_AddNumberToObject(m, "accuracy", x->r->acc0 + x->r->acc_step * it);
    cJSON_AddNumberToObject(m, "steps", 2.0 + it);
    cJSON_AddNumberToObject(m, "hack_flag", it == x->r->hack_at);
    cJSON_AddNumberToObject(m, "hack_steps_explode", it == x->r->hack_at);
    return commit(x, "eval", it, "eval", fev, NULL, NULL, "results", m);
}

int fixture_write(const char *root, const FixtureRun *r, const char *plan_path) {
    PureErr err = {0};
    if (fs_mkdir_p(root, &err)) {
        fprintf(stderr, "fixture: %s\n", err.msg);
        return -1;
    }
    Fx x = {root, r, cJSON_CreateArray(), NULL};
    char *mpath = fs_join(root, "metrics.jsonl");
    x.metrics = fopen(mpath, "ab");
    free(mpath);
    char data_fp[65], ffin[65];
    int rc = !x.metrics || write_data(&x, data_fp);
    for (int it = 0; !rc && it < r->iterations; it++) rc = write_iteration(&x, it, data_fp);
    if (!rc) {
        fp_of(&x, "final_eval", -1, ffin);
        Artifact *a = create(&x, "final_eval", -1, ffin, "results");
        rc = !a || done_or_fail(a, 0, &err);
        cJSON *m = cJSON_CreateObject();
        cJSON_AddNumberToObject(m, "accuracy", r->acc0 + r->acc_step * (r->iterations - 1));
        cJSON_AddNumberToObject(m, "steps", 1.0 + r->iterations);
        /* its policy comes from the loop: that makes it the final evaluation */
        char last[65];
        fp_of(&x, "credit", r->iterations - 1, last);
        cJSON *in = cJSON_CreateObject();
        cJSON_AddItemToObject(in, "policy", ref(last, "policy"));
        if (!rc) rc = commit(&x, "final_eval", -1, "eval", ffin, NULL, in, "results", m);
        else {
            cJSON_Delete(in);
            cJSON_Delete(m);
        }
    }
    if (x.metrics) fclose(x.metrics);
    if (!rc && plan_path) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddItemToObject(p, "instances", x.plan);
        x.plan = NULL;
        rc = write_json(plan_path, p);
        cJSON_Delete(p);
    }
    cJSON_Delete(x.plan);
    return rc ? -1 : 0;
}
