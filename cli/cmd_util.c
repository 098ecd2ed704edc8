/* cmd_util.c - helpers for the model's commands (see cmd_util.h). */
#include "cli/cmd_util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"

const char *cmd_value(int argc, char **argv, int *i) {
    if (*i + 1 >= argc) {
        fprintf(stderr, "%s: %s needs a value\n", argv[0], argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

int cmd_int(const char *opt, const char *s, long long *out) {
    char *end;
    errno = 0;
    *out = strtoll(s, &end, 10);
    if (errno || end == s || *end) {
        fprintf(stderr, "%s: expected an integer, got '%s'\n", opt, s);
        return -1;
    }
    return 0;
}

int cmd_double(const char *opt, const char *s, double *out) {
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    if (errno || end == s || *end) {
        fprintf(stderr, "%s: expected a number, got '%s'\n", opt, s);
        return -1;
    }
    return 0;
}

int cmd_load(const char *dir, const char *tok_path, int need_tok, const char *device, Model **m, Tokenizer **tok) {
    PureErr err = {0};
    *tok = NULL;
    char *path = tok_path ? xstrdup(tok_path) : fs_join(dir, "tokenizer.json");
    if (tok_path || fs_exists(path)) {
        *tok = tokenizer_load(path, &err);
        if (!*tok) {
            log_error("%s", err.msg);
            free(path);
            return -1;
        }
    } else if (need_tok) {
        log_error("%s: no tokenizer.json (give --tokenizer FILE)", dir);
        free(path);
        return -1;
    }
    free(path);
    *m = model_load(dir, device, &err);
    if (!*m) {
        log_error("%s", err.msg);
        tokenizer_free(*tok);
        *tok = NULL;
        return -1;
    }
    log_info("model %s: %s, %lld parameters; kernels: %s", dir, model_config(*m)->arch,
             (long long)model_num_params(*m), model_kernel_info());
    return 0;
}

static int parse_line(const cJSON *j, const char *text_key, const Tokenizer *tok, CmdInput *in, PureErr *err) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "tokens"), *x = cJSON_GetObjectItemCaseSensitive(j, text_key);
    if (cJSON_IsArray(t)) {
        in->n = cJSON_GetArraySize(t);
        in->tokens = xmalloc(sizeof(int32_t) * (in->n + 1));
        int k = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, t) {
            if (!cJSON_IsNumber(e)) return err_set(err, "\"tokens\"[%d] is not a number", k);
            in->tokens[k++] = (int32_t)e->valuedouble;
        }
        return 0;
    }
    if (cJSON_IsString(x)) {
        if (!tok) return err_set(err, "\"%s\" needs a tokenizer (give --tokenizer FILE)", text_key);
        size_t n;
        if (tokenizer_encode(tok, x->valuestring, strlen(x->valuestring), 1, &in->tokens, &n, NULL, err)) return -1;
        in->n = (int)n;
        return 0;
    }
    return err_set(err, "expected {\"tokens\": [...]} or {\"%s\": \"...\"}", text_key);
}

int cmd_read_inputs(const char *path, const char *text_key, const Tokenizer *tok, CmdInput **out, int *n) {
    PureErr err = {0};
    size_t len;
    char *text = fs_read_file(path, &len, &err);
    if (!text) {
        log_error("%s", err.msg);
        return -1;
    }
    int cap = 16, cnt = 0, line = 0, rc = 0;
    CmdInput *in = xcalloc(cap, sizeof(CmdInput));
    for (char *p = text, *nl; p < text + len && !rc; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(text + len - p));
        if (!nl) nl = text + len;
        line++;
        size_t l = (size_t)(nl - p);
        while (l && (p[l - 1] == '\r' || p[l - 1] == ' ')) l--;
        if (!l) continue;
        char what[600];
        snprintf(what, sizeof what, "%s:%d", path, line);
        cJSON *j = json_parse(p, l, what, &err);
        if (!j) {
            rc = -1;
            break;
        }
        if (cnt == cap) in = xrealloc(in, sizeof(CmdInput) * (cap *= 2));
        memset(&in[cnt], 0, sizeof in[cnt]);
        rc = parse_line(j, text_key, tok, &in[cnt], &err);
        if (rc) err_prefix(&err, "%s:%d", path, line);
        cnt++;
        cJSON_Delete(j);
    }
    free(text);
    if (rc) {
        log_error("%s", err.msg);
        cmd_inputs_free(in, cnt);
        return -1;
    }
    *out = in, *n = cnt;
    return 0;
}

void cmd_inputs_free(CmdInput *in, int n) {
    for (int i = 0; i < n; i++) free(in[i].tokens);
    free(in);
}
