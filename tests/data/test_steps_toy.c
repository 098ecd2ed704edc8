/* test_steps_toy.c - steps_split edge cases, the toy generator and demonstrations, and the exact step
 * checker on hand-worked responses (filler and wrong steps scored as designed, with and without progress). */
#include <stdlib.h>
#include "stages/common/steps.h"
#include "stages/common/toy.h"
#include "tests/check.h"

/* Splits s and compares the step ends with the expected list (n values). */
static void check_split(const char *s, int n, const size_t *want) {
    size_t *ends = NULL, *starts = NULL;
    int got = steps_split(s, strlen(s), &ends, &starts);
    CHECK(got == n);
    if (got != n) fprintf(stderr, "  steps_split(\"%s\") = %d steps, expected %d\n", s, got, n);
    for (int i = 0; i < n && i < got; i++) {
        CHECK(ends[i] == want[i]);
        CHECK(starts[i] == (i ? ends[i - 1] : 0));
    }
    if (n == 0) CHECK(ends == NULL && starts == NULL);
    free(ends);
    free(starts);
}

static void test_steps(void) {
    check_split("", 0, NULL);
    check_split("   \n\n \n", 0, NULL);
    check_split("abc", 1, (size_t[]){3});
    check_split("a\n\nb", 2, (size_t[]){3, 4});
    check_split("a\n\nb\n\n", 2, (size_t[]){3, 6});           /* trailing delimiter: no extra step */
    check_split("a\n\nb\n\n  \n", 2, (size_t[]){3, 9});       /* trailing whitespace joins the last step */
    check_split("a\n\n\n\nb", 2, (size_t[]){5, 6});           /* a run of newlines is one delimiter */
    check_split("a\n\n\nb", 2, (size_t[]){4, 5});
    check_split("a\nb\nc", 1, (size_t[]){5});                  /* single newlines do not split */
    check_split("\n\na\n\nb", 2, (size_t[]){5, 6});           /* a leading delimiter makes no empty step */
    check_split("a\n\n \n\nb", 2, (size_t[]){3, 7});          /* a blank step joins the next */
    check_split("23+45=68\n\n68-12=56\n\nThe answer is \\boxed{56}.", 3, (size_t[]){10, 20, 45});
    /* a length shorter than the string: only the prefix counts */
    size_t *e = NULL;
    CHECK(steps_split("a\n\nb\n\nc", 4, &e, NULL) == 2);
    CHECK(e && e[1] == 4);
    free(e);
}

static void test_generator(void) {
    ToyConfig c;
    toy_config_default(&c);
    int seen_ops[8] = {0}, n_filler = 0, n_plain = 0, n_wrong_answer = 0, n_neg = 0;
    for (uint64_t i = 0; i < 2000; i++) {
        ToyProblem p, q, back;
        toy_problem_generate(&c, 7, i, &p);
        toy_problem_generate(&c, 7, i, &q);
        CHECK(memcmp(&p, &q, sizeof p) == 0); /* deterministic in (seed, index) */
        seen_ops[p.n_operands - 1]++;
        int v = p.operands[0];
        for (int k = 0; k + 1 < p.n_operands; k++) {
            v += p.ops[k] == '-' ? -p.operands[k + 1] : p.operands[k + 1];
            n_neg += v < 0;
            CHECK(p.operands[k + 1] >= 0 && p.operands[k + 1] <= c.max_operand);
        }
        CHECK(v == p.answer);
        CHECK(toy_problem_parse(p.text, &back) == 0);
        CHECK(back.answer == p.answer && back.n_operands == p.n_operands && strcmp(back.text, p.text) == 0);
        char *sol = toy_solution(&c, &p, 7, i);
        char *sol2 = toy_solution(&c, &p, 7, i);
        CHECK_STR(sol, sol2);
        int zero_operand = 0;
        for (int k = 1; k < p.n_operands; k++) zero_operand |= p.operands[k] == 0;
        if (!zero_operand) { /* an operand 0 would look like filler */
            n_plain++;
            n_filler += strstr(sol, "+0=") != NULL || strstr(sol, "-0=") != NULL;
        }
        char want[64];
        snprintf(want, sizeof want, "The answer is \\boxed{%d}.", p.answer);
        n_wrong_answer += strstr(sol, want) == NULL;
        free(sol);
        free(sol2);
    }
    CHECK(n_neg == 0);
    CHECK(seen_ops[2] > 800 && seen_ops[3] > 800 && seen_ops[2] + seen_ops[3] == 2000); /* 2..3 operations */
    /* 20% of demonstrations carry filler */
    printf("filler in %d/%d demonstrations, wrong final answer in %d/2000\n", n_filler, n_plain, n_wrong_answer);
    CHECK(n_plain > 1000 && n_filler > 0.16 * n_plain && n_filler < 0.24 * n_plain);
    /* 15% per step over 2-3 steps: P(any wrong) = 1 - 0.85^2.5 ~ 0.33 */
    CHECK(n_wrong_answer > 560 && n_wrong_answer < 760);
    ToyProblem other;
    toy_problem_generate(&c, 8, 0, &other);
    ToyProblem p0;
    toy_problem_generate(&c, 7, 0, &p0);
    CHECK(strcmp(other.text, p0.text) != 0 || other.answer != p0.answer); /* another seed, another problem */

    /* a clean configuration writes exactly the necessary steps */
    c.filler_rate = 0;
    c.error_rate = 0;
    ToyProblem p;
    CHECK(toy_problem_parse("23+45-12=?", &p) == 0);
    CHECK(p.answer == 56 && p.n_operands == 3 && p.ops[0] == '+' && p.ops[1] == '-');
    char *sol = toy_solution(&c, &p, 1, 0);
    CHECK_STR(sol, "23+45=68\n\n68-12=56\n\nThe answer is \\boxed{56}.");
    free(sol);
    c.filler_rate = 1; /* every demonstration has filler, still correct */
    sol = toy_solution(&c, &p, 1, 0);
    CHECK(strstr(sol, "+0=") || strstr(sol, "-0="));
    CHECK(strstr(sol, "\\boxed{56}") != NULL);
    free(sol);
    c.filler_rate = 0;
    c.error_rate = 1; /* every step slips */
    sol = toy_solution(&c, &p, 1, 0);
    CHECK(strstr(sol, "23+45=68") == NULL && strstr(sol, "\\boxed{56}") == NULL);
    free(sol);

    /* not toy problems */
    CHECK(toy_problem_parse("23=?", &p) < 0);
    CHECK(toy_problem_parse("23+45", &p) < 0);
    CHECK(toy_problem_parse("What is 2+2?", &p) < 0);
    CHECK(toy_problem_parse("2+2=? extra", &p) < 0);
    CHECK(toy_problem_parse("1+1+1+1+1+1+1+1+1=?", &p) < 0); /* more than 7 operations */
    CHECK(toy_problem_parse("  5-3=?\n", &p) == 0 && p.answer == 2 && strcmp(p.text, "5-3=?") == 0);
}

/* Scores response with the checker and compares with the expected +1/-1 pattern ("+-+"). */
static void check_score(const char *problem, const char *response, int progress, const char *want) {
    ToyCheckOptions o;
    toy_check_options_default(&o);
    o.require_progress = progress;
    float r[16];
    int n = toy_check_steps(problem, response, &o, r, 16);
    char got[17] = {0};
    for (int i = 0; i < n && i < 16; i++) got[i] = r[i] > 0 ? '+' : '-';
    CHECK(n == (int)strlen(want));
    CHECK_STR(got, want);
    if (n != (int)strlen(want) || strcmp(got, want))
        fprintf(stderr, "  progress=%d response \"%s\"\n", progress, response);
}

static void test_checker(void) {
    const char *P = "23+45-12=?";
    const char *good = "23+45=68\n\n68-12=56\n\nThe answer is \\boxed{56}.";
    check_score(P, good, 0, "+++");
    check_score(P, good, 1, "+++");
    /* a filler step: true arithmetic, harmless; scored correct in both modes by default */
    const char *filler = "23+45=68\n\n68+0=68\n\n68-0=68\n\n68-12=56\n\nThe answer is \\boxed{56}.";
    check_score(P, filler, 0, "+++++");
    check_score(P, filler, 1, "+++++");
    /* a wrong step: flagged; the next step is judged from the value written */
    const char *slip = "23+45=69\n\n69-12=57\n\nThe answer is \\boxed{57}.";
    check_score(P, slip, 0, "-++"); /* plain mode: the answer follows from the last step */
    check_score(P, slip, 1, "-+-"); /* progress mode: the answer must be the true one */
    /* the short-response hack: one true step and a consistent answer */
    const char *shortcut = "23+45=68\n\nThe answer is \\boxed{68}.";
    check_score(P, shortcut, 0, "++");
    check_score(P, shortcut, 1, "+-");
    /* true but useless arithmetic */
    const char *useless = "1+1=2\n\n2+2=4\n\nThe answer is \\boxed{4}.";
    check_score(P, useless, 0, "+++");
    check_score(P, useless, 1, "---");
    /* two operations in one step count as progress; skipping one does not */
    check_score(P, "23+45-12=56\n\nThe answer is \\boxed{56}.", 1, "++");
    check_score(P, "45-12=33\n\n23+33=56\n\nThe answer is \\boxed{56}.", 1, "--+");
    /* a step after the computation is complete is not progress (unless filler) */
    check_score(P, "23+45=68\n\n68-12=56\n\n56+1=57\n\n56+0=56\n\nThe answer is \\boxed{56}.", 1, "++-++");
    /* garbage, a missing box, a wrong box, spaces */
    check_score(P, "hello\n\nThe answer is \\boxed{56}.", 0, "-+");
    check_score(P, "23 + 45 = 68\n\n68 - 12 = 56\n\n\\boxed{ 56 }", 1, "+++");
    check_score(P, "23+45=68\n\n68-12=56\n\nThe answer is \\boxed{55}.", 1, "++-");
    check_score(P, "23+45=68\n\n68-12=56\n\nThe answer is \\boxed{fifty}.", 0, "++-");
    check_score(P, "The answer is \\boxed{56}.", 0, "+"); /* no steps: judged against the true answer */
    check_score(P, "The answer is \\boxed{57}.", 0, "-");
    /* filler scored wrong when asked */
    ToyCheckOptions o;
    toy_check_options_default(&o);
    o.require_progress = 1;
    o.filler_correct = 0;
    o.correct_reward = 0.5f;
    o.wrong_reward = -2.0f;
    float r[8];
    CHECK(toy_check_steps(P, filler, &o, r, 8) == 5);
    CHECK(r[0] == 0.5f && r[1] == -2.0f && r[2] == -2.0f && r[3] == 0.5f && r[4] == 0.5f);
    /* max_steps bounds the writes but not the count */
    float one[1] = {9};
    CHECK(toy_check_steps(P, filler, &o, one, 1) == 5 && one[0] == 0.5f);
    CHECK(toy_check_steps("not a problem", good, &o, r, 8) == -1);
    CHECK(toy_check_steps(P, "", &o, r, 8) == 0);

    /* demonstrations of a clean configuration are all-correct under both checkers */
    ToyConfig c;
    toy_config_default(&c);
    c.error_rate = 0;
    int bad = 0;
    for (uint64_t i = 0; i < 300; i++) {
        ToyProblem p;
        toy_problem_generate(&c, 3, i, &p);
        char *sol = toy_solution(&c, &p, 3, i);
        for (int prog = 0; prog < 2; prog++) {
            toy_check_options_default(&o);
            o.require_progress = prog;
            float rr[16];
            int n = toy_check_steps(p.text, sol, &o, rr, 16);
            for (int k = 0; k < n; k++) bad += rr[k] < 0;
        }
        free(sol);
    }
    CHECK(bad == 0);
}

int main(void) {
    test_steps();
    test_generator();
    test_checker();
    return check_report("test_steps_toy");
}
