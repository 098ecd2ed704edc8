/* tok_bytelevel.c - the GPT-2 byte-level alphabet (each of the 256 bytes as a
 * printable code point) used by tokenizer.json vocabularies, and conversions
 * between vocab strings and raw bytes. */
#include <pthread.h>
#include <string.h>
#include "tok_internal.h"

/* Printable Latin-1 bytes stand for themselves; the other 68 bytes are moved,
 * in order, to U+0100 and up. */
static int byte_is_printable(unsigned b) {
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

uint32_t bytelevel_char(uint8_t b) {
    if (byte_is_printable(b)) return b;
    unsigned k = 0;  /* rank of b among the non-printable bytes */
    for (unsigned x = 0; x < b; x++) k += !byte_is_printable(x);
    return 0x100 + k;
}

int bytelevel_byte(uint32_t cp) {
    if (cp < 0x100) return byte_is_printable(cp) ? (int)cp : -1;
    if (cp >= 0x100 + 68) return -1;
    unsigned k = cp - 0x100;
    for (unsigned x = 0; x < 256; x++)
        if (!byte_is_printable(x) && k-- == 0) return (int)x;
    return -1;
}

static size_t put_utf8(uint32_t cp, char *out) {
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;  /* the alphabet stays below U+0800 */
}

size_t bytelevel_encode(const char *raw, size_t n, char *out) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += put_utf8(bytelevel_char((uint8_t)raw[i]), out + k);
    return k;
}

/* Table for the hot path of decoding vocab strings at load (300k strings). */
static int16_t char_byte[0x100 + 68];
static pthread_once_t char_byte_once = PTHREAD_ONCE_INIT;

static void char_byte_init(void) {
    for (uint32_t cp = 0; cp < 0x100 + 68; cp++) char_byte[cp] = (int16_t)bytelevel_byte(cp);
}

size_t bytelevel_decode(const char *s, size_t n, char *out) {
    pthread_once(&char_byte_once, char_byte_init);
    const unsigned char *u = (const unsigned char *)s;
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        if (u[i] < 0x80) { cp = u[i]; i += 1; }
        else if ((u[i] & 0xE0) == 0xC0 && i + 1 < n && (u[i + 1] & 0xC0) == 0x80) {
            cp = ((uint32_t)(u[i] & 0x1F) << 6) | (u[i + 1] & 0x3F);
            i += 2;
        } else goto verbatim;
        if (cp >= 0x100 + 68 || char_byte[cp] < 0) goto verbatim;
        out[k++] = (char)char_byte[cp];
    }
    return k;
verbatim:
    memcpy(out, s, n);
    return n;
}
