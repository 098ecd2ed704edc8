/* prepare.c - rows to train/test splits in the "prompts" layout (see prepare.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "stages/data/prepare.h"
#include "stages/common/lm.h"
#include "util/fs.h"
#include "util/sbuf.h"
#include "util/hash.h"
#include "util/rng.h"

void data_options_default(DataOptions *o) {
    memset(o, 0, sizeof *o);
    o->source = "toy";
    o->path = o->data_dir = o->template_ = o->tokenizer = "";
    o->fields = (DataFields){"problem", "answer", "solution"};
    o->shuffle = 1;
    o->test_size = -1;
    o->reference_fraction = 1.0;
    toy_config_default(&o->toy);
    o->n_train = 2048;
    o->n_test = 512;
    o->extra_error_rate = -1;
}

char *data_apply_template(const char *template_, const char *problem) {
    SBuf b = {0};
    for (const char *s = template_; *s;) {
        if (strncmp(s, "{problem}", 9) == 0) {
            sbuf_add(&b, problem);
            s += 9;
        } else {
            sbuf_addc(&b, *s++);
        }
    }
    return sbuf_take(&b);
}

/* Fisher-Yates with a counter-based stream: the order depends only on (seed, stream, n). */
static void shuffle_rows(DataRow *rows, int64_t n, uint64_t seed, uint64_t stream) {
    Rng r;
    rng_init(&r, seed, stream);
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)rng_next_below(&r, (uint64_t)i + 1);
        DataRow t = rows[i];
        rows[i] = rows[j];
        rows[j] = t;
    }
}

/* ---- the toy task: train problems, then test problems that do not occur in train ---- */

/* A set of problem texts (open addressing on a 64-bit FNV-1a hash; collisions compared by text). */
typedef struct { uint64_t *h; char **s; size_t cap; } TextSet;
static uint64_t text_hash(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h | 1; /* 0 marks an empty slot */
}
static int textset_add(TextSet *t, const char *s) { /* 1 if added, 0 if present */
    uint64_t h = text_hash(s);
    size_t i = h & (t->cap - 1);
    for (; t->h[i]; i = (i + 1) & (t->cap - 1))
        if (t->h[i] == h && strcmp(t->s[i], s) == 0) return 0;
    t->h[i] = h;
    t->s[i] = (char *)s;
    return 1;
}

static void toy_row(const DataOptions *o, const ToyConfig *sol, uint64_t index, const ToyProblem *p, DataRow *row) {
    char ref[32];
    snprintf(ref, sizeof ref, "%d", p->answer);
    row->id = (int64_t)index;
    row->benchmark = xstrdup("toy");
    row->problem = xstrdup(p->text);
    row->reference = xstrdup(ref);
    row->solution = toy_solution(sol, p, o->seed, index);
    row->answer_given = 1;
}

/* Appends up to `want` problems not yet in `set` to out, their demonstrations written with `sol`'s slip rate;
   index advances past every problem drawn. */
static void toy_fresh(const DataOptions *o, const ToyConfig *sol, TextSet *set, uint64_t *index, int64_t want,
                      DataSet *out) {
    /* give up once 100000 draws in a row are all taken: the task has run out of new problems (the error follows) */
    uint64_t tries = 0, max_tries = (uint64_t)want * 50 + 1000, misses = 0;
    while (out->n < want && tries++ < max_tries && misses < 100000) {
        ToyProblem p;
        toy_problem_generate(&o->toy, o->seed, *index, &p);
        DataRow row;
        toy_row(o, sol, (*index)++, &p, &row);
        dataset_push(out, row);
        if (!textset_add(set, out->rows[out->n - 1].problem)) datarow_free(&out->rows[--out->n]), misses++;
        else misses = 0;
    }
}

static int toy_generate(const DataOptions *o, DataSet *train, DataSet *test, DataSet *dev, DataSet *extra,
                        PureErr *err) {
    if (o->toy.min_ops < 1 || o->toy.max_ops > TOY_MAX_OPS || o->toy.min_ops > o->toy.max_ops)
        return err_set(err, "toy task: need 1 <= min_ops <= max_ops <= %d, got min_ops=%d max_ops=%d", TOY_MAX_OPS,
                       o->toy.min_ops, o->toy.max_ops);
    TextSet set = {0};
    set.cap = 16;
    while (set.cap < (size_t)(o->n_train + o->n_test + o->n_dev + o->n_extra) * 2 + 16) set.cap *= 2;
    set.h = xcalloc(set.cap, sizeof *set.h);
    set.s = xcalloc(set.cap, sizeof *set.s);
    uint64_t index = 0;
    /* train problems may repeat (a small task has few distinct problems); test ones are new, and dev ones
       (drawn after the test ones, so a dev split leaves train and test as they were) newer still, and the extra
       ones (a verifier's training pool) after those: adding them changes none of the other three */
    for (int64_t i = 0; i < o->n_train; i++, index++) {
        ToyProblem p;
        toy_problem_generate(&o->toy, o->seed, index, &p);
        DataRow row;
        toy_row(o, &o->toy, index, &p, &row);
        dataset_push(train, row);
        textset_add(&set, train->rows[train->n - 1].problem);
    }
    /* the slip rate changes only the demonstrations (toy_solution's own stream), never which problems are drawn */
    ToyConfig extra_sol = o->toy;
    if (o->extra_error_rate >= 0) extra_sol.error_rate = o->extra_error_rate;
    toy_fresh(o, &o->toy, &set, &index, o->n_test, test);
    toy_fresh(o, &o->toy, &set, &index, o->n_dev, dev);
    if (extra) toy_fresh(o, &extra_sol, &set, &index, o->n_extra, extra);
    free(set.h);
    free(set.s);
    if (test->n < o->n_test)
        return err_set(err, "toy task: only %lld distinct test problems not in train (n_test=%lld); raise max_operand or max_ops",
                       (long long)test->n, (long long)o->n_test);
    if (dev->n < o->n_dev)
        return err_set(err, "toy task: only %lld distinct dev problems in neither train nor test (n_dev=%lld); raise "
                       "max_operand or max_ops", (long long)dev->n, (long long)o->n_dev);
    if (extra && extra->n < o->n_extra)
        return err_set(err, "toy task: only %lld distinct extra problems in none of train, test and dev (n_extra=%lld); "
                       "raise max_operand or max_ops", (long long)extra->n, (long long)o->n_extra);
    return 0;
}

/* ---- real sources ---- */

static const char *template_of(const DataOptions *o) {
    if (o->template_ && *o->template_) return o->template_;
    return (o->n_sources == 0 && strcmp(o->source, "toy") == 0) ? DATA_TEMPLATE_TOY : DATA_TEMPLATE_METHOD;
}

/* The tokenizer that counts prompt tokens: a tokenizer.json, or a model folder holding one. */
static Tokenizer *count_tokenizer(const char *path, PureErr *err) {
    char *file = fs_is_dir(path) ? fs_join(path, "tokenizer.json") : xstrdup(path);
    Tokenizer *t = tokenizer_load(file, err);
    if (!t) err_prefix(err, "parameter 'tokenizer' (%s)", file);
    free(file);
    return t;
}

/* verl's filter_prompts: rows whose templated prompt, encoded as the rollout encodes it (no chat
   template), has more than max_prompt_tokens tokens are dropped. Returns the count dropped. */
static int64_t drop_long(const DataOptions *o, const Tokenizer *tok, DataSet *d, PureErr *err) {
    int64_t kept = 0, dropped = 0;
    for (int64_t i = 0; i < d->n; i++) {
        char *prompt = data_apply_template(template_of(o), d->rows[i].problem);
        int32_t *ids = NULL;
        int n = 0;
        int rc = policy_encode_prompt(tok, prompt, 0, &ids, &n, err);
        free(prompt), free(ids);
        if (rc) {
            err_prefix(err, "max_prompt_tokens: row %lld (id %lld)", (long long)i, (long long)d->rows[i].id);
            return -1;
        }
        if (n > o->max_prompt_tokens) {
            datarow_free(&d->rows[i]);
            dropped++;
        } else {
            d->rows[kept++] = d->rows[i];
        }
    }
    d->n = kept;
    return dropped;
}

static int load_source(const DataOptions *o, const Tokenizer *tok, const char *source, int k, DataSet *all,
                       int64_t *dropped, PureErr *err) {
    if (!data_source_known(source) && strcmp(source, "jsonl") != 0)
    {
        char list[256] = "";
        for (int i = 0; data_sources[i].name; i++)
            if (strcmp(data_sources[i].name, "toy"))
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", list[0] ? ", " : "",
                         data_sources[i].name);
        return err_set(err, "unknown data source '%s' (expected one of %s)", source, list);
    }
    char *path = NULL;
    if (o->n_sources == 0 && o->path && *o->path) path = xstrdup(o->path);
    else if (o->data_dir && *o->data_dir) path = data_default_path(o->data_dir, source);
    if (!path)
        return err_set(err, "source '%s': set `path` to its file%s", source,
                       strcmp(source, "jsonl") ? " or `data_dir` to a folder laid out like ../shared/data" : "");
    DataSet d = {0};
    int rc = data_load(source, path, &o->fields, &d, err);
    free(path);
    if (rc < 0) {
        dataset_free(&d);
        return -1;
    }
    if (o->shuffle) shuffle_rows(d.rows, d.n, rng_derive(o->seed, "data/shuffle"), (uint64_t)k);
    int64_t drop = tok ? drop_long(o, tok, &d, err) : 0;
    if (drop < 0) {
        dataset_free(&d);
        return -1;
    }
    *dropped += drop;
    int64_t keep = o->limit > 0 && o->limit < d.n ? o->limit : d.n;
    for (int64_t i = 0; i < d.n; i++) {
        if (i < keep) dataset_push(all, d.rows[i]);
        else datarow_free(&d.rows[i]);
    }
    free(d.rows);
    return 0;
}

static void split_finish(const DataOptions *o, DataSplit *s, int is_train) {
    int64_t n = s->rows.n;
    s->has_reference = xcalloc((size_t)(n ? n : 1), 1);
    s->prompts = xcalloc((size_t)(n ? n : 1), sizeof *s->prompts);
    const char *tmpl = template_of(o);
    for (int64_t i = 0; i < n; i++) s->prompts[i] = data_apply_template(tmpl, s->rows.rows[i].problem);
    /* which prompts keep their reference as a verifiable reward */
    if (is_train && o->reference_from_answer_field) {
        for (int64_t i = 0; i < n; i++) s->has_reference[i] = (uint8_t)s->rows.rows[i].answer_given;
    } else if (is_train && o->reference_fraction < 1.0) {
        /* exactly round(f * n) rows, chosen by a seeded permutation independent of the row order */
        int64_t k = (int64_t)llround(o->reference_fraction * (double)n);
        int64_t *perm = xmalloc((size_t)(n ? n : 1) * sizeof *perm);
        for (int64_t i = 0; i < n; i++) perm[i] = i;
        Rng r;
        rng_init(&r, rng_derive(o->seed, "data/reference"), 0);
        for (int64_t i = n - 1; i > 0; i--) {
            int64_t j = (int64_t)rng_next_below(&r, (uint64_t)i + 1), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        for (int64_t i = 0; i < k; i++) s->has_reference[perm[i]] = 1;
        free(perm);
    } else {
        for (int64_t i = 0; i < n; i++) s->has_reference[i] = 1;
    }
    for (int64_t i = 0; i < n; i++)
        if (!s->rows.rows[i].reference[0]) s->has_reference[i] = 0;
}

int data_prepare(const DataOptions *o, DataSplit *train, DataSplit *test, DataSplit *dev, DataSplit *extra,
                 PureErr *err) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    memset(dev, 0, sizeof *dev);
    if (extra) memset(extra, 0, sizeof *extra);
    if (o->n_sources == 0 && strcmp(o->source, "toy") == 0) {
        if (toy_generate(o, &train->rows, &test->rows, &dev->rows, extra ? &extra->rows : NULL, err) < 0) return -1;
    } else {
        DataSet all = {0};
        int benchmarks_only = 1, rc = 0;
        int n = o->n_sources ? o->n_sources : 1;
        Tokenizer *tok = NULL;
        if (o->max_prompt_tokens > 0 && !(tok = count_tokenizer(o->tokenizer, err))) return -1;
        for (int k = 0; k < n && !rc; k++) {
            const char *src = o->n_sources ? o->sources[k] : o->source;
            if (strcmp(src, "toy") == 0) {
                rc = err_set(err, "`sources` lists benchmark files; the toy task is `source: toy`");
                break;
            }
            if (strcmp(src, "math_train") == 0 || strcmp(src, "jsonl") == 0) benchmarks_only = 0;
            rc = load_source(o, tok, src, k, &all, &train->dropped_long, err);
        }
        tokenizer_free(tok);
        if (rc) {
            dataset_free(&all);
            return -1;
        }
        /* benchmarks are evaluation sets: by default every row is a test row */
        int64_t n_test = o->test_size >= 0 ? o->test_size : benchmarks_only ? all.n : 0;
        if (o->test_fraction > 0) n_test = (int64_t)llround(o->test_fraction * (double)all.n);
        if (n_test > all.n) n_test = all.n;
        int64_t n_dev = o->n_dev < all.n - n_test ? o->n_dev : all.n - n_test;
        for (int64_t i = 0; i < all.n; i++)
            dataset_push(i < n_test ? &test->rows : i < n_test + n_dev ? &dev->rows : &train->rows, all.rows[i]);
        free(all.rows);
    }
    split_finish(o, train, 1);
    split_finish(o, test, 0);
    split_finish(o, dev, 0);
    if (extra) split_finish(o, extra, 0);
    return 0;
}

void data_split_free(DataSplit *s) {
    for (int64_t i = 0; i < s->rows.n && s->prompts; i++) free(s->prompts[i]);
    free(s->prompts);
    free(s->has_reference);
    dataset_free(&s->rows);
    memset(s, 0, sizeof *s);
}

int data_split_write(Artifact *a, const DataSplit *s, PureErr *err) {
    int64_t n = s->rows.n;
    int64_t *ids = xmalloc((size_t)(n ? n : 1) * sizeof *ids);
    const char **cols[4];
    for (int c = 0; c < 4; c++) cols[c] = xmalloc((size_t)(n ? n : 1) * sizeof(char *));
    for (int64_t i = 0; i < n; i++) {
        const DataRow *r = &s->rows.rows[i];
        ids[i] = r->id;
        cols[0][i] = r->benchmark;
        cols[1][i] = r->problem;
        cols[2][i] = r->reference;
        cols[3][i] = r->solution;
    }
    int rc = artifact_write(a, "id", DT_I64, 1, &n, ids, err);
    if (rc == 0) rc = artifact_write_strings(a, "benchmark", n, cols[0], err);
    if (rc == 0) rc = artifact_write_strings(a, "problem", n, cols[1], err);
    if (rc == 0) rc = artifact_write_strings(a, "prompt", n, (const char *const *)s->prompts, err);
    if (rc == 0) rc = artifact_write_strings(a, "reference", n, cols[2], err);
    if (rc == 0) rc = artifact_write(a, "has_reference", DT_U8, 1, &n, s->has_reference, err);
    if (rc == 0) rc = artifact_write_strings(a, "solution", n, cols[3], err);
    free(ids);
    for (int c = 0; c < 4; c++) free(cols[c]);
    return rc;
}
