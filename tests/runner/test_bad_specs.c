/* test_bad_specs.c - every spec in tests/runner/bad_specs/ is rejected with
 * its expected message (bad_specs/expected.txt: file TAB message), and every
 * message starts with a file:line:column position. `# set: k=v` lines in a
 * spec are passed as --set overrides. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner/plan.h"

const StageKind *const *test_kinds_all(void); /* test_kinds.c */
#include "tests/check.h"
#include "util/fs.h"

/* "name:LINE:COL: " at the start of msg */
static int has_position(const char *msg) {
    const char *p = msg;
    while (*p && *p != ':') p++;
    if (*p++ != ':' || p == msg + 1) return 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9') p++, digits++;
    if (*p++ != ':' || !digits) return 0;
    digits = 0;
    while (*p >= '0' && *p <= '9') p++, digits++;
    return digits && p[0] == ':' && p[1] == ' ';
}

static void check_one(const char *file, const char *expect) {
    char *text = fs_read_file(file, NULL, NULL);
    CHECK(text != NULL);
    if (!text) return;
    const char *sets[8];
    int nsets = 0;
    for (char *l = strstr(text, "# set: "); l && nsets < 8; l = strstr(l + 1, "# set: ")) {
        char *end = strchr(l, '\n');
        if (end) *end = '\0';
        sets[nsets++] = l + 7;
        if (!end) break;
        l = end;
    }
    PureErr err;
    err_clear(&err);
    Spec *s = spec_load(file, sets, nsets, test_kinds_all(), &err);
    Plan *p = s ? plan_build(s, &err) : NULL;
    if (p || !err.set) {
        check_failures++;
        fprintf(stderr, "%s: accepted, expected: %s\n", file, expect);
    } else if (!strstr(err.msg, expect)) {
        check_failures++;
        fprintf(stderr, "%s:\n  got:      %s\n  expected: %s\n", file, err.msg, expect);
    } else if (!has_position(err.msg)) {
        check_failures++;
        fprintf(stderr, "%s: message has no file:line:col: %s\n", file, err.msg);
    }
    check_count++;
    plan_free(p);
    spec_free(s);
    free(text);
}

int main(void) {
    if (chdir(PURE_SOURCE_DIR "/tests/runner/bad_specs") != 0) {
        perror("chdir bad_specs");
        return 1;
    }
    char *index = fs_read_file("expected.txt", NULL, NULL);
    CHECK(index != NULL);
    int n = 0;
    for (char *line = index; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        char *tab = strchr(line, '\t');
        CHECK(tab != NULL);
        if (tab) {
            *tab = '\0';
            check_one(line, tab + 1);
            n++;
        }
        line = nl ? nl + 1 : NULL;
    }
    free(index);
    /* every .yaml in the folder is listed */
    DIR *d = opendir(".");
    struct dirent *e;
    int files = 0;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".yaml") && !strstr(e->d_name, ".inc")) files++;
    if (d) closedir(d);
    CHECK(files == n);
    CHECK(n >= 30);
    printf("%d bad specs checked\n", n);
    return check_report("test_bad_specs");
}
