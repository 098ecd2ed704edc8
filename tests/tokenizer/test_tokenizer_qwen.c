/* test_tokenizer_qwen.c - the real Qwen tokenizer (../shared/tokenizers/qwen):
 * token-for-token parity with the Hugging Face reference vectors made by
 * gen_vectors.js (benchmark problems and solutions, source code, CJK, emoji,
 * combining marks, whitespace runs, digits, special tokens, random mixtures),
 * with and without special-token matching; decode parity (lossy UTF-8);
 * round trips; byte offsets; incremental decoding; hand-worked values.
 * Skipped (77) when the shared tokenizer is absent. */
#include <pthread.h>
#include <utf8proc.h>
#include "tests/check.h"
#include "tests/tokenizer/tok_test_util.h"
#include "tokenizer/tok_internal.h"

static Tokenizer *tok;
static int n_parity, n_roundtrip;

/* ---------------------------------------------------------------- helpers */

/* Is the normalizer (NFC) the identity on text? Then decode(encode(x)) must be x. */
static int nfc_stable(const char *s, size_t n) {
    utf8proc_uint8_t *dst = NULL;
    utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &dst,
                                      UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    int same = r >= 0 && (size_t)r == n && memcmp(dst, s, n) == 0;
    free(dst);
    return same;
}

/* Offsets: in range, ordered; and when NFC changes nothing, each token's span
 * holds exactly its bytes and the spans tile the input. */
static void check_offsets(const char *what, const char *s, size_t n, const int32_t *ids, size_t k, const size_t *off) {
    int stable = nfc_stable(s, n), ok = 1;
    for (size_t i = 0; i < k && ok; i++) {
        ok = off[2 * i] <= off[2 * i + 1] && off[2 * i + 1] <= n && (i == 0 || off[2 * i] >= off[2 * i - 2]);
        if (ok && stable) {
            size_t tl;
            const char *tb = tokenizer_token_bytes(tok, ids[i], &tl);
            ok = tb && off[2 * i + 1] - off[2 * i] == tl && memcmp(s + off[2 * i], tb, tl) == 0 &&
                 off[2 * i] == (i ? off[2 * i - 1] : 0);
        }
    }
    if (ok && stable && k) ok = off[2 * k - 1] == n;
    if (!ok) fprintf(stderr, "%s: bad offsets\n", what);
    CHECK(ok);
}

/* Encodes text both ways, compares with the vectors, checks round trip, offsets and streaming. */
static void check_text(const char *what, const char *s, size_t n, const cJSON *want, const cJSON *want_plain) {
    int32_t *ids;
    size_t k, *off;
    PureErr err;
    err_clear(&err);
    CHECK(tokenizer_encode(tok, s, n, 1, &ids, &k, &off, &err) == 0);
    size_t nw;
    int32_t *w = json_ids(want, &nw);
    CHECK(ids_equal(what, ids, k, w, nw));
    free(w);
    n_parity++;
    check_offsets(what, s, n, ids, k, off);
    if (nfc_stable(s, n)) {
        size_t dl;
        char *d = tokenizer_decode(tok, ids, k, 0, &dl);
        CHECK(dl == n && memcmp(d, s, n) == 0);
        free(d);
        n_roundtrip++;
    }
    /* streaming, one id at a time, equals the whole decode */
    size_t full_len, cap = 3 * tokenizer_max_token_bytes(tok) + 16, got = 0;
    char *full = tokenizer_decode(tok, ids, k, 1, &full_len);
    char *acc = malloc(full_len + 1), *piece = malloc(cap);
    TokenizerStream st;
    tokenizer_stream_init(&st, tok, 1);
    int ok = 1;
    for (size_t i = 0; i <= k && ok; i++) {
        size_t m = i < k ? tokenizer_stream_push(&st, ids[i], piece, cap) : tokenizer_stream_flush(&st, piece, cap);
        ok = got + m <= full_len;
        if (ok) memcpy(acc + got, piece, m);
        got += m;
    }
    CHECK(ok && got == full_len && memcmp(acc, full, full_len) == 0);
    free(acc);
    free(piece);
    free(full);
    free(ids);
    free(off);
    /* specials as plain text */
    CHECK(tokenizer_encode(tok, s, n, 0, &ids, &k, NULL, &err) == 0);
    w = json_ids(want_plain ? want_plain : want, &nw);
    CHECK(ids_equal(what, ids, k, w, nw));
    for (size_t i = 0; i < k; i++) CHECK(!tokenizer_is_special(tok, ids[i]));
    free(w);
    free(ids);
}

/* ---------------------------------------------------------------- vectors */

typedef struct SharedFile {
    char path[512];
    char *text;
    char **lines;
    int n;
} SharedFile;

static SharedFile shared_cache[8];

static const char *shared_line(const char *src, int line) {
    for (int i = 0; i < 8; i++) {
        SharedFile *f = &shared_cache[i];
        if (!f->text) {
            snprintf(f->path, sizeof f->path, "%s/%s", PURE_SHARED_DIR, src);
            PureErr err;
            err_clear(&err);
            f->text = fs_read_file(f->path, NULL, &err);
            if (!f->text) return NULL;
            for (char *p = f->text; *p; p++)
                if (*p == '\n') f->n++;
            f->lines = calloc((size_t)f->n + 2, sizeof *f->lines);
            int k = 0;
            for (char *p = f->text; *p && k <= f->n;) {
                f->lines[k++] = p;
                char *e = strchr(p, '\n');
                if (!e) break;
                *e = 0;
                p = e + 1;
            }
        }
        if (strstr(f->path, src) && strlen(f->path) - strlen(src) == strlen(PURE_SHARED_DIR) + 1)
            return line >= 1 && line <= f->n + 1 ? f->lines[line - 1] : NULL;
    }
    return NULL;
}

static void vector_record(const cJSON *rec, void *user) {
    (void)user;
    const cJSON *text = cJSON_GetObjectItem(rec, "text"), *ids = cJSON_GetObjectItem(rec, "ids");
    char what[256];
    if (cJSON_IsString(text)) {
        snprintf(what, sizeof what, "text \"%.40s\"", text->valuestring);
        check_text(what, text->valuestring, strlen(text->valuestring), ids, cJSON_GetObjectItem(rec, "ids_plain"));
        return;
    }
    const char *src = cJSON_GetObjectItem(rec, "src")->valuestring;
    int line = cJSON_GetObjectItem(rec, "line")->valueint;
    const char *field = cJSON_GetObjectItem(rec, "field")->valuestring;
    snprintf(what, sizeof what, "%s:%d %s", src, line, field);
    const char *row = shared_line(src, line);
    cJSON *obj = row ? cJSON_Parse(row) : NULL;
    const cJSON *v = cJSON_GetObjectItem(obj, field);
    CHECK(cJSON_IsString(v));
    if (cJSON_IsString(v)) {
        size_t n = strlen(v->valuestring);
        CHECK(n == (size_t)cJSON_GetObjectItem(rec, "bytes")->valueint);
        check_text(what, v->valuestring, n, ids, NULL);
    }
    cJSON_Delete(obj);
}

static void decode_record(const cJSON *rec, void *user) {
    (void)user;
    size_t n;
    int32_t *ids = json_ids(cJSON_GetObjectItem(rec, "ids"), &n);
    char *d = tokenizer_decode(tok, ids, n, 0, NULL);
    CHECK_STR(d, cJSON_GetObjectItem(rec, "text")->valuestring);
    free(d);
    d = tokenizer_decode(tok, ids, n, 1, NULL);
    CHECK_STR(d, cJSON_GetObjectItem(rec, "text_skip")->valuestring);
    /* the stream gives the same text, in pieces */
    char piece[4096], acc[65536] = {0};
    size_t got = 0;
    TokenizerStream st;
    tokenizer_stream_init(&st, tok, 1);
    for (size_t i = 0; i <= n; i++) {
        size_t m = i < n ? tokenizer_stream_push(&st, ids[i], piece, sizeof piece) : tokenizer_stream_flush(&st, piece, sizeof piece);
        if (got + m < sizeof acc) memcpy(acc + got, piece, m);
        got += m;
    }
    CHECK_STR(acc, d);
    free(d);
    free(ids);
}

/* ---------------------------------------------------------------- hand-worked */

static void test_hand(void) {
    PureErr err;
    err_clear(&err);
    CHECK(tokenizer_vocab_size(tok) == 151669);
    CHECK(tokenizer_eos_id(tok) == 151645);  /* <|im_end|> (tokenizer_config.json) */
    CHECK(tokenizer_pad_id(tok) == 151643);  /* <|endoftext|> */
    CHECK(tokenizer_bos_id(tok) == -1);
    CHECK(tokenizer_token_id(tok, "<|im_start|>") == 151644);
    CHECK(tokenizer_token_id(tok, "Hello") == 9707);
    CHECK(tokenizer_token_id(tok, "\xC4\xA0world") == 1879);  /* "Ġworld" as written in tokenizer.json */
    CHECK(tokenizer_token_id(tok, " world") == 1879);          /* raw bytes work too */
    CHECK(tokenizer_token_id(tok, "no-such-token-xyz") == -1);
    CHECK(tokenizer_is_special(tok, 151645) && !tokenizer_is_special(tok, 151667) && !tokenizer_is_special(tok, 9707));
    size_t bl;
    const char *b = tokenizer_token_bytes(tok, 1879, &bl);
    CHECK(b && bl == 6 && memcmp(b, " world", 6) == 0);
    CHECK(tokenizer_token_bytes(tok, -1, &bl) == NULL && tokenizer_token_bytes(tok, 1 << 30, &bl) == NULL);

    /* "Hello, world!" = Hello , Ġworld ! */
    int32_t *ids;
    size_t n, *off;
    CHECK(tokenizer_encode(tok, "Hello, world!", 13, 1, &ids, &n, &off, &err) == 0);
    CHECK(n == 4 && ids[0] == 9707 && ids[1] == 11 && ids[2] == 1879 && ids[3] == 0);
    CHECK(n == 4 && off[4] == 6 && off[5] == 12);
    free(ids);
    free(off);

    /* Step ends: ".\n\n" is one token, so the step's "\n\n" ends inside it. */
    const char *steps = "x = 2.\n\nSo y = 3.\n\nDone";
    CHECK(tokenizer_encode(tok, steps, strlen(steps), 1, &ids, &n, &off, &err) == 0);
    int ends = 0;
    for (size_t i = 0; i < n; i++) {
        size_t tl;
        const char *tb = tokenizer_token_bytes(tok, ids[i], &tl);
        if (tl >= 2 && memcmp(tb + tl - 2, "\n\n", 2) == 0) {
            ends++;
            CHECK(off[2 * i + 1] == (ends == 1 ? 8u : 19u));
            CHECK(tl == 3 && tb[0] == '.');  /* merged with the period */
        }
    }
    CHECK(ends == 2);
    free(ids);
    free(off);

    /* NFC: "e" + U+0301 becomes "é" (id 963); the token spans both input characters. */
    CHECK(tokenizer_encode(tok, "e\xCC\x81", 3, 1, &ids, &n, &off, &err) == 0);
    CHECK(n == 1 && ids[0] == 963 && off[0] == 0 && off[1] == 3);
    free(ids);
    free(off);

    /* Ill-formed UTF-8: each bad byte is its byte token; the rest is encoded as usual. */
    const char bad[] = "ab\xFF\xFE cd\xE2\x82";
    CHECK(tokenizer_encode(tok, bad, sizeof bad - 1, 1, &ids, &n, &off, &err) == 0);
    CHECK(n == 6 && ids[0] == 370 && ids[1] == 187 && ids[2] == 186 && ids[3] == 15307);
    CHECK(n == 6 && off[2] == 2 && off[3] == 3 && off[8] == 7 && off[9] == 8 && off[10] == 8 && off[11] == 9);
    size_t rl;
    char *raw = tokenizer_decode_raw(tok, ids, n, 0, &rl);
    CHECK(rl == sizeof bad - 1 && memcmp(raw, bad, rl) == 0);
    free(raw);
    char *lossy = tokenizer_decode(tok, ids, n, 0, NULL);
    CHECK_STR(lossy, "ab\xEF\xBF\xBD\xEF\xBF\xBD cd\xEF\xBF\xBD");  /* E2 82 is one maximal subpart */
    free(lossy);
    free(ids);
    free(off);

    /* Specials: matched or plain text; decode can skip them. */
    const char *chat = "<|im_start|>user\nhi<|im_end|>";
    CHECK(tokenizer_encode(tok, chat, strlen(chat), 1, &ids, &n, NULL, &err) == 0);
    CHECK(n == 5 && ids[0] == 151644 && ids[4] == 151645);
    char *d = tokenizer_decode(tok, ids, n, 1, NULL);
    CHECK_STR(d, "user\nhi");
    free(d);
    free(ids);
    CHECK(tokenizer_encode(tok, chat, strlen(chat), 0, &ids, &n, NULL, &err) == 0);
    CHECK(n > 5 && ids[0] != 151644);
    free(ids);
    CHECK(tokenizer_encode(tok, "", 0, 1, &ids, &n, &off, &err) == 0 && n == 0);
    free(ids);
    free(off);

    /* Chat prompt (Qwen3 template: no default system message). */
    char *p = tokenizer_chat_prompt(tok, NULL, "What is 1+1?");
    CHECK_STR(p, "<|im_start|>user\nWhat is 1+1?<|im_end|>\n<|im_start|>assistant\n");
    free(p);
    p = tokenizer_chat_prompt(tok, "Be brief.", "Hi");
    CHECK_STR(p, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    free(p);

    /* Streaming holds back a split character: "€" = E2 82 AC as three byte tokens. */
    TokenizerStream st;
    tokenizer_stream_init(&st, tok, 0);
    char out[64];
    int32_t euro[3] = {tokenizer_token_id(tok, "\xC3\xA2"), tokenizer_token_id(tok, "\xC4\xA4"),
                       tokenizer_token_id(tok, "\xC2\xAC")};  /* byte-level chars of E2, 82, AC */
    CHECK(tokenizer_stream_push(&st, euro[0], out, sizeof out) == 0);
    CHECK(tokenizer_stream_push(&st, euro[1], out, sizeof out) == 0);
    CHECK(tokenizer_stream_push(&st, euro[2], out, sizeof out) == 3 && strcmp(out, "\xE2\x82\xAC") == 0);
    CHECK(tokenizer_stream_push(&st, euro[0], out, sizeof out) == 0);
    CHECK(tokenizer_stream_flush(&st, out, sizeof out) == 3 && strcmp(out, "\xEF\xBF\xBD") == 0);
}

/* ---------------------------------------------------------------- loaders */

/* The fast reader of model.vocab/merges builds exactly what cJSON's tree gives. */
static void test_fast_reader(const char *path) {
    PureErr err;
    err_clear(&err);
    tok_fastjson_disabled = 1;
    Tokenizer *slow = tokenizer_load(path, &err);
    tok_fastjson_disabled = 0;
    CHECK(slow != NULL);
    if (!slow) return;
    CHECK(slow->vocab_size == tok->vocab_size);
    int same = 1;
    for (int id = 0; id < tok->vocab_size && same; id++)
        same = slow->tok_len[id] == tok->tok_len[id] && slow->tok_flags[id] == tok->tok_flags[id] &&
               memcmp(slow->arena + slow->tok_off[id], tok->arena + tok->tok_off[id], tok->tok_len[id]) == 0;
    CHECK(same);
    size_t nmerges = 0;
    for (size_t i = 0; i <= slow->merges.mask && same; i++) {
        const MergeSlot *m = &slow->merges.slots[i];
        if (!m->key) continue;
        int32_t merged, rank = mergemap_get(&tok->merges, (int32_t)((m->key - 1) >> 32), (int32_t)(uint32_t)(m->key - 1),
                                            &merged);
        same = rank == m->rank && merged == m->merged;
        nmerges++;
    }
    CHECK(same && nmerges == 151387);
    CHECK(memcmp(slow->byte_id, tok->byte_id, sizeof tok->byte_id) == 0);
    tokenizer_free(slow);
}

/* ---------------------------------------------------------------- threads */

/* Several threads encode at once (each has its own BPE cache; the tokenizer is
 * read-only) and must get what one thread got. */
enum { MT_MAX = 600, MT_THREADS = 4 };
static char *mt_text[MT_MAX];
static int32_t *mt_ids[MT_MAX];
static size_t mt_n[MT_MAX];
static int mt_count;

static void mt_collect(const cJSON *rec, void *user) {
    (void)user;
    const cJSON *text = cJSON_GetObjectItem(rec, "text");
    if (!cJSON_IsString(text) || mt_count == MT_MAX) return;
    mt_text[mt_count] = strdup(text->valuestring);
    PureErr err;
    err_clear(&err);
    tokenizer_encode(tok, mt_text[mt_count], strlen(mt_text[mt_count]), 1, &mt_ids[mt_count], &mt_n[mt_count], NULL, &err);
    mt_count++;
}

static void *mt_worker(void *arg) {
    long seed = (long)arg, bad = 0;
    PureErr err;
    err_clear(&err);
    for (int rep = 0; rep < 3; rep++)
        for (int k = 0; k < mt_count; k++) {
            int i = (int)((k * 7919L + seed * 104729L + rep) % mt_count);  /* each thread its own order */
            int32_t *ids;
            size_t n;
            tokenizer_encode(tok, mt_text[i], strlen(mt_text[i]), 1, &ids, &n, NULL, &err);
            bad += n != mt_n[i] || memcmp(ids, mt_ids[i], n * sizeof *ids) != 0;
            free(ids);
        }
    return (void *)bad;
}

static void test_threads(void) {
    jsonl_each(PURE_SOURCE_DIR "/tests/tokenizer/data/qwen_vectors.jsonl", mt_collect, NULL);
    CHECK(mt_count > 400);
    pthread_t th[MT_THREADS];
    for (long i = 0; i < MT_THREADS; i++) pthread_create(&th[i], NULL, mt_worker, (void *)i);
    for (int i = 0; i < MT_THREADS; i++) {
        void *bad;
        pthread_join(th[i], &bad);
        CHECK(bad == NULL);
    }
    for (int i = 0; i < mt_count; i++) {
        free(mt_text[i]);
        free(mt_ids[i]);
    }
}

int main(void) {
    char path[1024];
    if (!qwen_path(path, sizeof path)) {
        printf("skipped: %s not found\n", path);
        return 77;
    }
    PureErr err;
    err_clear(&err);
    tok = tokenizer_load(path, &err);
    if (!tok) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    test_hand();
    test_fast_reader(path);
    CHECK(jsonl_each(PURE_SOURCE_DIR "/tests/tokenizer/data/qwen_vectors.jsonl", vector_record, NULL) > 1000);
    CHECK(jsonl_each(PURE_SOURCE_DIR "/tests/tokenizer/data/qwen_decode.jsonl", decode_record, NULL) == 300);
    test_threads();
    printf("parity on %d texts, round trip on %d\n", n_parity, n_roundtrip);
    for (int i = 0; i < 8; i++) {
        free(shared_cache[i].text);
        free(shared_cache[i].lines);
    }
    tokenizer_free(tok);
    return check_report("test_tokenizer_qwen");
}
