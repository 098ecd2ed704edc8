/* attention.cu - causal attention for training/prefill (forward, backward)
 * in f32 on CUDA cores, flash style: scores live in
 * registers one 32-key tile at a time with an online softmax; nothing of size
 * T x T is ever written to memory. The backward recomputes probabilities from
 * the saved log-sum-exp (like model/cpu/cpu_attention.c, the reference).
 * Decoding against a KV cache is attention_decode.cu; the bf16 tensor-core
 * kernels are attention_mma.cu, chosen here (cuda_attention_uses_mma).
 *
 * Work split (deterministic, no atomics):
 *  forward, dq: a block = WARPS query rows of one (sequence, kv head);
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

/* ---- forward ---- */

template <int NR>
__global__ void attn_fwd_kernel(float *out, float *lse, const float *q, const float *k, const float *v,
                                const int32_t *start, const int32_t *len, int NH, int NKV, int hd, float scale) {
    CU_DYN_SMEM(float, sm);
    const int G = NH / NKV, s = blockIdx.z, g = blockIdx.y;
    const int nrows = len[s] * G, r0 = blockIdx.x * WARPS, base = start[s];
    if (r0 >= nrows) return; /* uniform over the block */
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, r = r0 + warp;
    const bool active = r < nrows;
    const int t = active ? r / G : 0, h = g * G + (active ? r % G : 0);
    const int nk_row = t + 1, nk_block = (min(nrows, r0 + WARPS) - 1) / G + 1;
    const int qs = NH * hd, ks = NKV * hd;
    float *Ks = sm, *Vs = Ks + KT * (hd + 1), *Qs = Vs + KT * hd;
    const size_t qrow = (size_t)(base + t);
    if (active)
        for (int d = lane; d < hd; d += 32) Qs[warp * hd + d] = q[qrow * qs + h * hd + d];
    float acc[NR];
#pragma unroll
    for (int i = 0; i < NR; i++) acc[i] = 0;
    float m = -INFINITY, l = 0;
    for (int j0 = 0; j0 < nk_block; j0 += KT) {
        const int nt = min(KT, nk_block - j0);
        __syncthreads();
        load_tiles(Ks, hd + 1, Vs, hd, k, v, (size_t)(base + j0), ks, g * hd, nt, hd);
        __syncthreads();
        if (!active) continue;
        const int j = j0 + lane;
        float sc = -INFINITY;
        if (j < nk_row) {
            float dot = 0;
            for (int d = 0; d < hd; d++) dot += Qs[warp * hd + d] * Ks[lane * (hd + 1) + d];
            sc = dot * scale;
        }
        warp_softmax_tile<NR>(sc, m, l, acc, Vs, min(KT, nk_row - j0), hd);
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

/* ---- which kernels: tensor cores (attention_mma.cu) or CUDA cores (above) ---- */

static int g_attn_mode = CUDA_ATTN_AUTO;
extern "C" void cuda_set_attention_mode(int mode) { g_attn_mode = mode; }

static int device_has_bf16_mma(void) {
    static int sm = -1;
    if (sm < 0) {
        cudaDeviceProp p;
        int dev = 0;
        sm = cudaGetDevice(&dev) == cudaSuccess && cudaGetDeviceProperties(&p, dev) == cudaSuccess
                 ? p.major * 10 + p.minor
                 : 0;
    }
    return sm >= 80;
}

extern "C" int cuda_attention_uses_mma(int hd) {
    if (g_attn_mode == CUDA_ATTN_SIMT || !cuda_attention_mma_supports(hd) || !device_has_bf16_mma()) return 0;
    return g_attn_mode == CUDA_ATTN_MMA || cuda_matmul_mode() == CUDA_MATMUL_BF16;
}

const char *cuda_attention_mode_name(void) {
    if (g_attn_mode == CUDA_ATTN_SIMT || !device_has_bf16_mma()) return "f32 CUDA-core attention";
    if (g_attn_mode == CUDA_ATTN_MMA || cuda_matmul_mode() == CUDA_MATMUL_BF16)
        return "bf16 tensor-core attention (head sizes 16-128; f32 CUDA cores otherwise)";
    return "f32 CUDA-core attention";
}

static size_t fwd_smem(int hd) { return sizeof(float) * (KT * (hd + 1) + KT * hd + WARPS * hd); }

void cuda_op_attention(float *out, float *lse, const float *q, const float *k, const float *v, const AttnSeqs *s,
                       const AttnDims *d) {
    check_dims(d);
    if (s->n <= 0) return;
    SeqsDev sd = seqs_dev(s);
    if (sd.max_len <= 0) return;
    const int G = d->n_heads / d->n_kv_heads, hd = d->head_dim;
    if (cuda_attention_uses_mma(hd)) {
        cuda_attention_mma_fwd(out, lse, q, k, v, sd.dstart, sd.dlen, sd.n, sd.max_len, d);
        return;
    }
    dim3 grid((sd.max_len * G + WARPS - 1) / WARPS, d->n_kv_heads, sd.n);
    size_t sm = fwd_smem(hd);
    DISPATCH_NR(hd, {
        cuda_smem_optin(attn_fwd_kernel<NRV>, sm);
        CU_LAUNCH(attn_fwd_kernel<NRV>, grid, WARPS * 32, sm, out, lse, q, k, v, sd.dstart, sd.dlen, d->n_heads,
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
    if (cuda_attention_uses_mma(hd)) {
        cuda_attention_mma_bwd(dq, dk, dv, dout, out, lse, q, k, v, sd.dstart, sd.dlen, sd.n, sd.max_len, sd.N, d);
        return;
    }
    float *Dbuf = (float *)cuda_scratch(SCRATCH_MAIN, sizeof(float) * (size_t)sd.N * NH);
    dim3 gq((sd.max_len * G + WARPS - 1) / WARPS, NKV, sd.n), gk((sd.max_len + WARPS - 1) / WARPS, NKV, sd.n);
    size_t smq = sizeof(float) * (2 * KT * (hd + 1) + 2 * WARPS * hd);
    size_t smk = sizeof(float) * (2 * KT * (hd + 1) + 2 * WARPS * hd + 2 * KT);
    DISPATCH_NR(hd, {
        cuda_smem_optin(attn_dq_kernel<NRV>, smq);
        CU_LAUNCH(attn_dq_kernel<NRV>, gq, WARPS * 32, smq, dq, Dbuf, dout, out, lse, q, k, v, sd.dstart, sd.dlen, NH, NKV,
                                                     hd, d->scale);
        CU_LAUNCHED();
        cuda_smem_optin(attn_dkv_kernel<NRV>, smk);
        CU_LAUNCH(attn_dkv_kernel<NRV>, gk, WARPS * 32, smk, dk, dv, Dbuf, dout, lse, q, k, v, sd.dstart, sd.dlen, NH, NKV,
                                                      hd, d->scale);
    });
    CU_LAUNCHED();
}
