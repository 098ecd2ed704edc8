/* sample.cu - sampling on the device: greedy, temperature, top-k, top-p,
 * one block of SAMPLE_THREADS threads per row, drawing from the Philox stream
 * of util/rng.h (philox.h). The rule and the summation order are the
 * engine's one rule (model/sample_rule.h); sample_ref.c is this kernel's
 * algorithm in plain C on that rule, so both pick the same token from the
 * same logits, and so does the host sampler.
 *
 * Cuts are logit thresholds found by bisection over an order-preserving
 * uint32 map of floats: the top-k cut is exactly the k-th largest logit
 * (integer counts), the top-p cut the largest logit whose kept mass still
 * reaches top_p. No sort and no index arrays: V reads per bisection step.
 */
#include "internal.cuh"
#include "philox.h"

__device__ __forceinline__ uint32_t float_key(float f) {
    uint32_t b = __float_as_uint(f);
    return (b & 0x80000000u) ? ~b : b | 0x80000000u;
}

/* Kept mass: each thread sums its id chunk in order, thread 0 the chunk sums
 * in order (leaving them in part[] for the final walk). */
__device__ double kept_mass_block(const float *x, const double *w, int lo, int hi, uint32_t key, double *part) {
    __shared__ double total;
    double s = 0;
    for (int i = lo; i < hi; i++)
        if (float_key(x[i]) >= key) s += w[i];
    __syncthreads();
    part[threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.x == 0) {
        double t = 0;
        for (int k = 0; k < SAMPLE_THREADS; k++) t += part[k];
        total = t;
    }
    __syncthreads();
    return total;
}

__device__ uint32_t count_geq_block(const float *x, int lo, int hi, uint32_t key) {
    __shared__ uint32_t cnt;
    uint32_t c = 0;
    for (int i = lo; i < hi; i++) c += float_key(x[i]) >= key;
    __syncthreads();
    if (threadIdx.x == 0) cnt = 0;
    __syncthreads();
    atomicAdd(&cnt, c); /* integer sum: exact in any order */
    __syncthreads();
    return cnt;
}

__global__ void __launch_bounds__(SAMPLE_THREADS)
sample_kernel(int32_t *tokens, float *logprobs, const float *logits, double *wbuf, int V, SampleParams sp,
              const uint64_t *streams, const uint64_t *counters) {
    __shared__ double part[SAMPLE_THREADS];
    __shared__ int s_arg;
    const int row = blockIdx.x, tid = threadIdx.x;
    const float *x = logits + (size_t)row * V;
    double *w = wbuf + (size_t)row * V;
    const int chunk = (V + SAMPLE_THREADS - 1) / SAMPLE_THREADS, lo = min(V, tid * chunk), hi = min(V, lo + chunk);

    /* the largest logit and the lowest id holding it; logz at T = 1 */
    float mx = -INFINITY;
    int arg = V;
    for (int i = lo; i < hi; i++)
        if (x[i] > mx) mx = x[i], arg = i;
    const float bm = block_max(mx);
    if (tid == 0) s_arg = V;
    __syncthreads();
    if (mx == bm) atomicMin(&s_arg, arg);
    double se = 0;
    for (int i = tid; i < V; i += blockDim.x) se += expf(x[i] - bm);
    se = block_sum(se); /* its barriers also order s_arg's atomics before the read */
    const int amax = s_arg;
    const float logz = bm + (float)log(se);
    int tok = amax;
    if (sp.temperature > 0) {
        const double invT = 1.0 / sp.temperature, m = x[amax];
        for (int i = lo; i < hi; i++) w[i] = exp((x[i] - m) * invT);
        uint32_t klo = 0;
        const uint32_t kmax = float_key(x[amax]);
        if (sp.top_k > 0 && sp.top_k < V) {
            uint32_t khi = kmax;
            while (klo < khi) {
                uint32_t mid = klo + (khi - klo) / 2 + 1;
                if (count_geq_block(x, lo, hi, mid) >= (uint32_t)sp.top_k) klo = mid;
                else khi = mid - 1;
            }
        }
        if (sp.top_p > 0 && sp.top_p < 1) {
            const double need = sp.top_p * kept_mass_block(x, w, lo, hi, klo, part);
            uint32_t khi = kmax;
            while (klo < khi) {
                uint32_t mid = klo + (khi - klo) / 2 + 1;
                if (kept_mass_block(x, w, lo, hi, mid, part) >= need) klo = mid;
                else khi = mid - 1;
            }
        }
        const double total = kept_mass_block(x, w, lo, hi, klo, part);
        if (tid == 0) {
            const double target = philox_uniform_double(sp.seed, streams[row], counters[row]) * total;
            double acc = 0;
            int pick = -1, last = amax;
            for (int t = 0; t < SAMPLE_THREADS && pick < 0; t++) {
                if (target >= acc + part[t]) {
                    acc += part[t];
                    continue;
                }
                for (int i = t * chunk; i < (t + 1) * chunk && i < V; i++)
                    if (float_key(x[i]) >= klo) {
                        acc += w[i];
                        if (target < acc) {
                            pick = i;
                            break;
                        }
                        last = i;
                    }
                if (pick < 0) pick = last;
            }
            for (int i = V - 1; i >= 0 && pick < 0; i--)
                if (float_key(x[i]) >= klo) pick = i;
            s_arg = pick;
        }
        __syncthreads();
        tok = s_arg;
    }
    if (tid == 0) {
        tokens[row] = tok;
        logprobs[row] = x[tok] - logz;
    }
}

extern "C" int cuda_sample_rows(int32_t *tokens, float *logprobs, const float *logits, int n, int V,
                                const SampleParams *sp, const uint64_t *streams, const uint64_t *counters,
                                PureErr *err) {
    if (n <= 0) return 0;
    size_t wbytes = sizeof(double) * (size_t)n * V;
    char *buf = (char *)cuda_scratch(SCRATCH_MAIN, wbytes + (sizeof(uint64_t) * 2 + 8) * n);
    double *w = (double *)buf;
    uint64_t *ds = (uint64_t *)(buf + wbytes), *dc = ds + n;
    int32_t *dt = (int32_t *)(dc + n);
    float *dl = (float *)(dt + n);
    CU_CHECK(cudaMemcpy(ds, streams, sizeof(uint64_t) * n, cudaMemcpyHostToDevice));
    CU_CHECK(cudaMemcpy(dc, counters, sizeof(uint64_t) * n, cudaMemcpyHostToDevice));
    CU_LAUNCH(sample_kernel, n, SAMPLE_THREADS, 0, dt, dl, logits, w, V, *sp, ds, dc);
    cudaError_t e = cudaGetLastError();
    if (e == cudaSuccess) e = cudaMemcpy(tokens, dt, sizeof(int32_t) * n, cudaMemcpyDeviceToHost);
    if (e == cudaSuccess) e = cudaMemcpy(logprobs, dl, sizeof(float) * n, cudaMemcpyDeviceToHost);
    if (e != cudaSuccess) return err_set(err, "cuda_sample_rows (%d rows x %d): %s", n, V, cudaGetErrorString(e));
    return 0;
}
