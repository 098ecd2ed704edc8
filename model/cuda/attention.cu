/* attention.cu - causal attention for training/prefill (forward, backward)
 * and single-row decoding against a KV cache, flash style: scores live in
 * registers one 32-key tile at a time with an online softmax; nothing of size
 * T x T is ever written to memory. The backward recomputes probabilities from
 * the saved log-sum-exp (like model/cpu/cpu_attention.c, the reference).
 *
 * Work split (deterministic, no atomics):
 *  forward, decode, dq: a block = WARPS query rows of one (sequence, kv head);
 *    a row = (query t, query head of the group), one warp each; the K/V tile in
 *    shared memory serves every query head of the group (GQA reads K/V once).
 *  dk/dv: a block = WARPS keys of one (sequence, kv head), one warp each,
 *    looping over the group's query heads and then the queries, in order.
 * In a tile, lane j scores key j (or query j) against the warp's row; lanes
 * then own head dimensions d = lane + 32 i for the weighted sums.
 */
#include "internal.cuh"

#define WARPS 8
#define KT 32 /* keys (or queries) per shared-memory tile */

/* sequence s: rows [qbase, qbase + nq) of q; its keys start at row kbase of k/v */
struct SeqView {
    int qbase, nq, kbase;
};
__device__ __forceinline__ SeqView seq_view(const int32_t *a0, const int32_t *a1, int s, int decode, int max_t) {
    SeqView v;
    if (decode) v.qbase = s, v.nq = 1, v.kbase = a0[s] * max_t;
    else v.qbase = a0[s], v.nq = a1[s], v.kbase = a0[s];
    return v;
}

/* Block-cooperative copy of nt rows (hd floats at column col of rows row0..)
 * of a and b into shared tiles A and B with row pitches pa and pb. */
__device__ __forceinline__ void load_tiles(float *A, int pa, float *B, int pb, const float *a, const float *b,
                                           size_t row0, int stride, int col, int nt, int hd) {
    for (int e = threadIdx.x; e < nt * hd; e += blockDim.x) {
        int r = e / hd, d = e % hd;
        size_t off = (row0 + r) * stride + col + d;
        A[r * pa + d] = a[off];
        B[r * pb + d] = b[off];
    }
}

/* ---- forward and decode ---- */

template <int NR>
__global__ void attn_fwd_kernel(float *out, float *lse, const float *q, const float *k, const float *v,
                                const int32_t *a0, const int32_t *a1, int decode, int max_t, int NH, int NKV, int hd,
                                float scale) {
    CU_DYN_SMEM(float, sm);
    const int G = NH / NKV, s = blockIdx.z, g = blockIdx.y;
    SeqView sv = seq_view(a0, a1, s, decode, max_t);
    const int nrows = sv.nq * G, r0 = blockIdx.x * WARPS;
    if (r0 >= nrows) return; /* uniform over the block */
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, r = r0 + warp;
    const bool active = r < nrows;
    const int t = active ? r / G : 0, h = g * G + (active ? r % G : 0);
    const int nk_row = decode ? a1[s] : t + 1;
    const int nk_block = decode ? a1[s] : (min(nrows, r0 + WARPS) - 1) / G + 1;
    const int qs = NH * hd, ks = NKV * hd;
    float *Ks = sm, *Vs = Ks + KT * (hd + 1), *Qs = Vs + KT * hd;
    const size_t qrow = (size_t)(sv.qbase + t);
    if (active)
        for (int d = lane; d < hd; d += 32) Qs[warp * hd + d] = q[qrow * qs + h * hd + d];
    float acc[NR];
#pragma unroll
    for (int i = 0; i < NR; i++) acc[i] = 0;
    float m = -INFINITY, l = 0;
    for (int j0 = 0; j0 < nk_block; j0 += KT) {
        const int nt = min(KT, nk_block - j0);
        __syncthreads();
        load_tiles(Ks, hd + 1, Vs, hd, k, v, (size_t)(sv.kbase + j0), ks, g * hd, nt, hd);
        __syncthreads();
        if (!active) continue;
        const int j = j0 + lane;
        float sc = -INFINITY;
        if (j < nk_row) {
            float dot = 0;
            for (int d = 0; d < hd; d++) dot += Qs[warp * hd + d] * Ks[lane * (hd + 1) + d];
            sc = dot * scale;
        }
        const float tmax = warp_max(sc);
        if (tmax == -INFINITY) continue; /* the whole tile is masked for this row */
        const float mnew = fmaxf(m, tmax), corr = expf(m - mnew);
        const float p = j < nk_row ? expf(sc - mnew) : 0.0f;
        l = l * corr + warp_sum(p);
#pragma unroll
        for (int i = 0; i < NR; i++) acc[i] *= corr;
        const int jn = min(KT, nk_row - j0);
        for (int jj = 0; jj < jn; jj++) {
            const float pj = __shfl_sync(0xffffffffu, p, jj);
#pragma unroll
            for (int i = 0; i < NR; i++) {
                int d = lane + 32 * i;
                if (d < hd) acc[i] += pj * Vs[jj * hd + d];
            }
        }
        m = mnew;
    }
    if (!active) return;
    const float inv = l > 0 ? 1.0f / l : 0.0f;
#pragma unroll
    for (int i = 0; i < NR; i++) {
        int d = lane + 32 * i;
        if (d < hd) out[qrow * qs + h * hd + d] = acc[i] * inv;
    }
    if (lse && lane == 0) lse[qrow * NH + h] = m + logf(l);
}

/* ---- backward: dq (and D = dout . out per row) ---- */

template <int NR>
__global__ void attn_dq_kernel(float *dq, float *Dbuf, const float *dout, const float *o, const float *lse,
                               const float *q, const float *k, const float *v, const int32_t *start,
                               const int32_t *len, int NH, int NKV, int hd, float scale) {
    CU_DYN_SMEM(float, sm);
    const int G = NH / NKV, s = blockIdx.z, g = blockIdx.y;
    const int nrows = len[s] * G, r0 = blockIdx.x * WARPS;
    if (r0 >= nrows) return;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, r = r0 + warp;
    const bool active = r < nrows;
    const int t = active ? r / G : 0, h = g * G + (active ? r % G : 0);
    const int nk_row = t + 1, nk_block = (min(nrows, r0 + WARPS) - 1) / G + 1;
    const int qs = NH * hd, ks = NKV * hd;
    float *Ks = sm, *Vs = Ks + KT * (hd + 1), *Qs = Vs + KT * (hd + 1), *Gs = Qs + WARPS * hd;
    const size_t row = (size_t)(start[s] + t), qo = row * qs + h * hd;
    float D = 0, L = 0;
    if (active) {
        float part = 0;
        for (int d = lane; d < hd; d += 32) {
            Qs[warp * hd + d] = q[qo + d];
            Gs[warp * hd + d] = dout[qo + d];
            part += dout[qo + d] * o[qo + d];
        }
        D = warp_sum(part);
        L = lse[row * NH + h];
        if (lane == 0) Dbuf[row * NH + h] = D;
    }
    float acc[NR];
#pragma unroll
    for (int i = 0; i < NR; i++) acc[i] = 0;
    for (int j0 = 0; j0 < nk_block; j0 += KT) {
        const int nt = min(KT, nk_block - j0);
        __syncthreads();
        load_tiles(Ks, hd + 1, Vs, hd + 1, k, v, (size_t)(start[s] + j0), ks, g * hd, nt, hd);
        __syncthreads();
        if (!active || j0 >= nk_row) continue;
        const int j = j0 + lane;
        float ds = 0;
        if (j < nk_row) {
            float sdot = 0, dp = 0;
            for (int d = 0; d < hd; d++) {
                sdot += Qs[warp * hd + d] * Ks[lane * (hd + 1) + d];
                dp += Gs[warp * hd + d] * Vs[lane * (hd + 1) + d];
            }
            const float p = expf(sdot * scale - L);
            ds = p * (dp - D);
        }
        const int jn = min(KT, nk_row - j0);
        for (int jj = 0; jj < jn; jj++) {
            const float c = __shfl_sync(0xffffffffu, ds, jj) * scale;
#pragma unroll
            for (int i = 0; i < NR; i++) {
                int d = lane + 32 * i;
                if (d < hd) acc[i] += c * Ks[jj * (hd + 1) + d];
            }
        }
    }
    if (!active) return;
#pragma unroll
    for (int i = 0; i < NR; i++) {
        int d = lane + 32 * i;
        if (d < hd) dq[qo + d] = acc[i];
    }
}

/* ---- backward: dk, dv ---- */

template <int NR>
__global__ void attn_dkv_kernel(float *dk, float *dv, const float *Dbuf, const float *dout, const float *lse,
                                const float *q, const float *k, const float *v, const int32_t *start,
                                const int32_t *len, int NH, int NKV, int hd, float scale) {
    CU_DYN_SMEM(float, sm);
    const int G = NH / NKV, s = blockIdx.z, g = blockIdx.y, n = len[s], jb = blockIdx.x * WARPS;
    if (jb >= n) return;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, j = jb + warp;
    const bool active = j < n;
    const int qs = NH * hd, ks = NKV * hd;
    float *Qs = sm, *Gs = Qs + KT * (hd + 1), *Kw = Gs + KT * (hd + 1), *Vw = Kw + WARPS * hd, *Ls = Vw + WARPS * hd,
          *Ds = Ls + KT;
    const size_t krow = (size_t)(start[s] + j) * ks + g * hd;
    if (active)
        for (int d = lane; d < hd; d += 32) Kw[warp * hd + d] = k[krow + d], Vw[warp * hd + d] = v[krow + d];
    float ak[NR], av[NR];
#pragma unroll
    for (int i = 0; i < NR; i++) ak[i] = av[i] = 0;
    for (int h = g * G; h < (g + 1) * G; h++) {
        for (int i0 = jb; i0 < n; i0 += KT) {
            const int nt = min(KT, n - i0);
            __syncthreads();
            load_tiles(Qs, hd + 1, Gs, hd + 1, q, dout, (size_t)(start[s] + i0), qs, h * hd, nt, hd);
            for (int ii = threadIdx.x; ii < nt; ii += blockDim.x) {
                size_t ri = (size_t)(start[s] + i0 + ii) * NH + h;
                Ls[ii] = lse[ri];
                Ds[ii] = Dbuf[ri];
            }
            __syncthreads();
            if (!active) continue;
            const int i = i0 + lane;
            float p = 0, ds = 0;
            if (i < n && i >= j) {
                float sdot = 0, dp = 0;
                for (int d = 0; d < hd; d++) {
                    sdot += Qs[lane * (hd + 1) + d] * Kw[warp * hd + d];
                    dp += Gs[lane * (hd + 1) + d] * Vw[warp * hd + d];
                }
                p = expf(sdot * scale - Ls[lane]);
                ds = p * (dp - Ds[lane]);
            }
            for (int ii = 0; ii < nt; ii++) {
                if (i0 + ii < j) continue; /* uniform: j is the warp's key */
                const float pi = __shfl_sync(0xffffffffu, p, ii), ci = __shfl_sync(0xffffffffu, ds, ii) * scale;
#pragma unroll
                for (int r = 0; r < NR; r++) {
                    int d = lane + 32 * r;
                    if (d < hd) {
                        av[r] += pi * Gs[ii * (hd + 1) + d];
                        ak[r] += ci * Qs[ii * (hd + 1) + d];
                    }
                }
            }
        }
    }
    if (!active) return;
#pragma unroll
    for (int r = 0; r < NR; r++) {
        int d = lane + 32 * r;
        if (d < hd) dk[krow + d] = ak[r], dv[krow + d] = av[r];
    }
}

/* ---- launchers ---- */

static int regs_for(int hd) {
    if (hd <= 32) return 1;
    if (hd <= 64) return 2;
    if (hd <= 128) return 4;
    if (hd <= 256) return 8;
    cuda_fatal("attention", __FILE__, __LINE__, "head_dim > 256 is not supported by the CUDA attention kernels");
    return 0;
}

/* dynamic shared memory above 48 KiB must be opted into per kernel */
template <typename K> static void smem_optin(K kernel, size_t bytes) {
    if (bytes > 48 * 1024) CU_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes));
}

#define DISPATCH_NR(hd, ...)                             \
    switch (regs_for(hd)) {                              \
    case 1: { const int NRV = 1; __VA_ARGS__; } break;  \
    case 2: { const int NRV = 2; __VA_ARGS__; } break;  \
    case 4: { const int NRV = 4; __VA_ARGS__; } break;  \
    default: { const int NRV = 8; __VA_ARGS__; } break; \
    }

/* host view of the sequences (max length) and device copies of start/len */
typedef struct {
    int n, max_len, N; /* sequences, longest, rows spanned */
    const int32_t *dstart, *dlen;
} SeqsDev;
static SeqsDev seqs_dev(const AttnSeqs *s) {
    static int32_t *hs, *hl;
    SeqsDev r = {s->n, 0, 0, NULL, NULL};
    const int32_t *st = cuda_host_i32(s->start, s->n, &hs), *ln = cuda_host_i32(s->len, s->n, &hl);
    for (int i = 0; i < s->n; i++) {
        if (ln[i] > r.max_len) r.max_len = ln[i];
        if (st[i] + ln[i] > r.N) r.N = st[i] + ln[i];
    }
    r.dstart = cuda_dev_i32(s->start, s->n, SCRATCH_I32B);
    r.dlen = cuda_dev_i32(s->len, s->n, SCRATCH_I32C);
    return r;
}

static void check_dims(const AttnDims *d) {
    if (d->n_kv_heads <= 0 || d->n_heads % d->n_kv_heads)
        cuda_fatal("attention", __FILE__, __LINE__, "n_heads must be a positive multiple of n_kv_heads");
    if (d->n_kv_heads > 65535) cuda_fatal("attention", __FILE__, __LINE__, "too many kv heads for the grid");
}

static size_t fwd_smem(int hd) { return sizeof(float) * (KT * (hd + 1) + KT * hd + WARPS * hd); }

void cuda_op_attention(float *out, float *lse, const float *q, const float *k, const float *v, const AttnSeqs *s,
                       const AttnDims *d) {
    check_dims(d);
    if (s->n <= 0) return;
    SeqsDev sd = seqs_dev(s);
    if (sd.max_len <= 0) return;
    const int G = d->n_heads / d->n_kv_heads, hd = d->head_dim;
    dim3 grid((sd.max_len * G + WARPS - 1) / WARPS, d->n_kv_heads, sd.n);
    size_t sm = fwd_smem(hd);
    DISPATCH_NR(hd, {
        smem_optin(attn_fwd_kernel<NRV>, sm);
        CU_LAUNCH(attn_fwd_kernel<NRV>, grid, WARPS * 32, sm, out, lse, q, k, v, sd.dstart, sd.dlen, 0, 0, d->n_heads,
                                                       d->n_kv_heads, hd, d->scale);
    });
    CU_LAUNCHED();
}

void cuda_op_attention_decode(float *out, const float *q, const float *kcache, const float *vcache,
                              const int32_t *slot, const int32_t *kv_len, int n, int max_t, const AttnDims *d) {
    check_dims(d);
    if (n <= 0) return;
    const int G = d->n_heads / d->n_kv_heads, hd = d->head_dim;
    const int32_t *ds = cuda_dev_i32(slot, n, SCRATCH_I32B), *dl = cuda_dev_i32(kv_len, n, SCRATCH_I32C);
    dim3 grid((G + WARPS - 1) / WARPS, d->n_kv_heads, n);
    size_t sm = fwd_smem(hd);
    DISPATCH_NR(hd, {
        smem_optin(attn_fwd_kernel<NRV>, sm);
        CU_LAUNCH(attn_fwd_kernel<NRV>, grid, WARPS * 32, sm, out, NULL, q, kcache, vcache, ds, dl, 1, max_t, d->n_heads,
                                                       d->n_kv_heads, hd, d->scale);
    });
    CU_LAUNCHED();
}

void cuda_op_attention_bwd(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
                           const float *q, const float *k, const float *v, const AttnSeqs *s, const AttnDims *d) {
    check_dims(d);
    if (s->n <= 0) return;
    SeqsDev sd = seqs_dev(s);
    if (sd.max_len <= 0) return;
    const int G = d->n_heads / d->n_kv_heads, hd = d->head_dim, NH = d->n_heads, NKV = d->n_kv_heads;
    float *Dbuf = (float *)cuda_scratch(SCRATCH_MAIN, sizeof(float) * (size_t)sd.N * NH);
    dim3 gq((sd.max_len * G + WARPS - 1) / WARPS, NKV, sd.n), gk((sd.max_len + WARPS - 1) / WARPS, NKV, sd.n);
    size_t smq = sizeof(float) * (2 * KT * (hd + 1) + 2 * WARPS * hd);
    size_t smk = sizeof(float) * (2 * KT * (hd + 1) + 2 * WARPS * hd + 2 * KT);
    DISPATCH_NR(hd, {
        smem_optin(attn_dq_kernel<NRV>, smq);
        CU_LAUNCH(attn_dq_kernel<NRV>, gq, WARPS * 32, smq, dq, Dbuf, dout, out, lse, q, k, v, sd.dstart, sd.dlen, NH, NKV,
                                                     hd, d->scale);
        CU_LAUNCHED();
        smem_optin(attn_dkv_kernel<NRV>, smk);
        CU_LAUNCH(attn_dkv_kernel<NRV>, gk, WARPS * 32, smk, dk, dv, Dbuf, dout, lse, q, k, v, sd.dstart, sd.dlen, NH, NKV,
                                                      hd, d->scale);
    });
    CU_LAUNCHED();
}
