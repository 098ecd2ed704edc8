/* test_toy_check_diff.c - the toy step checker against an independent Python implementation
 * (tests/data/toy_check_ref.py): demonstrations with slips and filler, mutated at random (steps dropped,
 * repeated, swapped, numbers changed, useless or garbage steps inserted, answers changed, spaces added), scored
 * by the C checker in both modes; the script recomputes every reward. */
#include <stdlib.h>
#include <cjson/cJSON.h>
#include "stages/common/steps.h"
#include "stages/common/toy.h"
#include "util/sbuf.h"
#include "tests/check.h"
#include "util/rng.h"

/* A random mutation of a demonstration's steps. */
static char *mutate(const char *sol, Rng *r) {
    size_t *ends = NULL, *starts = NULL;
    int n = steps_split(sol, strlen(sol), &ends, &starts);
    char *steps[24];
    int k = 0;
    for (int i = 0; i < n && k < 20; i++) {
        size_t a = starts[i], b = ends[i];
        while (b > a && sol[b - 1] == '\n') b--;
        steps[k] = xmalloc(b - a + 1);
        memcpy(steps[k], sol + a, b - a);
        steps[k++][b - a] = 0;
    }
    free(ends), free(starts);
    int m = (int)rng_next_below(r, 9);
    int at = k ? (int)rng_next_below(r, (uint64_t)k) : 0;
    char tmp[96];
    if (m == 0 && k > 1) { /* drop */
        free(steps[at]);
        for (int i = at; i + 1 < k; i++) steps[i] = steps[i + 1];
        k--;
    } else if (m == 1 && k) { /* repeat */
        for (int i = k; i > at; i--) steps[i] = steps[i - 1];
        steps[at] = xstrdup(steps[at + 1]);
        k++;
    } else if (m == 2 && k > 1) { /* swap */
        int b = (int)rng_next_below(r, (uint64_t)k);
        char *t = steps[at]; steps[at] = steps[b]; steps[b] = t;
    } else if (m == 3 && k) { /* change one digit */
        char *s = steps[at];
        size_t len = strlen(s), j = (size_t)rng_next_below(r, len ? len : 1);
        for (size_t t = 0; t < len; t++, j = (j + 1) % len)
            if (s[j] >= '0' && s[j] <= '9') { s[j] = (char)('0' + rng_next_below(r, 10)); break; }
    } else if (m == 4 || m == 5) { /* insert a useless true step, or garbage */
        int a = (int)rng_next_below(r, 9);
        if (m == 4) snprintf(tmp, sizeof tmp, "%d+1=%d", a, a + 1);
        else snprintf(tmp, sizeof tmp, "hmm %d", a);
        for (int i = k; i > at; i--) steps[i] = steps[i - 1];
        steps[at] = xstrdup(tmp);
        k++;
    } else if (m == 6 && k) { /* a different boxed answer */
        free(steps[k - 1]);
        snprintf(tmp, sizeof tmp, "The answer is \\boxed{%d}.", (int)rng_next_below(r, 60));
        steps[k - 1] = xstrdup(tmp);
    } else if (m == 7 && k) { /* spaces around the operators */
        SBuf b = {0};
        for (const char *s = steps[at]; *s; s++) {
            if (*s == '+' || *s == '=' || (*s == '-' && s != steps[at])) { sbuf_addc(&b, ' '); sbuf_addc(&b, *s); sbuf_addc(&b, ' '); }
            else sbuf_addc(&b, *s);
        }
        free(steps[at]);
        steps[at] = sbuf_take(&b);
    } /* m == 8: unchanged */
    SBuf out = {0};
    for (int i = 0; i < k; i++) {
        if (i) sbuf_add(&out, rng_next_below(r, 5) ? "\n\n" : "\n\n\n");
        sbuf_add(&out, steps[i]);
        free(steps[i]);
    }
    return sbuf_take(&out);
}

int main(void) {
    ToyConfig c;
    toy_config_default(&c);
    c.error_rate = 0.3;
    c.filler_rate = 0.5;
    const char *path = "toy_check_cases.jsonl";
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return check_report("test_toy_check_diff");
    Rng r;
    rng_init(&r, 99, 0);
    int n_cases = 0, n_steps = 0, n_wrong = 0;
    for (uint64_t i = 0; i < 800; i++) {
        ToyProblem p;
        toy_problem_generate(&c, 5, i, &p);
        char *sol = toy_solution(&c, &p, 5, i);
        char *resp = i % 4 == 0 ? xstrdup(sol) : mutate(sol, &r);
        for (int mode = 0; mode < 3; mode++) {
            ToyCheckOptions o;
            toy_check_options_default(&o);
            o.require_progress = mode > 0;
            o.filler_correct = mode < 2;
            float rw[32];
            int n = toy_check_steps(p.text, resp, &o, rw, 32);
            CHECK(n >= 0 && n <= 32);
            cJSON *obj = cJSON_CreateObject();
            cJSON_AddStringToObject(obj, "problem", p.text);
            cJSON_AddStringToObject(obj, "response", resp);
            cJSON_AddBoolToObject(obj, "progress", o.require_progress);
            cJSON_AddBoolToObject(obj, "filler", o.filler_correct);
            cJSON *arr = cJSON_AddArrayToObject(obj, "rewards");
            for (int k = 0; k < n && k < 32; k++) {
                cJSON_AddItemToArray(arr, cJSON_CreateNumber(rw[k] > 0 ? 1 : -1));
                n_wrong += rw[k] < 0;
            }
            n_steps += n;
            char *line = cJSON_PrintUnformatted(obj);
            fprintf(f, "%s\n", line);
            free(line);
            cJSON_Delete(obj);
            n_cases++;
        }
        free(sol);
        free(resp);
    }
    fclose(f);
    printf("%d scored responses, %d steps, %d scored wrong\n", n_cases, n_steps, n_wrong);
    CHECK(n_wrong > n_steps / 10 && n_wrong < n_steps * 9 / 10); /* a mix of right and wrong steps */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s %s/tests/data/toy_check_ref.py %s", PURE_PYTHON, PURE_SOURCE_DIR, path);
    int rc = system(cmd);
    CHECK(rc == 0);
    remove(path);
    return check_report("test_toy_check_diff");
}
