/* test_tfevents.c - CRC-32C against its published check value and the
 * record framing of util/tfevents.c against bytes worked out by hand from the
 * TFRecord and protobuf descriptions (tests/report/tfevents.sh reads whole
 * files with an independent reader). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/check.h"
#include "util/fs.h"
#include "util/tfevents.h"

int main(void) {
    /* the CRC-32C check value (RFC 3720, B.4: "123456789" -> 0xE3069283) and an RFC 3720 test vector */
    CHECK(crc32c("123456789", 9) == 0xE3069283u);
    unsigned char zeros[32] = {0};
    CHECK(crc32c(zeros, 32) == 0x8A9136AAu);
    uint32_t c = crc32c("", 0);
    CHECK(c == 0);
    CHECK(crc32c_masked("", 0) == (((c >> 15) | (c << 17)) + 0xa282ead8u));

    char tmpl[] = "/tmp/pure_tfevents_XXXXXX";
    char *tmp = mkdtemp(tmpl);
    char *path = fs_join(tmp, "events.out.tfevents.1.test");
    PureErr err = {0};
    TfWriter w;
    CHECK(tf_open(&w, path, 1, 0.0, &err) == 0);
    CHECK(tf_scalar(&w, "a/b", 3, 0.0, 1.0f, &err) == 0);
    CHECK(tf_close(&w, &err) == 0);
    size_t n = 0;
    unsigned char *d = (unsigned char *)fs_read_file(path, &n, &err);
    /* record 1: Event{wall_time=0 (09 + 8 zero bytes), file_version (1a 0d "brain.Event:2")}: 24 bytes */
    static const unsigned char ev1[] = {0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0x1a, 13, 'b', 'r', 'a', 'i', 'n', '.',
                                        'E', 'v', 'e', 'n', 't', ':', '2'};
    /* record 2: Event{wall_time=0, step=3 (10 03), summary (2a 0c){value (0a 0a){tag (0a 03 "a/b"),
       simple_value (15 + f32 1.0 = 00 00 80 3f)}}} */
    static const unsigned char ev2[] = {0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 3, 0x2a, 12, 0x0a, 10,
                                        0x0a, 3, 'a', '/', 'b', 0x15, 0, 0, 0x80, 0x3f};
    CHECK(d && n == 12 + sizeof ev1 + 4 + 12 + sizeof ev2 + 4);
    if (d && n == 12 + sizeof ev1 + 4 + 12 + sizeof ev2 + 4) {
        CHECK(d[0] == sizeof ev1 && !memcmp(d + 1, "\0\0\0\0\0\0\0", 7));
        uint32_t hc = (uint32_t)d[8] | (uint32_t)d[9] << 8 | (uint32_t)d[10] << 16 | (uint32_t)d[11] << 24;
        CHECK(hc == crc32c_masked(d, 8));
        CHECK(!memcmp(d + 12, ev1, sizeof ev1));
        const unsigned char *t = d + 12 + sizeof ev1;
        uint32_t dc = (uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24;
        CHECK(dc == crc32c_masked(ev1, sizeof ev1));
        const unsigned char *r2 = t + 4;
        CHECK(r2[0] == sizeof ev2);
        CHECK(!memcmp(r2 + 12, ev2, sizeof ev2));
    }
    free(d);
    /* appending adds records without a second version record */
    CHECK(tf_open(&w, path, 0, 0.0, &err) == 0);
    CHECK(tf_scalar(&w, "a/b", 4, 0.0, 2.0f, &err) == 0);
    CHECK(tf_close(&w, &err) == 0);
    size_t n2 = 0;
    free(fs_read_file(path, &n2, &err));
    CHECK(n2 == n + 12 + sizeof ev2 + 4);
    /* errors name the file */
    CHECK(tf_open(&w, "/nonexistent/dir/events.out.tfevents.x", 1, 0.0, &err) == -1);
    CHECK(strstr(err.msg, "/nonexistent/dir/events.out.tfevents.x: cannot open for writing") != NULL);
    remove(path);
    rmdir(tmp);
    free(path);
    return check_report("test_tfevents");
}
