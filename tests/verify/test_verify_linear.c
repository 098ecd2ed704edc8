/* test_verify_linear.c - the verifier's work grows linearly with its input, checked by counting steps over
 * text (verify_work(), the test hook of verify_scan.h), never by timing: a quadratic pass over a hostile
 * answer (80k repeated "\boxed{" once took 21 s) shows as 16x the work for 4x the input. */
#include <stdlib.h>
#include <string.h>
#include "verifier/verify.h"
#include "tests/check.h"

/* A hostile answer: head + unit repeated n times + tail. */
typedef struct { const char *name, *head, *unit, *tail; } Pattern;
static const Pattern patterns[] = {
    /* extraction */
    {"unclosed boxes", "", "\\boxed{", ""},
    {"nested boxes", "", "\\boxed{", "1"},           /* closed below by n braces */
    {"token boxes", "", "\\boxed", " 1"},
    {"unclosed fbox", "", "\\fbox{", ""},
    {"many boxes", "", "\\boxed{1} ", ""},
    {"box of spaces", "", "\\boxed ", "1"},
    /* normalization */
    {"plain units", "5", " cm", ""},
    {"spaced units", "5", " cm ", ""},
    {"text units", "5 ", "\\text{ cm}", ""},
    {"unclosed text", "", "\\text{", ""},
    {"nested text", "", "\\text{", "5"},             /* closed below */
    {"unclosed frac", "", "\\frac{", ""},
    {"nested frac", "", "\\frac{1}{", "2"},          /* closed below */
    {"letters", "", "a ", ""},
    {"command letters", "", "\\sin a ", ""},
    {"trailing dots", "5", " .", ""},
    {"trailing breaks", "5", " \\\\", ""},
    {"sqrt", "", "\\sqrt", "2"},
    {"superscripts", "x", "^{", ""},
    {"sizing", "", "\\left(", "1"},
    {"spacing", "1", "\\,", "0"},
    {"degrees", "1", "^\\circ", ""},
    {"matrix", "\\begin{pmatrix}", "1&", "\\end{pmatrix}"},
    {"words", "5 ", "and or ", ""},
    {"thousands", "1", ",000", ""},
    /* equivalence */
    {"set opens", "", "\\{", ""},
    {"unions", "", "\\cup", ""},
    {"plus-minus", "", "1\\pm", ""},
    {"subscripts", "", "a_{", ""},
    {"sets of lists", "", "\\{1,2\\},", "3"},
    {"parentheses", "", "(", ""},
    {"equations", "", "x=", "1"},
    {"braces", "", "{", "1"},                        /* closed below */
    {"sums", "1", "+1", ""},
    {"products", "x", "y", ""},
    {"digits", "1", "0", ""},
    {"exponents", "2", "^2", ""},
    {"fractions", "", "\\frac{1}{2}+", "1"},
    {"list", "", "1,", "2"},
};

static char *build(const Pattern *p, int n) {
    int close = strcmp(p->name, "nested boxes") == 0 || strcmp(p->name, "nested text") == 0 ||
                strcmp(p->name, "nested frac") == 0 || strcmp(p->name, "braces") == 0;
    size_t len = strlen(p->head) + (size_t)n * strlen(p->unit) + strlen(p->tail) + (size_t)n + 1;
    char *s = malloc(len), *q = s;
    q = stpcpy(q, p->head);
    for (int i = 0; i < n; i++) q = stpcpy(q, p->unit);
    q = stpcpy(q, p->tail);
    for (int i = 0; close && i < n; i++) *q++ = '}';
    *q = 0;
    return s;
}

/* Work of extracting, normalizing, comparing and grading one hostile answer of n repeats. */
static unsigned long long work(const Pattern *p, int n, size_t *len) {
    char *s = build(p, n);
    size_t k = strlen(s);
    char *boxed = malloc(k + 16), *near = malloc(k + 2);
    snprintf(boxed, k + 16, "\\boxed{%s}", s);
    snprintf(near, k + 2, "%s1", s);
    unsigned long long w0 = verify_work();
    free(verify_extract(s));
    free(verify_normalize(s));
    (void)verify_equal(s, "5");
    (void)verify_equal(s, near); /* differs at the very end: everything is read */
    (void)verify_grade(boxed, s, NULL);
    (void)verify_grade(s, "5", NULL);
    unsigned long long w = verify_work() - w0;
    *len = k;
    free(s);
    free(boxed);
    free(near);
    return w;
}

int main(void) {
    const int n = 1000;
    int n_pat = (int)(sizeof patterns / sizeof patterns[0]);
    for (int i = 0; i < n_pat; i++) {
        size_t len1, len4;
        unsigned long long w1 = work(&patterns[i], n, &len1), w4 = work(&patterns[i], 4 * n, &len4);
        double ratio = (double)w4 / (double)(w1 ? w1 : 1);
        printf("%-18s %7zu bytes: %10llu steps, 4x the input: %10llu steps (%.2fx)\n", patterns[i].name, len1, w1,
               w4, ratio);
        CHECK(w1 >= len1);                 /* the counter counts (every byte is read at least once) */
        if (ratio > 5.0) {                 /* linear: about 4x; quadratic: about 16x */
            fprintf(stderr, "pattern '%s': work grew %.2fx for 4x the input\n", patterns[i].name, ratio);
            CHECK(ratio <= 5.0);
        }
        CHECK(w4 <= 4000ull * len4);       /* and a bound on the steps per byte */
    }
    return check_report("test_verify_linear");
}
