/* test_util.c - util/: SHA-256 known answers, Philox determinism, atomic writes, JSON positions. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tests/check.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/json.h"
#include "util/rng.h"

static void test_sha256(void) {
    char hex[65];
    sha256_hex("", 0, hex);
    CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sha256_hex("abc", 3, hex);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256_hex(m, strlen(m), hex);
    CHECK_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* incremental == one-shot across block boundaries */
    char big[1000];
    for (int i = 0; i < 1000; i++) big[i] = (char)(i * 7);
    char a[65], b[65];
    sha256_hex(big, sizeof big, a);
    Sha256 s; uint8_t d[32];
    sha256_init(&s);
    for (int i = 0; i < 1000; i += 37) sha256_update(&s, big + i, i + 37 > 1000 ? 1000 - i : 37);
    sha256_final(&s, d);
    sha256_to_hex(d, b);
    CHECK_STR(a, b);
}

static void test_rng(void) {
    /* pure function of (seed, stream, counter) */
    CHECK(rng_uniform(1, 2, 3) == rng_uniform(1, 2, 3));
    CHECK(rng_uniform(1, 2, 3) != rng_uniform(1, 2, 4));
    CHECK(rng_uniform(1, 2, 3) != rng_uniform(1, 3, 3));
    double sum = 0, sq = 0;
    int n = 100000;
    for (int i = 0; i < n; i++) {
        float u = rng_uniform(42, 0, (uint64_t)i);
        CHECK(u >= 0.0f && u < 1.0f);
        float z = rng_normal(42, 1, (uint64_t)i);
        sum += z;
        sq += (double)z * z;
    }
    CHECK(fabs(sum / n) < 0.02);
    CHECK(fabs(sq / n - 1.0) < 0.03);
    CHECK(rng_derive(1, "a") != rng_derive(1, "b"));
    CHECK(rng_derive(1, "a") == rng_derive(1, "a"));
}

static void test_fs_json(void) {
    PureErr err; err_clear(&err);
    char dir[] = "/tmp/pure_test_util_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char *sub = fs_join(dir, "a/b/c");
    CHECK(fs_mkdir_p(sub, &err) == 0);
    char *file = fs_join(sub, "x.json");
    const char *txt = "{\n  \"a\": 1,\n  \"b\": [1, 2,, 3]\n}\n";
    CHECK(fs_write_atomic(file, txt, strlen(txt), &err) == 0);
    size_t len;
    char *back = fs_read_file(file, &len, &err);
    CHECK(back && len == strlen(txt) && !memcmp(back, txt, len));
    cJSON *j = json_parse_file(file, &err);
    CHECK(j == NULL);
    CHECK(strstr(err.msg, ":3:") != NULL); /* the error is on line 3 */
    CHECK(strstr(err.msg, "x.json") != NULL);
    char *stem = fs_stem("/x/y/quickstart.yaml");
    CHECK_STR(stem, "quickstart");
    CHECK(fs_remove_all(dir, &err) == 0);
    CHECK(!fs_exists(dir));
    free(back); free(file); free(sub); free(stem);
}

/* hostile JSON and files (issue 12): trailing data, duplicate keys, devices */
static void test_json_strict(void) {
    PureErr err;
    const char *ok = "{\"a\": [1, {\"b\": 2, \"c\": 3}]}\n \t\r\n";
    err_clear(&err);
    cJSON *j = json_parse(ok, strlen(ok), "ok.json", &err);
    CHECK(j != NULL);
    cJSON_Delete(j);
    const char *trailing = "{\"a\": 1}\n{\"a\": 2}\n";
    err_clear(&err);
    CHECK(json_parse(trailing, strlen(trailing), "t.json", &err) == NULL);
    CHECK(strstr(err.msg, "t.json:2:1: unexpected data after the JSON value") != NULL);
    const char *garbage = "[1, 2] x";
    err_clear(&err);
    CHECK(json_parse(garbage, strlen(garbage), "g.json", &err) == NULL);
    CHECK(strstr(err.msg, "g.json:1:8:") != NULL);
    const char *dup = "{\"a\": [1, {\"b\": 2, \"c\": 3, \"b\": 4}]}";
    err_clear(&err);
    CHECK(json_parse(dup, strlen(dup), "d.json", &err) == NULL);
    CHECK(strstr(err.msg, "d.json: duplicate key \"b\" in the object at $.a[1]") != NULL);
    const char *dup_top = "{\"x\": 1, \"x\": 1}";
    err_clear(&err);
    CHECK(json_parse(dup_top, strlen(dup_top), "d.json", &err) == NULL);
    CHECK(strstr(err.msg, "duplicate key \"x\" in the object at $") != NULL);
    /* the same key in sibling objects is fine */
    const char *sib = "[{\"k\": 1}, {\"k\": 2}]";
    err_clear(&err);
    j = json_parse(sib, strlen(sib), "s.json", &err);
    CHECK(j != NULL);
    cJSON_Delete(j);
    /* devices and FIFOs are refused instead of read forever */
    err_clear(&err);
    CHECK(fs_read_file("/dev/zero", NULL, &err) == NULL);
    CHECK(strstr(err.msg, "/dev/zero: not a regular file") != NULL);
}

int main(void) {
    test_sha256();
    test_rng();
    test_fs_json();
    test_json_strict();
    return check_report("test_util");
}
