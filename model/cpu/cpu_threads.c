/* cpu_threads.c - a fixed pthread pool for the CPU backend's kernels.
 *
 * One job at a time: the caller publishes (fn, ctx, n_tasks), workers and the
 * caller take task indices from an atomic counter until none are left. Which
 * thread runs a task never matters because tasks write disjoint outputs.
 */
#include "cpu.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "util/log.h"

/* OpenBLAS's own thread control (declared here to avoid depending on its header layout). */
void openblas_set_num_threads(int n);

#define MAX_THREADS 64

static struct {
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    pthread_t tid[MAX_THREADS];
    int n_workers;      /* threads besides the caller */
    int wanted;         /* threads in use (caller included) */
    long generation;    /* bumped per job */
    int busy;           /* workers still inside the current job */
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
    pthread_mutex_lock(&pool.mu);
    for (;;) {
        while (pool.generation == seen) pthread_cond_wait(&pool.wake, &pool.mu);
        seen = pool.generation;
        if (idx + 1 >= pool.wanted) continue; /* not in use at this thread count */
        pthread_mutex_unlock(&pool.mu);
        run_tasks();
        pthread_mutex_lock(&pool.mu);
        if (--pool.busy == 0) pthread_cond_signal(&pool.done);
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
    pool.busy = threads - 1;
    pool.generation++;
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.mu);
    run_tasks();
    pthread_mutex_lock(&pool.mu);
    while (pool.busy > 0) pthread_cond_wait(&pool.done, &pool.mu);
    pthread_mutex_unlock(&pool.mu);
}
