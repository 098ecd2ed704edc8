/* shard.c - see shard.h. */
#include "stages/common/shard.h"

#include <stdlib.h>
#include <string.h>

#include "util/dist.h"

void shard_rows(int64_t n, int64_t unit, int64_t *lo, int64_t *hi) {
    if (unit < 1) unit = 1;
    int64_t units = (n + unit - 1) / unit, ulo, uhi;
    dist_block(units, dist_rank(), dist_size(), &ulo, &uhi);
    *lo = ulo * unit < n ? ulo * unit : n;
    *hi = uhi * unit < n ? uhi * unit : n;
}

int64_t shard_unit(int64_t a, int64_t b, int64_t n) {
    int64_t x = a, y = b;
    while (y) {
        int64_t t = x % y;
        x = y, y = t;
    }
    int64_t l = x ? a / x * b : 1;
    return l < n && l > 0 ? l : (n > 0 ? n : 1);
}

int shard_is_writer(void) { return dist_rank() == 0; }
int shard_ranks(void) { return dist_size(); }

void shard_put(ShardBuf *b, const void *data, size_t bytes) {
    if (b->n + bytes > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + bytes) cap *= 2;
        b->p = xrealloc(b->p, cap);
        b->cap = cap;
    }
    if (bytes) memcpy(b->p + b->n, data, bytes);
    b->n += bytes;
}

void shard_put_i32(ShardBuf *b, int32_t v) { shard_put(b, &v, sizeof v); }

int shard_get(ShardBuf *b, void *out, size_t bytes, PureErr *err) {
    if (b->pos + bytes > b->n)
        return err_set(err, "shard: gathered results end after %zu of %zu bytes (the ranks packed different rows)",
                       b->n, b->pos + bytes);
    if (bytes) memcpy(out, b->p + b->pos, bytes);
    b->pos += bytes;
    return 0;
}

int shard_get_i32(ShardBuf *b, int32_t *v, PureErr *err) { return shard_get(b, v, sizeof *v, err); }

int shard_gather(const ShardBuf *mine, ShardBuf *all, PureErr *err) {
    size_t *lens = xcalloc((size_t)dist_size(), sizeof *lens);
    void *out = NULL;
    int rc = dist_gather_bytes(mine->p ? mine->p : "", mine->n, &out, lens, err);
    memset(all, 0, sizeof *all);
    if (!rc && out) {
        size_t total = 0;
        for (int k = 0; k < dist_size(); k++) total += lens[k];
        all->p = out;
        all->n = all->cap = total;
    }
    free(lens);
    return rc;
}

void shard_free(ShardBuf *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}
