/* hash.h - SHA-256 for fingerprints and artifact checksums.
 * Incremental (init/update/final) so large files hash in bounded memory. */
#ifndef PURE_HASH_H
#define PURE_HASH_H

#include <stddef.h>
#include <stdint.h>

typedef struct Sha256 {
    uint32_t h[8];
    uint64_t nbytes;
    uint8_t buf[64];
    size_t nbuf;
} Sha256;

void sha256_init(Sha256 *s);
void sha256_update(Sha256 *s, const void *data, size_t n);
void sha256_final(Sha256 *s, uint8_t out[32]);
/* One-shot helpers; hex is 64 chars + NUL. */
void sha256_hex(const void *data, size_t n, char hex[65]);
void sha256_to_hex(const uint8_t digest[32], char hex[65]);
/* Hash a whole file's bytes; -1 if it cannot be read. */
int sha256_file_hex(const char *path, char hex[65]);

#endif
