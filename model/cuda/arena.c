/* arena.c - the device memory arena: a caching allocator over a raw
 * allocator (cudaMalloc in the backend, malloc in the tests). See cuda.h. */
#include "cuda.h"

#include <stdio.h>
#include <stdlib.h>

#include "util/err.h"

#define MIB (1024.0 * 1024.0)

void cu_arena_init(CuArena *a, void *(*raw_alloc)(size_t), void (*raw_free)(void *),
                   int (*mem_info)(size_t *, size_t *)) {
    *a = (CuArena){.raw_alloc = raw_alloc, .raw_free = raw_free, .mem_info = mem_info};
}

size_t cu_arena_round(size_t bytes) {
    size_t g = bytes < ((size_t)1 << 20) ? 512 : ((size_t)2 << 20);
    if (bytes == 0) bytes = 1;
    return (bytes + g - 1) / g * g;
}

/* best fit among free blocks no larger than twice the request */
static int find_free(const CuArena *a, size_t size) {
    int best = -1;
    for (int i = 0; i < a->n; i++) {
        const CuBlock *b = &a->blocks[i];
        if (b->used || b->size < size || b->size > 2 * size) continue;
        if (best < 0 || b->size < a->blocks[best].size) best = i;
    }
    return best;
}

static void note_peak(CuArena *a) {
    if (a->in_use + a->cached > a->peak) a->peak = a->in_use + a->cached;
    if (a->in_use > a->peak_in_use) a->peak_in_use = a->in_use;
}

void *cu_arena_alloc(CuArena *a, size_t bytes, PureErr *err) {
    size_t size = cu_arena_round(bytes);
    int i = find_free(a, size);
    if (i >= 0) {
        a->blocks[i].used = 1;
        a->cached -= a->blocks[i].size;
        a->in_use += a->blocks[i].size;
        note_peak(a);
        return a->blocks[i].p;
    }
    void *p = a->raw_alloc(size);
    if (!p && a->cached) { /* fragmentation: give the cache back and try once more */
        cu_arena_trim(a);
        p = a->raw_alloc(size);
    }
    if (!p) {
        size_t fr = 0, tot = 0;
        char dev[128] = "";
        if (a->mem_info && a->mem_info(&fr, &tot) == 0)
            snprintf(dev, sizeof dev, "; the device reports %.1f MiB free of %.1f MiB", fr / MIB, tot / MIB);
        err_set(err,
                "out of device memory: asked for %zu bytes (%.1f MiB); pure holds %.1f MiB in use in %d blocks "
                "(peak %.1f MiB)%s; use a smaller batch or sequence length",
                bytes, size / MIB, a->in_use / MIB, a->n, a->peak / MIB, dev);
        return NULL;
    }
    if (a->n == a->cap) {
        a->cap = a->cap ? 2 * a->cap : 64;
        a->blocks = xrealloc(a->blocks, sizeof(CuBlock) * a->cap);
    }
    a->blocks[a->n++] = (CuBlock){p, size, 1};
    a->in_use += size;
    note_peak(a);
    return p;
}

int cu_arena_release(CuArena *a, void *p) {
    if (!p) return 0;
    for (int i = a->n - 1; i >= 0; i--) {
        CuBlock *b = &a->blocks[i];
        if (b->p != p) continue;
        if (!b->used) return -1; /* double free */
        b->used = 0;
        a->in_use -= b->size;
        a->cached += b->size;
        return 0;
    }
    return -1;
}

void cu_arena_trim(CuArena *a) {
    int k = 0;
    for (int i = 0; i < a->n; i++) {
        if (a->blocks[i].used) {
            a->blocks[k++] = a->blocks[i];
        } else {
            a->raw_free(a->blocks[i].p);
            a->cached -= a->blocks[i].size;
        }
    }
    a->n = k;
}

void cu_arena_free(CuArena *a) {
    for (int i = 0; i < a->n; i++) a->raw_free(a->blocks[i].p);
    free(a->blocks);
    *a = (CuArena){.raw_alloc = a->raw_alloc, .raw_free = a->raw_free, .mem_info = a->mem_info};
}
