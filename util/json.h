/* json.h - JSON reading on top of cJSON, with positions in error messages.
 * cJSON gives the byte where parsing stopped; we turn it into line:column. */
#ifndef PURE_JSON_H
#define PURE_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include "err.h"

/* Parses text (len bytes; what = file name for messages). On a syntax error:
 * "what:LINE:COL: invalid JSON near '...'". Strict: one value and only white
 * space after it, and no object with the same key twice (cJSON would keep
 * both and every lookup would see the first, so a file could say one thing
 * to pure and another to other readers). Caller frees with cJSON_Delete. */
cJSON *json_parse(const char *text, size_t len, const char *what, PureErr *err);
/* The same, but duplicate keys are allowed: for formats whose reference
 * reader lets the last one win (Hugging Face tokenizer.json vocabularies). */
cJSON *json_parse_dups(const char *text, size_t len, const char *what, PureErr *err);
/* Reads and parses a file. */
cJSON *json_parse_file(const char *path, PureErr *err);
/* 1-based line and column of byte offset `off` in text. */
void json_line_col(const char *text, size_t off, int *line, int *col);

#endif
