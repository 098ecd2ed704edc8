/* test_cuda_ops.c - every op of the CUDA backend against the CPU backend
 * (model/cpu/, itself checked against PyTorch by the model tests) on random
 * inputs, plus the device sampler against sample_ref.c and the device Philox
 * against util/rng.c. Prints the largest relative difference per op.
 * Needs a GPU: exits 77 (skipped) when backend_cuda() finds none. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/backend.h"
#include "model/bf16.h"
#include "model/cuda/cuda.h"
#include "tests/check.h"
#include "util/rng.h"

static const Backend *C, *G; /* CPU reference, CUDA under test */
static uint64_t g_ctr;

static float *rnd(size_t n, float scale) {
    float *x = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) x[i] = scale * (2 * rng_uniform(99, 1, g_ctr++) - 1);
    return x;
}
static float *to_dev(const float *h, size_t n) {
    float *d = G->alloc(sizeof(float) * (n ? n : 1));
    G->upload(d, h, sizeof(float) * n);
    return d;
}
static int32_t *to_dev_i32(const int32_t *h, size_t n) { /* index arrays live in backend memory */
    int32_t *d = G->alloc(sizeof(int32_t) * (n ? n : 1));
    G->upload(d, h, sizeof(int32_t) * n);
    return d;
}
static float *from_dev(const float *d, size_t n) {
    float *h = malloc(sizeof(float) * (n ? n : 1));
    G->download(h, d, sizeof(float) * n);
    return h;
}
static float *copy(const float *x, size_t n) {
    float *y = malloc(sizeof(float) * (n ? n : 1));
    memcpy(y, x, sizeof(float) * n);
    return y;
}
/* max |gpu - cpu| / max(max |cpu|, 1e-3): checked against tol and printed */
static void compare(const char *what, const float *dev, const float *ref, size_t n, double tol) {
    float *g = from_dev(dev, n);
    double md = 0, mr = 1e-3;
    int bad_nan = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(g[i]) && isfinite(ref[i])) bad_nan++;
        double d = fabs((double)g[i] - ref[i]);
        md = d > md ? d : md;
        mr = fabs(ref[i]) > mr ? fabs(ref[i]) : mr;
    }
    printf("%-28s max rel diff %.3g (tol %.g)\n", what, md / mr, tol);
    CHECK(bad_nan == 0);
    CHECK(md / mr <= tol);
    if (!(md / mr <= tol)) fprintf(stderr, "  %s: max diff %.3g, max |ref| %.3g\n", what, md, mr);
    free(g);
}

/* ---- dense ---- */

static void test_matmul(int mode, double tol) {
    cuda_set_matmul_mode(mode);
    const int M = 67, N = 45, K = 130;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 2;
            float *A = rnd((size_t)(ta ? K : M) * lda, 1), *B = rnd((size_t)(tb ? N : K) * ldb, 1);
            float *Cm = rnd((size_t)M * ldc, 1), *Cg = to_dev(Cm, (size_t)M * ldc);
            float *dA = to_dev(A, (size_t)(ta ? K : M) * lda), *dB = to_dev(B, (size_t)(tb ? N : K) * ldb);
            C->matmul(ta, tb, M, N, K, 0.7f, A, lda, B, ldb, 0.5f, Cm, ldc);
            G->matmul(ta, tb, M, N, K, 0.7f, dA, lda, dB, ldb, 0.5f, Cg, ldc);
            char name[64];
            snprintf(name, sizeof name, "matmul %s ta=%d tb=%d", mode == CUDA_MATMUL_FP32 ? "fp32" : "bf16", ta, tb);
            compare(name, Cg, Cm, (size_t)M * ldc, tol);
            G->free(dA), G->free(dB), G->free(Cg), free(A), free(B), free(Cm);
        }
}

static void test_elementwise(void) {
    const int n = 37, Cc = 96, V = 50;
    size_t nc = (size_t)n * Cc;
    /* add, add_bias, bias_grad */
    float *y = rnd(nc, 1), *x = rnd(nc, 1), *b = rnd(Cc, 1);
    float *dy = to_dev(y, nc), *dx = to_dev(x, nc), *db = to_dev(b, Cc);
    C->add(y, x, nc), G->add(dy, dx, nc);
    compare("add", dy, y, nc, 1e-6);
    C->add_bias(y, b, n, Cc), G->add_bias(dy, db, n, Cc);
    compare("add_bias", dy, y, nc, 1e-6);
    C->bias_grad(b, x, n, Cc), G->bias_grad(db, dx, n, Cc);
    compare("bias_grad", db, b, Cc, 1e-5);
    /* embedding with repeated ids, given in host and in device memory */
    float *wte = rnd((size_t)V * Cc, 1), *dwte = to_dev(wte, (size_t)V * Cc);
    int32_t ids[37];
    for (int i = 0; i < n; i++) ids[i] = (i * 7) % 11 + (i % 3) * 13;
    int32_t *dids = G->alloc(sizeof ids);
    G->upload(dids, ids, sizeof ids);
    C->embedding(y, wte, ids, n, Cc), G->embedding(dy, dwte, ids, n, Cc);
    compare("embedding (host ids)", dy, y, nc, 0);
    G->zero(dy, sizeof(float) * nc);
    G->embedding(dy, dwte, dids, n, Cc);
    compare("embedding (device ids)", dy, y, nc, 0);
    C->embedding_bwd(wte, x, ids, n, Cc), G->embedding_bwd(dwte, dx, dids, n, Cc);
    compare("embedding_bwd", dwte, wte, (size_t)V * Cc, 1e-6);
    /* rmsnorm fwd/bwd */
    float *w = rnd(Cc, 1), *dw = to_dev(w, Cc), *out = rnd(nc, 1), *dout = to_dev(out, nc);
    float rstd[37], *drstd = G->alloc(sizeof rstd);
    C->rmsnorm(out, rstd, x, w, n, Cc, 1e-6f), G->rmsnorm(dout, drstd, dx, dw, n, Cc, 1e-6f);
    compare("rmsnorm", dout, out, nc, 1e-5);
    compare("rmsnorm rstd", drstd, rstd, n, 1e-5);
    float *g = rnd(nc, 1), *dg = to_dev(g, nc), *gx = rnd(nc, 1), *dgx = to_dev(gx, nc), *gw = rnd(Cc, 1),
          *dgw = to_dev(gw, Cc);
    C->rmsnorm_bwd(gx, gw, g, x, w, rstd, n, Cc), G->rmsnorm_bwd(dgx, dgw, dg, dx, dw, drstd, n, Cc);
    compare("rmsnorm_bwd dx", dgx, gx, nc, 1e-5);
    compare("rmsnorm_bwd dw", dgw, gw, Cc, 1e-5);
    /* rope forward then inverse, 3 heads of 32 */
    int32_t pos[37];
    for (int i = 0; i < n; i++) pos[i] = (i * 37) % 500;
    float *r = copy(x, nc);
    C->rope(r, pos, n, 3, 32, 1e6, 0), G->rope(dx, pos, n, 3, 32, 1e6, 0);
    compare("rope", dx, r, nc, 1e-5);
    C->rope(r, pos, n, 3, 32, 1e6, 1), G->rope(dx, pos, n, 3, 32, 1e6, 1);
    compare("rope inverse", dx, r, nc, 1e-5);
    compare("rope inverse == identity", dx, x, nc, 1e-5);
    /* swiglu fwd/bwd */
    float *hg = rnd(nc, 4), *hu = rnd(nc, 2), *dhg = to_dev(hg, nc), *dhu = to_dev(hu, nc);
    C->swiglu(out, hg, hu, nc), G->swiglu(dout, dhg, dhu, nc);
    compare("swiglu", dout, out, nc, 1e-6);
    float *gg = rnd(nc, 1), *gu = rnd(nc, 1), *dgg = to_dev(gg, nc), *dgu = to_dev(gu, nc);
    C->swiglu_bwd(gg, gu, g, hg, hu, nc), G->swiglu_bwd(dgg, dgu, dg, dhg, dhu, nc);
    compare("swiglu_bwd dg", dgg, gg, nc, 1e-6);
    compare("swiglu_bwd du", dgu, gu, nc, 1e-6);
    /* sumsq, adamw, logsumexp_rows */
    size_t big = 300001;
    float *p = rnd(big, 1), *gr = rnd(big, 1), *m = rnd(big, 0.1f), *v = rnd(big, 0.1f);
    for (size_t i = 0; i < big; i++) v[i] = fabsf(v[i]);
    float *dp = to_dev(p, big), *dgr = to_dev(gr, big), *dm = to_dev(m, big), *dv = to_dev(v, big);
    double s1 = C->sumsq(gr, big), s2 = G->sumsq(dgr, big);
    CHECK_NEAR(s2, s1, 1e-12);
    /* data-parallel norm: per-4096 chunk sums (the last one short) against the CPU's */
    size_t nch = (big + 4095) / 4096;
    double *c1 = calloc(nch, sizeof(double)), *c2 = calloc(nch, sizeof(double)), t1 = 0;
    C->sumsq_chunks(c1, gr, big, 4096), G->sumsq_chunks(c2, dgr, big, 4096);
    for (size_t c = 0; c < nch; c++) {
        CHECK_NEAR(c2[c], c1[c], 1e-12);
        t1 += c1[c];
    }
    CHECK_NEAR(t1, s1, 1e-12);
    free(c1), free(c2);
    /* a plain step, then one that writes the bf16 copy too: the same f32 state, the copy = to_bf16 of it */
    float *p2 = malloc(sizeof(float) * big), *m2 = malloc(sizeof(float) * big), *v2 = malloc(sizeof(float) * big);
    memcpy(p2, p, sizeof(float) * big), memcpy(m2, m, sizeof(float) * big), memcpy(v2, v, sizeof(float) * big);
    C->adamw(p, gr, m, v, NULL, big, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 0.19f, 0.0975f, 0.5f);
    G->adamw(dp, dgr, dm, dv, NULL, big, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 0.19f, 0.0975f, 0.5f);
    compare("adamw p", dp, p, big, 1e-6);
    compare("adamw m", dm, m, big, 1e-6);
    compare("adamw v", dv, v, big, 1e-6);
    uint16_t *pb = malloc(sizeof(uint16_t) * big), *pb_ref = malloc(sizeof(uint16_t) * big);
    uint16_t *gpb = malloc(sizeof(uint16_t) * big), *dpb = G->alloc(sizeof(uint16_t) * big);
    float *dp2 = to_dev(p2, big), *dm2 = to_dev(m2, big), *dv2 = to_dev(v2, big);
    C->adamw(p2, gr, m2, v2, pb, big, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 0.19f, 0.0975f, 0.5f);
    G->adamw(dp2, dgr, dm2, dv2, dpb, big, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 0.19f, 0.0975f, 0.5f);
    C->to_bf16(pb_ref, p2, big);
    G->download(gpb, dpb, sizeof(uint16_t) * big);
    int same = memcmp(p2, p, sizeof(float) * big) == 0 && memcmp(m2, m, sizeof(float) * big) == 0 &&
               memcmp(v2, v, sizeof(float) * big) == 0;
    CHECK(same); /* the copy leaves the f32 step as it was */
    CHECK(memcmp(pb, pb_ref, sizeof(uint16_t) * big) == 0); /* the CPU's copy is to_bf16 of its weights */
    float *hp2 = malloc(sizeof(float) * big);
    G->download(hp2, dp2, sizeof(float) * big);
    size_t off = 0;
    for (size_t i = 0; i < big; i++) off += gpb[i] != f32_to_bf16(hp2[i]);
    if (off) fprintf(stderr, "adamw's bf16 copy on the device: %zu of %zu differ from its weights rounded\n", off, big);
    CHECK(off == 0);
    free(hp2);
    compare("adamw p (with the bf16 copy)", dp2, p2, big, 1e-6);
    free(p2), free(m2), free(v2), free(pb), free(pb_ref), free(gpb);
    G->free(dpb), G->free(dp2), G->free(dm2), G->free(dv2);
    float lz[37], *dlz = G->alloc(sizeof lz), *lg = rnd((size_t)n * 5000, 8), *dlg = to_dev(lg, (size_t)n * 5000);
    C->logsumexp_rows(lz, lg, n, 5000), G->logsumexp_rows(dlz, dlg, n, 5000);
    compare("logsumexp_rows", dlz, lz, n, 1e-6);
    float *all[] = {y, x, b, wte, w, out, g, gx, gw, r, hg, hu, gg, gu, p, gr, m, v, lg};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) free(all[i]);
    float *dall[] = {dy, dx, db, dwte, dw, dout, drstd, dg, dgx, dgw, dhg, dhu, dgg, dgu, dp, dgr, dm, dv, dlz, dlg};
    for (size_t i = 0; i < sizeof dall / sizeof *dall; i++) G->free(dall[i]);
    G->free(dids);
}

/* ---- attention: packed sequences, GQA ---- */

static void test_attention(int NH, int NKV, int hd) {
    cuda_set_attention_mode(CUDA_ATTN_SIMT); /* the f32 kernels, at f32 tolerances */
    int32_t start[] = {0, 1, 38, 108}, len[] = {1, 37, 70, 33};
    AttnSeqs s = {4, start, len};
    AttnDims d = {NH, NKV, hd, 1.0f / sqrtf((float)hd)};
    const int N = 141;
    size_t qn = (size_t)N * NH * hd, kn = (size_t)N * NKV * hd;
    float *q = rnd(qn, 2), *k = rnd(kn, 2), *v = rnd(kn, 1), *o = rnd(qn, 1), *lse = rnd((size_t)N * NH, 1);
    float *dq_ = to_dev(q, qn), *dk_ = to_dev(k, kn), *dv_ = to_dev(v, kn), *do_ = to_dev(o, qn),
          *dl_ = to_dev(lse, (size_t)N * NH);
    char name[96];
    C->attention(o, lse, q, k, v, &s, &d), G->attention(do_, dl_, dq_, dk_, dv_, &s, &d);
    snprintf(name, sizeof name, "attention NH=%d NKV=%d hd=%d", NH, NKV, hd);
    compare(name, do_, o, qn, 1e-5);
    compare("  lse", dl_, lse, (size_t)N * NH, 1e-5);
    float *go = rnd(qn, 1), *dgo = to_dev(go, qn);
    float *gq = rnd(qn, 1), *gk = rnd(kn, 1), *gv = rnd(kn, 1);
    float *dgq = to_dev(gq, qn), *dgk = to_dev(gk, kn), *dgv = to_dev(gv, kn);
    C->attention_bwd(gq, gk, gv, go, o, lse, q, k, v, &s, &d);
    G->attention_bwd(dgq, dgk, dgv, dgo, do_, dl_, dq_, dk_, dv_, &s, &d);
    compare("  attention_bwd dq", dgq, gq, qn, 1e-4);
    compare("  attention_bwd dk", dgk, gk, kn, 1e-4);
    compare("  attention_bwd dv", dgv, gv, kn, 1e-4);
    /* decode: 3 rows against caches of 4 slots x 64 positions */
    const int slots = 4, max_t = 64, n = 3;
    int32_t slot[] = {2, 0, 3}, kv_len[] = {64, 1, 29};
    size_t cn = (size_t)slots * max_t * NKV * hd;
    float *kc = rnd(cn, 2), *vc = rnd(cn, 1), *dq1 = rnd((size_t)n * NH * hd, 2), *out = rnd((size_t)n * NH * hd, 1);
    float *dkc = to_dev(kc, cn), *dvc = to_dev(vc, cn), *ddq1 = to_dev(dq1, (size_t)n * NH * hd),
          *dout = to_dev(out, (size_t)n * NH * hd);
    int32_t *dslot = to_dev_i32(slot, n), *dkvl = to_dev_i32(kv_len, n);
    C->attention_decode(out, dq1, kc, vc, slot, kv_len, n, max_t, 64, &d);
    G->attention_decode(dout, ddq1, dkc, dvc, dslot, dkvl, n, max_t, 64, &d);
    compare("  attention_decode", dout, out, (size_t)n * NH * hd, 1e-5);
    G->free(dslot), G->free(dkvl);
    float *h[] = {q, k, v, o, lse, go, gq, gk, gv, kc, vc, dq1, out};
    for (size_t i = 0; i < sizeof h / sizeof *h; i++) free(h[i]);
    float *dd[] = {dq_, dk_, dv_, do_, dl_, dgo, dgq, dgk, dgv, dkc, dvc, ddq1, dout};
    for (size_t i = 0; i < sizeof dd / sizeof *dd; i++) G->free(dd[i]);
}

/* ---- decode attention over long caches: the split-KV path ---- */

/* Cache lengths on both sides of the decode's chunk edge (CUDA_DECODE_CHUNK
 * keys) up to a full cache, rows in permuted slots; then two runs give the same
 * bits, a row alone gives the bits it gets in the batch (fewer chunks in the
 * grid), and a row with nothing cached gives zeros (the CPU leaves that undefined). */
static void test_attention_decode_long(int NH, int NKV, int hd) {
    const int CH = CUDA_DECODE_CHUNK, n = 6, max_t = 3 * CH + 29;
    int32_t slot[] = {3, 0, 5, 1, 4, 2}, kv_len[] = {1, CH - 1, CH, CH + 1, 3 * CH + 17, max_t}, none = 0;
    AttnDims d = {NH, NKV, hd, 1.0f / sqrtf((float)hd)};
    const size_t cn = (size_t)n * max_t * NKV * hd, rn = (size_t)NH * hd, qn = n * rn;
    float *kc = rnd(cn, 2), *vc = rnd(cn, 1), *q = rnd(qn, 2), *out = malloc(sizeof(float) * qn);
    float *dkc = to_dev(kc, cn), *dvc = to_dev(vc, cn), *dq = to_dev(q, qn);
    float *dout = G->alloc(sizeof(float) * qn), *dout2 = G->alloc(sizeof(float) * qn);
    char name[96];
    int32_t *dslot = to_dev_i32(slot, n), *dkvl = to_dev_i32(kv_len, n), *dnone = to_dev_i32(&none, 1);
    C->attention_decode(out, q, kc, vc, slot, kv_len, n, max_t, max_t, &d);
    G->attention_decode(dout, dq, dkc, dvc, dslot, dkvl, n, max_t, max_t, &d);
    snprintf(name, sizeof name, "attention_decode long NH=%d NKV=%d hd=%d", NH, NKV, hd);
    compare(name, dout, out, qn, 1e-5);
    G->attention_decode(dout2, dq, dkc, dvc, dslot, dkvl, n, max_t, max_t, &d);
    float *a = from_dev(dout, qn), *b = from_dev(dout2, qn);
    int same = memcmp(a, b, sizeof(float) * qn) == 0;
    G->attention_decode(dout2, dq + 3 * rn, dkc, dvc, dslot + 3, dkvl + 3, 1, max_t, kv_len[3], &d);
    float *alone = from_dev(dout2, rn);
    int invariant = memcmp(alone, a + 3 * rn, sizeof(float) * rn) == 0;
    /* max_kv below some rows' kv_len: both backends attend to the first max_kv rows only (and the
       device reads no split beyond its grid) */
    C->attention_decode(out, q, kc, vc, slot, kv_len, n, max_t, CH + 1, &d);
    G->attention_decode(dout2, dq, dkc, dvc, dslot, dkvl, n, max_t, CH + 1, &d);
    compare("  attention_decode max_kv clamps", dout2, out, qn, 1e-5);
    G->attention_decode(dout2, dq, dkc, dvc, dslot, dnone, 1, max_t, 0, &d);
    float *empty = from_dev(dout2, rn);
    int zeros = 1;
    for (size_t i = 0; i < rn; i++) zeros &= empty[i] == 0.0f;
    printf("  rerun bit-identical %s, row alone bit-identical %s, kv_len 0 zeros %s\n", same ? "yes" : "NO",
           invariant ? "yes" : "NO", zeros ? "yes" : "NO");
    CHECK(same);
    CHECK(invariant);
    CHECK(zeros);
    float *h[] = {kc, vc, q, out, a, b, alone, empty};
    for (size_t i = 0; i < sizeof h / sizeof *h; i++) free(h[i]);
    float *dd[] = {dkc, dvc, dq, dout, dout2};
    for (size_t i = 0; i < sizeof dd / sizeof *dd; i++) G->free(dd[i]);
    G->free(dslot), G->free(dkvl), G->free(dnone);
}

/* The bf16 cache of a precision-bf16 model: both backends round the appended
 * rows to the same bits; the CPU's bf16 decode is its f32 decode over the
 * rounded values, bit for bit; the device's agrees with it like the f32 ones
 * do. Cache lengths straddle the chunk edge as above. */
static void test_attention_decode_bf16(int NH, int NKV, int hd) {
    const int CH = CUDA_DECODE_CHUNK, n = 4, max_t = 2 * CH + 9, kd = NKV * hd;
    int32_t slot[] = {2, 0, 3, 1}, kv_len[] = {1, CH, CH + 1, max_t};
    AttnDims d = {NH, NKV, hd, 1.0f / sqrtf((float)hd)};
    const size_t rows = (size_t)n * max_t, cn = rows * kd, qn = (size_t)n * NH * hd;
    /* every cache row, appended through kv_append_bf16 (slot r / max_t, position r % max_t) */
    float *k = rnd(cn, 2), *v = rnd(cn, 1), *q = rnd(qn, 2), *o1 = malloc(sizeof(float) * qn),
          *o2 = malloc(sizeof(float) * qn);
    int32_t *as = malloc(sizeof(int32_t) * rows), *ap = malloc(sizeof(int32_t) * rows);
    for (size_t r = 0; r < rows; r++) as[r] = (int32_t)(r / max_t), ap[r] = (int32_t)(r % max_t);
    uint16_t *kb = malloc(2 * cn), *vb = malloc(2 * cn), *gkb = malloc(2 * cn), *gvb = malloc(2 * cn);
    C->kv_append_bf16(kb, vb, k, v, as, ap, (int)rows, max_t, kd);
    float *dk = to_dev(k, cn), *dv = to_dev(v, cn), *dq = to_dev(q, qn), *dout = G->alloc(sizeof(float) * qn);
    int32_t *das = to_dev_i32(as, rows), *dap = to_dev_i32(ap, rows), *dslot = to_dev_i32(slot, n),
            *dkvl = to_dev_i32(kv_len, n);
    uint16_t *dkb = G->alloc(2 * cn), *dvb = G->alloc(2 * cn);
    G->kv_append_bf16(dkb, dvb, dk, dv, das, dap, (int)rows, max_t, kd);
    G->download(gkb, dkb, 2 * cn), G->download(gvb, dvb, 2 * cn);
    int bits = !memcmp(gkb, kb, 2 * cn) && !memcmp(gvb, vb, 2 * cn);
    for (size_t i = 0; i < cn; i++) bits &= kb[i] == f32_to_bf16(k[i]) && vb[i] == f32_to_bf16(v[i]);
    /* the f32 decode over the rounded values */
    for (size_t i = 0; i < cn; i++) k[i] = bf16_round(k[i]), v[i] = bf16_round(v[i]);
    C->attention_decode(o1, q, k, v, slot, kv_len, n, max_t, max_t, &d);
    C->attention_decode_bf16(o2, q, kb, vb, slot, kv_len, n, max_t, max_t, &d);
    int cpu_same = !memcmp(o1, o2, sizeof(float) * qn);
    G->attention_decode_bf16(dout, dq, dkb, dvb, dslot, dkvl, n, max_t, max_t, &d);
    char name[96];
    snprintf(name, sizeof name, "attention_decode bf16 cache NH=%d NKV=%d hd=%d", NH, NKV, hd);
    compare(name, dout, o2, qn, 1e-5);
    printf("  cache bits identical %s, CPU bf16 decode = f32 decode of the rounded cache %s\n", bits ? "yes" : "NO",
           cpu_same ? "yes" : "NO");
    CHECK(bits);
    CHECK(cpu_same);
    free(k), free(v), free(q), free(o1), free(o2), free(as), free(ap), free(kb), free(vb), free(gkb), free(gvb);
    G->free(dk), G->free(dv), G->free(dq), G->free(dout), G->free(das), G->free(dap), G->free(dslot), G->free(dkvl);
    G->free(dkb), G->free(dvb);
}

/* kv_append: rows to (slot, position) pairs, some slots several times and
 * positions at both ends of a slot; every other cache row is left as it was */
static void test_kv_append(int kd) {
    const int slots = 3, max_t = 9, n = 7;
    int32_t slot[] = {2, 0, 2, 1, 0, 2, 1}, pos[] = {0, 8, 1, 4, 0, 8, 5};
    const size_t cn = (size_t)slots * max_t * kd;
    float *kc = rnd(cn, 1), *vc = rnd(cn, 1), *k = rnd((size_t)n * kd, 1), *v = rnd((size_t)n * kd, 1);
    float *dkc = to_dev(kc, cn), *dvc = to_dev(vc, cn), *dk = to_dev(k, (size_t)n * kd), *dv = to_dev(v, (size_t)n * kd);
    int32_t *ds = to_dev_i32(slot, n), *dp = to_dev_i32(pos, n);
    float *before = copy(kc, cn);
    C->kv_append(kc, vc, k, v, slot, pos, n, max_t, kd);
    G->kv_append(dkc, dvc, dk, dv, ds, dp, n, max_t, kd);
    float *gk = from_dev(dkc, cn), *gv = from_dev(dvc, cn);
    int same = !memcmp(gk, kc, sizeof(float) * cn) && !memcmp(gv, vc, sizeof(float) * cn), moved = 0;
    for (int i = 0; i < n; i++) /* the CPU reference itself: row i landed where asked */
        same &= !memcmp(kc + ((size_t)slot[i] * max_t + pos[i]) * kd, k + (size_t)i * kd, sizeof(float) * kd);
    for (size_t r = 0; r < cn / kd; r++) moved += memcmp(kc + r * kd, before + r * kd, sizeof(float) * kd) != 0;
    printf("kv_append kd=%d: caches %s, %d rows changed (7 expected)\n", kd, same ? "identical" : "DIFFER", moved);
    CHECK(same);
    CHECK(moved == n);
    float *h[] = {kc, vc, k, v, before, gk, gv};
    for (size_t i = 0; i < sizeof h / sizeof *h; i++) free(h[i]);
    float *dd[] = {dkc, dvc, dk, dv};
    for (size_t i = 0; i < sizeof dd / sizeof *dd; i++) G->free(dd[i]);
    G->free(ds), G->free(dp);
}

/* ---- LM head ---- */

static void test_lm_head(int V) {
    cuda_set_matmul_mode(CUDA_MATMUL_FP32);
    const int n = 29, Cc = 64;
    float *h = rnd((size_t)n * Cc, 1), *W = rnd((size_t)V * Cc, 0.5f), *dlogp = rnd(n, 1);
    int32_t tgt[29];
    for (int i = 0; i < n; i++) tgt[i] = i % 5 == 4 ? -1 : (i * 7919) % V;
    float lp[29], lse[29], ent[29];
    float *dh = to_dev(h, (size_t)n * Cc), *dW = to_dev(W, (size_t)V * Cc), *ddl = to_dev(dlogp, n);
    float *dlp = G->alloc(sizeof lp), *dlse = G->alloc(sizeof lse), *dent = G->alloc(sizeof ent);
    C->lm_logprob(lp, lse, ent, h, W, tgt, n, V, Cc), G->lm_logprob(dlp, dlse, dent, dh, dW, tgt, n, V, Cc);
    compare("lm_logprob logp", dlp, lp, n, 1e-5);
    compare("lm_logprob lse", dlse, lse, n, 1e-5);
    compare("lm_logprob entropy", dent, ent, n, 1e-5);
    float *gh = rnd((size_t)n * Cc, 1), *gW = rnd((size_t)V * Cc, 1);
    float *dgh = to_dev(gh, (size_t)n * Cc), *dgW = to_dev(gW, (size_t)V * Cc);
    C->lm_logprob_bwd(gh, gW, dlogp, lse, h, W, tgt, n, V, Cc);
    G->lm_logprob_bwd(dgh, dgW, ddl, dlse, dh, dW, tgt, n, V, Cc);
    compare("lm_logprob_bwd dh", dgh, gh, (size_t)n * Cc, 1e-4);
    compare("lm_logprob_bwd dW", dgW, gW, (size_t)V * Cc, 1e-4);
    free(h), free(W), free(dlogp), free(gh), free(gW);
    float *dd[] = {dh, dW, ddl, dlp, dlse, dent, dgh, dgW};
    for (size_t i = 0; i < sizeof dd / sizeof *dd; i++) G->free(dd[i]);
}

/* ---- bf16 weights: the device's bf16 ops against the CPU's (same rounding rule, f32 sums) ---- */

/* ---- attention on the tensor cores (attention_mma.cu) ----
 * Two references: the CPU backend on inputs rounded to bf16 first (what the
 * kernels' products see: the scores are then exact products summed in f32 on
 * both sides, so lse agrees to f32 precision and out / gradients differ only
 * by the rounding of P and dS), and the CPU on the unrounded inputs (the
 * error a user sees against f32). Sequences cross the 64-row tiles. */
static void round_bf16(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = bf16_round(x[i]);
}
static void test_attention_mma(int NH, int NKV, int hd) {
    cuda_set_attention_mode(CUDA_ATTN_MMA);
    CHECK(cuda_attention_uses_mma(hd));
    int32_t start[] = {0, 1, 38, 108, 141}, len[] = {1, 37, 70, 33, 150};
    AttnSeqs s = {5, start, len};
    AttnDims d = {NH, NKV, hd, 1.0f / sqrtf((float)hd)};
    const int N = 291;
    size_t qn = (size_t)N * NH * hd, kn = (size_t)N * NKV * hd, ln = (size_t)N * NH;
    float *q = rnd(qn, 2), *k = rnd(kn, 2), *v = rnd(kn, 1), *go = rnd(qn, 1);
    float *qr = copy(q, qn), *kr = copy(k, kn), *vr = copy(v, kn), *gor = copy(go, qn);
    round_bf16(qr, qn), round_bf16(kr, kn), round_bf16(vr, kn), round_bf16(gor, qn);
    float *o = rnd(qn, 1), *lse = rnd(ln, 1), *or_ = rnd(qn, 1), *lser = rnd(ln, 1);
    C->attention(o, lse, q, k, v, &s, &d);
    C->attention(or_, lser, qr, kr, vr, &s, &d);
    float *dq_ = to_dev(q, qn), *dk_ = to_dev(k, kn), *dv_ = to_dev(v, kn), *do_ = to_dev(o, qn), *dl_ = to_dev(lse, ln);
    G->attention(do_, dl_, dq_, dk_, dv_, &s, &d);
    char name[96];
    snprintf(name, sizeof name, "attention mma NH=%d NKV=%d hd=%d", NH, NKV, hd);
    compare(name, do_, or_, qn, 4e-3);
    compare("  lse (bf16 inputs)", dl_, lser, ln, 1e-5);
    compare("  out vs f32 inputs", do_, o, qn, 3e-2);
    /* backward at the GPU's own out/lse, the CPU at its own (bf16-input) forward */
    float *gq = rnd(qn, 1), *gk = rnd(kn, 1), *gv = rnd(kn, 1), *fq = rnd(qn, 1), *fk = rnd(kn, 1), *fv = rnd(kn, 1);
    C->attention_bwd(gq, gk, gv, gor, or_, lser, qr, kr, vr, &s, &d);
    C->attention_bwd(fq, fk, fv, go, o, lse, q, k, v, &s, &d);
    float *dgo = to_dev(go, qn), *dgq = to_dev(gq, qn), *dgk = to_dev(gk, kn), *dgv = to_dev(gv, kn);
    G->attention_bwd(dgq, dgk, dgv, dgo, do_, dl_, dq_, dk_, dv_, &s, &d);
    compare("  mma bwd dq (bf16 inputs)", dgq, gq, qn, 1e-2);
    compare("  mma bwd dk (bf16 inputs)", dgk, gk, kn, 1e-2);
    compare("  mma bwd dv (bf16 inputs)", dgv, gv, kn, 1e-2);
    compare("  mma bwd dq vs f32", dgq, fq, qn, 5e-2);
    compare("  mma bwd dk vs f32", dgk, fk, kn, 5e-2);
    compare("  mma bwd dv vs f32", dgv, fv, kn, 5e-2);
    /* deterministic: a second run gives the same bits */
    float *a = from_dev(dgk, kn), *a2 = from_dev(do_, qn);
    G->attention(do_, dl_, dq_, dk_, dv_, &s, &d);
    G->attention_bwd(dgq, dgk, dgv, dgo, do_, dl_, dq_, dk_, dv_, &s, &d);
    float *b = from_dev(dgk, kn), *b2 = from_dev(do_, qn);
    CHECK(memcmp(a, b, sizeof(float) * kn) == 0 && memcmp(a2, b2, sizeof(float) * qn) == 0);
    float *h[] = {q, k, v, go, qr, kr, vr, gor, o, lse, or_, lser, gq, gk, gv, fq, fk, fv, a, a2, b, b2};
    for (size_t i = 0; i < sizeof h / sizeof *h; i++) free(h[i]);
    float *dd[] = {dq_, dk_, dv_, do_, dl_, dgo, dgq, dgk, dgv};
    for (size_t i = 0; i < sizeof dd / sizeof *dd; i++) G->free(dd[i]);
    cuda_set_attention_mode(CUDA_ATTN_AUTO);
}

static uint16_t *bf16_dev(const float *w, size_t n, uint16_t **host) {
    uint16_t *h = malloc(sizeof(uint16_t) * (n ? n : 1)), *d = G->alloc(sizeof(uint16_t) * (n ? n : 1));
    float *dw = to_dev(w, n);
    C->to_bf16(h, w, n);
    G->to_bf16(d, dw, n);
    uint16_t *back = malloc(sizeof(uint16_t) * (n ? n : 1));
    G->download(back, d, sizeof(uint16_t) * n);
    CHECK(memcmp(back, h, sizeof(uint16_t) * n) == 0); /* to_bf16 rounds the same on both */
    free(back), G->free(dw);
    *host = h;
    return d;
}

static void test_bf16(int V) {
    const int M = 37, N = 300, K = 72;
    for (int tw = 0; tw < 2; tw++) {
        float *A = rnd((size_t)M * K, 1), *W = rnd((size_t)N * K, 1), *Cm = rnd((size_t)M * N, 1);
        uint16_t *hW, *dWb = bf16_dev(W, (size_t)N * K, &hW);
        float *dA = to_dev(A, (size_t)M * K), *Cg = to_dev(Cm, (size_t)M * N);
        int ldw = tw ? K : N; /* W (N, K) transposed, or read as (K, N) */
        C->matmul_bf16(tw, M, N, K, 0.7f, A, K, hW, ldw, 0.5f, Cm, N);
        G->matmul_bf16(tw, M, N, K, 0.7f, dA, K, dWb, ldw, 0.5f, Cg, N);
        compare(tw ? "matmul_bf16 x W^T" : "matmul_bf16 x W", Cg, Cm, (size_t)M * N, 1e-5);
        G->free(dA), G->free(Cg), G->free(dWb), free(A), free(W), free(Cm), free(hW);
    }
    const int n = 29, Cc = 64;
    float *wte = rnd((size_t)V * Cc, 0.5f), *h = rnd((size_t)n * Cc, 1);
    uint16_t *hwb, *dwb = bf16_dev(wte, (size_t)V * Cc, &hwb);
    int32_t ids[29], tgt[29];
    for (int i = 0; i < n; i++) ids[i] = (i * 131) % V, tgt[i] = i % 5 == 4 ? -1 : (i * 7919) % V;
    float emb[29 * 64], *demb = G->alloc(sizeof emb);
    C->embedding_bf16(emb, hwb, ids, n, Cc), G->embedding_bf16(demb, dwb, ids, n, Cc);
    compare("embedding_bf16", demb, emb, (size_t)n * Cc, 0);
    float lp[29], lse[29], ent[29], *dh = to_dev(h, (size_t)n * Cc);
    float *dlp = G->alloc(sizeof lp), *dlse = G->alloc(sizeof lse), *dent = G->alloc(sizeof ent);
    C->lm_logprob_bf16(lp, lse, ent, h, hwb, tgt, n, V, Cc), G->lm_logprob_bf16(dlp, dlse, dent, dh, dwb, tgt, n, V, Cc);
    compare("lm_logprob_bf16 logp", dlp, lp, n, 1e-5);
    compare("lm_logprob_bf16 entropy", dent, ent, n, 1e-5);
    float *dlogp = rnd(n, 1), *gh = rnd((size_t)n * Cc, 1), *gW = rnd((size_t)V * Cc, 1);
    float *ddl = to_dev(dlogp, n), *dgh = to_dev(gh, (size_t)n * Cc), *dgW = to_dev(gW, (size_t)V * Cc);
    C->lm_logprob_bwd_bf16(gh, gW, dlogp, lse, h, hwb, tgt, n, V, Cc);
    G->lm_logprob_bwd_bf16(dgh, dgW, ddl, dlse, dh, dwb, tgt, n, V, Cc);
    compare("lm_logprob_bwd_bf16 dh", dgh, gh, (size_t)n * Cc, 1e-4);
    compare("lm_logprob_bwd_bf16 dW", dgW, gW, (size_t)V * Cc, 1e-4);
    free(wte), free(h), free(hwb), free(dlogp), free(gh), free(gW);
    void *dd[] = {dwb, demb, dh, dlp, dlse, dent, ddl, dgh, dgW};
    for (size_t i = 0; i < sizeof dd / sizeof *dd; i++) G->free(dd[i]);
}

/* ---- sampling and Philox on the device ---- */

static void test_sampling(int n, int V, SampleParams sp) {
    float *logits = rnd((size_t)n * V, 10), *dl = to_dev(logits, (size_t)n * V);
    uint64_t *streams = malloc(sizeof(uint64_t) * n), *counters = malloc(sizeof(uint64_t) * n);
    for (int r = 0; r < n; r++) streams[r] = 77 + r, counters[r] = r % 5;
    int32_t *t1 = malloc(sizeof(int32_t) * n), *t2 = malloc(sizeof(int32_t) * n);
    float *l1 = malloc(sizeof(float) * n), *l2 = malloc(sizeof(float) * n);
    PureErr err;
    err_clear(&err);
    sample_rows_ref(t1, l1, logits, n, V, &sp, streams, counters);
    CHECK(cuda_sample_rows(t2, l2, dl, n, V, &sp, streams, counters, &err) == 0);
    int diff = 0;
    double lpd = 0;
    for (int r = 0; r < n; r++) {
        diff += t1[r] != t2[r];
        if (t1[r] == t2[r]) lpd = fmax(lpd, fabs(l1[r] - l2[r]));
    }
    printf("sample T=%g k=%d p=%g V=%d: %d of %d tokens differ, logprob diff %.3g\n", sp.temperature, sp.top_k,
           sp.top_p, V, diff, n, lpd);
    CHECK(diff == 0);
    CHECK(lpd < 1e-4);
    free(logits), free(streams), free(counters), free(t1), free(t2), free(l1), free(l2);
    G->free(dl);
}

/* -0 and +0 at the top of a row are one tie (the rule of model/sample_rule.h):
 * the kernel, its C reference and the host sampler keep both under top-k 1
 * and top-p 0.3, and draw each about half the time. */
static void test_sampling_signed_zero(void) {
    enum { n = 64, V = 3 };
    float logits[n * V];
    for (int r = 0; r < n; r++) logits[r * V] = -0.0f, logits[r * V + 1] = 0.0f, logits[r * V + 2] = -1.0f;
    float *dl = to_dev(logits, (size_t)n * V);
    uint64_t streams[n], counters[n];
    for (int r = 0; r < n; r++) streams[r] = 300 + r, counters[r] = 0;
    for (int pass = 0; pass < 2; pass++) {
        SampleParams sp = pass ? (SampleParams){1, 0.3f, 0, 8} : (SampleParams){1, 1, 1, 8};
        int32_t t1[n], t2[n], idx[V];
        float l1[n], l2[n];
        double w[V];
        PureErr err;
        err_clear(&err);
        sample_rows_ref(t1, l1, logits, n, V, &sp, streams, counters);
        CHECK(cuda_sample_rows(t2, l2, dl, n, V, &sp, streams, counters, &err) == 0);
        int diff = 0, host = 0, zeros = 0;
        for (int r = 0; r < n; r++) {
            double u = rng_uniform_double(sp.seed, streams[r], counters[r]);
            diff += t1[r] != t2[r];
            host += model_sample_row(logits + r * V, V, sp.temperature, sp.top_p, sp.top_k, u, idx, w) != t1[r];
            zeros += t1[r] == 0;
        }
        printf("sample -0/+0 k=%d p=%g: %d device and %d host tokens differ, id 0 drawn %d of %d\n", sp.top_k,
               sp.top_p, diff, host, zeros, n);
        CHECK(diff == 0 && host == 0);
        CHECK(zeros > n / 4 && zeros < 3 * n / 4);
    }
    G->free(dl);
}

static void test_philox_device(void) {
    uint64_t ctr[1000];
    for (int i = 0; i < 1000; i++) ctr[i] = (uint64_t)i * 0x100000001ull;
    uint32_t out[4000], ref[4];
    PureErr err;
    err_clear(&err);
    CHECK(cuda_philox_batch(out, 0xabcdef0123ull, 987654321ull, ctr, 1000, &err) == 0);
    int bad = 0;
    for (int i = 0; i < 1000; i++) {
        rng_philox(0xabcdef0123ull, 987654321ull, ctr[i], ref);
        bad += memcmp(ref, out + 4 * i, sizeof ref) != 0;
    }
    CHECK(bad == 0);
}

#ifdef PURE_CUDA_EMU_TEST
#include <sys/wait.h>
#include <unistd.h>
void emu_set_memory_budget(size_t bytes);
/* Out of memory ends the process (the Backend contract has no error path)
 * with a message naming the bytes asked for; checked in a child process with
 * the emulator's memory budget. */
static void test_out_of_memory(void) {
    int fd[2];
    if (pipe(fd)) return;
    fflush(stdout), fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 2);
        emu_set_memory_budget((size_t)1 << 30);
        G->alloc((size_t)3 << 30);
        _exit(0);
    }
    close(fd[1]);
    char msg[2048] = "";
    ssize_t n, len = 0;
    while ((n = read(fd[0], msg + len, sizeof msg - 1 - len)) > 0) len += n;
    msg[len] = 0;
    close(fd[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    CHECK(strstr(msg, "out of device memory: asked for 3221225472 bytes") != NULL);
    CHECK(strstr(msg, "free of 1024.0 MiB") != NULL);
    printf("out of memory: %s", msg);
}
#endif

/* the calls column of a name's row in a cuda_profile_report table, -1 when the name is not there */
static long long profile_calls(const char *table, const char *name) {
    const char *at = strstr(table, name);
    long long calls = -1;
    if (at && sscanf(at + strlen(name), " %lld", &calls) != 1) calls = -1;
    return calls;
}

/* linear_bwd_bf16 (one rounding of dY for the weight and the input gradient) against the two calls it replaces on
 * the device, bit for bit, and against the CPU's two calls; one pack of dY fewer, counted by the profiler */
static void test_linear_bwd_bf16(int n, int out, int in, float beta) {
    float *dY = rnd((size_t)n * out, 1), *X = rnd((size_t)n * in, 1), *W = rnd((size_t)out * in, 0.5f);
    float *G0 = rnd((size_t)out * in, 0.1f), *dX0 = rnd((size_t)n * in, 0.1f);
    uint16_t *Wb = malloc(sizeof(uint16_t) * (size_t)out * in);
    C->to_bf16(Wb, W, (size_t)out * in);
    uint16_t *dWb = G->alloc(sizeof(uint16_t) * (size_t)out * in);
    G->upload(dWb, Wb, sizeof(uint16_t) * (size_t)out * in);
    float *ddY = to_dev(dY, (size_t)n * out), *dXx = to_dev(X, (size_t)n * in);
    float *g1 = to_dev(G0, (size_t)out * in), *x1 = to_dev(dX0, (size_t)n * in);
    float *g2 = to_dev(G0, (size_t)out * in), *x2 = to_dev(dX0, (size_t)n * in);
    char t1[4096] = {0}, t2[4096] = {0};
    FILE *f;
    cuda_profile_reset(), cuda_profile_enable(1);
    G->linear_bwd_bf16(n, out, in, ddY, dXx, dWb, x1, beta, g1);
    cuda_profile_enable(0);
    f = tmpfile(), cuda_profile_report(f), rewind(f), t1[fread(t1, 1, sizeof t1 - 1, f)] = 0, fclose(f);
    cuda_profile_reset(), cuda_profile_enable(1);
    G->matmul_bf16_ab(1, 0, out, in, n, 1.0f, ddY, out, dXx, in, 1.0f, g2, in);
    G->matmul_bf16(0, n, in, out, 1.0f, ddY, out, dWb, in, beta, x2, in);
    cuda_profile_enable(0);
    f = tmpfile(), cuda_profile_report(f), rewind(f), t2[fread(t2, 1, sizeof t2 - 1, f)] = 0, fclose(f);
    cuda_profile_reset();
    CHECK(profile_calls(t1, "pack_bf16_kernel") == 2);
    CHECK(profile_calls(t2, "pack_bf16_kernel") == 3);
    float *h1 = malloc(sizeof(float) * (size_t)out * in), *h2 = malloc(sizeof(float) * (size_t)out * in);
    G->download(h1, g1, sizeof(float) * (size_t)out * in), G->download(h2, g2, sizeof(float) * (size_t)out * in);
    CHECK(memcmp(h1, h2, sizeof(float) * (size_t)out * in) == 0); /* dW: the same products bit for bit */
    free(h1), free(h2);
    h1 = malloc(sizeof(float) * (size_t)n * in), h2 = malloc(sizeof(float) * (size_t)n * in);
    G->download(h1, x1, sizeof(float) * (size_t)n * in), G->download(h2, x2, sizeof(float) * (size_t)n * in);
    CHECK(memcmp(h1, h2, sizeof(float) * (size_t)n * in) == 0); /* dX too */
    free(h1), free(h2);
    /* the CPU's reference: the two calls */
    C->matmul_bf16_ab(1, 0, out, in, n, 1.0f, dY, out, X, in, 1.0f, G0, in);
    C->matmul_bf16(0, n, in, out, 1.0f, dY, out, Wb, in, beta, dX0, in);
    compare("linear_bwd_bf16 dW", g1, G0, (size_t)out * in, 1e-5);
    compare("linear_bwd_bf16 dX", x1, dX0, (size_t)n * in, 1e-5);
    G->free(dWb), G->free(ddY), G->free(dXx), G->free(g1), G->free(x1), G->free(g2), G->free(x2);
    free(dY), free(X), free(W), free(G0), free(dX0), free(Wb);
}

/* The profiler (profile.cu): after a known sequence of work, one row per name with its number of calls, GPU
 * time summed, and nothing left over after a reset. */
static void test_profile(void) {
    int n = 5000;
    float *x = rnd((size_t)n, 1), *dx = to_dev(x, (size_t)n), *dy = to_dev(x, (size_t)n);
    float *a = rnd(64 * 48, 1), *b = rnd(48 * 32, 1), *da = to_dev(a, 64 * 48), *db = to_dev(b, 48 * 32);
    float *dc = G->alloc(sizeof(float) * 64 * 32);
    cuda_profile_reset();
    cuda_profile_enable(1);
    for (int i = 0; i < 3; i++) G->add(dy, dx, (size_t)n);
    cuda_set_matmul_mode(CUDA_MATMUL_FP32);
    G->matmul(0, 0, 64, 32, 48, 1, da, 48, db, 32, 0, dc, 32);
    G->matmul(0, 0, 64, 32, 48, 1, da, 48, db, 32, 0, dc, 32);
    G->upload(dx, x, sizeof(float) * (size_t)n);
    cuda_profile_enable(0);
    G->add(dy, dx, (size_t)n); /* off: not counted */
    char table[8192] = {0};
    FILE *f = tmpfile();
    int names = cuda_profile_report(f);
    rewind(f);
    size_t got = fread(table, 1, sizeof table - 1, f);
    fclose(f);
    table[got] = 0;
    CHECK(names == 3);
    CHECK(profile_calls(table, "add_kernel") == 3);
    CHECK(profile_calls(table, "cublasGemmEx (f32 operands)") == 2);
    CHECK(profile_calls(table, "copy host -> device") == 1);
    CHECK(strstr(table, "ms in all") != NULL);
    if (names != 3) fprintf(stderr, "profile table:\n%s", table);
    cuda_profile_reset();
    f = tmpfile();
    CHECK(cuda_profile_report(f) == 0);
    fclose(f);
    cuda_set_matmul_mode(CUDA_MATMUL_BF16);
    G->free(dx), G->free(dy), G->free(da), G->free(db), G->free(dc);
    free(x), free(a), free(b);
}

/* The emulator (tests/cuda/emu/) runs blocks one at a time on the CPU: smaller vocabularies there. */
#ifdef PURE_CUDA_EMU_TEST
#define BIG_V 12007
#else
#define BIG_V 151936
#endif

int main(void) {
    if (cuda_device_count() <= 0 || !(G = backend_cuda())) {
        printf("test_cuda_ops: no CUDA device, skipped\n");
        return 77;
    }
    C = backend_cpu();
    printf("%s\nreference: %s\n", G->kernel_info(), C->kernel_info());
    test_matmul(CUDA_MATMUL_FP32, 1e-5);
    test_matmul(CUDA_MATMUL_BF16, 2e-2);
    test_elementwise();
    test_attention(4, 2, 16);
    test_attention(14, 2, 64);
    test_attention(4, 4, 128);
    test_attention(2, 1, 256);
    test_kv_append(32);
    test_kv_append(640);
    test_attention_decode_bf16(14, 2, 64);
    test_attention_decode_bf16(4, 4, 128);
    test_attention_decode_long(14, 2, 64);
    test_attention_decode_long(4, 4, 128);
    test_attention_decode_long(2, 1, 256);
    test_attention_decode_long(4, 2, 16);
    test_attention_decode_long(18, 2, 32); /* a group of 9 query heads: two blocks per kv head */
    test_lm_head(1000);
    test_lm_head(BIG_V / 2); /* a vocabulary-sized row */
    test_bf16(1000);
    test_attention_mma(4, 2, 16);
    test_attention_mma(14, 2, 64);
    test_attention_mma(6, 3, 32);
    test_attention_mma(4, 4, 128);
    test_philox_device();
#ifdef PURE_CUDA_EMU_TEST
    test_out_of_memory();
#endif
    test_sampling(8, 1000, (SampleParams){0, 1, 0, 1});
    test_sampling(64, 5000, (SampleParams){1, 1, 0, 2});
    test_sampling(64, 5000, (SampleParams){0.7f, 1, 40, 3});
    test_sampling(64, 5000, (SampleParams){1.2f, 0.9f, 0, 4});
    test_sampling(16, BIG_V, (SampleParams){0.8f, 0.95f, 50, 5});
    test_sampling_signed_zero();
    test_profile();
    test_linear_bwd_bf16(37, 24, 40, 0.0f);
    test_linear_bwd_bf16(64, 96, 32, 1.0f);
    size_t in_use, cached, peak;
    cuda_mem_stats(&in_use, &cached, &peak);
    printf("arena: %zu bytes in use, %zu cached, peak %zu\n", in_use, cached, peak);
    return check_report("test_cuda_ops");
}
