/* filehash.c - content hashes of the files a stage reads (PT_PATH parameters).
 *
 * A file's SHA-256 enters its stage's fingerprint, and fingerprints are
 * computed by every `pure run` and `pure status`. Hashing a 1 GB checkpoint
 * each time would make status slow, so hashes of files of 1 MiB and more are
 * kept in a cache keyed by path, size, mtime and inode: $PURE_CACHE_DIR or
 * $XDG_CACHE_HOME/pure or ~/.cache/pure, file filehash.tsv. Rewriting a file
 * changes its mtime, so a stale entry is never used. A directory's hash
 * combines its files' relative paths and hashes in name order.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runner/spec.h"
#include "util/fs.h"
#include "util/hash.h"

#define CACHE_MIN_BYTES (1 << 20)

typedef struct HashEntry {
    char *path;
    long long size, mtime_ns, ino;
    char hex[65];
} HashEntry;

static HashEntry *g_hashes; /* this process's hashes, then the persistent cache's */
static int g_nhashes, g_loaded;

static char *cache_file(void) {
    const char *d = getenv("PURE_CACHE_DIR");
    char buf[4096];
    if (d && *d) snprintf(buf, sizeof buf, "%s", d);
    else if ((d = getenv("XDG_CACHE_HOME")) && *d) snprintf(buf, sizeof buf, "%s/pure", d);
    else if ((d = getenv("HOME")) && *d) snprintf(buf, sizeof buf, "%s/.cache/pure", d);
    else return NULL;
    return fs_join(buf, "filehash.tsv");
}

static void remember(const char *path, const struct stat *st, const char *hex) {
    g_hashes = xrealloc(g_hashes, (size_t)(g_nhashes + 1) * sizeof *g_hashes);
    HashEntry *e = &g_hashes[g_nhashes++];
    e->path = xstrdup(path);
    e->size = (long long)st->st_size;
    e->mtime_ns = (long long)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
    e->ino = (long long)st->st_ino;
    memcpy(e->hex, hex, 65);
}

/* Lines: size TAB mtime_ns TAB inode TAB sha256 TAB path */
static void load_cache(void) {
    g_loaded = 1;
    char *path = cache_file();
    char *text = path ? fs_read_file(path, NULL, NULL) : NULL;
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        long long size, mt, ino;
        char hex[65];
        int off = 0;
        if (sscanf(line, "%lld\t%lld\t%lld\t%64s\t%n", &size, &mt, &ino, hex, &off) == 4 && off > 0) {
            struct stat st = {0};
            st.st_size = size;
            st.st_mtim.tv_sec = mt / 1000000000LL;
            st.st_mtim.tv_nsec = mt % 1000000000LL;
            st.st_ino = (ino_t)ino;
            remember(line + off, &st, hex);
        }
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    free(path);
}

static void save_entry(const HashEntry *e) {
    char *path = cache_file();
    if (!path) return;
    char *dir = fs_dirname(path);
    FILE *f = fs_mkdir_p(dir, NULL) == 0 ? fopen(path, "a") : NULL;
    /* best effort: a cache that cannot be written only costs time */
    if (f) {
        fprintf(f, "%lld\t%lld\t%lld\t%s\t%s\n", e->size, e->mtime_ns, e->ino, e->hex, e->path);
        fclose(f);
    }
    free(dir);
    free(path);
}

static int hash_file(const char *path, char hex[65], PureErr *err) {
    struct stat st;
    if (stat(path, &st) != 0) return err_set(err, "%s: %s", path, strerror(errno));
    /* a device or FIFO (/dev/zero, a pipe) would be read forever */
    if (!S_ISREG(st.st_mode)) return err_set(err, "%s: not a regular file or directory", path);
    if (!g_loaded) load_cache();
    long long mt = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
    for (int i = g_nhashes - 1; i >= 0; i--) {
        const HashEntry *e = &g_hashes[i];
        if (e->size == (long long)st.st_size && e->mtime_ns == mt && e->ino == (long long)st.st_ino &&
            !strcmp(e->path, path)) {
            memcpy(hex, e->hex, 65);
            return 0;
        }
    }
    if (sha256_file_hex(path, hex) != 0) return err_set(err, "%s: cannot read: %s", path, strerror(errno));
    remember(path, &st, hex);
    if (st.st_size >= CACHE_MIN_BYTES) save_entry(&g_hashes[g_nhashes - 1]);
    return 0;
}

static int hash_tree(const char *path, const char *rel, Sha256 *acc, PureErr *err);

static int hash_dir(const char *path, const char *rel, Sha256 *acc, PureErr *err) {
    struct dirent **ents;
    int n = scandir(path, &ents, NULL, alphasort);
    if (n < 0) return err_set(err, "%s: cannot list directory: %s", path, strerror(errno));
    int rc = 0;
    for (int i = 0; i < n; i++) {
        const char *nm = ents[i]->d_name;
        if (!rc && strcmp(nm, ".") && strcmp(nm, "..")) {
            char *p = fs_join(path, nm);
            char *r = rel[0] ? fs_join(rel, nm) : xstrdup(nm);
            rc = hash_tree(p, r, acc, err);
            free(p);
            free(r);
        }
        free(ents[i]);
    }
    free(ents);
    return rc;
}

static int hash_tree(const char *path, const char *rel, Sha256 *acc, PureErr *err) {
    if (fs_is_dir(path)) return hash_dir(path, rel, acc, err);
    char hex[65];
    if (hash_file(path, hex, err)) return -1;
    sha256_update(acc, rel, strlen(rel) + 1);
    sha256_update(acc, hex, 64);
    return 0;
}

int spec_hash_path(const char *path, char hex[65], PureErr *err) {
    if (!fs_is_dir(path)) return hash_file(path, hex, err);
    Sha256 s;
    uint8_t d[32];
    sha256_init(&s);
    if (hash_dir(path, "", &s, err)) return -1;
    sha256_final(&s, d);
    sha256_to_hex(d, hex);
    return 0;
}
