/* profile.cu - where the GPU's time goes, by kernel, cuBLAS call and copy: PURE_CUDA_PROFILE=1 (or
 * cuda_profile_enable) brackets each launch with two CUDA events on the stream the work runs on, so a pair's
 * elapsed time is the GPU's own time for that piece of work, without the host's launch overhead or the gaps
 * between launches. The sums by name go to stderr at exit (or to cuda_profile_report): calls, total, share of
 * the profiled time, mean. The first session on a GPU thus says what to make faster next without a profiler
 * (the lent machines' gVisor runtime reads no hardware counters).
 *
 * Events are taken from a pool of PROF_PAIRS pairs; when it is full, the pending pairs are read (which waits
 * for the GPU to reach the last one) and the pool starts over, so profiling adds a synchronization every
 * PROF_PAIRS launches and one event record on each side of every launch. Off, it costs one branch a launch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/cuda/internal.cuh"

enum { PROF_PAIRS = 4096, PROF_NAMES = 256 };

typedef struct {
    const char *name; /* a string literal: the kernel's or call's name as written at the launch */
    long long calls;
    double ms;
} ProfName;

static int g_on = -1; /* -1: PURE_CUDA_PROFILE not read yet */
static cudaEvent_t g_ev[PROF_PAIRS][2];
static int g_ev_name[PROF_PAIRS];
static int g_pending, g_made;
static ProfName g_names[PROF_NAMES];
static int g_n_names;

static void prof_exit(void) {
    if (g_on == 1 && g_n_names) cuda_profile_report(stderr);
}

static int prof_on(void) {
    if (g_on < 0) {
        const char *e = getenv("PURE_CUDA_PROFILE");
        g_on = e && *e && strcmp(e, "0") != 0;
        if (g_on) atexit(prof_exit);
    }
    return g_on;
}

extern "C" void cuda_profile_enable(int on) {
    if (g_on < 0) prof_on();
    g_on = on ? 1 : 0;
}

static int name_index(const char *name) {
    for (int i = 0; i < g_n_names; i++)
        if (g_names[i].name == name || strcmp(g_names[i].name, name) == 0) return i;
    if (g_n_names == PROF_NAMES) return PROF_NAMES - 1; /* the last entry takes the overflow */
    g_names[g_n_names].name = name;
    return g_n_names++;
}

/* read the pending pairs into the sums and free the pool */
static void prof_harvest(void) {
    if (!g_pending) return;
    cudaEventSynchronize(g_ev[g_pending - 1][1]);
    for (int i = 0; i < g_pending; i++) {
        float ms = 0;
        if (cudaEventElapsedTime(&ms, g_ev[i][0], g_ev[i][1]) == cudaSuccess) {
            g_names[g_ev_name[i]].ms += ms;
            g_names[g_ev_name[i]].calls++;
        }
    }
    cudaGetLastError(); /* a failed read leaves no sticky error behind for the next CU_LAUNCHED */
    g_pending = 0;
}

int cuda_prof_begin(const char *name) {
    if (!prof_on()) return -1;
    if (g_pending == PROF_PAIRS) prof_harvest();
    int s = g_pending;
    if (s == g_made) {
        if (cudaEventCreate(&g_ev[s][0]) != cudaSuccess || cudaEventCreate(&g_ev[s][1]) != cudaSuccess) {
            cudaGetLastError();
            return -1;
        }
        g_made++;
    }
    g_ev_name[s] = name_index(name);
    cudaEventRecord(g_ev[s][0], 0);
    g_pending++;
    return s;
}

void cuda_prof_end(int slot) {
    if (slot >= 0) cudaEventRecord(g_ev[slot][1], 0);
}

static int by_time(const void *a, const void *b) {
    double x = ((const ProfName *)a)->ms, y = ((const ProfName *)b)->ms;
    return x < y ? 1 : x > y ? -1 : 0;
}

extern "C" int cuda_profile_report(FILE *f) {
    prof_harvest();
    ProfName sorted[PROF_NAMES];
    int n = 0;
    double total = 0;
    for (int i = 0; i < g_n_names; i++)
        if (g_names[i].calls) sorted[n++] = g_names[i], total += g_names[i].ms;
    qsort(sorted, (size_t)n, sizeof sorted[0], by_time);
    fprintf(f, "cuda profile: GPU time by kernel / call (CUDA events around each; %.3f ms in all)\n", total);
    fprintf(f, "  %-44s %10s %12s %7s %11s\n", "name", "calls", "total ms", "share", "mean us");
    for (int i = 0; i < n; i++)
        fprintf(f, "  %-44s %10lld %12.3f %6.1f%% %11.2f\n", sorted[i].name, sorted[i].calls, sorted[i].ms,
                total > 0 ? 100.0 * sorted[i].ms / total : 0.0, 1000.0 * sorted[i].ms / (double)sorted[i].calls);
    return n;
}

extern "C" void cuda_profile_reset(void) {
    prof_harvest();
    for (int i = 0; i < g_n_names; i++) g_names[i].calls = 0, g_names[i].ms = 0;
}
