/* attention_decode.cu - the KV cache on the device: appending rows
 * (backend.h's kv_append) and one query row per sequence against its cache
 * (attention_decode), split-KV ("flash-decoding") style so a long
 * cache is spread over many blocks instead of being walked by one.
 *
 * Each row's cache is cut into chunks of KV_CHUNK keys; the number of chunks
 * (splits) depends on that row's kv_len only, never on the device, so the
 * result depends on the shapes only and a row's bits do not depend on which
 * other rows share the batch.
 *  kernel 1: a block = one chunk of one (row, kv head), 8 warps; each warp one
 *    query head of the GQA group, so a K/V tile in shared memory serves the
 *    whole group. Online softmax over the chunk, 32 keys per tile (lane j
 *    scores key j; lanes then own head dimensions d = lane + 32 i). It writes
 *    the partial max m, sum l and unnormalised acc of its chunk, or, for a row
 *    that has a single chunk, the normalised output directly.
 *  kernel 2: per (row, query head), combines the chunks in chunk order:
 *    out = sum_i acc_i e^(m_i - M) / sum_i l_i e^(m_i - M), M = max_i m_i.
 *    Skipped when every row has one chunk. No atomics anywhere.
 * A combine over one chunk would give the direct path's bits (e^0 = 1), so
 * the shortcut for single-chunk rows changes nothing but the work.
 * kv_len = 0 gives zeros (the CPU backend leaves that case undefined: the
 * model always attends to at least the new token).
 */
#include "internal.cuh"

#define WARPS 8
#define KT 32                         /* keys per shared-memory tile */
#define KV_CHUNK CUDA_DECODE_CHUNK    /* keys per split (cuda.h: the tests straddle it) */
static_assert(KV_CHUNK % KT == 0, "a chunk is whole tiles");

/* a cached value as f32: the cache is f32, or bf16 bits (a precision-bf16 model's) */
__device__ __forceinline__ float cache_ld(const float *p, size_t i) { return p[i]; }
__device__ __forceinline__ float cache_ld(const uint16_t *p, size_t i) { return dev_bf16_to_f32(p[i]); }
__device__ __forceinline__ void cache_st(float *p, size_t i, float x) { p[i] = x; }
__device__ __forceinline__ void cache_st(uint16_t *p, size_t i, float x) { p[i] = dev_f32_to_bf16(x); }

/* chunks of a row; an empty row still has one (it writes zeros) */
__host__ __device__ __forceinline__ int decode_splits(int kv_len) {
    return kv_len > KV_CHUNK ? (kv_len + KV_CHUNK - 1) / KV_CHUNK : 1;
}

/* ---- kernel 1: one chunk of one (row, kv head, group of up to WARPS query heads) ---- */

/* part_acc (n, NH, S, hd) and part_ml (n, NH, S, 2): chunk split of row r,
 * head h at index (r * NH + h) * S + split; written only for rows with more
 * than one chunk. blockIdx.y = kv head * HG + head group (HG groups of WARPS
 * query heads when the GQA group is larger than a block's warps). */
template <int NR, typename T>
__global__ void __launch_bounds__(WARPS * 32)
decode_split_kernel(float *out, float *part_acc, float *part_ml, const float *q, const T *kc, const T *vc,
                    const int32_t *slot, const int32_t *kv_len, int max_t, int max_kv, int NH, int NKV, int hd, int HG,
                    int S, float scale) {
    CU_DYN_SMEM(float, sm);
    const int row = blockIdx.z, g = blockIdx.y / HG, hg = blockIdx.y % HG, split = blockIdx.x;
    const int len = min(kv_len[row], max_kv), ns = decode_splits(len); /* ns <= S = decode_splits(max_kv) */
    if (split >= ns) return; /* uniform over the block */
    const int G = NH / NKV, warp = threadIdx.x >> 5, lane = threadIdx.x & 31, r = hg * WARPS + warp;
    const bool active = r < G;
    const int h = g * G + (active ? r : 0), qs = NH * hd, ks = NKV * hd;
    const int j_begin = split * KV_CHUNK, j_end = min(len, j_begin + KV_CHUNK);
    const size_t kbase = (size_t)slot[row] * max_t; /* cache row of key 0 */
    float *Ks = sm, *Vs = Ks + KT * (hd + 1), *Qs = Vs + KT * hd; /* K pitch hd + 1: lane j reads row j */
    const float *qrow = q + (size_t)row * qs + h * hd;
    if (active)
        for (int d = lane; d < hd; d += 32) Qs[warp * hd + d] = qrow[d];
    float acc[NR];
#pragma unroll
    for (int i = 0; i < NR; i++) acc[i] = 0;
    float m = -INFINITY, l = 0;
    for (int j0 = j_begin; j0 < j_end; j0 += KT) {
        const int nt = min(KT, j_end - j0);
        __syncthreads(); /* the previous tile is no longer read (and Qs is written, on the first) */
        /* a warp per cache row, its lanes along the row: coalesced */
        for (int t = warp; t < nt; t += WARPS) {
            const size_t off = (kbase + j0 + t) * ks + (size_t)g * hd;
            for (int d = lane; d < hd; d += 32)
                Ks[t * (hd + 1) + d] = cache_ld(kc, off + d), Vs[t * hd + d] = cache_ld(vc, off + d);
        }
        __syncthreads();
        if (!active) continue;
        float sc = -INFINITY;
        if (lane < nt) {
            float dot = 0;
            for (int d = 0; d < hd; d++) dot += Qs[warp * hd + d] * Ks[lane * (hd + 1) + d];
            sc = dot * scale;
        }
        warp_softmax_tile<NR>(sc, m, l, acc, Vs, nt, hd);
    }
    if (!active) return;
    if (ns == 1) {
        const float inv = l > 0 ? 1.0f / l : 0.0f;
        float *o = out + (size_t)row * qs + h * hd;
#pragma unroll
        for (int i = 0; i < NR; i++) {
            const int d = lane + 32 * i;
            if (d < hd) o[d] = acc[i] * inv;
        }
        return;
    }
    const size_t p = ((size_t)row * NH + h) * S + split;
#pragma unroll
    for (int i = 0; i < NR; i++) {
        const int d = lane + 32 * i;
        if (d < hd) part_acc[p * hd + d] = acc[i];
    }
    if (lane == 0) part_ml[2 * p] = m, part_ml[2 * p + 1] = l;
}

/* ---- kernel 2: combine the chunks of one (row, query head), in chunk order ---- */

__global__ void decode_combine_kernel(float *out, const float *part_acc, const float *part_ml, const int32_t *kv_len,
                                      int max_kv, int NH, int hd, int S) {
    const int h = blockIdx.x, row = blockIdx.y, ns = decode_splits(min(kv_len[row], max_kv));
    if (ns == 1) return; /* kernel 1 wrote this row */
    const size_t p0 = ((size_t)row * NH + h) * S;
    const float *ml = part_ml + 2 * p0;
    float M = -INFINITY;
    for (int i = 0; i < ns; i++) M = fmaxf(M, ml[2 * i]);
    for (int d = threadIdx.x; d < hd; d += blockDim.x) {
        float L = 0, o = 0;
        for (int i = 0; i < ns; i++) {
            /* a chunk with m = -inf (infinite scores only) has l = 0, acc = 0: weight 0, not NaN */
            const float w = ml[2 * i] == -INFINITY ? 0.0f : expf(ml[2 * i] - M);
            L += ml[2 * i + 1] * w;
            o += part_acc[(p0 + i) * hd + d] * w;
        }
        out[((size_t)row * NH + h) * hd + d] = L > 0 ? o * (1.0f / L) : 0.0f;
    }
}

/* ---- appending to the cache ---- */

/* block i copies row i of k and v to cache row slot[i] * max_t + pos[i] (rounded when the cache is bf16) */
template <typename T>
__global__ void kv_append_kernel(T *kc, T *vc, const float *k, const float *v, const int32_t *slot,
                                 const int32_t *pos, int max_t, int kd) {
    const int i = blockIdx.x;
    const size_t dst = ((size_t)slot[i] * max_t + pos[i]) * kd, src = (size_t)i * kd;
    for (int d = threadIdx.x; d < kd; d += blockDim.x) cache_st(kc, dst + d, k[src + d]), cache_st(vc, dst + d, v[src + d]);
}

template <typename T>
static void kv_append(T *kcache, T *vcache, const float *k, const float *v, const int32_t *slot, const int32_t *pos,
                      int n, int max_t, int kd) {
    if (n <= 0) return;
    const int32_t *ds = cuda_dev_i32(slot, n, SCRATCH_I32B), *dp = cuda_dev_i32(pos, n, SCRATCH_I32C);
    CU_LAUNCH(kv_append_kernel<T>, n, kd < 256 ? (kd + 31) / 32 * 32 : 256, 0, kcache, vcache, k, v, ds, dp, max_t,
              kd);
    CU_LAUNCHED();
}
void cuda_op_kv_append(float *kcache, float *vcache, const float *k, const float *v, const int32_t *slot,
                       const int32_t *pos, int n, int max_t, int kd) {
    kv_append(kcache, vcache, k, v, slot, pos, n, max_t, kd);
}
void cuda_op_kv_append_bf16(uint16_t *kcache, uint16_t *vcache, const float *k, const float *v, const int32_t *slot,
                            const int32_t *pos, int n, int max_t, int kd) {
    kv_append(kcache, vcache, k, v, slot, pos, n, max_t, kd);
}

/* ---- launcher ---- */

template <typename T>
static void attention_decode(float *out, const float *q, const T *kcache, const T *vcache, const int32_t *slot,
                             const int32_t *kv_len, int n, int max_t, int max_kv, const AttnDims *d) {
    const int NH = d->n_heads, NKV = d->n_kv_heads, hd = d->head_dim;
    if (NKV <= 0 || NH % NKV)
        cuda_fatal("attention_decode", __FILE__, __LINE__, "n_heads must be a positive multiple of n_kv_heads");
    if (n <= 0) return;
    const int G = NH / NKV, HG = (G + WARPS - 1) / WARPS;
    if ((long)NKV * HG > 65535 || n > 65535 || NH > 65535)
        cuda_fatal("attention_decode", __FILE__, __LINE__, "too many heads or rows for the grid");
    const int S = decode_splits(max_kv < 0 ? 0 : max_kv); /* the most chunks of any row: grid x, scratch pitch */
    const int32_t *ds = cuda_dev_i32(slot, n, SCRATCH_I32B), *dl = cuda_dev_i32(kv_len, n, SCRATCH_I32C);
    float *pacc = NULL, *pml = NULL;
    if (S > 1) {
        const size_t parts = (size_t)n * NH * S;
        pacc = (float *)cuda_scratch(SCRATCH_MAIN, sizeof(float) * parts * hd);
        pml = (float *)cuda_scratch(SCRATCH_AUX, sizeof(float) * parts * 2);
    }
    const size_t sm = sizeof(float) * (KT * (hd + 1) + KT * hd + WARPS * hd);
    DISPATCH_NR(hd, {
        auto *kernel = &decode_split_kernel<NRV, T>; /* a name without a comma, for the launch macro */
        cuda_smem_optin(kernel, sm);
        CU_LAUNCH(kernel, dim3(S, NKV * HG, n), WARPS * 32, sm, out, pacc, pml, q, kcache, vcache, ds, dl, max_t,
                  max_kv, NH, NKV, hd, HG, S, d->scale);
    });
    CU_LAUNCHED();
    if (S == 1) return;
    CU_LAUNCH(decode_combine_kernel, dim3(NH, n), (hd + 31) / 32 * 32, 0, out, pacc, pml, dl, max_kv, NH, hd, S);
    CU_LAUNCHED();
}

void cuda_op_attention_decode(float *out, const float *q, const float *kcache, const float *vcache,
                              const int32_t *slot, const int32_t *kv_len, int n, int max_t, int max_kv,
                              const AttnDims *d) {
    attention_decode(out, q, kcache, vcache, slot, kv_len, n, max_t, max_kv, d);
}
void cuda_op_attention_decode_bf16(float *out, const float *q, const uint16_t *kcache, const uint16_t *vcache,
                                   const int32_t *slot, const int32_t *kv_len, int n, int max_t, int max_kv,
                                   const AttnDims *d) {
    attention_decode(out, q, kcache, vcache, slot, kv_len, n, max_t, max_kv, d);
}
