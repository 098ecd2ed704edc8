/* cmd_grade.c - `pure grade`: grades JSONL pairs from stdin with the verify stage's own verifier.
 * In:  {"response": "...", "reference": "..."} per line.
 * Out: {"extracted": "..."|null, "correct": true|false} per line, in order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "cli/commands.h"
#include "verifier/verify.h"
#include "util/err.h"

static const char usage[] =
    "usage: pure grade < pairs.jsonl\n"
    "  reads {\"response\": \"...\", \"reference\": \"...\"} per line and prints\n"
    "  {\"extracted\": \"...\", \"correct\": true|false} per line (docs/verifier.md)\n";

/* Grades one line; 0 ok (output printed), -1 with a message. */
static int grade_line(const char *line, size_t len, int lineno, FILE *out) {
    const char *stop = NULL;
    cJSON *obj = cJSON_ParseWithLengthOpts(line, len, &stop, 0);
    if (!obj) {
        size_t col = stop && stop >= line ? (size_t)(stop - line) + 1 : 1;
        fprintf(stderr, "pure grade: <stdin>:%d:%zu: invalid JSON line\n", lineno, col);
        return -1;
    }
    const cJSON *resp = cJSON_GetObjectItemCaseSensitive(obj, "response");
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(obj, "reference");
    const char *missing = !cJSON_IsString(resp) ? "response" : !cJSON_IsString(ref) && !cJSON_IsNumber(ref) ? "reference" : NULL;
    if (missing) {
        fprintf(stderr, "pure grade: <stdin>:%d: missing string field '%s'\n", lineno, missing);
        cJSON_Delete(obj);
        return -1;
    }
    char num[64];
    const char *reference = ref->valuestring;
    if (cJSON_IsNumber(ref)) {
        snprintf(num, sizeof num, "%.17g", ref->valuedouble);
        reference = num;
    }
    char *extracted = NULL;
    int correct = verify_grade(resp->valuestring, reference, &extracted);
    cJSON *o = cJSON_CreateObject();
    if (extracted) cJSON_AddStringToObject(o, "extracted", extracted);
    else cJSON_AddNullToObject(o, "extracted");
    cJSON_AddBoolToObject(o, "correct", correct);
    char *s = cJSON_PrintUnformatted(o);
    fprintf(out, "%s\n", s);
    free(s);
    cJSON_Delete(o);
    free(extracted);
    cJSON_Delete(obj);
    return 0;
}

int cmd_grade(int argc, char **argv) {
    if (argc > 1) {
        int help = !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help");
        fputs(usage, help ? stdout : stderr);
        return help ? PURE_EXIT_OK : PURE_EXIT_USAGE;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0, rc = PURE_EXIT_OK;
    while ((len = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        ssize_t k = 0;
        while (k < len && (line[k] == ' ' || line[k] == '\t' || line[k] == '\n' || line[k] == '\r')) k++;
        if (k == len) continue; /* blank lines */
        if (grade_line(line, (size_t)len, lineno, stdout) < 0) {
            rc = PURE_EXIT_FAIL;
            break;
        }
    }
    free(line);
    fflush(stdout);
    return rc;
}
