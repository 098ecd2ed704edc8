/* attention_mma.cu - causal attention over packed sequences on the tensor
 * cores (training and prefill): FlashAttention-2's schedule with bf16
 * mma.sync products (mma.cuh) and f32 softmax statistics and accumulators.
 * attention.cu's CUDA-core kernels are the f32 reference it is tested
 * against, through the CPU backend (tests/cuda/test_cuda_ops.c).
 *
 * Rows are (query t, query head of the GQA group) pairs, r = t * G + head, as
 * in attention.cu, so one K/V tile in shared memory serves the whole group.
 *  forward: a block = 4 warps x 16 rows of one (sequence, kv head); a warp's
 *    scores for a 64-key tile stay in registers (16 x 64), are masked, go
 *    through the online softmax in f32 and, rounded to bf16, become the A
 *    operand of P V without leaving registers.
 *  dq: the same rows; per 16 keys S = Q K^T and dP = dO V^T are recomputed,
 *    dS = P (dP - D) scale, dQ += dS K.
 *  dk/dv: a block = 4 warps x 16 keys; per 16 queries S^T = K Q^T and
 *    dP^T = V dO^T, then dV += P^T dO, dK += dS^T Q, looping over the
 *    group's query heads, then the queries, in order.
 * What is rounded to bf16: q, k, v, dout, P and dS (the operands of the
 * products); softmax, lse, D, every sum stays f32. Deterministic: no atomics,
 * fixed loop order, so results depend on the shapes only.
 *
 * Shared tiles hold bf16 pairs in 32-bit words. A row-major tile (rows x hd)
 * serves operands whose pairs run along the head dimension; a transposed one
 * (hd x rows) those whose pairs run along the rows. Rows are padded by 4 words
 * so the 8 rows of a fragment load fall in distinct banks. */
#include "model/cuda/mma.cuh"

#define MW 4   /* warps per block */
#define MR 16  /* rows per warp (the mma's M) */
#define MT 64  /* keys (forward, dq) or queries (dk/dv) per shared tile */
#define PADW 4 /* words of padding per shared row */

/* words per shared row holding n bf16 values */
#define PITCH(n) ((n) / 2 + PADW)

/* rows [row0, row0 + nvalid) of src (hd values at column col, row stride
 * `stride` floats) as bf16 pairs: T[r][w] = (x[r][2w], x[r][2w+1]); rows
 * nvalid..MT-1 zero */
template <int HD>
__device__ __forceinline__ void tile_rows(uint32_t *T, const float *src, size_t row0, int stride, int col,
                                          int nvalid) {
    for (int e = threadIdx.x; e < MT * (HD / 2); e += blockDim.x) {
        const int r = e / (HD / 2), w = e % (HD / 2);
        uint32_t x = 0;
        if (r < nvalid) {
            const float *p = src + (row0 + r) * stride + col + 2 * w;
            x = pack_bf16x2(p[0], p[1]);
        }
        T[r * PITCH(HD) + w] = x;
    }
}
/* the same rows transposed: T[d][w] = (x[2w][d], x[2w+1][d]) */
template <int HD>
__device__ __forceinline__ void tile_cols(uint32_t *T, const float *src, size_t row0, int stride, int col,
                                          int nvalid) {
    for (int e = threadIdx.x; e < HD * (MT / 2); e += blockDim.x) {
        const int d = e / (MT / 2), w = e % (MT / 2), r = 2 * w;
        const float x0 = r < nvalid ? src[(row0 + r) * stride + col + d] : 0.0f;
        const float x1 = r + 1 < nvalid ? src[(row0 + r + 1) * stride + col + d] : 0.0f;
        T[d * PITCH(MT) + w] = pack_bf16x2(x0, x1);
    }
}

/* B fragment of an n8 x k16 block stored with its pairs along k: row n of the
 * tile (one of 8 from n0), k words from k0 (in bf16 units, a multiple of 16) */
__device__ __forceinline__ void frag_b(uint32_t b[2], const uint32_t *T, int pitch, int n0, int k0, int g, int t) {
    const uint32_t *row = T + (n0 + g) * pitch + k0 / 2;
    b[0] = row[t];
    b[1] = row[4 + t];
}
/* A fragment of a 16 x k16 block stored row-major with pairs along k */
__device__ __forceinline__ void frag_a(uint32_t a[4], const uint32_t *T, int pitch, int m0, int k0, int g, int t) {
    const uint32_t *r0 = T + (m0 + g) * pitch + k0 / 2, *r1 = r0 + 8 * pitch;
    a[0] = r0[t], a[1] = r1[t], a[2] = r0[4 + t], a[3] = r1[4 + t];
}
/* the D fragments of two adjacent n8 tiles as the A fragment of their k16 block */
__device__ __forceinline__ void d_to_a(uint32_t a[4], const float d0[4], const float d1[4]) {
    a[0] = pack_bf16x2(d0[0], d0[1]), a[1] = pack_bf16x2(d0[2], d0[3]);
    a[2] = pack_bf16x2(d1[0], d1[1]), a[3] = pack_bf16x2(d1[2], d1[3]);
}
__device__ __forceinline__ float quad_max(float x) {
    x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
    return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}
__device__ __forceinline__ float quad_sum(float x) {
    x += __shfl_xor_sync(0xffffffffu, x, 1);
    return x + __shfl_xor_sync(0xffffffffu, x, 2);
}

/* A lane's two rows (g and g + 8 of its warp's 16): query, head, offset */
struct MmaRows {
    int tq[2];      /* query index in the sequence; -1 for a row past the end (every key masked) */
    int head[2];    /* query head */
    size_t off[2];  /* offset of the row's head slice in q/out/dout */
};
__device__ __forceinline__ MmaRows mma_rows(int r_first, int nrows, int G, int kvh, size_t base, int NH, int HD) {
    MmaRows m;
    for (int i = 0; i < 2; i++) {
        const int r = r_first + 8 * i;
        const bool act = r < nrows;
        m.tq[i] = act ? r / G : -1;
        m.head[i] = kvh * G + (act ? r % G : 0);
        m.off[i] = (base + (act ? r / G : 0)) * (size_t)NH * HD + (size_t)m.head[i] * HD;
    }
    return m;
}
/* A fragments of the lane's two rows of x (q or dout), hd split in 16s */
template <int HD>
__device__ __forceinline__ void rows_frag(uint32_t a[HD / 16][4], const float *x, const MmaRows &m, int t) {
#pragma unroll
    for (int c = 0; c < HD / 16; c++)
#pragma unroll
        for (int i = 0; i < 2; i++)
#pragma unroll
            for (int hi = 0; hi < 2; hi++) {
                const float *p = x + m.off[i] + 16 * c + 8 * hi + 2 * t;
                a[c][i + 2 * hi] = m.tq[i] >= 0 ? pack_bf16x2(p[0], p[1]) : 0u;
            }
}

/* ---- forward ---- */

template <int HD>
__global__ void __launch_bounds__(MW * 32)
    attn_fwd_mma_kernel(float *out, float *lse, const float *q, const float *k, const float *v, const int32_t *start,
                        const int32_t *len, int NH, int NKV, float scale) {
    constexpr int KC = HD / 16, DT = HD / 8, NT = MT / 8;
    CU_DYN_SMEM(uint32_t, sm);
    uint32_t *Ks = sm, *Vt = sm + MT * PITCH(HD);
    const int G = NH / NKV, s = blockIdx.z, kvh = blockIdx.y, nrows = len[s] * G, r0 = blockIdx.x * (MW * MR);
    if (r0 >= nrows) return; /* uniform over the block */
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const size_t base = (size_t)start[s];
    const int wr0 = r0 + warp * MR, ks = NKV * HD;
    const bool wact = wr0 < nrows;
    const int wt_max = wact ? (min(nrows, wr0 + MR) - 1) / G : -1; /* the warp's last query */
    const int nk = (min(nrows, r0 + MW * MR) - 1) / G + 1;          /* keys the block needs */
    const MmaRows rows = mma_rows(wr0 + g, nrows, G, kvh, base, NH, HD);
    uint32_t qa[KC][4];
    rows_frag<HD>(qa, q, rows, t);
    float o[DT][4], m[2] = {-INFINITY, -INFINITY}, l[2] = {0, 0};
#pragma unroll
    for (int dt = 0; dt < DT; dt++) o[dt][0] = o[dt][1] = o[dt][2] = o[dt][3] = 0;
    for (int j0 = 0; j0 < nk; j0 += MT) {
        __syncthreads();
        tile_rows<HD>(Ks, k, base + j0, ks, kvh * HD, min(MT, nk - j0));
        tile_cols<HD>(Vt, v, base + j0, ks, kvh * HD, min(MT, nk - j0));
        __syncthreads();
        if (j0 > wt_max) continue; /* every key of the tile is after every query of the warp */
        float sc[NT][4];
#pragma unroll
        for (int nt = 0; nt < NT; nt++) {
            sc[nt][0] = sc[nt][1] = sc[nt][2] = sc[nt][3] = 0;
#pragma unroll
            for (int c = 0; c < KC; c++) {
                uint32_t b[2];
                frag_b(b, Ks, PITCH(HD), nt * 8, 16 * c, g, t);
                mma_bf16_16816(sc[nt], qa[c], b);
            }
        }
        float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
        for (int nt = 0; nt < NT; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int i = e >> 1, j = j0 + nt * 8 + 2 * t + (e & 1);
                const float x = j <= rows.tq[i] ? sc[nt][e] * scale : -INFINITY;
                sc[nt][e] = x;
                mx[i] = fmaxf(mx[i], x);
            }
        float corr[2];
#pragma unroll
        for (int i = 0; i < 2; i++) {
            const float mnew = fmaxf(m[i], quad_max(mx[i]));
            corr[i] = mnew == -INFINITY ? 1.0f : expf(m[i] - mnew);
            m[i] = mnew;
            l[i] *= corr[i];
        }
#pragma unroll
        for (int nt = 0; nt < NT; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int i = e >> 1;
                const float p = sc[nt][e] == -INFINITY ? 0.0f : expf(sc[nt][e] - m[i]);
                sc[nt][e] = p;
                l[i] += p;
            }
#pragma unroll
        for (int dt = 0; dt < DT; dt++) o[dt][0] *= corr[0], o[dt][1] *= corr[0], o[dt][2] *= corr[1], o[dt][3] *= corr[1];
#pragma unroll
        for (int kc = 0; kc < MT / 16; kc++) {
            if (j0 + 16 * kc > wt_max) break; /* uniform: the rest of the tile is masked for the warp */
            uint32_t pa[4];
            d_to_a(pa, sc[2 * kc], sc[2 * kc + 1]);
#pragma unroll
            for (int dt = 0; dt < DT; dt++) {
                uint32_t b[2];
                frag_b(b, Vt, PITCH(MT), dt * 8, 16 * kc, g, t);
                mma_bf16_16816(o[dt], pa, b);
            }
        }
    }
    if (!wact) return;
#pragma unroll
    for (int i = 0; i < 2; i++) {
        const float L = quad_sum(l[i]); /* every lane of the quad: same sum, same order */
        if (rows.tq[i] < 0) continue;
        const float inv = L > 0 ? 1.0f / L : 0.0f;
#pragma unroll
        for (int dt = 0; dt < DT; dt++) {
            float *p = out + rows.off[i] + dt * 8 + 2 * t;
            p[0] = o[dt][2 * i] * inv, p[1] = o[dt][2 * i + 1] * inv;
        }
        if (lse && t == 0) lse[(base + rows.tq[i]) * NH + rows.head[i]] = m[i] + logf(L);
    }
}

/* ---- backward: D = dout . out per (row, head), one warp each ---- */

__global__ void attn_rowdot_kernel(float *D, const float *dout, const float *o, int rows, int hd) {
    const int w = (int)((blockIdx.x * (size_t)blockDim.x + threadIdx.x) >> 5), lane = threadIdx.x & 31;
    if (w >= rows) return; /* uniform over the warp */
    float part = 0;
    for (int d = lane; d < hd; d += 32) part += dout[(size_t)w * hd + d] * o[(size_t)w * hd + d];
    part = warp_sum(part);
    if (lane == 0) D[w] = part;
}

/* ---- backward: dq ---- */

template <int HD>
__global__ void __launch_bounds__(MW * 32)
    attn_dq_mma_kernel(float *dq, const float *Dbuf, const float *dout, const float *lse, const float *q,
                       const float *k, const float *v, const int32_t *start, const int32_t *len, int NH, int NKV,
                       float scale) {
    constexpr int KC = HD / 16, DT = HD / 8;
    CU_DYN_SMEM(uint32_t, sm);
    uint32_t *Ks = sm, *Vs = Ks + MT * PITCH(HD), *Kt = Vs + MT * PITCH(HD);
    const int G = NH / NKV, s = blockIdx.z, kvh = blockIdx.y, nrows = len[s] * G, r0 = blockIdx.x * (MW * MR);
    if (r0 >= nrows) return;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const size_t base = (size_t)start[s];
    const int wr0 = r0 + warp * MR, ks = NKV * HD;
    const bool wact = wr0 < nrows;
    const int wt_max = wact ? (min(nrows, wr0 + MR) - 1) / G : -1;
    const int nk = (min(nrows, r0 + MW * MR) - 1) / G + 1;
    const MmaRows rows = mma_rows(wr0 + g, nrows, G, kvh, base, NH, HD);
    uint32_t qa[KC][4], ga[KC][4];
    rows_frag<HD>(qa, q, rows, t);
    rows_frag<HD>(ga, dout, rows, t);
    float L[2], Dr[2];
    for (int i = 0; i < 2; i++) {
        const size_t ri = (base + (rows.tq[i] >= 0 ? rows.tq[i] : 0)) * NH + rows.head[i];
        L[i] = rows.tq[i] >= 0 ? lse[ri] : 0.0f;
        Dr[i] = rows.tq[i] >= 0 ? Dbuf[ri] : 0.0f;
    }
    float acc[DT][4];
#pragma unroll
    for (int dt = 0; dt < DT; dt++) acc[dt][0] = acc[dt][1] = acc[dt][2] = acc[dt][3] = 0;
    for (int j0 = 0; j0 < nk; j0 += MT) {
        const int nv = min(MT, nk - j0);
        __syncthreads();
        tile_rows<HD>(Ks, k, base + j0, ks, kvh * HD, nv);
        tile_rows<HD>(Vs, v, base + j0, ks, kvh * HD, nv);
        tile_cols<HD>(Kt, k, base + j0, ks, kvh * HD, nv);
        __syncthreads();
#pragma unroll
        for (int kc = 0; kc < MT / 16; kc++) {
            if (j0 + 16 * kc > wt_max) break; /* uniform over the warp */
            float sc[2][4], dp[2][4];
#pragma unroll
            for (int nn = 0; nn < 2; nn++) {
                sc[nn][0] = sc[nn][1] = sc[nn][2] = sc[nn][3] = 0;
                dp[nn][0] = dp[nn][1] = dp[nn][2] = dp[nn][3] = 0;
#pragma unroll
                for (int c = 0; c < KC; c++) {
                    uint32_t b[2];
                    frag_b(b, Ks, PITCH(HD), 16 * kc + 8 * nn, 16 * c, g, t);
                    mma_bf16_16816(sc[nn], qa[c], b);
                    frag_b(b, Vs, PITCH(HD), 16 * kc + 8 * nn, 16 * c, g, t);
                    mma_bf16_16816(dp[nn], ga[c], b);
                }
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    const int i = e >> 1, j = j0 + 16 * kc + 8 * nn + 2 * t + (e & 1);
                    const float p = j <= rows.tq[i] ? expf(sc[nn][e] * scale - L[i]) : 0.0f;
                    sc[nn][e] = p * (dp[nn][e] - Dr[i]) * scale; /* dS, scaled */
                }
            }
            uint32_t da[4];
            d_to_a(da, sc[0], sc[1]);
#pragma unroll
            for (int dt = 0; dt < DT; dt++) {
                uint32_t b[2];
                frag_b(b, Kt, PITCH(MT), dt * 8, 16 * kc, g, t);
                mma_bf16_16816(acc[dt], da, b);
            }
        }
    }
    if (!wact) return;
#pragma unroll
    for (int i = 0; i < 2; i++) {
        if (rows.tq[i] < 0) continue;
#pragma unroll
        for (int dt = 0; dt < DT; dt++) {
            float *p = dq + rows.off[i] + dt * 8 + 2 * t;
            p[0] = acc[dt][2 * i], p[1] = acc[dt][2 * i + 1];
        }
    }
}

/* ---- backward: dk, dv ---- */

template <int HD>
__global__ void __launch_bounds__(MW * 32)
    attn_dkv_mma_kernel(float *dk, float *dv, const float *Dbuf, const float *dout, const float *lse, const float *q,
                        const float *k, const float *v, const int32_t *start, const int32_t *len, int NH, int NKV,
                        float scale) {
    constexpr int KC = HD / 16, DT = HD / 8;
    CU_DYN_SMEM(uint32_t, sm);
    uint32_t *Kb = sm, *Vb = Kb + MT * PITCH(HD), *Qs = Vb + MT * PITCH(HD), *Gs = Qs + MT * PITCH(HD),
             *Qt = Gs + MT * PITCH(HD), *Gt = Qt + HD * PITCH(MT);
    float *Ls = (float *)(Gt + HD * PITCH(MT)), *Ds = Ls + MT;
    const int G = NH / NKV, s = blockIdx.z, kvh = blockIdx.y, n = len[s], jb = blockIdx.x * (MW * MR);
    if (jb >= n) return;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const size_t base = (size_t)start[s];
    const int qs = NH * HD, ks = NKV * HD, jw0 = jb + warp * MR;
    const bool wact = jw0 < n;
    /* the block's keys (A operands of S^T and dP^T), read from shared memory at each use */
    tile_rows<HD>(Kb, k, base + jb, ks, kvh * HD, min(MT, n - jb));
    tile_rows<HD>(Vb, v, base + jb, ks, kvh * HD, min(MT, n - jb));
    float ak[DT][4], av[DT][4];
#pragma unroll
    for (int dt = 0; dt < DT; dt++)
#pragma unroll
        for (int e = 0; e < 4; e++) ak[dt][e] = av[dt][e] = 0;
    for (int h = kvh * G; h < (kvh + 1) * G; h++) {
        for (int i0 = jb; i0 < n; i0 += MT) {
            const int nv = min(MT, n - i0);
            __syncthreads();
            tile_rows<HD>(Qs, q, base + i0, qs, h * HD, nv);
            tile_rows<HD>(Gs, dout, base + i0, qs, h * HD, nv);
            tile_cols<HD>(Qt, q, base + i0, qs, h * HD, nv);
            tile_cols<HD>(Gt, dout, base + i0, qs, h * HD, nv);
            for (int ii = threadIdx.x; ii < MT; ii += blockDim.x) {
                const size_t ri = (base + i0 + ii) * NH + h;
                Ls[ii] = ii < nv ? lse[ri] : 0.0f;
                Ds[ii] = ii < nv ? Dbuf[ri] : 0.0f;
            }
            __syncthreads();
            if (!wact) continue;
#pragma unroll
            for (int qc = 0; qc < MT / 16; qc++) {
                const int qlo = i0 + 16 * qc;
                if (qlo >= n) break;             /* uniform */
                if (qlo + 15 < jw0) continue;    /* every query before every key of the warp */
                float st[2][4], dpt[2][4];
#pragma unroll
                for (int nn = 0; nn < 2; nn++) {
                    st[nn][0] = st[nn][1] = st[nn][2] = st[nn][3] = 0;
                    dpt[nn][0] = dpt[nn][1] = dpt[nn][2] = dpt[nn][3] = 0;
                }
#pragma unroll
                for (int c = 0; c < KC; c++) {
                    uint32_t ka[4], va[4];
                    frag_a(ka, Kb, PITCH(HD), warp * MR, 16 * c, g, t);
                    frag_a(va, Vb, PITCH(HD), warp * MR, 16 * c, g, t);
#pragma unroll
                    for (int nn = 0; nn < 2; nn++) {
                        uint32_t b[2];
                        frag_b(b, Qs, PITCH(HD), 16 * qc + 8 * nn, 16 * c, g, t);
                        mma_bf16_16816(st[nn], ka, b);
                        frag_b(b, Gs, PITCH(HD), 16 * qc + 8 * nn, 16 * c, g, t);
                        mma_bf16_16816(dpt[nn], va, b);
                    }
                }
#pragma unroll
                for (int nn = 0; nn < 2; nn++)
#pragma unroll
                    for (int e = 0; e < 4; e++) {
                        const int j = jw0 + g + 8 * (e >> 1), il = 16 * qc + 8 * nn + 2 * t + (e & 1), i = i0 + il;
                        const bool ok = j < n && i < n && i >= j;
                        const float p = ok ? expf(st[nn][e] * scale - Ls[il]) : 0.0f;
                        st[nn][e] = p;
                        dpt[nn][e] = p * (dpt[nn][e] - Ds[il]) * scale; /* dS^T, scaled */
                    }
                uint32_t pa[4], da[4];
                d_to_a(pa, st[0], st[1]);
                d_to_a(da, dpt[0], dpt[1]);
#pragma unroll
                for (int dt = 0; dt < DT; dt++) {
                    uint32_t b[2];
                    frag_b(b, Gt, PITCH(MT), dt * 8, 16 * qc, g, t);
                    mma_bf16_16816(av[dt], pa, b);
                    frag_b(b, Qt, PITCH(MT), dt * 8, 16 * qc, g, t);
                    mma_bf16_16816(ak[dt], da, b);
                }
            }
        }
    }
    if (!wact) return;
#pragma unroll
    for (int i = 0; i < 2; i++) {
        const int j = jw0 + g + 8 * i;
        if (j >= n) continue;
        const size_t off = (base + j) * ks + kvh * HD;
#pragma unroll
        for (int dt = 0; dt < DT; dt++) {
            const int d = dt * 8 + 2 * t;
            dk[off + d] = ak[dt][2 * i], dk[off + d + 1] = ak[dt][2 * i + 1];
            dv[off + d] = av[dt][2 * i], dv[off + d + 1] = av[dt][2 * i + 1];
        }
    }
}

/* ---- launchers ---- */

int cuda_attention_mma_supports(int hd) { return hd == 16 || hd == 32 || hd == 64 || hd == 128; }

#define DISPATCH_HD(hd, ...)                                \
    switch (hd) {                                           \
    case 16: { constexpr int HDV = 16; __VA_ARGS__; } break;  \
    case 32: { constexpr int HDV = 32; __VA_ARGS__; } break;  \
    case 64: { constexpr int HDV = 64; __VA_ARGS__; } break;  \
    default: { constexpr int HDV = 128; __VA_ARGS__; } break; \
    }

static size_t words(size_t n) { return n * sizeof(uint32_t); }

void cuda_attention_mma_fwd(float *out, float *lse, const float *q, const float *k, const float *v,
                            const int32_t *dstart, const int32_t *dlen, int nseq, int max_len, const AttnDims *d) {
    const int G = d->n_heads / d->n_kv_heads, hd = d->head_dim;
    dim3 grid((max_len * G + MW * MR - 1) / (MW * MR), d->n_kv_heads, nseq);
    const size_t sm = words((size_t)MT * PITCH(hd) + (size_t)hd * PITCH(MT));
    DISPATCH_HD(hd, {
        cuda_smem_optin(attn_fwd_mma_kernel<HDV>, sm);
        CU_LAUNCH(attn_fwd_mma_kernel<HDV>, grid, MW * 32, sm, out, lse, q, k, v, dstart, dlen, d->n_heads,
                  d->n_kv_heads, d->scale);
    });
    CU_LAUNCHED();
}

void cuda_attention_mma_bwd(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
                            const float *q, const float *k, const float *v, const int32_t *dstart,
                            const int32_t *dlen, int nseq, int max_len, int N, const AttnDims *d) {
    const int G = d->n_heads / d->n_kv_heads, hd = d->head_dim, NH = d->n_heads, NKV = d->n_kv_heads;
    float *Dbuf = (float *)cuda_scratch(SCRATCH_MAIN, sizeof(float) * (size_t)N * NH);
    const int rows = N * NH;
    CU_LAUNCH(attn_rowdot_kernel, cuda_blocks((size_t)rows * 32, 256), 256, 0, Dbuf, dout, out, rows, hd);
    CU_LAUNCHED();
    dim3 gq((max_len * G + MW * MR - 1) / (MW * MR), NKV, nseq), gk((max_len + MW * MR - 1) / (MW * MR), NKV, nseq);
    const size_t smq = words(2 * (size_t)MT * PITCH(hd) + (size_t)hd * PITCH(MT));
    const size_t smk = words(4 * (size_t)MT * PITCH(hd) + 2 * (size_t)hd * PITCH(MT) + 2 * MT);
    DISPATCH_HD(hd, {
        cuda_smem_optin(attn_dq_mma_kernel<HDV>, smq);
        CU_LAUNCH(attn_dq_mma_kernel<HDV>, gq, MW * 32, smq, dq, Dbuf, dout, lse, q, k, v, dstart, dlen, NH, NKV,
                  d->scale);
        CU_LAUNCHED();
        cuda_smem_optin(attn_dkv_mma_kernel<HDV>, smk);
        CU_LAUNCH(attn_dkv_mma_kernel<HDV>, gk, MW * 32, smk, dk, dv, Dbuf, dout, lse, q, k, v, dstart, dlen, NH, NKV,
                  d->scale);
    });
    CU_LAUNCHED();
}
