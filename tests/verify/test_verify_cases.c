/* test_verify_cases.c - the verifier on hand-written cases: extraction, and >= 200 equivalent and
 * non-equivalent answer pairs covering every rule in docs/verifier.md. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "verifier/verify.h"
#include "tests/check.h"

typedef struct { const char *answer, *reference; int equal; } Pair;

static const Pair pairs[] = {
    /* identical and trivially different */
    {"5", "5", 1}, {"5", "6", 0}, {"-3", "-3", 1}, {"-3", "3", 0}, {"0", "0", 1}, {"0", "-0", 1},
    {"", "5", 0}, {"5", "", 0}, {"  7 ", "7", 1}, {"$7$", "7", 1}, {"\\(7\\)", "7", 1}, {"$$7$$", "7", 1},
    /* integers written as decimals, leading/trailing zeros */
    {"27.0", "27", 1}, {"27.00", "27", 1}, {"027", "27", 1}, {"27.1", "27", 0}, {"1.50", "1.5", 1},
    {".5", "0.5", 1}, {"0.5", "1/2", 1}, {"0.25", "\\frac14", 1}, {"0.3", "\\frac13", 0},
    {"0.33333", "\\frac13", 0}, {"0.333333333333", "\\frac13", 1}, {"3.14", "\\pi", 0}, {"3.1415926536", "\\pi", 1},
    /* fractions in every spelling */
    {"\\frac{1}{2}", "1/2", 1}, {"\\dfrac{1}{2}", "\\frac{1}{2}", 1}, {"\\tfrac{1}{2}", "\\frac12", 1},
    {"\\frac12", "\\frac{1}{2}", 1}, {"\\frac{2}{4}", "\\frac{1}{2}", 1}, {"\\frac{3}{4}", "\\frac{4}{3}", 0},
    {"-\\frac{1}{2}", "\\frac{-1}{2}", 1}, {"\\frac{-1}{2}", "-0.5", 1}, {"\\frac{1}{2}", "-\\frac12", 0},
    {"\\frac{\\sqrt{3}}{2}", "\\frac{\\sqrt3}{2}", 1}, {"\\sqrt{3}/2", "\\frac{\\sqrt{3}}{2}", 1},
    {"\\frac{1}{\\sqrt{2}}", "\\frac{\\sqrt{2}}{2}", 1}, {"\\frac{1}{\\sqrt{3}}", "\\frac{\\sqrt{2}}{2}", 0},
    {"\\frac{10}{3}", "3\\frac{1}{3}", 1}, {"2\\frac{1}{2}", "2.5", 1}, {"2\\frac{1}{2}", "1", 0},
    {"\\frac{7}{2}", "3.5", 1}, {"\\frac{22}{7}", "\\pi", 0}, {"\\cfrac{1}{3}", "1/3", 1},
    /* radicals and powers */
    {"2\\sqrt{2}", "\\sqrt{8}", 1}, {"\\sqrt{8}", "2\\sqrt2", 1}, {"\\sqrt{2}", "2", 0}, {"3\\sqrt{3}", "\\sqrt{27}", 1},
    {"\\sqrt[3]{8}", "2", 1}, {"\\sqrt[3]{-8}", "-2", 1}, {"2^{10}", "1024", 1}, {"2^10", "1024", 1},
    {"2^{-1}", "0.5", 1}, {"10^{3}", "1000", 1}, {"3^2", "9", 1}, {"3^2", "6", 0}, {"(-2)^3", "-8", 1},
    {"4^{1/2}", "2", 1}, {"\\sqrt{2}+\\sqrt{3}", "\\sqrt{3}+\\sqrt{2}", 1}, {"\\sqrt{5}-1", "1-\\sqrt{5}", 0},
    {"5!", "120", 1}, {"\\frac{5!}{3!}", "20", 1}, {"6!", "120", 0},
    /* pi */
    {"2\\pi", "2 \\pi", 1}, {"\\frac{\\pi}{2}", "\\pi/2", 1}, {"\\frac{\\pi}{2}", "90", 0}, {"\\pi", "180", 0},
    {"4\\pi", "\\pi*4", 1}, {"\\frac{3\\pi}{4}", "\\frac34\\pi", 1}, {"12\\pi", "12", 0}, {"\\pi r^2", "\\pi r^2", 1},
    {"6\\pi", "6 \\pi \\text{ square units}", 1}, {"\\frac{4\\pi}{3}", "\\frac{4}{3}\\pi", 1},
    /* LaTeX clean-up */
    {"\\left(3,\\frac{\\pi}{2}\\right)", "(3,\\frac{\\pi}{2})", 1}, {"\\left( 3, \\frac{\\pi}{2} \\right)", "(3, \\pi/2)", 1},
    {"1\\!000", "1000", 1}, {"10\\,000", "10000", 1}, {"\\displaystyle\\frac12", "0.5", 1}, {"5\\;", "5", 1},
    {"\\text{5}", "5", 1}, {"\\textbf{5}", "5", 1}, {"\\mbox{5}", "5", 1}, {"5.", "5", 1}, {"5\\\\", "5", 1},
    {"x = 5", "5", 1}, {"x=5", "x = 5", 1}, {"y=5", "5", 1}, {"x=5", "6", 0}, {"f(x) = 2x+1", "2x+1", 1},
    {"f(x)=2x+1", "f(x)=1+2x", 1}, {"f(x)=2x+1", "2x-1", 0}, {"p(a,b)=a+b", "b+a", 1}, {"\\theta = 30^\\circ", "30", 1},
    {"5 \\quad", "5", 1}, {"5\\qquad", "5", 1}, {"\\Big(1,2\\Big)", "(1,2)", 1},
    /* units and degrees */
    {"30^\\circ", "30", 1}, {"30^{\\circ}", "30", 1}, {"30\xc2\xb0", "30", 1}, {"30^\\circ", "60^\\circ", 0},
    {"45 \\text{ degrees}", "45", 1}, {"10 \\text{ cm}", "10", 1}, {"10\\text{ cm}^2", "10", 1}, {"10 cm", "10", 1},
    {"12 \\mbox{ inches}", "12", 1}, {"5 \\text{ units}", "5", 1}, {"8 \\text{ feet}", "9", 0}, {"3\\text{ m}", "3", 1},
    {"20 \\text{ square feet}", "20", 1}, {"7 \\text{ miles}", "7", 1}, {"4 \\text{ hours}", "4", 1},
    {"\\$18", "18", 1}, {"\\$18.00", "18", 1}, {"18 dollars", "18", 1}, {"\\$19", "18", 0}, {"90^\\circ", "\\frac{\\pi}{2}", 0},
    /* percentages */
    {"50\\%", "50", 1}, {"50\\%", "0.5", 1}, {"50%", "50", 1}, {"0.5", "50\\%", 1}, {"25\\%", "50", 0},
    {"12.5\\%", "\\frac{1}{8}", 1}, {"100\\%", "1", 1}, {"40\\%", "0.5", 0},
    /* thousands separators */
    {"1,000", "1000", 1}, {"1,000,000", "1000000", 1}, {"10{,}000", "10000", 1}, {"1,234.5", "1234.5", 1},
    {"1,000", "100", 0}, {"-2,500", "-2500", 1}, {"\\$1,200", "1200", 1}, {"12,00", "1200", 0},
    /* a comma and a space separate answers (as math-verify reads them); LaTeX's ",\!" is a thousands group */
    {"8, 221", "221,8", 1}, {"8, 221", "8221", 0}, {"58, 500", "58,500", 0}, {"10,\\!080", "10080", 1},
    {"11,\\! 111,\\! 100", "11111100", 1},
    /* tuples and points: ordered */
    {"(1,2)", "(1, 2)", 1}, {"(1,2)", "(2,1)", 0}, {"(1,2,3)", "(1,2)", 0}, {"(0.5,2)", "(\\frac12,2)", 1},
    {"(3, \\frac{\\pi}{2})", "\\left( 3, \\frac{\\pi}{2} \\right)", 1}, {"(-1,-1)", "(-1, -1)", 1}, {"(1,-2)", "(-1,2)", 0},
    {"\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "(1,2)", 1}, {"\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}", 1},
    {"\\begin{pmatrix} 2 \\\\ 1 \\end{pmatrix}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}", 0},
    {"\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", 1},
    /* intervals: the brackets matter */
    {"[1,2]", "[1, 2]", 1}, {"[1,2)", "[1,2]", 0}, {"(1,2]", "[1,2]", 0}, {"(-\\infty, 3]", "(-\\infty,3]", 1},
    {"(-\\infty,3)", "(-\\infty,3]", 0}, {"[0,\\infty)", "[0, \\infty)", 1}, {"(2,\\infty)", "(3,\\infty)", 0},
    {"(-\\infty,1)\\cup(2,\\infty)", "(2,\\infty)\\cup(-\\infty,1)", 1}, {"(-\\infty,1)\\cup(2,\\infty)", "(-\\infty,1)\\cup[2,\\infty)", 0},
    {"x \\in [1,2]", "[1,2]", 1}, {"[\\frac12, 1]", "[0.5,1]", 1}, {"(-\\infty, \\infty)", "(-\\infty,\\infty)", 1},
    /* sets and unordered lists */
    {"\\{1,2,3\\}", "\\{3,2,1\\}", 1}, {"\\{1,2\\}", "\\{1,2,3\\}", 0}, {"\\lbrace 1, 2 \\rbrace", "\\{2,1\\}", 1},
    {"1, 2", "2, 1", 1}, {"1,2", "\\{1,2\\}", 1}, {"-2, 3", "3,-2", 1}, {"-2, 3", "2, -3", 0},
    {"\\frac12, 2", "2, 0.5", 1}, {"1,2,3", "1,2", 0}, {"\\{1,2\\}", "[1,2]", 0}, {"(1,2)", "1,2", 0},
    {"x=1, x=2", "1, 2", 1}, {"\\varnothing", "\\emptyset", 1}, {"3, 5, 7", "7,5,3", 1},
    /* expressions with variables, compared at random points */
    {"x+1", "1+x", 1}, {"2x", "x+x", 1}, {"x^2-1", "(x-1)(x+1)", 1}, {"x^2+1", "(x+1)^2", 0}, {"2x+3", "3+2x", 1},
    {"y = 2x+3", "y=3+2x", 1}, {"y = 2x+3", "y=2x-3", 0}, {"\\frac{x}{2}", "0.5x", 1}, {"\\frac{1}{x}", "x^{-1}", 1},
    {"a^2+b^2", "b^2+a^2", 1}, {"ab", "ba", 1}, {"a-b", "b-a", 0}, {"\\sqrt{x^2}", "x", 1}, {"x^3", "x^2", 0},
    {"3x^2+6x", "3x(x+2)", 1}, {"\\frac{x^2-4}{x-2}", "x+2", 1}, {"\\sin x", "\\sin(x)", 1}, {"\\sin^2x", "x", 0},
    {"2\\sin x\\cos x", "\\sin(2x)", 1}, {"\\ln(e)", "1", 0}, {"\\log_2 8", "3", 1}, {"\\log_{10}100", "2", 1},
    {"\\alpha+\\beta", "\\beta+\\alpha", 1}, {"a_1+a_2", "a_2+a_1", 1}, {"a_1", "a_2", 0}, {"n(n+1)/2", "\\frac{n^2+n}{2}", 1},
    {"x+y", "x+z", 0}, {"4x", "4", 0}, {"-x", "x", 0}, {"x^2y", "yx^2", 1}, {"2^x", "x^2", 0},
    {"3 \\cdot 4", "12", 1}, {"3 \\times 4", "12", 1}, {"12 \\div 4", "3", 1}, {"(2)(3)", "6", 1}, {"2(3+4)", "14", 1},
    {"1+2*3", "7", 1}, {"1+2*3", "9", 0}, {"-2^2", "-4", 1}, {"(-2)^2", "4", 1}, {"10-2-3", "5", 1}, {"12/3/2", "2", 1},
    /* words and multiple choice */
    {"\\text{Monday}", "Monday", 1}, {"monday", "Monday", 1}, {"Tuesday", "Monday", 0}, {"\\text{(C)}", "C", 1},
    {"(C)", "C", 1}, {"(B)", "C", 0}, {"\\text{even}", "\\text{odd}", 0}, {"\\textbf{(A) }", "A", 1}, {"\\text{yes}", "\\text{Yes}", 1},
    /* inequalities and relations */
    {"x \\le 5", "x\\leq5", 1}, {"x \\geq 2", "x\\ge 2", 1}, {"x<5", "x>5", 0}, {"x \\neq 3", "x\\ne3", 1},
    /* infinity */
    {"\\infty", "\\infty", 1}, {"-\\infty", "\\infty", 0},
    /* lists in words, plus-minus, scientific notation */
    {"12\\text{ and }13", "12, 13", 1}, {"x=2 \\text{ or } x=3", "3,2", 1}, {"12 \\text{ and } 14", "12,13", 0},
    {"2\\pm\\sqrt{3}", "2+\\sqrt{3}, 2-\\sqrt{3}", 1}, {"2\\pm\\sqrt{3}", "2+\\sqrt{3}", 0},
    {"\\frac{1\\pm\\sqrt{5}}{2}", "\\frac{1-\\sqrt5}{2},\\frac{1+\\sqrt5}{2}", 1}, {"\\pm 3", "3,-3", 1},
    {"1.6e5", "160000", 1}, {"3E-2", "0.03", 1}, {"1.6 \\times 10^{5}", "1.6e5", 1}, {"2e", "2", 0}, {"1e3", "100", 0},
    {"2.88e-19", "1.325e-27", 0}, {"\\sin(\\pi)", "0", 1}, {"1e-20", "0", 1}, {"1e-9", "0", 0},
    /* near misses that must stay different */
    {"1001", "1000", 0}, {"0.1", "0.01", 0}, {"100", "1000", 0}, {"1/3", "3", 0}, {"2\\sqrt{3}", "3\\sqrt{2}", 0},
    {"\\frac{1}{4}", "\\frac{1}{2}", 0}, {"\\pi^2", "2\\pi", 0}, {"e", "2.718281828", 0}, {"i", "-1", 0},
    {"12", "21", 0}, {"-12", "12", 0}, {"0.0001", "0.0002", 0}, {"10^{-6}", "0", 0}, {"123456789", "123456788", 0},
    {"\\frac{17}{3}", "5.67", 0}, {"7", "\\frac{7}{2}", 0}, {"\\sqrt{2}", "1.41", 0}, {"2.0001", "2", 0},
    {"\\frac{1}{3}+\\frac{1}{3}", "\\frac{1}{3}", 0}, {"90", "\\frac{\\pi}{2}", 0}, {"x+1", "x", 0},
    {"(0,1)", "(1,0)", 0}, {"\\{1,2\\}", "\\{1,3\\}", 0}, {"4", "\\text{four}", 0}, {"-\\frac12", "\\frac12", 0},
    {"y=2x", "y=3x", 0}, {"5\\%", "5.1", 0}, {"1,000", "1", 0}, {"\\sqrt{3}", "3", 0}, {"3^4", "4^3", 0}, {"(1,2)", "(1,2,3)", 0}, {"[1,2]", "(1,2)", 0}, {"x", "y", 0}, {"abc", "abd", 0},
    /* overflow, underflow and division by zero: out of range, so equal only as the same spelling (issue 12:
       these were all equal as "infinity" or 0) */
    {"10^{10^{10}}", "10^{10^{11}}", 0}, {"1e400", "2e400", 0}, {"\\infty", "10^{400}", 0}, {"2/0", "5/0", 0},
    {"1/0", "\\infty", 0}, {"x^{10^{10}}", "x^{10^{11}}", 0}, {"1e-400", "2e-400", 0}, {"10^{-400}", "0", 0},
    {"\\frac{1}{0}", "\\frac{2}{0}", 0}, {"-\\frac{1}{0}", "-\\infty", 0}, {"\\ln 0", "-\\infty", 0},
    {"2^{1024}", "2^{1025}", 0}, {"\\exp(1000)", "\\exp(1001)", 0}, {"\\exp(-1000)", "0", 0},
    {"0.5^{10000}", "0.25^{10000}", 0}, {"10^{308}*10", "10^{309}", 0}, {"\\log_1 5", "\\log_1 7", 0},
    {"\\sqrt[0]{2}", "\\sqrt[0]{3}", 0}, {"2\\frac{1}{0}", "3\\frac{1}{0}", 0}, {"x/0", "2x/0", 0},
    {"1e99999999999", "2e99999999999", 0}, {"(-8)^{10^{-300}}", "1", 0},
    {"10^{400}", "10^{400}", 1}, {"1/0", "1/0", 1}, {"\\infty", "+\\infty", 1}, {"10^{308}", "1e308", 1},
    {"1e-300", "10^{-300}", 1}, {"0e400", "0", 1}, {"170!", "7.257415615307994e306", 1},
    /* unordered items are matched as a whole (not greedily): 1 ~ 0.999999995 and 1.000000018 ~ 1.000000009
       within the relative 1e-8, although 1 ~ 1.000000009 too */
    {"\\{1, 1.000000018\\}", "\\{1.000000009, 0.999999995\\}", 1},
    {"\\{1, 1.000000018\\}", "\\{1.000000009, 1.00000003\\}", 0},
};

typedef struct { const char *response, *extracted; } Extract;
static const Extract extracts[] = {
    {"so the answer is \\boxed{5}.", "5"},
    {"first \\boxed{3} then \\boxed{4}", "4"},
    {"\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"},
    {"\\boxed{\\{1,2\\}}", "\\{1,2\\}"},
    {"nested \\boxed{a_{1}+\\sqrt{b^{2}}} done", "a_{1}+\\sqrt{b^{2}}"},
    {"\\fbox{7}", "7"},
    {"\\boxed 9 and more", "9"},
    {"$\\boxed{12}$", "12"},
    {"\\boxed {13}", "13"},
    {"\\boxed{\\text{(A)}}", "\\text{(A)}"},
    {"cut off \\boxed{5} then \\boxed{12", "5"},
    {"no box here, the answer is 5", NULL},
    {"", NULL},
    {"\\boxedx{4}", NULL},
    {"The answer is \\boxed{56}.", "56"},
    {"\\boxed{\\boxed{5}}", "5"},                 /* the last box to start is the inner one */
    {"\\boxed{a \\} b}", "a \\} b"},             /* \} is no brace */
    {"\\boxed{1} \\boxed{\\boxed{", "1"},           /* unclosed boxes are skipped */
    {"\\boxed\\boxed 7", "7"},
    {"\\\\boxed{3}", "3"},
    {"\\boxed{}", ""},
    {"\\fbox{2} \\boxed 8$", "8"},
};

int main(void) {
    int n_pairs = (int)(sizeof pairs / sizeof pairs[0]), n_eq = 0;
    for (int i = 0; i < n_pairs; i++) {
        int got = verify_equal(pairs[i].answer, pairs[i].reference);
        int back = verify_equal(pairs[i].reference, pairs[i].answer); /* symmetry */
        n_eq += pairs[i].equal;
        check_count++;
        if (got != pairs[i].equal || back != pairs[i].equal) {
            check_failures++;
            char *na = verify_normalize(pairs[i].answer), *nr = verify_normalize(pairs[i].reference);
            fprintf(stderr, "pair %d: equal(\"%s\", \"%s\") = %d/%d (reversed), expected %d [normalized \"%s\" vs \"%s\"]\n",
                    i, pairs[i].answer, pairs[i].reference, got, back, pairs[i].equal, na, nr);
            free(na);
            free(nr);
        }
    }
    printf("%d pairs: %d equivalent, %d not\n", n_pairs, n_eq, n_pairs - n_eq);
    CHECK(n_pairs >= 200);
    CHECK(n_eq >= 80 && n_pairs - n_eq >= 80);

    for (size_t i = 0; i < sizeof extracts / sizeof extracts[0]; i++) {
        char *x = verify_extract(extracts[i].response);
        if (extracts[i].extracted) CHECK_STR(x, extracts[i].extracted);
        else CHECK(x == NULL);
        free(x);
    }

    /* verify_grade: extraction + comparison, and the extracted copy */
    char *x = NULL;
    CHECK(verify_grade("... so \\boxed{\\dfrac{1}{2}}.", "0.5", &x) == 1);
    CHECK_STR(x, "\\dfrac{1}{2}");
    free(x);
    CHECK(verify_grade("no answer", "0.5", &x) == 0);
    CHECK(x == NULL);
    CHECK(verify_grade("\\boxed{3}", "", NULL) == 0); /* an empty reference is never matched */
    CHECK(verify_grade("\\boxed{3}", "4", NULL) == 0);
    CHECK(verify_equal(NULL, "1") == 0);

    /* NUL bytes (the _n functions): an ordinary character, never the end of the text (issue 12: a NUL in the
       box used to drop the answer, and one after it hid the later boxes) */
    size_t xn = 0;
    static const char nul_box[] = "\\boxed{1\0 2}";
    x = verify_extract_n(nul_box, sizeof nul_box - 1, &xn);
    CHECK(x && xn == 4 && memcmp(x, "1\0 2", 4) == 0);
    free(x);
    static const char nul_between[] = "\\boxed{5} \0 then \\boxed{7}";
    CHECK(verify_grade_n(nul_between, sizeof nul_between - 1, "7", 1, &x, &xn) == 1);
    CHECK_STR(x, "7");
    CHECK(xn == 1);
    free(x);
    static const char nul_in[] = "\\boxed{12\0}";
    CHECK(verify_grade_n(nul_in, sizeof nul_in - 1, "12", 2, NULL, NULL) == 0);   /* "12\0" is not "12" */
    CHECK(verify_grade_n(nul_in, sizeof nul_in - 1, "12\0", 3, NULL, NULL) == 1); /* the same bytes are */
    CHECK(verify_equal_n("1\0", 2, "1\0", 2) == 1);
    CHECK(verify_equal_n("1\0", 2, "1", 1) == 0);
    CHECK(verify_equal_n("1", 1, "1\0", 2) == 0);
    CHECK(verify_equal_n("\\frac12x", 7, "0.5", 3) == 1); /* a length shorter than the string: not terminated */
    CHECK(verify_grade_n("\\boxed{3}", 9, "", 0, NULL, NULL) == 0);

    /* normalized spellings */
    char *n1 = verify_normalize("\\left( 3, \\dfrac{\\pi}{2} \\right)");
    CHECK_STR(n1, "(3,\\frac{\\pi}{2})");
    free(n1);
    n1 = verify_normalize("10\\text{ cm}^2");
    CHECK_STR(n1, "10");
    free(n1);
    n1 = verify_normalize("x^{2}+\\sqrt2");
    CHECK_STR(n1, "x^2+\\sqrt{2}");
    free(n1);

    /* hostile inputs do not crash or hang */
    char deep[4096];
    for (int i = 0; i < 2000; i++) deep[i] = '(';
    deep[2000] = 0;
    CHECK(verify_equal(deep, "1") == 0);
    CHECK(verify_equal("\\frac{", "1") == 0);
    CHECK(verify_equal("}{)(][", "1") == 0);
    CHECK(verify_equal("\\sqrt[", "1") == 0);
    /* random token soup: no crash, no hang, always symmetric (run under ASan/UBSan in CI) */
    static const char *const tok[] = {"\\frac", "\\sqrt", "{", "}", "(", ")", "[", "]", "\\{", "\\}", ",", "1", "2",
                                      "0.5", "x", "^", "_", "-", "+", "*", "/", "!", "\\pi", "\\infty", "=", "\\cup",
                                      "\\text{", "cm", " ", "\\left(", "\\right)", "\\%", "\\boxed{", "\\", "\\sin"};
    uint64_t state = 12345;
    int asym = 0;
    for (int it = 0; it < 20000; it++) {
        char a[128] = {0}, b[128] = {0};
        for (int side = 0; side < 2; side++) {
            char *s = side ? b : a;
            int len = 1 + (int)(state % 9);
            for (int k = 0; k < len; k++) {
                state = state * 6364136223846793005ULL + 1442695040888963407ULL;
                strcat(s, tok[(state >> 33) % (sizeof tok / sizeof tok[0])]);
            }
        }
        asym += verify_equal(a, b) != verify_equal(b, a);
        CHECK(verify_equal(a, a) == 1 || verify_equal(a, a) == 0);
        free(verify_extract(a));
    }
    CHECK(asym == 0);
    return check_report("test_verify_cases");
}
