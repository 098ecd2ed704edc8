/* test_grade_cmd.c - `pure grade` (cmd_grade) on a JSONL file: one output object per non-blank input line, in
 * order, with the extracted answer (null without a box) and the verdict; a bad line stops with line:col; NUL
 * bytes ("\u0000") are graded as characters, not as the end of the string. */
#include <stdlib.h>
#include <unistd.h>
#include "cli/commands.h"
#include "tests/check.h"
#include "util/fs.h"

static char dir[] = "/tmp/pure_test_grade_XXXXXX";

/* Runs cmd_grade with stdin from `input`; returns its exit code and the captured stdout in *out. */
static int run_grade(const char *input, char **out) {
    char *in_path = fs_join(dir, "in.jsonl"), *out_path = fs_join(dir, "out.jsonl");
    FILE *f = fopen(in_path, "w");
    fputs(input, f);
    fclose(f);
    fflush(stdout);
    int saved_in = dup(0), saved_out = dup(1);
    CHECK(freopen(in_path, "r", stdin) != NULL);
    CHECK(freopen(out_path, "w", stdout) != NULL);
    char *argv[] = {"grade", NULL};
    int rc = cmd_grade(1, argv);
    fflush(stdout);
    dup2(saved_in, 0);
    dup2(saved_out, 1);
    close(saved_in);
    close(saved_out);
    clearerr(stdin);
    *out = fs_read_file(out_path, NULL, NULL);
    free(in_path);
    free(out_path);
    return rc;
}

int main(void) {
    if (!mkdtemp(dir)) return 1;
    char *out = NULL;
    int rc = run_grade("{\"response\": \"so $\\\\boxed{\\\\frac12}$\", \"reference\": \"0.5\"}\n"
                       "\n"
                       "{\"response\": \"no box\", \"reference\": \"3\"}\n"
                       "{\"response\": \"\\\\boxed{27}\", \"reference\": 27.0}\n"
                       "{\"response\": \"\\\\boxed{(1,2)}\", \"reference\": \"(2,1)\"}\n",
                       &out);
    CHECK(rc == 0);
    CHECK_STR(out, "{\"extracted\":\"\\\\frac12\",\"correct\":true}\n"
                   "{\"extracted\":null,\"correct\":false}\n"
                   "{\"extracted\":\"27\",\"correct\":true}\n"
                   "{\"extracted\":\"(1,2)\",\"correct\":false}\n");
    free(out);
    /* a bad line stops the command (exit 1) after the lines before it were answered */
    rc = run_grade("{\"response\": \"\\\\boxed{1}\", \"reference\": \"1\"}\n{\"response\": \n", &out);
    CHECK(rc == 1);
    CHECK_STR(out, "{\"extracted\":\"1\",\"correct\":true}\n");
    free(out);
    rc = run_grade("{\"reference\": \"1\"}\n", &out);
    CHECK(rc == 1 && out && out[0] == 0);
    free(out);
    /* NUL bytes ("\u0000") are characters of the response: nothing is cut at them (issue 12: the first line
       gave "extracted":null, the second "5" and false, the third null) */
    rc = run_grade("{\"response\": \"\\\\boxed{1\\u00002}\", \"reference\": \"12\"}\n"
                   "{\"response\": \"\\\\boxed{5} \\u0000 then \\\\boxed{7}\", \"reference\": \"7\"}\n"
                   "{\"response\": \"\\\\boxed{7\\u0000}\", \"reference\": \"7\\u0000\"}\n"
                   "{\"response\": \"\\\\boxed{7}\", \"reference\": \"7\\u0000\"}\n",
                   &out);
    CHECK(rc == 0);
    CHECK_STR(out, "{\"extracted\":\"1\\u00002\",\"correct\":false}\n"
                   "{\"extracted\":\"7\",\"correct\":true}\n"
                   "{\"extracted\":\"7\\u0000\",\"correct\":true}\n"
                   "{\"extracted\":\"7\",\"correct\":false}\n");
    free(out);
    /* strings are printed back as cJSON prints them: escapes, control bytes, UTF-8 and surrogate pairs */
    rc = run_grade("{\"response\": \"\\\\boxed{\\\"a\\\\b\\/\\u0001\\t\\n\\u00e9\\ud83d\\ude00}\", \"reference\": 1}\n", &out);
    CHECK(rc == 0);
    CHECK_STR(out, "{\"extracted\":\"\\\"a\\\\b/\\u0001\\t\\n\xc3\xa9\xf0\x9f\x98\x80\",\"correct\":false}\n");
    free(out);
    /* "\u" without four hex digits is not JSON (cJSON alone read "\u0zzz" as a NUL) */
    rc = run_grade("{\"response\": \"\\\\boxed{1\\u0zzz}\", \"reference\": \"1\"}\n", &out);
    CHECK(rc == 1 && out && out[0] == 0);
    free(out);
    /* a key is its exact bytes: "response\u0000x" is not "response" */
    rc = run_grade("{\"response\\u0000x\": \"\\\\boxed{1}\", \"reference\": \"1\"}\n", &out);
    CHECK(rc == 1 && out && out[0] == 0);
    free(out);
    /* the first of two members with one name, as cJSON reads it; nested values are skipped over */
    rc = run_grade("{\"x\": {\"response\": [1, \"}\"]}, \"response\": \"\\\\boxed{2}\", \"response\": \"\\\\boxed{3}\", "
                   "\"reference\": 2}\n", &out);
    CHECK(rc == 0);
    CHECK_STR(out, "{\"extracted\":\"2\",\"correct\":true}\n");
    free(out);
    char *argv[] = {"grade", "extra", NULL};
    CHECK(cmd_grade(2, argv) == 2); /* usage */
    PureErr err = {0};
    fs_remove_all(dir, &err);
    return check_report("test_grade_cmd");
}
