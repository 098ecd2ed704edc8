/* test_tokenizer_variants.c - GPT-2 and Llama 3 style tokenizer.json files:
 * the components listed in data/variants.json (ByteLevel with its regex and
 * add_prefix_space, a Llama 3 Split with \p{N}{1,3}, ignore_merges, no
 * normalizer) put around Qwen's vocabulary and merges, checked token for token
 * against the JavaScript port (data/variant_vectors.jsonl), with raw round
 * trips. Skipped (77) without the shared Qwen tokenizer. */
#include "tests/check.h"
#include "tests/tokenizer/tok_test_util.h"

static char dir[] = "/tmp/pure_tok_var_XXXXXX";

typedef struct Ctx {
    const char *variant;
    Tokenizer *tok;
    int n;
} Ctx;

static void record(const cJSON *rec, void *user) {
    Ctx *c = user;
    if (strcmp(cJSON_GetObjectItem(rec, "variant")->valuestring, c->variant) != 0) return;
    const char *text = cJSON_GetObjectItem(rec, "text")->valuestring;
    size_t n = strlen(text), k, nw, rl;
    int32_t *ids;
    PureErr err;
    err_clear(&err);
    CHECK(tokenizer_encode(c->tok, text, n, 1, &ids, &k, NULL, &err) == 0);
    int32_t *want = json_ids(cJSON_GetObjectItem(rec, "ids"), &nw);
    char what[128];
    snprintf(what, sizeof what, "%s: \"%.40s\"", c->variant, text);
    CHECK(ids_equal(what, ids, k, want, nw));
    /* no normalizer: the raw decode is the input (with add_prefix_space, after a space) */
    char *raw = tokenizer_decode_raw(c->tok, ids, k, 0, &rl);
    if (!strstr(c->variant, "prefix")) {
        CHECK(rl == n && memcmp(raw, text, n) == 0);
    } else if (!strstr(text, "<|endoftext|>")) {  /* one segment, so at most one added space */
        size_t sp = n && text[0] != ' ';
        CHECK(rl == n + sp && (!sp || raw[0] == ' ') && memcmp(raw + sp, text, n) == 0);
    }
    free(raw);
    free(ids);
    free(want);
    c->n++;
}

/* Writes the Qwen file with the variant's components into DIR/name and loads it. */
static Tokenizer *build(const cJSON *qwen, const char *name, const cJSON *v) {
    cJSON *j = cJSON_Duplicate(qwen, 1);
    cJSON_ReplaceItemInObjectCaseSensitive(j, "normalizer", cJSON_Duplicate(cJSON_GetObjectItem(v, "normalizer"), 1));
    cJSON_ReplaceItemInObjectCaseSensitive(j, "pre_tokenizer", cJSON_Duplicate(cJSON_GetObjectItem(v, "pre_tokenizer"), 1));
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItem(j, "model"), "ignore_merges",
                                           cJSON_CreateBool(cJSON_IsTrue(cJSON_GetObjectItem(v, "ignore_merges"))));
    const cJSON *keep = cJSON_GetObjectItem(v, "keep_added");
    if (cJSON_IsArray(keep)) {
        cJSON *added = cJSON_GetObjectItem(j, "added_tokens");
        for (int i = cJSON_GetArraySize(added) - 1; i >= 0; i--) {
            const char *content = cJSON_GetObjectItem(cJSON_GetArrayItem(added, i), "content")->valuestring;
            int kept = 0;
            for (const cJSON *e = keep->child; e; e = e->next) kept |= !strcmp(e->valuestring, content);
            if (!kept) cJSON_DeleteItemFromArray(added, i);
        }
    }
    char sub[300], path[400];
    snprintf(sub, sizeof sub, "%s/%s", dir, name);
    snprintf(path, sizeof path, "%s/tokenizer.json", sub);
    PureErr err;
    err_clear(&err);
    fs_mkdir_p(sub, &err);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    CHECK(fs_write_atomic(path, text, strlen(text), &err) == 0);
    free(text);
    Tokenizer *t = tokenizer_load(path, &err);
    if (!t) fprintf(stderr, "%s\n", err.msg);
    return t;
}

int main(void) {
    char path[1024];
    if (!qwen_path(path, sizeof path)) {
        printf("skipped: %s not found\n", path);
        return 77;
    }
    CHECK(mkdtemp(dir) != NULL);
    PureErr err;
    err_clear(&err);
    cJSON *qwen = json_parse_file(path, &err);
    cJSON *variants = json_parse_file(PURE_SOURCE_DIR "/tests/tokenizer/data/variants.json", &err);
    CHECK(qwen && variants);
    if (!qwen || !variants) return check_report("test_tokenizer_variants");
    for (const cJSON *v = variants->child; v; v = v->next) {
        Ctx c = {v->string, build(qwen, v->string, v), 0};
        CHECK(c.tok != NULL);
        if (!c.tok) continue;
        jsonl_each(PURE_SOURCE_DIR "/tests/tokenizer/data/variant_vectors.jsonl", record, &c);
        printf("%s: %d texts\n", v->string, c.n);
        CHECK(c.n > 400);
        tokenizer_free(c.tok);
    }
    cJSON_Delete(qwen);
    cJSON_Delete(variants);
    fs_remove_all(dir, &err);
    return check_report("test_tokenizer_variants");
}
