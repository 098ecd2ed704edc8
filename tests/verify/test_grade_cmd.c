/* test_grade_cmd.c - `pure grade` (cmd_grade) on a JSONL file: one output object per non-blank input line, in
 * order, with the extracted answer (null without a box) and the verdict; a bad line stops with line:col. */
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
    char *argv[] = {"grade", "extra", NULL};
    CHECK(cmd_grade(2, argv) == 2); /* usage */
    PureErr err = {0};
    fs_remove_all(dir, &err);
    return check_report("test_grade_cmd");
}
