/* model_test_util.h - helpers shared by the model tests: tiny configs,
 * random weights, and a raw dump folder that tests/model/torch_ref.py reads
 * (manifest.txt + one little-endian .bin file per array). */
#ifndef PURE_MODEL_TEST_UTIL_H
#define PURE_MODEL_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "model/model.h"
#include "util/fs.h"
#include "util/rng.h"

/* Overwrites every tensor with random values of a scale that makes logits
 * peaked (so greedy decoding is not decided by rounding): matrices normal(0,
 * wscale), biases normal(0, 0.1), norms 1 + normal(0, 0.1). */
static inline void mt_randomize(Model *m, uint64_t seed, float wscale) {
    for (int i = 0; i < model_tensor_count(m); i++) {
        int nd;
        int64_t sh[2];
        const char *name = model_tensor_info(m, i, &nd, sh);
        size_t n = (size_t)sh[0] * (nd == 2 ? (size_t)sh[1] : 1);
        float *buf = malloc(sizeof(float) * n);
        int is_norm = strstr(name, "norm") != NULL, is_bias = nd == 1 && !is_norm;
        for (size_t e = 0; e < n; e++) {
            float z = rng_normal(seed, (uint64_t)i, e);
            buf[e] = is_norm ? 1.0f + 0.1f * z : is_bias ? 0.1f * z : wscale * z;
        }
        model_set_tensor(m, name, buf, NULL);
        free(buf);
    }
}

typedef struct MtDump {
    char dir[512];
    FILE *manifest;
} MtDump;

static inline int mt_dump_open(MtDump *d, const char *dir) {
    snprintf(d->dir, sizeof d->dir, "%s", dir);
    fs_remove_all(dir, NULL);
    if (fs_mkdir_p(dir, NULL)) return -1;
    char p[600];
    snprintf(p, sizeof p, "%s/manifest.txt", dir);
    d->manifest = fopen(p, "w");
    return d->manifest ? 0 : -1;
}

/* Writes one array: manifest line "name dtype ndim d0 d1 ...". */
static inline void mt_dump(MtDump *d, const char *name, const char *dtype, const void *data, int ndim,
                           const int64_t *shape) {
    size_t n = 1;
    fprintf(d->manifest, "%s %s %d", name, dtype, ndim);
    for (int i = 0; i < ndim; i++) fprintf(d->manifest, " %lld", (long long)shape[i]), n *= (size_t)shape[i];
    fprintf(d->manifest, "\n");
    char p[700];
    snprintf(p, sizeof p, "%s/%s.bin", d->dir, name);
    FILE *f = fopen(p, "wb");
    if (f) {
        fwrite(data, 4, n, f);
        fclose(f);
    }
}

static inline void mt_dump_close(MtDump *d) {
    if (d->manifest) fclose(d->manifest);
    d->manifest = NULL;
}

/* Runs the PyTorch reference on a dump folder; returns its exit status, 77 if torch is missing. */
static inline int mt_run_reference(const char *script, const char *dir) {
    char cmd[1500];
    snprintf(cmd, sizeof cmd, "%s -c 'import torch' 2>/dev/null", PURE_PYTHON);
    if (system(cmd) != 0) return 77;
    snprintf(cmd, sizeof cmd, "%s %s/tests/model/%s %s", PURE_PYTHON, PURE_SOURCE_DIR, script, dir);
    int rc = system(cmd);
    return rc == -1 ? -1 : WEXITSTATUS(rc);
}

#endif
