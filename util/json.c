/* json.c - cJSON parsing with line:column errors. */
#include "json.h"

#include <stdlib.h>
#include <string.h>
#include "fs.h"

void json_line_col(const char *text, size_t off, int *line, int *col) {
    int l = 1, c = 1;
    for (size_t i = 0; i < off && text[i]; i++) {
        if (text[i] == '\n') { l++; c = 1; }
        else c++;
    }
    *line = l;
    *col = c;
}

cJSON *json_parse(const char *text, size_t len, const char *what, PureErr *err) {
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        size_t off = end && end >= text ? (size_t)(end - text) : 0;
        if (off > len) off = len;
        int line, col;
        json_line_col(text, off, &line, &col);
        char near[24] = {0};
        size_t k = 0;
        for (size_t i = off; i < len && k < 16 && text[i] != '\n'; i++) near[k++] = text[i];
        err_set(err, "%s:%d:%d: invalid JSON near '%s'", what, line, col, near);
        return NULL;
    }
    return root;
}

cJSON *json_parse_file(const char *path, PureErr *err) {
    size_t len;
    char *text = fs_read_file(path, &len, err);
    if (!text) return NULL;
    cJSON *root = json_parse(text, len, path, err);
    free(text);
    return root;
}
