/* runtime.c - process start-up for the engine: make OpenBLAS load its fast
 * kernels without the user setting anything.
 *
 * Debian's OpenBLAS may detect AVX-512 Xeons as "Prescott" and then runs
 * sgemm 5x slower. It reads OPENBLAS_CORETYPE only while the library loads,
 * before main(), so the fix is to set the variable and re-execute ourselves
 * once. PURE_NO_REEXEC=1 (or setting OPENBLAS_CORETYPE yourself) disables it.
 * cpu_blas.c then verifies the chosen kernels against a plain loop.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/model.h"

static int cpu_has_avx512(void) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
#else
    return 0;
#endif
}

void model_runtime_init(int argc, char **argv) {
    (void)argc;
    if (getenv("OPENBLAS_CORETYPE") || getenv("PURE_NO_REEXEC")) return;
    if (!cpu_has_avx512()) return;
    setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
    setenv("PURE_NO_REEXEC", "1", 1); /* never loop, even if exec'ing ourselves changes nothing */
    execv("/proc/self/exe", argv);
    /* exec failed (no /proc): carry on with whatever kernels were detected */
    unsetenv("PURE_NO_REEXEC");
}
