/* test_inspect_damaged.c - `pure inspect` on damaged files (issue 12): a
 * file shaped like a real artifact (a dozen provenance attributes on the root,
 * so HDF5 keeps them in dense storage; a group with more links than fit
 * compact; ragged, string and nested datasets with attributes) gets one byte
 * flipped at a time (every other byte near content, text and JSON by turns).
 * Whatever the flip, inspect either prints exactly what it prints for the
 * intact file (the byte was padding) or exits 2 with a message naming the
 * file and prints nothing on stdout: never exit 0 with attributes or datasets
 * missing. artifact_verify must fail exactly when inspect does.
 * Under the sanitizers (PURE_SANITIZE) the flips in the dense group's heap
 * are also the regression for HDF5 1.10 freeing pointers it never set when it
 * sorts a damaged dense group by name (storage lists in native order).
 *
 * Speed (each flip opens and walks the file twice, about 10 ms of CPU under
 * the sanitizers): the flips run in up to 4 worker processes, and under the
 * sanitizers the interior of a metadata block that carries a valid checksum
 * is sampled (its first 24 bytes and its checksum byte by byte, then every
 * 32nd byte) instead of flipped every other byte. HDF5 verifies such a
 * block's checksum before it decodes it, so every interior byte takes one
 * path: the block fails to load. The fields it reads first to learn the
 * block's length sit in the prefix (at most 24 bytes in these blocks), which
 * is flipped in full; a length further in only makes HDF5 load another range,
 * whose checksum fails as well. Bytes outside checksummed blocks (the global
 * heap, the dense storage's heap blocks, raw data, free space) get the full
 * plan either way, and the normal build runs the full plan everywhere;
 * PURE_DAMAGED_FULL=1 forces it under the sanitizers too. */
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "storage/artifact.h"
#include "tests/check.h"
#include "tests/storage/inspect_run.h"
#include "tests/storage/tmpdir.h"
#include "util/fs.h"

static void make_file(const char *path) {
    PureErr e = {0};
    Artifact *a = artifact_create(path, &e);
    float x[16];
    for (int i = 0; i < 16; i++) x[i] = (float)i * 0.25f;
    int64_t d16 = 16, d3 = 3, offs[4] = {0, 2, 2, 5};
    int32_t tok[5] = {7, 8, 9, 10, 11};
    const char *text[3] = {"alpha", "", "ünïcödé ∑"};
    CHECK(artifact_write(a, "x", DT_F32, 1, &d16, x, &e) == 0);
    CHECK(artifact_set_attr_f64(a, "x", "scale", 0.5, &e) == 0);
    CHECK(artifact_write_ragged(a, "tokens", DT_I32, 3, offs, tok, &e) == 0);
    CHECK(artifact_write_strings(a, "text", 3, text, &e) == 0);
    for (int i = 0; i < 10; i++) { /* more links than a compact group holds */
        char name[32];
        int64_t v[3] = {i, i * 10, i * 100};
        snprintf(name, sizeof name, "metrics/m%02d", i);
        CHECK(artifact_write(a, name, DT_I64, 1, &d3, v, &e) == 0);
    }
    CHECK(artifact_set_attr_str(a, "metrics", "unit", "tokens", &e) == 0);
    for (int i = 0; i < 12; i++) { /* more attributes than an object header holds compact */
        char key[32], val[32];
        snprintf(key, sizeof key, "prov_%02d", i);
        snprintf(val, sizeof val, "value-%d", i * 7);
        if (i % 3 == 0) CHECK(artifact_set_attr_str(a, "/", key, val, &e) == 0);
        else if (i % 3 == 1) CHECK(artifact_set_attr_i64(a, "/", key, 1000 + i, &e) == 0);
        else CHECK(artifact_set_attr_f64(a, "/", key, 0.125 * i, &e) == 0);
    }
    CHECK(artifact_close(a, &e) == 0);
}

static int near_content(const char *b, size_t len, size_t i) {
    for (size_t k = i > 16 ? i - 16 : 0; k < len && k <= i + 16; k++)
        if (b[k]) return 1;
    return 0;
}

/* Jenkins' lookup3 hash ("hashlittle", initial value 0): HDF5's metadata
 * checksum, written here from the published description to find the blocks
 * that carry one. */
static uint32_t rot32(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

static uint32_t lookup3(const unsigned char *k, size_t n) {
    uint32_t a, b, c;
    a = b = c = 0xdeadbeefu + (uint32_t)n;
    for (; n > 12; n -= 12, k += 12) {
        a += k[0] | (uint32_t)k[1] << 8 | (uint32_t)k[2] << 16 | (uint32_t)k[3] << 24;
        b += k[4] | (uint32_t)k[5] << 8 | (uint32_t)k[6] << 16 | (uint32_t)k[7] << 24;
        c += k[8] | (uint32_t)k[9] << 8 | (uint32_t)k[10] << 16 | (uint32_t)k[11] << 24;
        a -= c, a ^= rot32(c, 4), c += b;
        b -= a, b ^= rot32(a, 6), a += c;
        c -= b, c ^= rot32(b, 8), b += a;
        a -= c, a ^= rot32(c, 16), c += b;
        b -= a, b ^= rot32(a, 19), a += c;
        c -= b, c ^= rot32(b, 4), b += a;
    }
    if (n == 0) return c;
    unsigned char t[12] = {0};
    memcpy(t, k, n);
    a += t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24;
    b += t[4] | (uint32_t)t[5] << 8 | (uint32_t)t[6] << 16 | (uint32_t)t[7] << 24;
    c += t[8] | (uint32_t)t[9] << 8 | (uint32_t)t[10] << 16 | (uint32_t)t[11] << 24;
    c ^= b, c -= rot32(b, 14);
    a ^= c, a -= rot32(c, 11);
    b ^= a, b -= rot32(a, 25);
    c ^= b, c -= rot32(b, 16);
    a ^= c, a -= rot32(c, 4);
    b ^= a, b -= rot32(a, 14);
    c ^= b, c -= rot32(b, 24);
    return c;
}

/* Finds every block that starts with a signature of HDF5's checksummed
 * metadata (or the superblock's) and ends with a valid checksum of what
 * precedes it (a block is at most 4 KB here) and marks its bytes in prot[]
 * (when not NULL); returns how many there are. A signature without a valid
 * checksum (a heap block written without one, the letters inside data) is no
 * block. */
static int find_checksummed(const unsigned char *b, size_t len, unsigned char *prot) {
    static const char *const sigs[] = {"OHDR", "OCHK", "BTHD", "BTIN", "BTLF", "FRHP", "FHIB", "FHDB",
                                       "FSHD", "FSSE", "SMTB", "SMLI", "\x89HDF"};
    int found = 0;
    for (size_t o = 0; o + 8 <= len; o++) {
        int sig = 0;
        for (size_t k = 0; k < sizeof sigs / sizeof sigs[0] && !sig; k++) sig = !memcmp(b + o, sigs[k], 4);
        if (!sig) continue;
        for (size_t e = o + 8; e <= len && e <= o + 4096; e++) {
            uint32_t want = b[e - 4] | (uint32_t)b[e - 3] << 8 | (uint32_t)b[e - 2] << 16 | (uint32_t)b[e - 1] << 24;
            if (lookup3(b + o, e - 4 - o) != want) continue;
            /* 1: an interior byte left out; 2: flipped (prefix, checksum, every 32nd) */
            for (size_t i = o; prot && i < e; i++) prot[i] = (i < o + 24 || i >= e - 4 || (i - o - 24) % 32 == 0) ? 2 : 1;
            found++;
            break;
        }
    }
    return found;
}

static void write_plain(const char *path, const char *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(data, 1, n, f);
    fclose(f);
}

/* What one worker found (summed by the parent). */
typedef struct Tally {
    int detected, harmless, silent, unnamed, partial, disagree, n, base_bad;
} Tally;

/* Worker k of nw: every nw-th flip of the plan, on its own copy of the file
 * (dir/k/damaged.h5: messages name the file, so the intact outputs are its own). */
static Tally run_flips(const char *dir, int k, int nw, const char *bytes, size_t len, const size_t *plan, int nplan) {
    Tally t = {0};
    char sub[300];
    snprintf(sub, sizeof sub, "%s/%d", dir, k);
    fs_mkdir_p(sub, NULL);
    char *dam = fs_join(sub, "damaged.h5");
    write_plain(dam, bytes, len);
    const char *targs[2] = {dam, NULL}, *jargs[3] = {"--json", dam, NULL};
    InspectRun base_t = inspect_run(sub, targs), base_j = inspect_run(sub, jargs);
    PureErr e0 = {0};
    t.base_bad = base_t.rc != 0 || base_j.rc != 0 || artifact_verify(dam, &e0) != 0 ||
                 !strstr(base_t.out, "prov_11=1.375") || !strstr(base_t.out, "metrics/m09") ||
                 !strstr(base_t.out, "unit=\"tokens\"");
    char *copy = malloc(len);
    for (int j = k; j < nplan; j += nw) {
        size_t i = plan[j];
        memcpy(copy, bytes, len);
        copy[i] ^= 0x5A;
        write_plain(dam, copy, len);
        t.n++;
        int json = j % 2; /* text and JSON modes by turns */
        InspectRun r = inspect_run(sub, json ? jargs : targs);
        const InspectRun *base = json ? &base_j : &base_t;
        PureErr ve = {0};
        int v = artifact_verify(dam, &ve);
        if (r.rc == 0) {
            if (r.out_len == base->out_len && memcmp(r.out, base->out, r.out_len) == 0) t.harmless++;
            else {
                t.silent++;
                if (t.silent <= 5) fprintf(stderr, "flip at byte %zu: exit 0 but the output differs:\n%s\n", i, r.out);
            }
        } else {
            t.detected++;
            if (!strstr(r.err, dam)) {
                t.unnamed++;
                fprintf(stderr, "flip at byte %zu: message without the file name: %s\n", i, r.err);
            }
            if (r.out_len) {
                t.partial++;
                if (t.partial <= 5)
                    fprintf(stderr, "flip at byte %zu: exit %d but stdout has %zu bytes\n", i, r.rc, r.out_len);
            }
        }
        if ((v < 0) != (r.rc != 0)) {
            t.disagree++;
            if (t.disagree <= 5)
                fprintf(stderr, "flip at byte %zu: inspect exit %d, artifact_verify %d (%s)\n%s", i, r.rc, v, ve.msg,
                        r.err);
        }
        inspect_run_free(&r);
    }
    free(copy);
    inspect_run_free(&base_t);
    inspect_run_free(&base_j);
    free(dam);
    return t;
}

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_SANITIZERS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_SANITIZERS 1
#endif
#endif
#ifndef UNDER_SANITIZERS
#define UNDER_SANITIZERS 0
#endif

int main(int argc, char **argv) {
    int max_flips = argc > 1 ? atoi(argv[1]) : 0; /* for timing experiments; 0: all */
    alarm(600); /* a hang inside HDF5 on a damaged file is a failure too */
    /* HDF5 keeps its freed blocks for reuse instead of returning them (a file
     * open clears a cache table of over 512 KB, which the sanitizer's
     * allocator would map afresh each time): its own memory, checked by no
     * sanitizer either way. */
    H5set_free_list_limits(-1, -1, -1, -1, -1, -1);
    char dir[256];
    if (tmpdir_make(dir, sizeof dir, "inspect-damaged")) return 1;
    char *orig = fs_join(dir, "orig.h5");
    make_file(orig);
    size_t len = 0;
    char *bytes = fs_read_file(orig, &len, NULL);
    CHECK(bytes && len > 1024);
    if (!bytes) return check_report("test_inspect_damaged");

    /* the plan: every other byte near content (fields are wider than two
     * bytes), zero runs every 16; under the sanitizers checksummed interiors sampled */
    const char *full = getenv("PURE_DAMAGED_FULL");
    int sample = UNDER_SANITIZERS && !(full && *full == '1');
    unsigned char *prot = calloc(len, 1);
    int blocks = find_checksummed((const unsigned char *)bytes, len, sample ? prot : NULL);
    CHECK(blocks >= 20); /* the superblock, object headers, B-tree and heap headers (else the plan is the full one) */
    size_t *plan = malloc(len * sizeof *plan);
    int nplan = 0, sampled_out = 0;
    for (size_t i = 0; i < len; i++)
        if (prot[i] == 2) plan[nplan++] = i; /* a prefix or checksum byte */
    for (size_t i = 0; i < len; i += near_content(bytes, len, i) ? 2 : 16) {
        if (prot[i] == 1) sampled_out++;
        else if (prot[i] != 2) plan[nplan++] = i;
    }
    if (max_flips && nplan > max_flips) nplan = max_flips;

    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int nw = cpus > 4 ? 4 : cpus < 1 ? 1 : (int)cpus;
    Tally sum = {0};
    pid_t pids[4];
    int fds[4];
    for (int k = 0; k < nw; k++) {
        int p[2];
        if (pipe(p)) return 1;
        fflush(stdout);
        fflush(stderr);
        pids[k] = fork();
        if (pids[k] == 0) { /* exit() rather than _exit(): the leak check runs in each worker */
            close(p[0]);
            Tally t = run_flips(dir, k, nw, bytes, len, plan, nplan);
            exit(write(p[1], &t, sizeof t) == (ssize_t)sizeof t ? 0 : 1);
        }
        close(p[1]);
        fds[k] = p[0];
    }
    int workers_ok = 1;
    for (int k = 0; k < nw; k++) {
        Tally t;
        int got = pids[k] > 0 && read(fds[k], &t, sizeof t) == (ssize_t)sizeof t;
        close(fds[k]);
        int st = 0;
        if (pids[k] > 0) waitpid(pids[k], &st, 0);
        if (!got || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "worker %d failed (status %d): a crash, a sanitizer report or a leak\n", k, st);
            workers_ok = 0;
            continue;
        }
        sum.detected += t.detected, sum.harmless += t.harmless, sum.silent += t.silent, sum.unnamed += t.unnamed;
        sum.partial += t.partial, sum.disagree += t.disagree, sum.n += t.n, sum.base_bad += t.base_bad;
    }
    printf("file %zu bytes, %d checksummed blocks, %d flips (%d interior bytes of checksummed blocks %s) in %d "
           "workers: %d detected, %d harmless, %d silent (exit 0, output differs), %d partial, %d verify "
           "disagreements\n",
           len, blocks, sum.n, sampled_out, sample ? "left out: sampled" : "included: full plan", nw, sum.detected,
           sum.harmless, sum.silent, sum.partial, sum.disagree);
    CHECK(workers_ok);
    CHECK(sum.base_bad == 0); /* the intact file inspects and verifies */
    CHECK(sum.n == nplan);
    CHECK(sum.silent == 0);
    CHECK(sum.unnamed == 0 && sum.partial == 0);
    CHECK(sum.disagree == 0);
    CHECK(sum.detected > sum.harmless); /* most flips near content are caught */
    free(plan);
    free(prot);
    free(bytes);
    int rc = check_report("test_inspect_damaged");
    if (rc == 0) fs_remove_all(dir, NULL);
    free(orig);
    return rc;
}
