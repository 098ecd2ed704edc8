/* io.c - prompts, rollouts, rewards and verifiable artifacts: checked reads and writes (see io.h). */
#include "stages/common/io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stages/stage.h"
#include "util/fs.h"

/* ---- helpers ---- */

static void *read_vec(Artifact *a, const char *name, DType t, int64_t want_n, PureErr *err) {
    int64_t dims[ARTIFACT_MAX_DIMS];
    if (!artifact_has(a, name)) {
        err_set(err, "%s: missing dataset '%s'", artifact_path(a), name);
        return NULL;
    }
    void *v = artifact_read(a, name, t, 1, dims, err);
    if (!v) return NULL;
    if (want_n >= 0 && dims[0] != want_n) {
        free(v);
        err_set(err, "%s: dataset '%s' has %lld rows, expected %lld", artifact_path(a), name, (long long)dims[0],
                (long long)want_n);
        return NULL;
    }
    return v;
}

static char **read_strs(Artifact *a, const char *name, int64_t want_n, PureErr *err) {
    if (!artifact_has(a, name)) {
        err_set(err, "%s: missing dataset '%s'", artifact_path(a), name);
        return NULL;
    }
    int64_t n = 0;
    char **s = artifact_read_strings(a, name, &n, err);
    if (!s) return NULL;
    if (want_n >= 0 && n != want_n) {
        artifact_strings_free(s, n);
        err_set(err, "%s: dataset '%s' has %lld rows, expected %lld", artifact_path(a), name, (long long)n,
                (long long)want_n);
        return NULL;
    }
    return s;
}

static int read_ragged(Artifact *a, const char *name, DType t, int64_t want_n, Ragged *r, PureErr *err) {
    memset(r, 0, sizeof *r);
    if (!artifact_has(a, name)) return err_set(err, "%s: missing ragged group '%s'", artifact_path(a), name);
    if (artifact_read_ragged(a, name, t, &r->n, &r->off, &r->v, err)) return -1;
    if (want_n >= 0 && r->n != want_n) {
        err_set(err, "%s: ragged '%s' has %lld rows, expected %lld", artifact_path(a), name, (long long)r->n,
                (long long)want_n);
        ragged_free(r);
        return -1;
    }
    return 0;
}

void ragged_free(Ragged *r) {
    free(r->off);
    free(r->v);
    memset(r, 0, sizeof *r);
}

int ragged_read_aligned(Artifact *a, const char *name, const Ragged *like, const char *like_name, Ragged *out,
                        PureErr *err) {
    if (read_ragged(a, name, DT_F32, like->n, out, err)) return -1;
    for (int64_t i = 0; i < like->n; i++)
        if (ragged_len(out, i) != ragged_len(like, i)) {
            err_set(err, "%s: row %lld of '%s' has %lld values, but '%s' has %lld", artifact_path(a), (long long)i,
                    name, (long long)ragged_len(out, i), like_name, (long long)ragged_len(like, i));
            ragged_free(out);
            return -1;
        }
    return 0;
}

/* ---- prompts ---- */

int prompts_read(Artifact *a, Prompts *p, PureErr *err) {
    memset(p, 0, sizeof *p);
    int64_t dims[ARTIFACT_MAX_DIMS];
    if (!artifact_has(a, "prompt"))
        return err_set(err, "%s: not a prompts artifact (missing dataset 'prompt'; expected the output of a data stage)",
                       artifact_path(a));
    p->prompt = artifact_read_strings(a, "prompt", &p->n, err);
    if (!p->prompt) return -1;
    (void)dims;
    if (!(p->id = read_vec(a, "id", DT_I64, p->n, err))) goto fail;
    if (!(p->benchmark = read_strs(a, "benchmark", p->n, err))) goto fail;
    if (!(p->problem = read_strs(a, "problem", p->n, err))) goto fail;
    if (!(p->reference = read_strs(a, "reference", p->n, err))) goto fail;
    if (!(p->has_reference = read_vec(a, "has_reference", DT_U8, p->n, err))) goto fail;
    if (!(p->solution = read_strs(a, "solution", p->n, err))) goto fail;
    return 0;
fail:
    prompts_free(p);
    return -1;
}

void prompts_free(Prompts *p) {
    int64_t n = p->n;
    if (p->prompt) artifact_strings_free(p->prompt, n);
    if (p->benchmark) artifact_strings_free(p->benchmark, n);
    if (p->problem) artifact_strings_free(p->problem, n);
    if (p->reference) artifact_strings_free(p->reference, n);
    if (p->solution) artifact_strings_free(p->solution, n);
    free(p->id);
    free(p->has_reference);
    memset(p, 0, sizeof *p);
}

/* ---- rollouts ---- */

int rollouts_read(Artifact *a, Rollouts *r, PureErr *err) {
    memset(r, 0, sizeof *r);
    const char *path = artifact_path(a);
    if (!artifact_has(a, "tokens") || !artifact_has(a, "step_ends"))
        return err_set(err, "%s: not a rollouts artifact (missing 'tokens' or 'step_ends'; expected the output of a "
                       "rollout stage)", path);
    if (read_ragged(a, "tokens", DT_I32, -1, &r->tokens, err)) return -1;
    r->n = r->tokens.n;
    if (!(r->prompt_index = read_vec(a, "prompt_index", DT_I64, r->n, err))) goto fail;
    if (!(r->group = read_vec(a, "group", DT_I64, r->n, err))) goto fail;
    if (!(r->length = read_vec(a, "length", DT_I32, r->n, err))) goto fail;
    if (!(r->finish = read_vec(a, "finish", DT_I32, r->n, err))) goto fail;
    if (!(r->text = read_strs(a, "text", r->n, err))) goto fail;
    if (read_ragged(a, "prompt_tokens", DT_I32, r->n, &r->prompt_tokens, err)) goto fail;
    if (ragged_read_aligned(a, "logprobs", &r->tokens, "tokens", &r->logprobs, err)) goto fail;
    if (artifact_has(a, "ref_logprobs") &&
        ragged_read_aligned(a, "ref_logprobs", &r->tokens, "tokens", &r->ref_logprobs, err))
        goto fail;
    if (read_ragged(a, "step_ends", DT_I32, r->n, &r->step_ends, err)) goto fail;
    if (artifact_has(a, "step_bytes") && read_ragged(a, "step_bytes", DT_I32, r->n, &r->step_bytes, err)) goto fail;
    for (int64_t i = 0; i < r->n; i++) {
        int64_t len = ragged_len(&r->tokens, i);
        if (r->length[i] != len) {
            err_set(err, "%s: response %lld: length %d but %lld tokens", path, (long long)i, r->length[i],
                    (long long)len);
            goto fail;
        }
        const int32_t *se = (const int32_t *)r->step_ends.v + r->step_ends.off[i];
        int64_t ns = ragged_len(&r->step_ends, i);
        for (int64_t s = 0; s < ns; s++)
            if (se[s] < 0 || se[s] >= len || (s > 0 && se[s] <= se[s - 1])) {
                err_set(err, "%s: response %lld: step_ends[%lld] = %d is not increasing within [0, %lld)", path,
                        (long long)i, (long long)s, se[s], (long long)len);
                goto fail;
            }
        if (r->step_bytes.n && ragged_len(&r->step_bytes, i) != ns) {
            err_set(err, "%s: response %lld: %lld step_bytes but %lld step_ends", path, (long long)i,
                    (long long)ragged_len(&r->step_bytes, i), (long long)ns);
            goto fail;
        }
    }
    return 0;
fail:
    rollouts_free(r);
    return -1;
}

int rollouts_write(Artifact *a, const Rollouts *r, PureErr *err) {
    int64_t n = r->n;
    if (artifact_write(a, "prompt_index", DT_I64, 1, &n, r->prompt_index, err) ||
        artifact_write(a, "group", DT_I64, 1, &n, r->group, err) ||
        artifact_write_ragged(a, "prompt_tokens", DT_I32, n, r->prompt_tokens.off, r->prompt_tokens.v, err) ||
        artifact_write_ragged(a, "tokens", DT_I32, n, r->tokens.off, r->tokens.v, err) ||
        artifact_write_ragged(a, "logprobs", DT_F32, n, r->logprobs.off, r->logprobs.v, err) ||
        artifact_write(a, "length", DT_I32, 1, &n, r->length, err) ||
        artifact_write(a, "finish", DT_I32, 1, &n, r->finish, err) ||
        artifact_write_strings(a, "text", n, (const char *const *)r->text, err) ||
        artifact_write_ragged(a, "step_ends", DT_I32, n, r->step_ends.off, r->step_ends.v, err) ||
        artifact_write_ragged(a, "step_bytes", DT_I32, n, r->step_bytes.off, r->step_bytes.v, err))
        return -1;
    if (r->ref_logprobs.n &&
        artifact_write_ragged(a, "ref_logprobs", DT_F32, n, r->ref_logprobs.off, r->ref_logprobs.v, err))
        return -1;
    return 0;
}

void rollouts_free(Rollouts *r) {
    free(r->prompt_index);
    free(r->group);
    free(r->length);
    free(r->finish);
    if (r->text) artifact_strings_free(r->text, r->n);
    ragged_free(&r->prompt_tokens);
    ragged_free(&r->tokens);
    ragged_free(&r->logprobs);
    ragged_free(&r->ref_logprobs);
    ragged_free(&r->step_ends);
    ragged_free(&r->step_bytes);
    memset(r, 0, sizeof *r);
}

/* ---- process rewards ---- */

int step_values_read(Artifact *a, const char *name, const Ragged *steps, Ragged *out, PureErr *err) {
    const char *path = artifact_path(a);
    if (read_ragged(a, name, DT_F32, steps ? steps->n : -1, out, err)) return -1;
    for (int64_t i = 0; steps && i < steps->n; i++)
        if (ragged_len(out, i) != ragged_len(steps, i)) {
            err_set(err, "%s: '%s' row %lld (response %lld) has %lld values, expected %lld (one per step of the "
                    "rollouts' step_ends)", path, name, (long long)i, (long long)i, (long long)ragged_len(out, i),
                    (long long)ragged_len(steps, i));
            ragged_free(out);
            return -1;
        }
    return 0;
}

int rewards_read(Artifact *a, const Ragged *steps, Ragged *out, PureErr *err) {
    return step_values_read(a, "step_rewards", steps, out, err);
}

/* ---- verifiable rewards ---- */

int verifiable_read(Artifact *a, int64_t n, Verifiable *v, PureErr *err) {
    memset(v, 0, sizeof *v);
    int64_t dims[ARTIFACT_MAX_DIMS];
    int ndim;
    DType stored;
    if (!artifact_has(a, "reward") || !artifact_has(a, "has_reward"))
        return err_set(err, "%s: not a verifiable-rewards artifact (missing dataset '%s'; expected the output of a "
                       "verify stage)", artifact_path(a), artifact_has(a, "reward") ? "has_reward" : "reward");
    if (n < 0) {
        if (artifact_shape(a, "reward", &ndim, dims, &stored, err)) return -1;
        n = ndim == 1 ? dims[0] : -1;  /* read_vec then names the rank */
    }
    if (!(v->reward = read_vec(a, "reward", DT_F32, n, err))) goto fail;
    if (!(v->has_reward = read_vec(a, "has_reward", DT_U8, n, err))) goto fail;
    v->n = n;
    for (int64_t i = 0; i < n; i++)
        if (v->has_reward[i] > 1) {
            err_set(err, "%s: 'has_reward' row %lld is %d, expected 0 or 1", artifact_path(a), (long long)i,
                    v->has_reward[i]);
            goto fail;
        }
    return 0;
fail:
    verifiable_free(v);
    return -1;
}

void verifiable_free(Verifiable *v) {
    free(v->reward);
    free(v->has_reward);
    memset(v, 0, sizeof *v);
}

/* ---- files ---- */

int common_copy_file(const char *src, const char *dst, PureErr *err) {
    size_t len = 0;
    char *data = fs_read_file(src, &len, err);
    if (!data) return -1;
    int rc = fs_write_atomic(dst, data, len, err);
    free(data);
    return rc;
}

int common_copy_tokenizer(const char *src_dir, const char *dst_dir, PureErr *err) {
    static const char *names[] = {"tokenizer.json", "tokenizer_config.json"};
    for (int i = 0; i < 2; i++) {
        char *s = fs_join(src_dir, names[i]), *d = fs_join(dst_dir, names[i]);
        int rc = 0;
        if (fs_exists(s))
            rc = common_copy_file(s, d, err);
        else if (i == 0)
            rc = err_set(err, "%s: missing tokenizer.json (a policy folder needs its tokenizer)", src_dir);
        free(s);
        free(d);
        if (rc) return -1;
    }
    return 0;
}

/* ---- stage inputs ---- */

int input_read_prompts(StageCtx *ctx, const char *port, Prompts *p, PureErr *err) {
    memset(p, 0, sizeof *p);
    Artifact *a = stage_input_open(ctx, port, err);
    if (!a) return -1;
    int rc = prompts_read(a, p, err);
    artifact_close(a, NULL);
    return rc ? err_prefix(err, "input '%s'", port) : 0;
}

int input_read_rollouts(StageCtx *ctx, const char *port, Rollouts *r, PureErr *err) {
    memset(r, 0, sizeof *r);
    Artifact *a = stage_input_open(ctx, port, err);
    if (!a) return -1;
    int rc = rollouts_read(a, r, err);
    artifact_close(a, NULL);
    return rc ? err_prefix(err, "input '%s'", port) : 0;
}

int input_read_rewards(StageCtx *ctx, const char *port, const Ragged *steps, Ragged *out, PureErr *err) {
    memset(out, 0, sizeof *out);
    Artifact *a = stage_input_open(ctx, port, err);
    if (!a) return -1;
    int rc = rewards_read(a, steps, out, err);
    artifact_close(a, NULL);
    return rc ? err_prefix(err, "input '%s'", port) : 0;
}

int input_read_step_values(StageCtx *ctx, const char *port, const char *name, const Ragged *steps, Ragged *out,
                           PureErr *err) {
    memset(out, 0, sizeof *out);
    Artifact *a = stage_input_open(ctx, port, err);
    if (!a) return -1;
    int rc = 0;
    if (!artifact_has(a, name))
        rc = err_set(err, "%s: no dataset '%s'", artifact_path(a), name);
    else
        rc = step_values_read(a, name, steps, out, err);
    artifact_close(a, NULL);
    return rc ? err_prefix(err, "input '%s'", port) : 0;
}

int input_read_verifiable(StageCtx *ctx, const char *port, int64_t n, Verifiable *v, PureErr *err) {
    memset(v, 0, sizeof *v);
    Artifact *a = stage_input_open(ctx, port, err);
    if (!a) return -1;
    int rc = verifiable_read(a, n, v, err);
    artifact_close(a, NULL);
    return rc ? err_prefix(err, "input '%s'", port) : 0;
}
