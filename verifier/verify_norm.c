/* verify_norm.c - LaTeX clean-up of answer strings before comparison (docs/verifier.md lists the rules).
 *
 * A fixed sequence of passes, each linear in the answer: groups are looked up in the brace table
 * (verify_scan.h), and no pass walks back over what it already wrote (a run of 80,000 " cm" or "a " once
 * made the unit and space passes quadratic). Every loop counts its steps with VERIFY_STEP. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "util/sbuf.h"
#include "verifier/verify.h"
#include "verifier/verify_scan.h"

/* Words dropped when they follow a number (and \text{...} groups made only of them). */
static const char *const unit_words[] = {
    "cm", "mm", "km", "m", "meter", "meters", "metre", "metres", "centimeters", "millimeters", "kilometers",
    "inch", "inches", "in", "ft", "foot", "feet", "yard", "yards", "mile", "miles", "mph", "unit", "units",
    "square", "sq", "cubic", "degree", "degrees", "cent", "cents", "dollar", "dollars", "hour", "hours", "hr",
    "minute", "minutes", "min", "second", "seconds", "sec", "s", "day", "days", "week", "weeks", "year",
    "years", "month", "months", "g", "gram", "grams", "kg", "pound", "pounds", "lb", "lbs", "ounce", "ounces",
    "oz", "liter", "liters", "l", "ml", "gallon", "gallons", "people", "students", "ways", "times", "percent",
    "points", "marbles", "apples", "eggs", "pages", "boxes", "books", "coins", "sides", "games", "bags", NULL};

static int is_unit_word(const char *w, size_t n) {
    VERIFY_STEP(1); /* a fixed list of short words */
    for (int i = 0; unit_words[i]; i++)
        if (strlen(unit_words[i]) == n && strncasecmp(unit_words[i], w, n) == 0) return 1;
    return 0;
}

/* 1 if s[0..n) is only unit words, spaces, '^2'/'^3', '/' and '.' (e.g. " cm}^2", " square feet", "m/s"). */
static int only_units(const char *s, size_t n) {
    int words = 0;
    for (size_t i = 0; i < n;) {
        VERIFY_STEP(1);
        if (isalpha((unsigned char)s[i])) {
            size_t j = i;
            while (j < n && isalpha((unsigned char)s[j])) j++, VERIFY_STEP(1);
            if (!is_unit_word(s + i, j - i)) return 0;
            words++;
            i = j;
        } else if (s[i] == ' ' || s[i] == '/' || s[i] == '.' || s[i] == '~' || s[i] == '\\') {
            i++;
        } else if (s[i] == '^' && i + 1 < n && (s[i + 1] == '2' || s[i + 1] == '3')) {
            i += 2;
        } else {
            return 0;
        }
    }
    return words > 0;
}

/* b takes out's string (a rewriting pass ends with this). */
static void sbuf_replace(SBuf *b, SBuf *out) {
    VERIFY_STEP(out->n);
    free(b->s);
    if (!out->s) out->s = xstrdup("");
    *b = *out;
}

/* Replaces every occurrence of `from` by `to`; with word=1 only when `from` is not followed by a letter. */
static void replace_all(SBuf *b, const char *from, const char *to, int word) {
    VERIFY_STEP(b->n); /* strstr */
    if (!b->s || !strstr(b->s, from)) return;
    SBuf out = {0};
    size_t k = strlen(from);
    const char *s = b->s;
    while (*s) {
        VERIFY_STEP(1);
        if (*s == *from && strncmp(s, from, k) == 0 && !(word && isalpha((unsigned char)s[k]))) {
            sbuf_add(&out, to);
            s += k;
        } else {
            sbuf_addc(&out, *s++);
        }
    }
    sbuf_replace(b, &out);
}

/* Position just past the group that starts at s[0] == '{' (balanced), from the brace table of the string
   that starts at base; NULL if unbalanced. */
static const char *group_end(const size_t *ends, const char *base, const char *s) {
    size_t e = ends[s - base];
    return e ? base + e : NULL;
}

/* \text{...}, \mbox{...} and friends: the content stays, unless it is only units (then it goes). */
static void unwrap_text(SBuf *b) {
    static const char *const cmds[] = {"\\text", "\\textbf", "\\textit", "\\textrm", "\\mbox", "\\mathrm",
                                       "\\mathbf", "\\mathit", "\\operatorname", "\\boxed", NULL};
    size_t *ends = verify_brace_ends(b->s, b->n);
    SBuf out = {0};
    const char *s = b->s;
    while (*s) {
        VERIFY_STEP(1);
        int done = 0;
        for (int i = 0; *s == '\\' && cmds[i] && !done; i++) {
            size_t k = strlen(cmds[i]);
            if (strncmp(s, cmds[i], k) != 0 || isalpha((unsigned char)s[k])) continue;
            const char *g = s + k;
            while (*g == ' ') g++, VERIFY_STEP(1);
            const char *e = *g == '{' ? group_end(ends, b->s, g) : NULL;
            if (!e) continue;
            size_t inner = (size_t)(e - g - 2);
            /* a unit group after something (not the whole answer) disappears with a trailing ^2 */
            if (out.n > 0 && only_units(g + 1, inner)) {
                if (e[0] == '^' && (e[1] == '2' || e[1] == '3')) e += 2;
            } else {
                sbuf_addn(&out, g + 1, inner);
            }
            s = e;
            done = 1;
        }
        if (!done) sbuf_addc(&out, *s++);
    }
    free(ends);
    sbuf_replace(b, &out);
}

/* Unit words written plainly after a number: "5 cm", "12 square feet", "3 m^2". */
static void drop_plain_units(SBuf *b) {
    SBuf out = {0};
    size_t spaces = 0; /* trailing spaces of out: counted as they are written, never walked back over */
    const char *s = b->s;
    while (*s) {
        VERIFY_STEP(1);
        if (isalpha((unsigned char)*s) && (s == b->s || !isalpha((unsigned char)s[-1]))) {
            const char *e = s;
            while (isalpha((unsigned char)*e)) e++, VERIFY_STEP(1);
            /* the previous non-space character must end a number */
            size_t k = out.n - spaces;
            int after_number = k > 0 && (isdigit((unsigned char)out.s[k - 1]) || out.s[k - 1] == '}');
            int spaced = spaces > 0;
            if (after_number && (spaced || e - s >= 2) && is_unit_word(s, (size_t)(e - s)) && e - s > 1) {
                if (e[0] == '^' && (e[1] == '2' || e[1] == '3')) e += 2;
                s = e;
                continue;
            }
            sbuf_addn(&out, s, (size_t)(e - s));
            spaces = 0;
            s = e;
            continue;
        }
        spaces = *s == ' ' ? spaces + 1 : 0;
        sbuf_addc(&out, *s++);
    }
    sbuf_replace(b, &out);
}

/* \frac12 -> \frac{1}{2}, \sqrt2 -> \sqrt{2}, x^{2} -> x^2: one spelling for string comparison. */
static void canonical_args(SBuf *b) {
    size_t *ends = verify_brace_ends(b->s, b->n);
    SBuf out = {0};
    const char *s = b->s;
    while (*s) {
        VERIFY_STEP(1);
        if (strncmp(s, "\\frac", 5) == 0 && !isalpha((unsigned char)s[5])) {
            sbuf_add(&out, "\\frac");
            s += 5;
            for (int a = 0; a < 2 && *s; a++) {
                if (*s == '{') {
                    const char *e = group_end(ends, b->s, s);
                    if (!e) break;
                    VERIFY_STEP(e - s);
                    sbuf_addn(&out, s, (size_t)(e - s));
                    s = e;
                } else {
                    sbuf_addc(&out, '{');
                    sbuf_addc(&out, *s++);
                    sbuf_addc(&out, '}');
                }
            }
        } else if (strncmp(s, "\\sqrt", 5) == 0 && !isalpha((unsigned char)s[5]) && s[5] && s[5] != '{' &&
                   s[5] != '[') {
            sbuf_add(&out, "\\sqrt{");
            sbuf_addc(&out, s[5]);
            sbuf_addc(&out, '}');
            s += 6;
        } else if ((s[0] == '^' || s[0] == '_') && s[1] == '{' && s[2] && s[2] != '\\' && s[3] == '}') {
            sbuf_addc(&out, s[0]);
            sbuf_addc(&out, s[2]);
            s += 4;
        } else {
            sbuf_addc(&out, *s++);
        }
    }
    free(ends);
    sbuf_replace(b, &out);
}

/* Removes whitespace, except one space between a command and a letter ("\\sin x" is not "\\sinx"). */
static void squeeze(SBuf *b) {
    size_t k = 0, word = 0; /* word: where the letters that end the output so far begin */
    for (size_t i = 0; i < b->n; i++) {
        VERIFY_STEP(1);
        unsigned char c = (unsigned char)b->s[i];
        if (!isspace(c)) {
            if (isalpha(c) && (k == 0 || !isalpha((unsigned char)b->s[k - 1]))) word = k;
            b->s[k++] = (char)c;
            continue;
        }
        size_t j = k > 0 && isalpha((unsigned char)b->s[k - 1]) ? word : k;
        size_t nx = i;
        while (nx < b->n && isspace((unsigned char)b->s[nx])) nx++, VERIFY_STEP(1);
        if (j < k && j > 0 && b->s[j - 1] == '\\' && nx < b->n && isalpha((unsigned char)b->s[nx])) b->s[k++] = ' ';
        i = nx - 1;
    }
    b->n = k;
    b->s[k] = 0;
}

/* A comma followed by white space: "8, 221" is a list of two answers, not 8221 (math-verify reads it so too).
 * LaTeX's thousands groups "10,\!080" and "11,\! 111" (MATH-500) lose their "\!" and the spaces after it
 * first, so they stay numbers. */
static int comma_space(SBuf *b) {
    size_t k = 0;
    int spaced = 0;
    if (!b->s) return 0;
    VERIFY_STEP(b->n);
    for (size_t i = 0; i < b->n; i++) {
        b->s[k++] = b->s[i];
        if (b->s[i] != ',') continue;
        if (b->s[i + 1] == '\\' && b->s[i + 2] == '!')
            for (i += 2; i + 1 < b->n && isspace((unsigned char)b->s[i + 1]); i++) {}
        else if (isspace((unsigned char)b->s[i + 1])) spaced = 1;
    }
    b->n = k;
    b->s[k] = 0;
    return spaced;
}

/* "1,234,567" (the whole answer) -> "1234567"; as_list (a comma was followed by a space) -> "\{1,234,567\}". */
static void drop_thousands(SBuf *b, int as_list) {
    const char *s = b->s;
    size_t i = (s[0] == '-'), d = 0;
    VERIFY_STEP(b->n);
    while (isdigit((unsigned char)s[i])) { i++; d++; }
    if (d < 1 || d > 3 || s[i] != ',') return;
    while (s[i] == ',') {
        if (!(isdigit((unsigned char)s[i + 1]) && isdigit((unsigned char)s[i + 2]) && isdigit((unsigned char)s[i + 3])))
            return;
        i += 4;
    }
    if (s[i] == '.') {
        i++;
        if (!isdigit((unsigned char)s[i])) return;
        while (isdigit((unsigned char)s[i])) i++;
    }
    if (s[i]) return;
    if (as_list) { /* "8, 221": the set \{8,221\}, which a bare list equals and which normalizes to itself */
        SBuf t = {0};
        sbuf_add(&t, "\\{");
        sbuf_add(&t, b->s);
        sbuf_add(&t, "\\}");
        free(b->s);
        *b = t;
        return;
    }
    size_t k = 0;
    for (size_t j = 0; j < b->n; j++)
        if (b->s[j] != ',') b->s[k++] = b->s[j];
    b->n = k;
    b->s[k] = 0;
}

/* Strips one pair of enclosing math delimiters: $...$, \(...\), \[...\]. */
static void strip_math_delims(SBuf *b) {
    static const char *const pairs[][2] = {{"$$", "$$"}, {"$", "$"}, {"\\(", "\\)"}, {"\\[", "\\]"}};
    for (int i = 0; i < 4; i++) {
        size_t a = strlen(pairs[i][0]), z = strlen(pairs[i][1]);
        if (b->n >= a + z && strncmp(b->s, pairs[i][0], a) == 0 && strcmp(b->s + b->n - z, pairs[i][1]) == 0) {
            VERIFY_STEP(b->n);
            memmove(b->s, b->s + a, b->n - a - z);
            b->n -= a + z;
            b->s[b->n] = 0;
            return;
        }
    }
}

/* Trailing whitespace goes. */
static void rtrim(SBuf *b) {
    while (b->n > 0 && isspace((unsigned char)b->s[b->n - 1])) b->n--, VERIFY_STEP(1);
    b->s[b->n] = 0;
}

/* Leading and trailing whitespace go. */
static void trim(SBuf *b) {
    rtrim(b);
    size_t a = 0;
    while (a < b->n && isspace((unsigned char)b->s[a])) a++;
    VERIFY_STEP(b->n);
    memmove(b->s, b->s + a, b->n - a);
    b->n -= a;
    b->s[b->n] = 0;
}

char *verify_normalize(const char *answer) {
    SBuf b = {0};
    sbuf_add(&b, answer ? answer : "");
    VERIFY_STEP(b.n);
    trim(&b);
    strip_math_delims(&b);
    trim(&b);
    /* a trailing line break or full stop ends the sentence, not the answer (only the end is trimmed in the
       loop: trimming the start each time made "5 . . . ." quadratic) */
    for (;;) {
        rtrim(&b);
        if (b.n >= 2 && b.s[b.n - 1] == '\\' && b.s[b.n - 2] == '\\') b.n -= 2;
        else if (b.n >= 1 && b.s[b.n - 1] == '.') b.n -= 1;
        else break;
        b.s[b.n] = 0;
    }
    /* matrix rows and columns become tuple separators (before "\\ " is read as a space) */
    replace_all(&b, "\\\\", ",", 0);
    replace_all(&b, "&", ",", 0);
    int spaced_comma = comma_space(&b);
    /* spacing and sizing commands carry no meaning */
    static const char *const drop_words[] = {"\\left", "\\right", "\\displaystyle", "\\bigl", "\\bigr", "\\Bigl",
                                             "\\Bigr", "\\big", "\\Big", NULL};
    for (int i = 0; drop_words[i]; i++) replace_all(&b, drop_words[i], "", 1);
    static const char *const spaces[] = {"\\!", "\\,", "\\;", "\\:", "\\ ", "~", NULL};
    for (int i = 0; spaces[i]; i++) replace_all(&b, spaces[i], " ", 0);
    replace_all(&b, "\\qquad", " ", 1);
    replace_all(&b, "\\quad", " ", 1);
    /* degrees and percent signs (verify_equal also tries x% = x/100) and currency */
    static const char *const gone[] = {"^{\\circ}", "^\\circ", "^{\\circ }", "\\circ", "\xc2\xb0", "\\%", "%", "\\$", "$", "{,}", NULL};
    for (int i = 0; gone[i]; i++) replace_all(&b, gone[i], "", 0);
    replace_all(&b, "\\degree", "", 1);
    replace_all(&b, "\\dfrac", "\\frac", 1);
    replace_all(&b, "\\tfrac", "\\frac", 1);
    replace_all(&b, "\\cfrac", "\\frac", 1);
    replace_all(&b, "\\leq", "\\le", 1);
    replace_all(&b, "\\geq", "\\ge", 1);
    replace_all(&b, "\\neq", "\\ne", 1);
    replace_all(&b, "\\leqslant", "\\le", 1);
    replace_all(&b, "\\geqslant", "\\ge", 1);
    replace_all(&b, "\\cdot", "*", 1);
    replace_all(&b, "\\times", "*", 1);
    replace_all(&b, "\\div", "/", 1);
    replace_all(&b, "\\lbrace", "\\{", 1);
    replace_all(&b, "\\rbrace", "\\}", 1);
    replace_all(&b, "\\infinity", "\\infty", 1);
    replace_all(&b, "\\emptyset", "\\varnothing", 1);
    /* a column vector or matrix reads as a tuple of its entries */
    static const char *const envs[] = {"pmatrix", "bmatrix", "matrix", NULL};
    for (int i = 0; envs[i]; i++) {
        char open[32], close[32];
        snprintf(open, sizeof open, "\\begin{%s}", envs[i]);
        snprintf(close, sizeof close, "\\end{%s}", envs[i]);
        replace_all(&b, open, "(", 0);
        replace_all(&b, close, ")", 0);
    }
    unwrap_text(&b);
    drop_plain_units(&b);
    /* "12 and 13", "x=2 or x=3": a list of answers */
    replace_all(&b, " and ", ",", 0);
    replace_all(&b, " or ", ",", 0);
    squeeze(&b);
    /* trailing full stops and line breaks of a sentence end */
    while (b.n > 0 && (b.s[b.n - 1] == '.' || b.s[b.n - 1] == '\\')) b.s[--b.n] = 0, VERIFY_STEP(1);
    canonical_args(&b);
    drop_thousands(&b, spaced_comma);
    /* ".5" -> "0.5" */
    if (b.n > 1 && b.s[0] == '.' && isdigit((unsigned char)b.s[1])) {
        SBuf t = {0};
        VERIFY_STEP(b.n);
        sbuf_add(&t, "0");
        sbuf_add(&t, b.s);
        free(b.s);
        b = t;
    }
    /* multiple choice "(C)" -> "C" */
    if (b.n == 3 && b.s[0] == '(' && b.s[2] == ')' && isupper((unsigned char)b.s[1])) {
        b.s[0] = b.s[1];
        b.s[1] = 0;
        b.n = 1;
    }
    return sbuf_take(&b);
}
