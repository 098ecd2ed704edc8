/* tok_write.c - writes the byte-level toy tokenizer: ids 0..255 are the bytes
 * (in the GPT-2 byte-level alphabet, so Hugging Face's ByteLevel decoder turns
 * them back into bytes), then the special tokens; no merges. The files are
 * valid for Hugging Face tokenizers and for tokenizer_load. */
#include <stdlib.h>
#include <string.h>
#include "../util/fs.h"
#include "../util/json.h"
#include "tok_internal.h"

static const char chatml_template[] =
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

static cJSON *bytelevel_component(const char *type) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", type);
    cJSON_AddFalseToObject(o, "add_prefix_space");
    cJSON_AddFalseToObject(o, "trim_offsets");
    cJSON_AddFalseToObject(o, "use_regex");
    return o;
}

static cJSON *tokenizer_json(const char *const *specials, int n_specials) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "version", "1.0");
    cJSON_AddNullToObject(root, "truncation");
    cJSON_AddNullToObject(root, "padding");
    cJSON *added = cJSON_AddArrayToObject(root, "added_tokens");
    for (int i = 0; i < n_specials; i++) {
        cJSON *a = cJSON_CreateObject();
        cJSON_AddNumberToObject(a, "id", 256 + i);
        cJSON_AddStringToObject(a, "content", specials[i]);
        cJSON_AddFalseToObject(a, "single_word");
        cJSON_AddFalseToObject(a, "lstrip");
        cJSON_AddFalseToObject(a, "rstrip");
        cJSON_AddFalseToObject(a, "normalized");
        cJSON_AddTrueToObject(a, "special");
        cJSON_AddItemToArray(added, a);
    }
    cJSON_AddNullToObject(root, "normalizer");
    cJSON_AddItemToObject(root, "pre_tokenizer", bytelevel_component("ByteLevel"));
    cJSON_AddNullToObject(root, "post_processor");
    cJSON_AddItemToObject(root, "decoder", bytelevel_component("ByteLevel"));
    cJSON *model = cJSON_AddObjectToObject(root, "model");
    cJSON_AddStringToObject(model, "type", "BPE");
    cJSON_AddNullToObject(model, "dropout");
    cJSON_AddNullToObject(model, "unk_token");
    cJSON_AddNullToObject(model, "continuing_subword_prefix");
    cJSON_AddNullToObject(model, "end_of_word_suffix");
    cJSON_AddFalseToObject(model, "fuse_unk");
    cJSON_AddFalseToObject(model, "byte_fallback");
    cJSON_AddFalseToObject(model, "ignore_merges");
    cJSON *vocab = cJSON_AddObjectToObject(model, "vocab");
    for (int b = 0; b < 256; b++) {
        char raw = (char)b, name[8];
        size_t k = bytelevel_encode(&raw, 1, name);
        name[k] = 0;
        cJSON_AddNumberToObject(vocab, name, b);
    }
    for (int i = 0; i < n_specials; i++) cJSON_AddNumberToObject(vocab, specials[i], 256 + i);
    cJSON_AddArrayToObject(model, "merges");
    return root;
}

static int write_json(const char *dir, const char *name, cJSON *root, PureErr *err) {
    char *path = fs_join(dir, name);
    char *text = cJSON_Print(root);
    size_t n = strlen(text);
    text = xrealloc(text, n + 2);
    text[n++] = '\n';
    int rc = fs_write_atomic(path, text, n, err);
    free(text);
    free(path);
    return rc;
}

static int listed(const char *tok, const char *const *specials, int n) {
    for (int i = 0; i < n; i++)
        if (!strcmp(tok, specials[i])) return 1;
    return 0;
}

int tokenizer_write_bytelevel(const char *dir, const char *const *specials, int n_specials, const char *eos,
                              const char *pad, PureErr *err) {
    for (int i = 0; i < n_specials; i++) {
        if (!specials[i] || !specials[i][0])
            return err_set(err, "tokenizer_write_bytelevel: special token %d is empty", i);
        if (listed(specials[i], specials, i))
            return err_set(err, "tokenizer_write_bytelevel: special token \"%s\" is listed twice", specials[i]);
    }
    if (eos && !listed(eos, specials, n_specials))
        return err_set(err, "tokenizer_write_bytelevel: eos \"%s\" is not one of the special tokens", eos);
    if (pad && !listed(pad, specials, n_specials))
        return err_set(err, "tokenizer_write_bytelevel: pad \"%s\" is not one of the special tokens", pad);
    if (fs_mkdir_p(dir, err)) return -1;
    cJSON *tok = tokenizer_json(specials, n_specials);
    int rc = write_json(dir, "tokenizer.json", tok, err);
    cJSON_Delete(tok);
    if (rc) return err_prefix(err, "writing the byte-level tokenizer");
    cJSON *cfg = cJSON_CreateObject();
    cJSON_AddFalseToObject(cfg, "add_bos_token");
    cJSON_AddNullToObject(cfg, "bos_token");
    if (eos) cJSON_AddStringToObject(cfg, "eos_token", eos);
    else cJSON_AddNullToObject(cfg, "eos_token");
    if (pad) cJSON_AddStringToObject(cfg, "pad_token", pad);
    else cJSON_AddNullToObject(cfg, "pad_token");
    cJSON_AddStringToObject(cfg, "chat_template", chatml_template);
    cJSON_AddFalseToObject(cfg, "clean_up_tokenization_spaces");  /* decode must give back the bytes */
    cJSON_AddNumberToObject(cfg, "model_max_length", 1 << 20);
    cJSON_AddStringToObject(cfg, "tokenizer_class", "PreTrainedTokenizerFast");
    rc = write_json(dir, "tokenizer_config.json", cfg, err);
    cJSON_Delete(cfg);
    return rc ? err_prefix(err, "writing the byte-level tokenizer") : 0;
}
