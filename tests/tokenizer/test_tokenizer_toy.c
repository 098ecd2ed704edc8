/* test_tokenizer_toy.c - the byte-level toy tokenizer pure writes (ids,
 * specials, config, and the JavaScript port's encodings of the file we wrote:
 * data/toy_vectors.jsonl); BPE merge order on hand-worked vocabularies built
 * from it; and the loader's messages for every unsupported component.
 * `test_tokenizer_toy DIR` only writes the toy tokenizer into DIR (used by
 * gen_vectors.js). */
#include <unistd.h>
#include "tests/check.h"
#include "tests/tokenizer/tok_test_util.h"

static const char *const specials[] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
static char dir[] = "/tmp/pure_tok_toy_XXXXXX";
static Tokenizer *toy;

static int32_t *enc(const Tokenizer *t, const char *s, int special, size_t *n, size_t **off) {
    int32_t *ids;
    PureErr err;
    err_clear(&err);
    CHECK(tokenizer_encode(t, s, strlen(s), special, &ids, n, off, &err) == 0);
    return ids;
}

static void toy_record(const cJSON *rec, void *user) {
    (void)user;
    const char *text = cJSON_GetObjectItem(rec, "text")->valuestring;
    size_t n, nw;
    int32_t *ids = enc(toy, text, 1, &n, NULL);
    int32_t *want = json_ids(cJSON_GetObjectItem(rec, "ids"), &nw);
    CHECK(ids_equal(text, ids, n, want, nw));
    char *d = tokenizer_decode(toy, ids, n, 0, NULL);
    CHECK_STR(d, cJSON_GetObjectItem(rec, "decoded")->valuestring);
    free(d);
    free(ids);
    free(want);
}

static void test_toy(void) {
    CHECK(tokenizer_vocab_size(toy) == 259);
    CHECK(tokenizer_eos_id(toy) == 258 && tokenizer_pad_id(toy) == 256 && tokenizer_bos_id(toy) == -1);
    CHECK(tokenizer_is_special(toy, 257) && !tokenizer_is_special(toy, 65));
    CHECK(tokenizer_max_token_bytes(toy) == strlen("<|endoftext|>"));
    size_t n, *off;
    int32_t *ids = enc(toy, "h\xC3\xA9<|im_end|>", 1, &n, &off);  /* "hé" + special */
    CHECK(n == 4 && ids[0] == 'h' && ids[1] == 0xC3 && ids[2] == 0xA9 && ids[3] == 258);
    CHECK(n == 4 && off[6] == 3 && off[7] == 13);
    free(ids);
    free(off);
    ids = enc(toy, "<|im_end|>", 0, &n, NULL);
    CHECK(n == 10 && ids[0] == '<');
    free(ids);
    for (int b = 0; b < 256; b++) {
        size_t len;
        const char *tb = tokenizer_token_bytes(toy, b, &len);
        CHECK(tb && len == 1 && (unsigned char)tb[0] == b);
    }
    /* a stream buffer too small for the token is cut at a character boundary */
    TokenizerStream st;
    tokenizer_stream_init(&st, toy, 0);
    char small[4];
    CHECK(tokenizer_stream_push(&st, 258, small, sizeof small) == 3 && strcmp(small, "<|i") == 0);
    CHECK(tokenizer_stream_push(&st, 0xC3, small, sizeof small) == 0 && small[0] == 0);  /* held: lead byte of "é" */
    CHECK(tokenizer_stream_push(&st, 0xA9, small, 3) == 2 && strcmp(small, "\xC3\xA9") == 0);
    CHECK(tokenizer_stream_push(&st, 0xE2, small, 0) == 0);
    CHECK(tokenizer_stream_flush(&st, small, 3) == 0 && small[0] == 0);  /* U+FFFD needs 3 bytes + NUL */
    char *p = tokenizer_chat_prompt(toy, NULL, "hi");
    CHECK_STR(p, "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
    free(p);
    int rc = jsonl_each(PURE_SOURCE_DIR "/tests/tokenizer/data/toy_vectors.jsonl", toy_record, NULL);
    CHECK(rc >= 100);

    PureErr err;
    err_clear(&err);
    const char *bad_eos[] = {"<a>"};
    CHECK(tokenizer_write_bytelevel(dir, bad_eos, 1, "<b>", NULL, &err) == -1 && strstr(err.msg, "<b>"));
    err_clear(&err);
    const char *dup[] = {"<a>", "<a>"};
    CHECK(tokenizer_write_bytelevel(dir, dup, 2, NULL, NULL, &err) == -1 && strstr(err.msg, "twice"));
}

/* ---------------------------------------------------------------- variants */

/* The toy's tokenizer.json, parsed, for building variants. */
static cJSON *toy_json(void) {
    char path[256];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    PureErr err;
    err_clear(&err);
    return json_parse_file(path, &err);
}

/* Writes j into DIR/variant/tokenizer.json (no config beside it) and loads it. */
static Tokenizer *load_variant(cJSON *j, PureErr *err) {
    char sub[256], path[300];
    snprintf(sub, sizeof sub, "%s/variant", dir);
    fs_mkdir_p(sub, err);
    snprintf(path, sizeof path, "%s/tokenizer.json", sub);
    char *text = cJSON_PrintUnformatted(j);
    fs_write_atomic(path, text, strlen(text), err);
    free(text);
    err_clear(err);
    return tokenizer_load(path, err);
}

static void add_vocab(cJSON *j, const char *tok, int id) {
    cJSON_AddNumberToObject(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "model"), "vocab"), tok, id);
}

static void add_merge(cJSON *j, const char *m) {
    cJSON_AddItemToArray(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "model"), "merges"), cJSON_CreateString(m));
}

static int ids_are(const int32_t *ids, size_t n, const int32_t *want, size_t nw) {
    return ids_equal("variant", ids, n, want, nw);
}

/* BPE merge order, worked by hand. */
static void test_merges(void) {
    PureErr err;
    cJSON *j = toy_json();
    add_vocab(j, "ab", 300);
    add_vocab(j, "bc", 301);
    add_vocab(j, "aa", 302);
    add_vocab(j, "aaaa", 303);
    add_merge(j, "a b");   /* rank 0 */
    add_merge(j, "b c");   /* rank 1 */
    add_merge(j, "a a");   /* rank 2 */
    cJSON_AddItemToArray(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "model"), "merges"),
                         cJSON_CreateStringArray((const char *[]){"aa", "aa"}, 2));  /* the array form */
    Tokenizer *t = load_variant(j, &err);
    CHECK(t != NULL);
    if (!t) {
        fprintf(stderr, "%s\n", err.msg);
        cJSON_Delete(j);
        return;
    }
    size_t n;
    int32_t *ids = enc(t, "abc", 1, &n, NULL);  /* a b first (rank 0): [ab, c] */
    CHECK(ids_are(ids, n, (int32_t[]){300, 'c'}, 2));
    free(ids);
    ids = enc(t, "aaa", 1, &n, NULL);  /* equal ranks: leftmost first */
    CHECK(ids_are(ids, n, (int32_t[]){302, 'a'}, 2));
    free(ids);
    ids = enc(t, "aaaaa", 1, &n, NULL);
    CHECK(ids_are(ids, n, (int32_t[]){303, 'a'}, 2));
    free(ids);
    tokenizer_free(t);

    /* swap the first two ranks: b c wins */
    cJSON *merges = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "model"), "merges");
    cJSON_ReplaceItemInArray(merges, 0, cJSON_CreateString("b c"));
    cJSON_ReplaceItemInArray(merges, 1, cJSON_CreateString("a b"));
    /* GPT-2 style pre-tokenization, with a prefix space */
    cJSON *pre = cJSON_GetObjectItem(j, "pre_tokenizer");
    cJSON_ReplaceItemInObject(pre, "use_regex", cJSON_CreateTrue());
    cJSON_ReplaceItemInObject(pre, "add_prefix_space", cJSON_CreateTrue());
    t = load_variant(j, &err);
    CHECK(t != NULL);
    if (t) {
        size_t *off;
        ids = enc(t, "abc ab", 1, &n, &off);  /* " abc", " ab" */
        CHECK(ids_are(ids, n, (int32_t[]){' ', 'a', 301, ' ', 300}, 5));
        CHECK(n == 5 && off[0] == 0 && off[1] == 0 && off[2] == 0 && off[3] == 1 && off[8] == 4 && off[9] == 6);
        free(ids);
        free(off);
        tokenizer_free(t);
    }
    cJSON_Delete(j);
}

/* lstrip / rstrip / single_word of added tokens (HF semantics, worked by hand). */
static void test_added_options(void) {
    PureErr err;
    cJSON *j = toy_json();
    cJSON *added = cJSON_GetObjectItem(j, "added_tokens");
    cJSON_AddItemToArray(added, cJSON_Parse("{\"id\": 300, \"content\": \"<L>\", \"lstrip\": true, \"special\": true}"));
    cJSON_AddItemToArray(added, cJSON_Parse("{\"id\": 301, \"content\": \"<R>\", \"rstrip\": true, \"special\": true}"));
    cJSON_AddItemToArray(added, cJSON_Parse("{\"id\": 302, \"content\": \"is\", \"single_word\": true}"));
    cJSON_AddItemToArray(added, cJSON_Parse("{\"id\": 303, \"content\": \"<L><R>\", \"special\": true}"));
    Tokenizer *t = load_variant(j, &err);
    cJSON_Delete(j);
    CHECK(t != NULL);
    if (!t) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    size_t n, *off;
    int32_t *ids = enc(t, "a \xC2\xA0 <L>b", 1, &n, &off);  /* lstrip takes the spaces and the NBSP */
    CHECK(ids_are(ids, n, (int32_t[]){'a', 300, 'b'}, 3));
    CHECK(n == 3 && off[2] == 1 && off[3] == 8);
    free(ids);
    free(off);
    ids = enc(t, "a<R> \n b", 1, &n, &off);  /* rstrip takes the whitespace after */
    CHECK(ids_are(ids, n, (int32_t[]){'a', 301, 'b'}, 3));
    CHECK(n == 3 && off[2] == 1 && off[3] == 7);
    free(ids);
    free(off);
    ids = enc(t, "this is", 1, &n, NULL);  /* "is" inside "this" is not a single word */
    CHECK(ids_are(ids, n, (int32_t[]){'t', 'h', 'i', 's', ' ', 302}, 6));
    free(ids);
    ids = enc(t, "x<L><R>y", 1, &n, NULL);  /* the longest match wins */
    CHECK(ids_are(ids, n, (int32_t[]){'x', 303, 'y'}, 3));
    free(ids);
    ids = enc(t, "x<L><R>y", 0, &n, NULL);  /* specials as text */
    CHECK(n == 8 && ids[1] == '<');
    free(ids);
    tokenizer_free(t);
}

/* Split behaviours: Removed drops the matches; a String pattern is literal. */
static void test_split_removed(void) {
    const char *pres[] = {
        "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"\\\\s+\"}, \"behavior\": \"Removed\", \"invert\": false}",
        "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": {\"String\": \".\"}, "
        "\"behavior\": \"Removed\"}, {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"use_regex\": false}]}",
    };
    const char *texts[] = {"a b\t\n c", "a.b..c"};
    for (int i = 0; i < 2; i++) {
        PureErr err;
        cJSON *j = toy_json();
        cJSON_ReplaceItemInObjectCaseSensitive(j, "pre_tokenizer", cJSON_Parse(pres[i]));
        Tokenizer *t = load_variant(j, &err);
        cJSON_Delete(j);
        CHECK(t != NULL);
        if (!t) {
            fprintf(stderr, "%s\n", err.msg);
            continue;
        }
        size_t n, *off;
        int32_t *ids = enc(t, texts[i], 1, &n, &off);
        CHECK(ids_are(ids, n, (int32_t[]){'a', 'b', 'c'}, 3));
        CHECK(n == 3 && off[0] == 0 && off[2] == 2 && off[4] == (i == 0 ? 6u : 5u));
        free(ids);
        free(off);
        tokenizer_free(t);
    }
}

/* Each unsupported component is refused with a message naming it. */
static void expect_refused(cJSON *j, const char *needle) {
    PureErr err;
    Tokenizer *t = load_variant(j, &err);
    CHECK(t == NULL);
    if (!t && !strstr(err.msg, needle)) fprintf(stderr, "message \"%s\" lacks \"%s\"\n", err.msg, needle);
    CHECK(!t && strstr(err.msg, needle) && strstr(err.msg, "tokenizer.json"));
    tokenizer_free(t);
    cJSON_Delete(j);
}

static void set_path(cJSON *j, const char *obj, const char *key, cJSON *v) {
    cJSON *o = obj ? cJSON_GetObjectItem(j, obj) : j;
    if (cJSON_GetObjectItem(o, key)) cJSON_ReplaceItemInObject(o, key, v);
    else cJSON_AddItemToObject(o, key, v);
}

static void test_refusals(void) {
    cJSON *j = toy_json();
    set_path(j, "model", "type", cJSON_CreateString("WordPiece"));
    expect_refused(j, "WordPiece");
    j = toy_json();
    set_path(j, NULL, "normalizer", cJSON_Parse("{\"type\": \"Lowercase\"}"));
    expect_refused(j, "Lowercase");
    j = toy_json();
    set_path(j, NULL, "pre_tokenizer", cJSON_Parse("{\"type\": \"Whitespace\"}"));
    expect_refused(j, "Whitespace");
    j = toy_json();
    set_path(j, NULL, "pre_tokenizer", cJSON_Parse("{\"type\": \"Split\", \"pattern\": {\"Regex\": \"(\"}, \"behavior\": \"Isolated\"}"));
    expect_refused(j, "cannot compile");
    j = toy_json();
    set_path(j, NULL, "pre_tokenizer", cJSON_Parse("{\"type\": \"Split\", \"pattern\": {\"Regex\": \"a\"}, \"behavior\": \"MergedWithNext\"}"));
    expect_refused(j, "MergedWithNext");
    j = toy_json();
    set_path(j, NULL, "decoder", cJSON_Parse("{\"type\": \"WordPiece\"}"));
    expect_refused(j, "decoder");
    j = toy_json();
    set_path(j, "model", "byte_fallback", cJSON_CreateTrue());
    expect_refused(j, "byte_fallback");
    j = toy_json();
    set_path(j, "model", "continuing_subword_prefix", cJSON_CreateString("##"));
    expect_refused(j, "continuing_subword_prefix");
    j = toy_json();
    add_merge(j, "x zz");
    expect_refused(j, "model.merges[0]");
    j = toy_json();
    add_merge(j, "a b");  /* "ab" is not in the vocab */
    expect_refused(j, "not in model.vocab");
    j = toy_json();
    cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "model"), "vocab"), "a");
    expect_refused(j, "byte 0x61");
    j = toy_json();
    set_path(cJSON_GetObjectItem(j, "model"), "vocab", "a", cJSON_CreateNumber(-3));
    expect_refused(j, "model.vocab[\"a\"]");

    /* JSON syntax errors carry line:column */
    char path[300];
    snprintf(path, sizeof path, "%s/broken.json", dir);
    PureErr err;
    err_clear(&err);
    fs_write_atomic(path, "{\n  \"model\": [1,\n}", 18, &err);
    Tokenizer *t = tokenizer_load(path, &err);
    CHECK(t == NULL && strstr(err.msg, "broken.json:3:"));
    err_clear(&err);
    t = tokenizer_load("/nonexistent/tokenizer.json", &err);
    CHECK(t == NULL && err.set && strstr(err.msg, "/nonexistent/tokenizer.json"));
}

/* Chat prompts follow the kind of template in tokenizer_config.json. */
static void test_chat_templates(void) {
    const char *cfgs[] = {
        "{\"eos_token\": {\"content\": \"<|im_end|>\"}, \"chat_template\": \"{%- if messages[0]['role'] == 'system' %}"
        "{{- '<|im_start|>system\\\\n' + messages[0]['content'] }}{%- else %}{{- '<|im_start|>system\\\\nYou are Qwen, "
        "created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\\\n' }}{%- endif %}\"}",
        "{\"bos_token\": \"<|im_start|>\", \"chat_template\": [{\"name\": \"default\", \"template\": "
        "\"{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>' }}\"}]}",
    };
    const char *want[] = {
        "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n",
    };
    char sub[256], path[300];
    snprintf(sub, sizeof sub, "%s/chat", dir);
    PureErr err;
    err_clear(&err);
    CHECK(tokenizer_write_bytelevel(sub, specials, 3, NULL, NULL, &err) == 0);
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/tokenizer_config.json", sub);
        CHECK(fs_write_atomic(path, cfgs[i], strlen(cfgs[i]), &err) == 0);
        snprintf(path, sizeof path, "%s/tokenizer.json", sub);
        Tokenizer *t = tokenizer_load(path, &err);
        CHECK(t != NULL);
        if (!t) {
            fprintf(stderr, "%s\n", err.msg);
            continue;
        }
        char *p = tokenizer_chat_prompt(t, NULL, "hi");
        CHECK_STR(p, want[i]);
        free(p);
        CHECK(tokenizer_eos_id(t) == (i == 0 ? 258 : -1));
        CHECK(tokenizer_bos_id(t) == (i == 1 ? 257 : -1));
        tokenizer_free(t);
    }
}

int main(int argc, char **argv) {
    PureErr err;
    err_clear(&err);
    if (argc > 1) {  /* write only */
        if (tokenizer_write_bytelevel(argv[1], specials, 3, "<|im_end|>", "<|endoftext|>", &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        return 0;
    }
    CHECK(mkdtemp(dir) != NULL);
    CHECK(tokenizer_write_bytelevel(dir, specials, 3, "<|im_end|>", "<|endoftext|>", &err) == 0);
    char path[300];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    toy = tokenizer_load(path, &err);
    if (!toy) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    test_toy();
    test_merges();
    test_added_options();
    test_split_removed();
    test_refusals();
    test_chat_templates();
    tokenizer_free(toy);
    fs_remove_all(dir, &err);
    return check_report("test_tokenizer_toy");
}
