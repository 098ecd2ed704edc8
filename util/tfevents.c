/* tfevents.c - TFRecord framing and the few protocol-buffer fields of a
 * scalar tensorflow.Event (see tfevents.h). Written from the format's
 * description: protobuf wire types 1 (64-bit), 0 (varint), 2 (length-
 * delimited) and 5 (32-bit), little-endian. */
#include "util/tfevents.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- CRC-32C */

static uint32_t crc_table[256];
static int crc_ready;

static void crc_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1; /* reflected Castagnoli polynomial */
        crc_table[i] = c;
    }
    crc_ready = 1;
}

uint32_t crc32c(const void *data, size_t n) {
    if (!crc_ready) crc_init();
    const unsigned char *p = data;
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

uint32_t crc32c_masked(const void *data, size_t n) {
    uint32_t c = crc32c(data, n);
    return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

/* ---------------------------------------------------------------- protobuf */

typedef struct Buf {
    unsigned char b[1024];
    size_t n;
} Buf;

static void put(Buf *b, const void *p, size_t n) {
    if (b->n + n > sizeof b->b) n = 0; /* callers size tags below the limit */
    memcpy(b->b + b->n, p, n);
    b->n += n;
}

static void varint(Buf *b, uint64_t v) {
    do {
        unsigned char c = v & 0x7F;
        v >>= 7;
        if (v) c |= 0x80;
        put(b, &c, 1);
    } while (v);
}

static void le(Buf *b, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; i++) {
        unsigned char c = (unsigned char)(v >> (8 * i));
        put(b, &c, 1);
    }
}

static void field_bytes(Buf *b, int field, const void *p, size_t n) {
    varint(b, (uint64_t)field << 3 | 2);
    varint(b, n);
    put(b, p, n);
}

static void field_double(Buf *b, int field, double v) {
    uint64_t u;
    memcpy(&u, &v, 8);
    varint(b, (uint64_t)field << 3 | 1);
    le(b, u, 8);
}

static void field_float(Buf *b, int field, float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    varint(b, (uint64_t)field << 3 | 5);
    le(b, u, 4);
}

/* ---------------------------------------------------------------- records */

static int write_record(TfWriter *w, const Buf *data, PureErr *err) {
    unsigned char head[12];
    uint64_t len = data->n;
    for (int i = 0; i < 8; i++) head[i] = (unsigned char)(len >> (8 * i));
    uint32_t hc = crc32c_masked(head, 8), dc = crc32c_masked(data->b, data->n);
    for (int i = 0; i < 4; i++) head[8 + i] = (unsigned char)(hc >> (8 * i));
    unsigned char tail[4];
    for (int i = 0; i < 4; i++) tail[i] = (unsigned char)(dc >> (8 * i));
    if (fwrite(head, 1, 12, w->f) != 12 || fwrite(data->b, 1, data->n, w->f) != data->n || fwrite(tail, 1, 4, w->f) != 4)
        return err_set(err, "%s: cannot write: %s", w->path, strerror(errno));
    return 0;
}

int tf_open(TfWriter *w, const char *path, int truncate, double wall_time, PureErr *err) {
    memset(w, 0, sizeof *w);
    w->f = fopen(path, truncate ? "wb" : "ab");
    if (!w->f) return err_set(err, "%s: cannot open for writing: %s", path, strerror(errno));
    w->path = xstrdup(path);
    if (!truncate) return 0;
    Buf b = {.n = 0};
    field_double(&b, 1, wall_time);
    static const char version[] = "brain.Event:2";
    field_bytes(&b, 3, version, sizeof version - 1);
    if (write_record(w, &b, err)) {
        tf_close(w, NULL);
        return -1;
    }
    return 0;
}

int tf_scalar(TfWriter *w, const char *tag, int64_t step, double wall_time, float value, PureErr *err) {
    size_t tl = strlen(tag);
    if (tl > 512) return err_set(err, "%s: scalar tag longer than 512 bytes: '%.40s...'", w->path, tag);
    Buf val = {.n = 0}, sum = {.n = 0}, ev = {.n = 0};
    field_bytes(&val, 1, tag, tl);
    field_float(&val, 2, value);
    field_bytes(&sum, 1, val.b, val.n);
    field_double(&ev, 1, wall_time);
    varint(&ev, 2 << 3 | 0);
    varint(&ev, (uint64_t)step);
    field_bytes(&ev, 5, sum.b, sum.n);
    return write_record(w, &ev, err);
}

int tf_close(TfWriter *w, PureErr *err) {
    int rc = 0;
    if (w->f && fclose(w->f) != 0) rc = err_set(err, "%s: cannot write: %s", w->path, strerror(errno));
    free(w->path);
    memset(w, 0, sizeof *w);
    return rc;
}
