/* tok_load.c - reading tokenizer.json (+ tokenizer_config.json beside it)
 * into a Tokenizer, and the simple accessors.
 *
 * Every component is checked against what this implementation does; anything
 * else (another model type, normalizer, pre-tokenizer or decoder) is refused
 * with a message naming the file, the JSON path and the component. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../util/fs.h"
#include "../util/json.h"
#include "tok_internal.h"

static atomic_ullong next_serial = 1;

/* ------------------------------------------------------------ small helpers */

static int json_flag(const cJSON *obj, const char *key, int dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsBool(v)) return cJSON_IsTrue(v);
    return dflt;
}

static const char *json_type(const cJSON *obj) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "type");
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A JSON value that must be null/absent or a string that is empty. */
static int json_empty_string(const cJSON *v) {
    return !v || cJSON_IsNull(v) || (cJSON_IsString(v) && v->valuestring[0] == 0);
}

static void arena_reserve(Tokenizer *t, size_t more) {
    /* allocated even for 0 bytes: an empty token may come first, and arena + offset must never be NULL + 0 */
    if (t->arena && t->arena_len + more <= t->arena_cap) return;
    t->arena_cap = (t->arena_len + more) * 3 / 2 + 4096;
    t->arena = xrealloc(t->arena, t->arena_cap);
}

/* Stores the bytes of token id (replacing earlier bytes). */
static void set_token(Tokenizer *t, int32_t id, const char *bytes, size_t n, int flags) {
    arena_reserve(t, n);
    memcpy(t->arena + t->arena_len, bytes, n);
    t->tok_off[id] = (uint32_t)t->arena_len;
    t->tok_len[id] = (uint32_t)n;
    t->tok_flags[id] |= (uint8_t)(flags | TOKF_PRESENT);
    t->arena_len += n;
    if (n > t->max_token_bytes) t->max_token_bytes = n;
}

/* id of a vocab string (byte-level form), or -1. */
static int32_t vocab_lookup(const Tokenizer *t, const char *s, size_t n, char *scratch) {
    size_t k = bytelevel_decode(s, n, scratch);
    return tokmap_get(&t->vocab, t, scratch, k);
}

/* ------------------------------------------------------------ the BPE model */

static int load_vocab(Tokenizer *t, const ModelLists *ml, int max_added, const char *path, PureErr *err) {
    int max_id = max_added;
    for (size_t i = 0; i < ml->nvocab; i++) {
        if (ml->vid[i] < 0 || ml->vid[i] >= TOK_MAX_ID)
            return err_set(err, "%s: model.vocab[\"%.*s\"]: expected an integer id in [0, 2^24)", path,
                           (int)ml->vkey[i].n, ml->vkey[i].s);
        if (ml->vid[i] > max_id) max_id = (int)ml->vid[i];
    }
    t->vocab_size = max_id + 1;
    t->tok_off = xcalloc((size_t)t->vocab_size, sizeof *t->tok_off);
    t->tok_len = xcalloc((size_t)t->vocab_size, sizeof *t->tok_len);
    t->tok_flags = xcalloc((size_t)t->vocab_size, 1);
    tokmap_init(&t->vocab, ml->nvocab);
    char *scratch = NULL;
    size_t scap = 0;
    for (size_t i = 0; i < ml->nvocab; i++) {
        const TokStr *k = &ml->vkey[i];
        int32_t id = (int32_t)ml->vid[i];
        if (k->n + 1 > scap) {
            scap = 2 * (size_t)k->n + 64;
            scratch = xrealloc(scratch, scap);
        }
        if (t->tok_flags[id] & TOKF_PRESENT) {
            free(scratch);
            return err_set(err, "%s: model.vocab[\"%.*s\"]: id %d is used twice", path, (int)k->n, k->s, id);
        }
        size_t n = bytelevel_decode(k->s, k->n, scratch);
        set_token(t, id, scratch, n, 0);
        tokmap_put(&t->vocab, t, id);
    }
    free(scratch);
    for (int b = 0; b < 256; b++) {
        char c = (char)b;
        t->byte_id[b] = tokmap_get(&t->vocab, t, &c, 1);
        if (t->byte_id[b] < 0)
            return err_set(err, "%s: model.vocab has no token for byte 0x%02X (a byte-level vocabulary needs all 256)",
                           path, b);
    }
    return 0;
}

/* One merge: "a b" or ["a", "b"]. */
static int load_merge(Tokenizer *t, const MergeItem *m, int rank, char **scratch, size_t *scap, const char *path,
                      PureErr *err) {
    const char *a = m->a.s, *b = m->b.s;
    size_t na = m->a.n, nb = m->b.n;
    if (m->form == MERGE_STRING) {
        const char *sp = memchr(a, ' ', na);
        if (!sp || sp == a || sp + 1 == a + na || memchr(sp + 1, ' ', (size_t)(a + na - sp - 1)))
            return err_set(err, "%s: model.merges[%d]: expected \"left right\", got \"%.*s\"", path, rank, (int)na, a);
        b = sp + 1;
        nb = (size_t)(a + na - b);
        na = (size_t)(sp - a);
    } else if (m->form != MERGE_PAIR) {
        return err_set(err, "%s: model.merges[%d]: expected a string \"a b\" or an array [\"a\", \"b\"]", path, rank);
    }
    if (2 * (na + nb) + 2 > *scap) {
        *scap = 2 * (na + nb) + 64;
        *scratch = xrealloc(*scratch, *scap);
    }
    char *s = *scratch;
    int32_t ia = vocab_lookup(t, a, na, s);
    int32_t ib = vocab_lookup(t, b, nb, s);
    if (ia < 0 || ib < 0)
        return err_set(err, "%s: model.merges[%d]: token \"%.*s\" is not in model.vocab", path, rank,
                       (int)(ia < 0 ? na : nb), ia < 0 ? a : b);
    /* merged token = bytes(a) + bytes(b) */
    size_t la = t->tok_len[ia], lb = t->tok_len[ib];
    memcpy(s, t->arena + t->tok_off[ia], la);
    memcpy(s + la, t->arena + t->tok_off[ib], lb);
    int32_t im = tokmap_get(&t->vocab, t, s, la + lb);
    if (im < 0)
        return err_set(err, "%s: model.merges[%d]: the merge of \"%.*s\" and \"%.*s\" is not in model.vocab", path,
                       rank, (int)na, a, (int)nb, b);
    mergemap_put(&t->merges, ia, ib, rank, im);
    return 0;
}

static TokStr tokstr(const char *s) { return (TokStr){s, (uint32_t)strlen(s)}; }

/* The slow reader: the lists from the cJSON tree (strings stay in the tree). */
static int lists_from_json(const cJSON *vocab, const cJSON *merges, ModelLists *ml) {
    memset(ml, 0, sizeof *ml);
    size_t nv = (size_t)cJSON_GetArraySize(vocab), nm = merges ? (size_t)cJSON_GetArraySize(merges) : 0;
    ml->vkey = xmalloc((nv + 1) * sizeof *ml->vkey);
    ml->vid = xmalloc((nv + 1) * sizeof *ml->vid);
    ml->merges = xcalloc(nm + 1, sizeof *ml->merges);
    for (const cJSON *e = vocab->child; e; e = e->next, ml->nvocab++) {
        ml->vkey[ml->nvocab] = tokstr(e->string);
        int ok = cJSON_IsNumber(e) && e->valuedouble >= 0 && e->valuedouble < TOK_MAX_ID &&
                 e->valuedouble == (int)e->valuedouble;
        ml->vid[ml->nvocab] = ok ? e->valueint : -1;
    }
    for (const cJSON *m = merges ? merges->child : NULL; m; m = m->next, ml->nmerges++) {
        MergeItem *it = &ml->merges[ml->nmerges];
        if (cJSON_IsString(m)) {
            it->form = MERGE_STRING;
            it->a = tokstr(m->valuestring);
        } else if (cJSON_IsArray(m) && cJSON_GetArraySize(m) == 2 && cJSON_IsString(m->child) &&
                   cJSON_IsString(m->child->next)) {
            it->form = MERGE_PAIR;
            it->a = tokstr(m->child->valuestring);
            it->b = tokstr(m->child->next->valuestring);
        }
    }
    ml->have_merges = merges != NULL;
    return 0;
}

/* fast: ml was filled by the fast reader (model.vocab/merges are blank in the tree). */
static int load_model(Tokenizer *t, const cJSON *model, ModelLists *ml, int fast, int max_added, const char *path,
                      PureErr *err) {
    if (!cJSON_IsObject(model)) return err_set(err, "%s: \"model\": expected an object", path);
    const char *type = json_type(model);
    if (type && strcmp(type, "BPE") != 0)
        return err_set(err, "%s: model.type \"%s\" is not supported (only byte-level \"BPE\")", path, type);
    const cJSON *drop = cJSON_GetObjectItemCaseSensitive(model, "dropout");
    if (drop && !cJSON_IsNull(drop) && !(cJSON_IsNumber(drop) && drop->valuedouble == 0))
        return err_set(err, "%s: model.dropout is not supported (expected null)", path);
    if (json_flag(model, "byte_fallback", 0))
        return err_set(err, "%s: model.byte_fallback=true is not supported (a byte-level BPE is expected)", path);
    if (!json_empty_string(cJSON_GetObjectItemCaseSensitive(model, "continuing_subword_prefix")))
        return err_set(err, "%s: model.continuing_subword_prefix is not supported (expected null or \"\")", path);
    if (!json_empty_string(cJSON_GetObjectItemCaseSensitive(model, "end_of_word_suffix")))
        return err_set(err, "%s: model.end_of_word_suffix is not supported (expected null or \"\")", path);
    t->ignore_merges = json_flag(model, "ignore_merges", 0);
    if (!fast) {
        const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
        const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
        if (!cJSON_IsObject(vocab)) return err_set(err, "%s: model.vocab: expected an object {token: id}", path);
        if (merges && !cJSON_IsArray(merges)) return err_set(err, "%s: model.merges: expected an array", path);
        lists_from_json(vocab, merges, ml);
    }
    if (load_vocab(t, ml, max_added, path, err)) return -1;
    mergemap_init(&t->merges, ml->nmerges);
    char *scratch = NULL;
    size_t scap = 0;
    int rc = 0;
    for (size_t i = 0; i < ml->nmerges && rc == 0; i++)
        rc = load_merge(t, &ml->merges[i], (int)i, &scratch, &scap, path, err);
    free(scratch);
    return rc;
}

/* ------------------------------------------------------------ added tokens */

static int max_added_id(const cJSON *added) {
    int mx = -1;
    for (const cJSON *a = added ? added->child : NULL; a; a = a->next) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(a, "id");
        if (cJSON_IsNumber(id) && id->valuedouble >= 0 && id->valuedouble < TOK_MAX_ID && id->valueint > mx) mx = id->valueint;
    }
    return mx;
}

static int load_added(Tokenizer *t, const cJSON *added, const char *path, PureErr *err) {
    if (!added || cJSON_IsNull(added)) return 0;
    if (!cJSON_IsArray(added)) return err_set(err, "%s: added_tokens: expected an array", path);
    t->added = xcalloc((size_t)cJSON_GetArraySize(added) + 1, sizeof *t->added);
    int i = 0;
    for (const cJSON *a = added->child; a; a = a->next, i++) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(a, "id");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(a, "content");
        if (!cJSON_IsNumber(id) || id->valuedouble < 0 || id->valuedouble >= TOK_MAX_ID || !cJSON_IsString(content) ||
            !content->valuestring[0])
            return err_set(err, "%s: added_tokens[%d]: expected {\"id\": integer in [0, 2^24), \"content\": non-empty string}",
                           path, i);
        AddedToken *at = &t->added[t->n_added++];
        at->content = xstrdup(content->valuestring);
        at->len = strlen(at->content);
        at->id = id->valueint;
        at->special = (uint8_t)json_flag(a, "special", 0);
        at->lstrip = (uint8_t)json_flag(a, "lstrip", 0);
        at->rstrip = (uint8_t)json_flag(a, "rstrip", 0);
        at->single_word = (uint8_t)json_flag(a, "single_word", 0);
        at->normalized = (uint8_t)json_flag(a, "normalized", !at->special);
        int flags = TOKF_ADDED | (at->special ? TOKF_SPECIAL : 0);
        if (t->tok_flags[at->id] & TOKF_PRESENT) t->tok_flags[at->id] |= (uint8_t)flags;  /* also in the vocab */
        else set_token(t, at->id, at->content, at->len, flags);
        t->added_first[(unsigned char)at->content[0]] = 1;
    }
    return 0;
}

/* ------------------------------------------------------------ normalizer, pre-tokenizer */

static int norm_kind(const char *type) {
    if (!type) return -1;
    if (!strcmp(type, "NFC")) return NORM_NFC;
    if (!strcmp(type, "NFD")) return NORM_NFD;
    if (!strcmp(type, "NFKC")) return NORM_NFKC;
    if (!strcmp(type, "NFKD")) return NORM_NFKD;
    return -1;
}

static int load_normalizer(Tokenizer *t, const cJSON *n, const char *path, PureErr *err) {
    if (!n || cJSON_IsNull(n)) return 0;
    const char *type = json_type(n);
    if (type && !strcmp(type, "Sequence")) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(n, "normalizers");
        int i = 0;
        for (const cJSON *e = cJSON_IsArray(list) ? list->child : NULL; e; e = e->next, i++) {
            int k = norm_kind(json_type(e));
            if (k < 0 || t->n_norms == TOK_MAX_NORMS)
                return err_set(err, "%s: normalizer.normalizers[%d]: type \"%s\" is not supported (NFC, NFD, NFKC, NFKD)",
                               path, i, json_type(e) ? json_type(e) : "?");
            t->norms[t->n_norms++] = k;
        }
        return 0;
    }
    int k = norm_kind(type);
    if (k < 0)
        return err_set(err, "%s: normalizer.type \"%s\" is not supported (NFC, NFD, NFKC, NFKD, Sequence of these)",
                       path, type ? type : "?");
    t->norms[t->n_norms++] = k;
    return 0;
}

/* The pattern ByteLevel uses when use_regex is true (GPT-2). */
static const char gpt2_pattern[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

static int add_split(Tokenizer *t, const char *pattern, int literal, int behavior, const char *what, PureErr *err) {
    if (t->n_pre == TOK_MAX_PRESTEPS) return err_set(err, "%s: too many pre-tokenizers (at most %d)", what, TOK_MAX_PRESTEPS);
    pcre2_code *re = tok_regex_compile(pattern, literal, what, err);
    if (!re) return -1;
    size_t jit_size = 0;
    pcre2_pattern_info(re, PCRE2_INFO_JITSIZE, &jit_size);
    t->pre[t->n_pre++] = (PreStep){PRE_SPLIT, behavior, re, jit_size > 0};
    return 0;
}

static int load_pre_one(Tokenizer *t, const cJSON *p, const char *what, PureErr *err) {
    const char *type = json_type(p);
    if (type && !strcmp(type, "ByteLevel")) {
        if (json_flag(p, "add_prefix_space", 1)) {
            if (t->n_pre > 0)
                return err_set(err, "%s: ByteLevel with add_prefix_space after a Split is not supported", what);
            t->prefix_space = 1;
        }
        if (json_flag(p, "use_regex", 1)) return add_split(t, gpt2_pattern, 0, SPLIT_ISOLATED, what, err);
        return 0;
    }
    if (type && !strcmp(type, "Split")) {
        const cJSON *pat = cJSON_GetObjectItemCaseSensitive(p, "pattern");
        const cJSON *re = cJSON_GetObjectItemCaseSensitive(pat, "Regex");
        const cJSON *lit = cJSON_GetObjectItemCaseSensitive(pat, "String");
        if (!cJSON_IsString(re) && !cJSON_IsString(lit))
            return err_set(err, "%s.pattern: expected {\"Regex\": string} or {\"String\": string}", what);
        const cJSON *beh = cJSON_GetObjectItemCaseSensitive(p, "behavior");
        const char *b = cJSON_IsString(beh) ? beh->valuestring : "?";
        int behavior;
        if (!strcmp(b, "Isolated")) behavior = SPLIT_ISOLATED;
        else if (!strcmp(b, "Removed")) behavior = SPLIT_REMOVED;
        else return err_set(err, "%s.behavior \"%s\" is not supported (Isolated, Removed)", what, b);
        if (json_flag(p, "invert", 0)) return err_set(err, "%s.invert=true is not supported", what);
        return add_split(t, cJSON_IsString(re) ? re->valuestring : lit->valuestring, !cJSON_IsString(re), behavior,
                         what, err);
    }
    return err_set(err, "%s: pre-tokenizer type \"%s\" is not supported (ByteLevel, Split, Sequence)", what,
                   type ? type : "?");
}

static int load_pre(Tokenizer *t, const cJSON *p, const char *path, PureErr *err) {
    char what[1200];
    if (!p || cJSON_IsNull(p)) return 0;
    const char *type = json_type(p);
    if (type && !strcmp(type, "Sequence")) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(p, "pretokenizers");
        int i = 0;
        for (const cJSON *e = cJSON_IsArray(list) ? list->child : NULL; e; e = e->next, i++) {
            snprintf(what, sizeof what, "%s: pre_tokenizer.pretokenizers[%d]", path, i);
            if (load_pre_one(t, e, what, err)) return -1;
        }
        return 0;
    }
    snprintf(what, sizeof what, "%s: pre_tokenizer", path);
    return load_pre_one(t, p, what, err);
}

static int check_decoder_post(const cJSON *root, const char *path, PureErr *err) {
    const cJSON *dec = cJSON_GetObjectItemCaseSensitive(root, "decoder");
    const char *dt = json_type(dec);
    if (!dt || strcmp(dt, "ByteLevel") != 0)
        return err_set(err, "%s: decoder \"%s\" is not supported (expected ByteLevel)", path, dt ? dt : "null");
    const cJSON *post = cJSON_GetObjectItemCaseSensitive(root, "post_processor");
    const char *pt = json_type(post);
    if (post && !cJSON_IsNull(post) && (!pt || (strcmp(pt, "ByteLevel") && strcmp(pt, "TemplateProcessing") &&
                                                 strcmp(pt, "Sequence"))))
        return err_set(err, "%s: post_processor \"%s\" is not supported (ByteLevel, TemplateProcessing)", path,
                       pt ? pt : "?");
    return 0;
}

/* ------------------------------------------------------------ tokenizer_config.json */

static int32_t config_token(const Tokenizer *t, const cJSON *cfg, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
    if (cJSON_IsObject(v)) v = cJSON_GetObjectItemCaseSensitive(v, "content");
    return cJSON_IsString(v) ? tokenizer_token_id(t, v->valuestring) : -1;
}

static const char qwen25_system[] = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";

static int load_config(Tokenizer *t, const char *json_path, PureErr *err) {
    char *dir = fs_dirname(json_path);
    char *cpath = fs_join(dir, "tokenizer_config.json");
    free(dir);
    t->eos = t->pad = t->bos = -1;
    if (!fs_exists(cpath)) {
        /* no config: GPT-2 style files name their one special token <|endoftext|> */
        t->eos = tokenizer_token_id(t, "<|endoftext|>");
        free(cpath);
        return 0;
    }
    cJSON *cfg = json_parse_file(cpath, err);
    free(cpath);
    if (!cfg) return -1;
    t->eos = config_token(t, cfg, "eos_token");
    t->pad = config_token(t, cfg, "pad_token");
    t->bos = config_token(t, cfg, "bos_token");
    const cJSON *tpl = cJSON_GetObjectItemCaseSensitive(cfg, "chat_template");
    if (cJSON_IsArray(tpl)) {  /* [{"name": "default", "template": ...}, ...] */
        const cJSON *pick = tpl->child;
        for (const cJSON *e = tpl->child; e; e = e->next) {
            const cJSON *nm = cJSON_GetObjectItemCaseSensitive(e, "name");
            if (cJSON_IsString(nm) && !strcmp(nm->valuestring, "default")) pick = e;
        }
        tpl = pick ? cJSON_GetObjectItemCaseSensitive(pick, "template") : NULL;
    }
    if (cJSON_IsString(tpl)) {
        if (strstr(tpl->valuestring, "<|start_header_id|>")) t->chat = CHAT_LLAMA3;
        if (strstr(tpl->valuestring, qwen25_system)) t->default_system = xstrdup(qwen25_system);
    }
    cJSON_Delete(cfg);
    return 0;
}

/* ------------------------------------------------------------ load / free */

int tok_fastjson_disabled = 0;

/* Parses the file: the fast reader for model.vocab/merges and cJSON for the
 * rest, or cJSON for everything when the fast reader declines. */
static cJSON *parse(const char *path, ModelLists *ml, int *fast, PureErr *err) {
    size_t len;
    char *text = fs_read_file(path, &len, err);
    if (!text) return NULL;
    cJSON *root = NULL;
    char *rest = tok_fastjson_disabled ? NULL : fastjson_model(text, len, ml);
    if (rest) {
        root = json_parse_dups(rest, ml->rest_len, path, err);
        free(rest);
        if (!root) {  /* the rest is broken: let cJSON report on the original text */
            modellists_free(ml);
            err_clear(err);
        }
    }
    *fast = root != NULL;
    if (!root) root = json_parse_dups(text, len, path, err);
    free(text);
    return root;
}

Tokenizer *tokenizer_load(const char *path, PureErr *err) {
    ModelLists ml;
    memset(&ml, 0, sizeof ml);
    int fast;
    cJSON *root = parse(path, &ml, &fast, err);
    if (!root) return NULL;
    Tokenizer *t = xcalloc(1, sizeof *t);
    t->path = xstrdup(path);
    t->serial = atomic_fetch_add(&next_serial, 1);
    t->eos = t->pad = t->bos = -1;
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
    int rc = -1;
    if (!cJSON_IsObject(root)) err_set(err, "%s: expected a JSON object at the top", path);
    else if (load_model(t, cJSON_GetObjectItemCaseSensitive(root, "model"), &ml, fast, max_added_id(added), path,
                        err) == 0 &&
             load_added(t, added, path, err) == 0 &&
             load_normalizer(t, cJSON_GetObjectItemCaseSensitive(root, "normalizer"), path, err) == 0 &&
             load_pre(t, cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer"), path, err) == 0 &&
             check_decoder_post(root, path, err) == 0 && load_config(t, path, err) == 0)
        rc = 0;
    modellists_free(&ml);
    cJSON_Delete(root);
    if (rc) {
        tokenizer_free(t);
        return NULL;
    }
    return t;
}

void tokenizer_free(Tokenizer *t) {
    if (!t) return;
    free(t->path);
    free(t->arena);
    free(t->tok_off);
    free(t->tok_len);
    free(t->tok_flags);
    tokmap_free(&t->vocab);
    mergemap_free(&t->merges);
    for (int i = 0; i < t->n_added; i++) free(t->added[i].content);
    free(t->added);
    for (int i = 0; i < t->n_pre; i++) pcre2_code_free(t->pre[i].re);
    free(t->default_system);
    free(t);
}

int tokenizer_vocab_size(const Tokenizer *t) { return t->vocab_size; }
int32_t tokenizer_eos_id(const Tokenizer *t) { return t->eos; }
int32_t tokenizer_pad_id(const Tokenizer *t) { return t->pad; }
int32_t tokenizer_bos_id(const Tokenizer *t) { return t->bos; }

int tokenizer_is_special(const Tokenizer *t, int32_t id) {
    return id >= 0 && id < t->vocab_size && (t->tok_flags[id] & TOKF_SPECIAL);
}

int32_t tokenizer_token_id(const Tokenizer *t, const char *token) {
    size_t n = strlen(token);
    for (int i = 0; i < t->n_added; i++)
        if (t->added[i].len == n && !memcmp(t->added[i].content, token, n)) return t->added[i].id;
    char stack[256], *buf = n < sizeof stack ? stack : xmalloc(n + 1);
    int32_t id = vocab_lookup(t, token, n, buf);
    if (id < 0) id = tokmap_get(&t->vocab, t, token, n);  /* raw bytes, e.g. "\n\n" */
    if (buf != stack) free(buf);
    return id;
}

const char *tokenizer_token_bytes(const Tokenizer *t, int32_t id, size_t *len) {
    if (id < 0 || id >= t->vocab_size || !(t->tok_flags[id] & TOKF_PRESENT)) return NULL;
    if (len) *len = t->tok_len[id];
    return t->arena + t->tok_off[id];
}

size_t tokenizer_max_token_bytes(const Tokenizer *t) { return t->max_token_bytes; }
