/* test_tokenizer_cli.c - `pure tokenize` (cmd_tokenize): encode, decode,
 * --special, --offsets and the usage / input errors, on the toy tokenizer and
 * (when ../shared has it) the Qwen tokenizer. stdin and stdout are files. */
#include <fcntl.h>
#include <unistd.h>
#include "cli/commands.h"
#include "tests/check.h"
#include "tests/tokenizer/tok_test_util.h"

static char dir[] = "/tmp/pure_tok_cli_XXXXXX";

/* Runs cmd_tokenize with `input` on stdin; returns the exit code, *out = stdout (malloc'd). */
static int run(const char *input, char **out, int argc, char **argv) {
    char in_path[300], out_path[300];
    snprintf(in_path, sizeof in_path, "%s/in", dir);
    snprintf(out_path, sizeof out_path, "%s/out", dir);
    PureErr err;
    err_clear(&err);
    fs_write_atomic(in_path, input, strlen(input), &err);
    fflush(stdout);
    int saved_in = dup(0), saved_out = dup(1);
    int fi = open(in_path, O_RDONLY), fo = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fi, 0);
    dup2(fo, 1);
    close(fi);
    close(fo);
    clearerr(stdin);
    int rc = cmd_tokenize(argc, argv);
    fflush(stdout);
    dup2(saved_in, 0);
    dup2(saved_out, 1);
    close(saved_in);
    close(saved_out);
    clearerr(stdin);
    *out = fs_read_file(out_path, NULL, &err);
    return rc;
}

int main(void) {
    CHECK(mkdtemp(dir) != NULL);
    PureErr err;
    err_clear(&err);
    const char *sp[] = {"<|endoftext|>"};
    CHECK(tokenizer_write_bytelevel(dir, sp, 1, "<|endoftext|>", NULL, &err) == 0);
    char toy[300];
    snprintf(toy, sizeof toy, "%s/tokenizer.json", dir);
    char *out;

    char *enc[] = {"tokenize", "--tokenizer", toy};
    CHECK(run("hi<|endoftext|>", &out, 3, enc) == PURE_EXIT_OK);
    CHECK_STR(out, "[104, 105, 60, 124, 101, 110, 100, 111, 102, 116, 101, 120, 116, 124, 62]\n");  /* specials as text */
    free(out);
    char *enc_sp[] = {"tokenize", "--tokenizer", toy, "--special"};
    CHECK(run("hi<|endoftext|>", &out, 4, enc_sp) == PURE_EXIT_OK);
    CHECK_STR(out, "[104, 105, 256]\n");
    free(out);
    char *enc_off[] = {"tokenize", "--tokenizer", toy, "--special", "--offsets"};
    CHECK(run("hi<|endoftext|>", &out, 5, enc_off) == PURE_EXIT_OK);
    CHECK_STR(out, "[[104, 0, 1], [105, 1, 2], [256, 2, 15]]\n");
    free(out);
    char *dec[] = {"tokenize", "--tokenizer", toy, "--decode"};
    CHECK(run("[104, 105, 256, 33]", &out, 4, dec) == PURE_EXIT_OK);
    CHECK_STR(out, "hi!");  /* specials dropped */
    free(out);
    char *dec_sp[] = {"tokenize", "--tokenizer", toy, "--decode", "--special"};
    CHECK(run("[104, 105, 256, 33]", &out, 5, dec_sp) == PURE_EXIT_OK);
    CHECK_STR(out, "hi<|endoftext|>!");
    free(out);

    /* errors */
    CHECK(run("[1, 999]", &out, 4, dec) == PURE_EXIT_FAIL);
    free(out);
    CHECK(run("[1, ", &out, 4, dec) == PURE_EXIT_FAIL);
    free(out);
    CHECK(run("{}", &out, 4, dec) == PURE_EXIT_FAIL);
    free(out);
    char *no_tok[] = {"tokenize"};
    CHECK(run("x", &out, 1, no_tok) == PURE_EXIT_USAGE);
    free(out);
    char *bad_arg[] = {"tokenize", "--tokenizer", toy, "--frobnicate"};
    CHECK(run("x", &out, 4, bad_arg) == PURE_EXIT_USAGE);
    free(out);
    char *missing[] = {"tokenize", "--tokenizer", "/nonexistent/tokenizer.json"};
    CHECK(run("x", &out, 3, missing) == PURE_EXIT_FAIL);
    free(out);

    char qwen[1024];
    if (qwen_path(qwen, sizeof qwen)) {
        char *q[] = {"tokenize", "--tokenizer", qwen};
        CHECK(run("Hello, world!", &out, 3, q) == PURE_EXIT_OK);
        CHECK_STR(out, "[9707, 11, 1879, 0]\n");
        free(out);
        char *qd[] = {"tokenize", "--tokenizer", qwen, "--decode"};
        CHECK(run("[9707, 11, 1879, 0]", &out, 4, qd) == PURE_EXIT_OK);
        CHECK_STR(out, "Hello, world!");
        free(out);
    }
    fs_remove_all(dir, &err);
    return check_report("test_tokenizer_cli");
}
