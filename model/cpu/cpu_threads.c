/* cpu_threads.c - a fixed pthread pool for the CPU backend's kernels.
 *
 * One job at a time: the caller publishes (fn, ctx, n_tasks), workers and the
 * caller take task indices from an atomic counter until none are left. Which
 * thread runs a task never matters because tasks write disjoint outputs.
 *
 * Waiting spins for a while (POOL_SPIN pauses, tens of microseconds) before
 * sleeping on the condition variable: decoding runs ~170 short jobs per token,
 * and a sleep and wake-up for each held bf16 decoding at 26-29 tokens/s where
 * spinning gives 30-37 (0.5B shape, Zen 5, docs/model.md).
 */
#include "cpu.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#elif defined(__aarch64__)
#define cpu_relax() __asm__ volatile("yield")
#else
#define cpu_relax() ((void)0)
#endif

#include "util/log.h"

/* OpenBLAS's own thread control (declared here to avoid depending on its header layout). */
void openblas_set_num_threads(int n);

#define MAX_THREADS 64
#define POOL_SPIN 4000 /* pauses before a waiting thread sleeps */

/* One step of a spin: a pause, and every 64th a yield, so that a thread spinning on a core it shares (more
   threads than cores, or other programs) hands the core to the one it waits for. */
static void spin_pause(int i) {
    if ((i & 63) == 63) sched_yield();
    else cpu_relax();
}

static struct {
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    pthread_t tid[MAX_THREADS];
    int n_workers;      /* threads besides the caller */
    int wanted;         /* threads in use (caller included) */
    atomic_long generation; /* bumped per job (under mu; read without it while spinning) */
    atomic_int busy;        /* workers still inside the current job */
    CpuTaskFn fn;
    void *ctx;
    int n_tasks;
    atomic_int next;
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER, .done = PTHREAD_COND_INITIALIZER};

static _Thread_local int in_task;

static void run_tasks(void) {
    in_task = 1;
    for (;;) {
        int t = atomic_fetch_add(&pool.next, 1);
        if (t >= pool.n_tasks) break;
        pool.fn(pool.ctx, t);
    }
    in_task = 0;
}

static void *worker(void *arg) {
    long idx = (long)(intptr_t)arg;
    long seen = 0;
    for (;;) {
        long g = atomic_load(&pool.generation);
        for (int i = 0; i < POOL_SPIN && g == seen; i++) spin_pause(i), g = atomic_load(&pool.generation);
        if (g == seen) {
            pthread_mutex_lock(&pool.mu);
            while ((g = atomic_load(&pool.generation)) == seen) pthread_cond_wait(&pool.wake, &pool.mu);
            pthread_mutex_unlock(&pool.mu);
        }
        seen = g;
        if (idx + 1 >= pool.wanted) continue; /* not in use at this thread count */
        run_tasks();
        if (atomic_fetch_sub(&pool.busy, 1) == 1) { /* the last one out wakes a sleeping caller */
            pthread_mutex_lock(&pool.mu);
            pthread_cond_signal(&pool.done);
            pthread_mutex_unlock(&pool.mu);
        }
    }
    return NULL;
}

int cpu_threads(void) {
    if (!pool.wanted) cpu_set_threads(0);
    return pool.wanted;
}

void cpu_set_threads(int n) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (n <= 0) n = cores > 0 ? (int)cores : 1;
    if (n > MAX_THREADS) n = MAX_THREADS;
    pthread_mutex_lock(&pool.mu);
    while (pool.n_workers < n - 1) {
        if (pthread_create(&pool.tid[pool.n_workers], NULL, worker, (void *)(intptr_t)pool.n_workers)) {
            /* fewer threads give the same results (fixed partitions), only slower */
            log_warn("cpu: could not start worker thread %d; running with %d threads", pool.n_workers + 1,
                     pool.n_workers + 1);
            n = pool.n_workers + 1;
            break;
        }
        pool.n_workers++;
    }
    pool.wanted = n;
    pthread_mutex_unlock(&pool.mu);
    openblas_set_num_threads(1); /* BLAS calls are split over our pool instead (cpu_blas.c) */
}

void cpu_parallel_for(int n_tasks, CpuTaskFn fn, void *ctx) {
    if (n_tasks <= 0) return;
    int threads = cpu_threads();
    if (in_task || threads == 1 || n_tasks == 1) {
        for (int t = 0; t < n_tasks; t++) fn(ctx, t);
        return;
    }
    pthread_mutex_lock(&pool.mu);
    pool.fn = fn;
    pool.ctx = ctx;
    pool.n_tasks = n_tasks;
    atomic_store(&pool.next, 0);
    atomic_store(&pool.busy, threads - 1);
    atomic_fetch_add(&pool.generation, 1); /* publishes the job: the fields above are written before it */
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.mu);
    run_tasks();
    for (int i = 0; i < POOL_SPIN && atomic_load(&pool.busy) > 0; i++) spin_pause(i);
    if (atomic_load(&pool.busy) > 0) {
        pthread_mutex_lock(&pool.mu);
        while (atomic_load(&pool.busy) > 0) pthread_cond_wait(&pool.done, &pool.mu);
        pthread_mutex_unlock(&pool.mu);
    }
}
