/* cmd_util.h - shared by `pure generate` and `pure score`: option parsing
 * helpers, loading a model with its tokenizer, reading JSONL inputs. */
#ifndef PURE_MODEL_CMD_UTIL_H
#define PURE_MODEL_CMD_UTIL_H

#include <stdint.h>

#include "model/model.h"
#include "tokenizer/tokenizer.h"

/* argv[*i] is `name`: returns its value (argv[*i+1]) and advances, or NULL
 * (with a message on stderr) when the value is missing. */
const char *cmd_value(int argc, char **argv, int *i);
/* Parses a number; 0 on success, -1 with a message naming the option. */
int cmd_int(const char *opt, const char *s, long long *out);
int cmd_double(const char *opt, const char *s, double *out);

/* Loads DIR as a model and the tokenizer (tok_path, or DIR/tokenizer.json when
 * present; *tok stays NULL when neither exists and need_tok is 0). */
int cmd_load(const char *dir, const char *tok_path, int need_tok, const char *device, Model **m, Tokenizer **tok);

/* One input line: token ids given, or text to encode. */
typedef struct CmdInput {
    int32_t *tokens;
    int n;
} CmdInput;
/* Reads FILE.jsonl with one object per line: {"tokens": [...]} or
 * {"<text_key>": "..."} (text needs tok). Errors name file:line. */
int cmd_read_inputs(const char *path, const char *text_key, const Tokenizer *tok, CmdInput **out, int *n);
void cmd_inputs_free(CmdInput *in, int n);

#endif
