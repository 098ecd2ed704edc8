/* adamw.c - AdamW (PyTorch semantics: decoupled weight decay, bias
 * correction), global-norm clipping, learning-rate schedules, and the
 * optimizer state file.
 *
 * Weight decay applies to matrices (embedding included) and not to biases or
 * RMSNorm weights. The state file is safetensors, f32: exp_avg.<name>,
 * exp_avg_sq.<name> per parameter and `step` = [step / 2^24, step % 2^24]
 * (two floats, exact up to 2^48 steps).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "model/model_internal.h"
#include "util/dist.h"
#include "util/fs.h"

/* The defaults of model.h (shared with the stage registry). */
void adamw_config_default(AdamWConfig *c) {
    memset(c, 0, sizeof *c);
    c->lr = ADAMW_DEFAULT_LR;
    c->beta1 = ADAMW_DEFAULT_BETA1;
    c->beta2 = ADAMW_DEFAULT_BETA2;
    c->eps = ADAMW_DEFAULT_EPS;
    c->weight_decay = ADAMW_DEFAULT_WEIGHT_DECAY;
    c->grad_clip = ADAMW_DEFAULT_GRAD_CLIP;
    snprintf(c->schedule, sizeof c->schedule, "%s", ADAMW_DEFAULT_SCHEDULE);
    c->warmup_steps = ADAMW_DEFAULT_WARMUP_STEPS;
    c->total_steps = 0;
    c->min_lr_ratio = ADAMW_DEFAULT_MIN_LR_RATIO;
}

/* lr for 0-based step t */
static int schedule_lr(const AdamWConfig *c, int64_t t, double *lr, PureErr *err) {
    double warm = c->warmup_steps > 0 && t < c->warmup_steps ? (double)(t + 1) / c->warmup_steps : 1.0;
    if (!strcmp(c->schedule, "constant")) *lr = c->lr;
    else if (!strcmp(c->schedule, "warmup")) *lr = c->lr * warm;
    else if (!strcmp(c->schedule, "cosine")) {
        if (t < c->warmup_steps) *lr = c->lr * warm;
        else {
            int64_t span = c->total_steps - c->warmup_steps;
            double prog = span > 0 ? (double)(t - c->warmup_steps) / span : 1.0;
            if (prog > 1) prog = 1;
            *lr = c->lr * (c->min_lr_ratio + (1 - c->min_lr_ratio) * 0.5 * (1 + cos(M_PI * prog)));
        }
    } else return err_set(err, "adamw: schedule '%s' is not one of constant, warmup, cosine", c->schedule);
    return 0;
}

static void ensure_moments(Model *m) {
    if (m->adam_m) return;
    m->adam_m = m->be->alloc(m->n_params * sizeof(float));
    m->adam_v = m->be->alloc(m->n_params * sizeof(float));
}

int model_adamw_step(Model *m, const AdamWConfig *c, double *grad_norm, double *lr_used, PureErr *err) {
    if (!m->grads) return err_set(err, "adamw: no gradients (run model_backward first)");
    double lr = 0;
    if (schedule_lr(c, m->step, &lr, err)) return -1;
    double norm = sqrt(m->be->sumsq(m->grads, m->n_params));
    if (grad_norm) *grad_norm = norm;
    if (lr_used) *lr_used = lr;
    if (!isfinite(norm)) return err_set(err, "adamw: gradient norm is %g; step skipped", norm);
    float gscale = 1.0f;
    if (c->grad_clip > 0 && norm > c->grad_clip) gscale = (float)(c->grad_clip / (norm + 1e-6));
    ensure_moments(m);
    m->step++;
    float bc1 = (float)(1.0 - pow(c->beta1, (double)m->step)), bc2 = (float)(1.0 - pow(c->beta2, (double)m->step));
    /* the bf16 copies (precision bf16: the matrices) follow the f32 master weights, written by the step itself */
    int copies = m->wb && !m->no_master;
    for (int i = 0; i < m->n_tensors; i++) {
        const ModelTensor *t = &m->tensors[i];
        uint16_t *pb = copies && t->ndim == 2 ? m->wb + t->offset : NULL;
        m->be->adamw(m->params + t->offset, m->grads + t->offset, m->adam_m + t->offset, m->adam_v + t->offset, pb,
                     t->numel, (float)lr, (float)c->beta1, (float)c->beta2, (float)c->eps,
                     t->decay ? (float)c->weight_decay : 0.0f, bc1, bc2, gscale);
    }
    return 0;
}

int64_t model_optimizer_step_count(const Model *m) { return m->step; }

int model_optimizer_save(Model *m, const char *path, PureErr *err) {
    ensure_moments(m);
    float step[2] = {(float)(m->step >> 24), (float)(m->step & 0xffffff)};
    StWrite extra = {.name = "step", .dtype = ST_F32, .ndim = 1, .shape = {2}, .data = step};
    float *hm = model_host_view(m, m->adam_m), *hv = model_host_view(m, m->adam_v);
    const char *prefixes[2] = {"exp_avg.", "exp_avg_sq."};
    const float *blocks[2] = {hm, hv};
    int rc = model_write_tensors(m, path, 2, prefixes, blocks, ST_F32, &extra, 1, err);
    model_host_view_free(m, hm), model_host_view_free(m, hv);
    if (rc) err_prefix(err, "saving optimizer state");
    return rc;
}

int model_optimizer_load(Model *m, const char *path, PureErr *err) {
    SafeTensors *st = safetensors_open(path, err);
    if (!st) return -1;
    ensure_moments(m);
    float *hm = m->be->host_memory ? m->adam_m : xmalloc(m->n_params * sizeof(float));
    float *hv = m->be->host_memory ? m->adam_v : xmalloc(m->n_params * sizeof(float));
    int rc = 0;
    char name[160];
    for (int i = 0; i < m->n_tensors && !rc; i++) {
        const ModelTensor *t = &m->tensors[i];
        snprintf(name, sizeof name, "exp_avg.%s", t->name);
        rc = safetensors_read_f32(st, name, t->ndim, t->shape, hm + t->offset, err);
        snprintf(name, sizeof name, "exp_avg_sq.%s", t->name);
        if (!rc) rc = safetensors_read_f32(st, name, t->ndim, t->shape, hv + t->offset, err);
    }
    float step[2];
    int64_t shape[1] = {2};
    if (!rc) rc = safetensors_read_f32(st, "step", 1, shape, step, err);
    if (!rc) m->step = ((int64_t)step[0] << 24) + (int64_t)step[1];
    if (!m->be->host_memory) {
        if (!rc) m->be->upload(m->adam_m, hm, m->n_params * sizeof(float));
        if (!rc) m->be->upload(m->adam_v, hv, m->n_params * sizeof(float));
        free(hm), free(hv);
    }
    safetensors_close(st);
    if (rc) err_prefix(err, "%s", path);
    return rc;
}

/* ---------------------------------------------------------------- data parallel: ranges */

float *model_param_data(Model *m) { return m->be->host_memory && !m->no_master ? m->params : NULL; }
float *model_grad_data(Model *m) { return m->be->host_memory ? m->grads : NULL; }
void model_params_changed(Model *m) { model_refresh_bf16(m); }

float *model_dp_params(Model *m) { return m->no_master ? NULL : m->params; }
float *model_dp_grads(Model *m) { return m->grads; }
float *model_dp_alloc(Model *m, size_t n) { return m->be->alloc((n + 1) * sizeof(float)); }
void model_dp_free(Model *m, float *buf) {
    if (buf) m->be->free(buf);
}
void model_dp_zero(Model *m, float *buf, size_t n) { m->be->zero(buf, n * sizeof(float)); }
void model_dp_copy(Model *m, float *dst, const float *src, size_t n) { m->be->copy(dst, src, n * sizeof(float)); }
void model_dp_add(Model *m, float *y, const float *x, size_t n) { m->be->add(y, x, n); }
void model_dp_download(Model *m, float *host, const float *buf, size_t n) {
    m->be->download(host, buf, n * sizeof(float));
}
void model_dp_upload(Model *m, float *buf, const float *host, size_t n) { m->be->upload(buf, host, n * sizeof(float)); }
void model_dp_sumsq_chunks(Model *m, double *out, const float *x, size_t n, size_t chunk) {
    if (n) m->be->sumsq_chunks(out, x, n, chunk);
}

int model_dp_comm(Model *m, int size, PureErr *err) {
    if (!m->be->sumsq_chunks) return err_set(err, "the %s backend cannot train data-parallel", m->be->name);
    if (size == 1) return 0;
    if (!m->be->dist_exchange || !m->be->dist_allgather)
        return err_set(err, "the %s backend has no collectives for %d processes (cuda needs a build with NCCL)",
                       m->be->name, size);
    return m->be->dist_init ? m->be->dist_init(err) : 0;
}

void model_dp_exchange(Model *m, const float *src, const int64_t *bounds, float *tmp,
                       void (*take)(void *ctx, int from, const float *slice, int64_t off, int64_t len), void *ctx) {
    m->be->dist_exchange(src, bounds, tmp, take, ctx);
}

void model_dp_allgather(Model *m, float *buf, const int64_t *bounds) { m->be->dist_allgather(buf, bounds); }

int model_adamw_range(Model *m, const AdamWConfig *c, int64_t lo, int64_t hi, const float *g, float *mom_m,
                      float *mom_v, double norm, double *lr_used, PureErr *err) {
    if (m->no_master) return err_set(err, "adamw: this model was loaded for inference (bf16 without f32 weights)");
    if (lo < 0 || hi < lo || (size_t)hi > m->n_params)
        return err_set(err, "adamw: range [%lld, %lld) outside the %zu parameters", (long long)lo, (long long)hi,
                       m->n_params);
    double lr = 0;
    if (schedule_lr(c, m->step, &lr, err)) return -1;
    if (lr_used) *lr_used = lr;
    if (!isfinite(norm)) return err_set(err, "adamw: gradient norm is %g; step skipped", norm);
    float gscale = 1.0f;
    if (c->grad_clip > 0 && norm > c->grad_clip) gscale = (float)(c->grad_clip / (norm + 1e-6));
    m->step++;
    float bc1 = (float)(1.0 - pow(c->beta1, (double)m->step)), bc2 = (float)(1.0 - pow(c->beta2, (double)m->step));
    for (int i = 0; i < m->n_tensors; i++) {
        const ModelTensor *t = &m->tensors[i];
        int64_t a = (int64_t)t->offset, b = a + (int64_t)t->numel;
        if (a < lo) a = lo;
        if (b > hi) b = hi;
        if (a >= b) continue;
        /* no bf16 copy here: the other ranks' slices arrive after, and model_refresh_bf16 follows the gather */
        m->be->adamw(m->params + a, g + (a - lo), mom_m + (a - lo), mom_v + (a - lo), NULL, (size_t)(b - a), (float)lr,
                     (float)c->beta1, (float)c->beta2, (float)c->eps, t->decay ? (float)c->weight_decay : 0.0f, bc1,
                     bc2, gscale);
    }
    return 0;
}

int model_optimizer_save_moments(Model *m, const char *path, const float *mom_m, const float *mom_v, PureErr *err) {
    float step[2] = {(float)(m->step >> 24), (float)(m->step & 0xffffff)};
    StWrite extra = {.name = "step", .dtype = ST_F32, .ndim = 1, .shape = {2}, .data = step};
    const char *prefixes[2] = {"exp_avg.", "exp_avg_sq."};
    const float *blocks[2] = {mom_m, mom_v};
    int rc = model_write_tensors(m, path, 2, prefixes, blocks, ST_F32, &extra, 1, err);
    if (rc) err_prefix(err, "saving optimizer state");
    return rc;
}

/* Every rank's [lo, hi) of the moments into one file, each at its offsets; rank 0 writes the header and the step
 * count and commits. The bytes are model_optimizer_save_moments' for the whole vectors (safetensors_layout). */
int model_optimizer_save_range(Model *m, const char *path, int64_t lo, int64_t hi, const float *mom_m,
                               const float *mom_v, PureErr *err) {
    float step[2] = {(float)(m->step >> 24), (float)(m->step & 0xffffff)};
    StWrite extra = {.name = "step", .dtype = ST_F32, .ndim = 1, .shape = {2}, .data = step};
    const char *prefixes[2] = {"exp_avg.", "exp_avg_sq."};
    char (*names)[128];
    int n, nt = m->n_tensors, rc = 0, fd = -1;
    StWrite *w = model_tensor_writes(m, 2, prefixes, NULL, ST_F32, &extra, 1, &names, &n);
    uint64_t *off = xcalloc((size_t)n + 1, sizeof *off), total = 0;
    unsigned char *header = NULL;
    size_t hlen = 0;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.ranks", path);
    rc = safetensors_layout(path, w, n, "{\"format\":\"pt\"}", &header, &hlen, off, &total, err);
    /* rank 0 makes the file at its full size with the header and the step count; then every rank fills its range */
    if (!rc && dist_rank() == 0) {
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) rc = err_set(err, "%s: cannot create: %s", tmp, strerror(errno));
        else if (pwrite(fd, header, hlen, 0) != (ssize_t)hlen || pwrite(fd, step, sizeof step, (off_t)off[n - 1]) !=
                 (ssize_t)sizeof step || ftruncate(fd, (off_t)total) != 0)
            rc = err_set(err, "%s: write failed: %s", tmp, strerror(errno));
        if (fd >= 0) close(fd);
    }
    if (dist_any(rc)) {
        if (!rc) rc = err_set(err, "%s: rank 0 could not create the optimizer state file", path);
    } else {
        fd = open(tmp, O_WRONLY);
        if (fd < 0) rc = err_set(err, "%s: cannot open: %s", tmp, strerror(errno));
        for (int i = 0; i < nt && !rc; i++) {
            const ModelTensor *t = &m->tensors[i];
            int64_t a = (int64_t)t->offset, b = a + (int64_t)t->numel;
            if (a < lo) a = lo;
            if (b > hi) b = hi;
            if (a >= b) continue;
            size_t bytes = (size_t)(b - a) * sizeof(float); /* little-endian f32, as safetensors stores it */
            for (int k = 0; k < 2 && !rc; k++) {
                const float *src = (k ? mom_v : mom_m) + (a - lo);
                off_t at = (off_t)(off[k * nt + i] + (uint64_t)(a - (int64_t)t->offset) * sizeof(float));
                if (pwrite(fd, src, bytes, at) != (ssize_t)bytes)
                    rc = err_set(err, "%s: write failed: %s", tmp, strerror(errno));
            }
        }
        if (fd >= 0 && !rc && fsync(fd) != 0) rc = err_set(err, "%s: flush failed: %s", tmp, strerror(errno));
        if (fd >= 0) close(fd);
        /* every range is on disk before rank 0 commits the file */
        int any = dist_any(rc);
        if (!rc && any) rc = err_set(err, "%s: another rank could not write its range", path);
        if (!any && dist_rank() == 0) rc = fs_rename_durable(tmp, path, err);
        if (dist_any(rc) && !rc) rc = err_set(err, "%s: rank 0 could not commit the optimizer state file", path);
        if (rc && dist_rank() == 0) unlink(tmp);
    }
    free(w), free(names), free(off), free(header);
    if (rc) err_prefix(err, "saving optimizer state");
    return rc;
}

int model_optimizer_load_range(Model *m, const char *path, int64_t lo, int64_t hi, float *mom_m, float *mom_v,
                               PureErr *err) {
    SafeTensors *st = safetensors_open(path, err);
    if (!st) return -1;
    int rc = 0;
    char name[160];
    float *tmp = NULL;
    size_t tcap = 0;
    for (int i = 0; i < m->n_tensors && !rc; i++) {
        const ModelTensor *t = &m->tensors[i];
        int64_t a = (int64_t)t->offset, b = a + (int64_t)t->numel;
        if (a < lo) a = lo;
        if (b > hi) b = hi;
        if (a >= b) continue;
        if (t->numel > tcap) tmp = xrealloc(tmp, (tcap = t->numel) * sizeof(float));
        for (int k = 0; k < 2 && !rc; k++) {
            snprintf(name, sizeof name, "%s%s", k ? "exp_avg_sq." : "exp_avg.", t->name);
            rc = safetensors_read_f32(st, name, t->ndim, t->shape, tmp, err);
            if (!rc) memcpy((k ? mom_v : mom_m) + (a - lo), tmp + (a - (int64_t)t->offset), (size_t)(b - a) * sizeof(float));
        }
    }
    free(tmp);
    float step[2];
    int64_t shape[1] = {2};
    if (!rc) rc = safetensors_read_f32(st, "step", 1, shape, step, err);
    if (!rc) m->step = ((int64_t)step[0] << 24) + (int64_t)step[1];
    safetensors_close(st);
    if (rc) err_prefix(err, "%s", path);
    return rc;
}
