/* fuzz_grade.c - libFuzzer target for the verifier (verify.h) and `pure grade`'s line reader (scripts/fuzz.sh
 * builds and runs it; seeds in tests/fuzz/corpus/grade/).
 *
 * The input is "response NUL reference" (no NUL: all response, empty reference); the reference may hold
 * further NUL bytes. Every input is extracted, normalized, compared and graded, through the C-string and the
 * byte-string (_n) functions, and must keep the documented invariants: an answer equals itself, verify_equal
 * is symmetric, the extracted answer is a piece of the response, verify_grade is extraction then
 * verify_equal, and the work stays linear in the input (verify_work(): a quadratic pass shows up here as a
 * crash long before it is slow enough for -timeout). An input starting with '{' is also graded as a
 * `pure grade` JSON line, and the strings the line reader decodes must agree with cJSON's. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "verifier/verify.h"
#include "cli/cmd_grade.c" /* its static line reader */

/* Steps of verify_work() allowed per input byte, and for any input (comparisons of short answers may use the
   fixed part of verify_equal's budget). Linear code stays far below; a quadratic pass on a few KB does not. */
#define STEPS_PER_BYTE 10000ull
#define STEPS_FIXED 10000000ull

static void fail(const char *what, const char *a, const char *b) {
    fprintf(stderr, "fuzz_grade: %s\n  a = \"%s\"\n  b = \"%s\"\n", what, a, b ? b : "");
    abort();
}

static char *cstr(const char *s, size_t n) {
    char *c = malloc(n + 1);
    memcpy(c, s, n);
    c[n] = 0;
    return c;
}

/* Extraction and grading of response r against reference f, and their invariants. */
static void check_grade(const char *r, const char *f) {
    char *x = verify_extract(r), *gx = NULL;
    int g = verify_grade(r, f, &gx);
    if ((x == NULL) != (gx == NULL) || (x && strcmp(x, gx) != 0)) fail("verify_grade extracted another answer", r, f);
    if (x && !strstr(r, x)) fail("the extracted answer is not in the response", r, x);
    if (g != (x && *f && verify_equal(x, f))) fail("verify_grade is not extraction + verify_equal", r, f);
    free(x);
    free(gx);
}

/* The C-string functions on a and b, both ways round, and their invariants. */
static void check_pair(const char *a, const char *b) {
    char *na = verify_normalize(a), *nb = verify_normalize(b);
    if (verify_equal(a, a) != 1) fail("verify_equal(a, a) != 1", a, na);
    if (verify_equal(b, b) != 1) fail("verify_equal(b, b) != 1", b, nb);
    int ab = verify_equal(a, b), ba = verify_equal(b, a);
    if (ab != ba) fail("verify_equal is not symmetric", a, b);
    if (strcmp(na, nb) == 0 && !ab) fail("the same normalized spelling but not equal", a, b);
    check_grade(a, b);
    check_grade(b, a);
    free(na);
    free(nb);
}

/* `pure grade` on a JSON line: no crash, and the fields it decodes agree with cJSON's strings (up to the first
   NUL, where cJSON's end). */
static void check_json_line(const char *s, size_t n) {
    static FILE *devnull;
    if (!devnull) devnull = fopen("/dev/null", "w");
    if (!devnull) abort();
    if (grade_line(s, n, 1, devnull, devnull) < 0) return; /* not JSON, or no fields: said so, nothing to compare */
    cJSON *obj = cJSON_ParseWithLengthOpts(s, n, NULL, 0);
    if (!obj) return;
    int plain = memmem(s, n, "\\u0000", 6) == NULL && memchr(s, 0, n) == NULL; /* no NUL in any key either */
    static const char *const keys[] = {"response", "reference"};
    for (int k = 0; k < 2 && plain && cJSON_IsObject(obj); k++) {
        SBuf got = {0};
        int have = json_member_string(s, n, keys[k], &got);
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, keys[k]);
        if (have != cJSON_IsString(item)) fail("the line reader and cJSON disagree on a field", keys[k], s);
        if (have && (got.n != strlen(item->valuestring) || memcmp(got.s, item->valuestring, got.n) != 0))
            fail("the line reader decoded a string differently from cJSON", got.s, item->valuestring);
        free(got.s);
    }
    cJSON_Delete(obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *s = (const char *)data;
    const char *sep = memchr(s, 0, size);
    size_t na = sep ? (size_t)(sep - s) : size;
    const char *ref = sep ? sep + 1 : s + size;
    size_t nref = sep ? size - na - 1 : 0;
    unsigned long long w0 = verify_work();

    /* the byte strings, NUL bytes included: the whole input as the response */
    size_t xn = 0;
    char *x = NULL;
    int g = verify_grade_n(s, size, ref, nref, &x, &xn);
    if (x && (xn > size || !memmem(s, size, x, xn))) fail("the extracted bytes are not in the response", x, NULL);
    if (x && x[xn] != 0) fail("the extracted answer is not NUL-terminated", x, NULL);
    if (g != (x && nref && verify_equal_n(x, xn, ref, nref))) fail("verify_grade_n is not extraction + equal", x, ref);
    if (x && verify_equal_n(x, xn, ref, nref) != verify_equal_n(ref, nref, x, xn))
        fail("verify_equal_n is not symmetric", x, ref);
    free(x);

    /* the C strings: the response, and the reference up to its first NUL */
    char *a = cstr(s, na), *b = cstr(ref, nref);
    check_pair(a, b);
    free(a);
    free(b);

    unsigned long long steps = verify_work() - w0;
    if (steps > STEPS_PER_BYTE * size + STEPS_FIXED) {
        fprintf(stderr, "fuzz_grade: %llu steps for %zu bytes\n", steps, size);
        abort();
    }
    if (size && s[0] == '{') check_json_line(s, size);
    return 0;
}
