/* fs.c - file-system helpers (POSIX). */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *fs_read_file(const char *path, size_t *len, PureErr *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        err_set(err, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    /* only regular files: a device or FIFO (/dev/zero, a pipe) would be read
       forever, a directory not at all */
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        err_set(err, "%s: not a regular file", path);
        fclose(f);
        return NULL;
    }
    size_t cap = 1 << 16, n = 0, got;
    char *buf = xmalloc(cap + 1);
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            buf = xrealloc(buf, cap + 1);
        }
    }
    if (ferror(f)) {
        err_set(err, "%s: read error: %s", path, strerror(errno));
        fclose(f);
        free(buf);
        return NULL;
    }
    fclose(f);
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

int fs_fsync_path(const char *path, PureErr *err) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return err_set(err, "%s: cannot open for fsync: %s", path, strerror(errno));
    int rc = fsync(fd);
    /* some file systems refuse fsync on directories; that is not data loss */
    if (rc != 0 && errno != EINVAL && errno != EBADF) {
        int e = errno;
        close(fd);
        return err_set(err, "%s: fsync failed: %s", path, strerror(e));
    }
    close(fd);
    return 0;
}

char *fs_dirname(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return xstrdup(".");
    if (slash == path) return xstrdup("/");
    size_t n = (size_t)(slash - path);
    char *d = xmalloc(n + 1);
    memcpy(d, path, n);
    d[n] = '\0';
    return d;
}

char *fs_stem(const char *path) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    char *s = xmalloc(n + 1);
    memcpy(s, base, n);
    s[n] = '\0';
    return s;
}

int fs_fsync_parent(const char *path, PureErr *err) {
    char *dir = fs_dirname(path);
    int rc = fs_fsync_path(dir, err);
    free(dir);
    return rc;
}

int fs_rename_durable(const char *from, const char *to, PureErr *err) {
    if (rename(from, to) != 0) return err_set(err, "cannot rename %s to %s: %s", from, to, strerror(errno));
    return fs_fsync_parent(to, err);
}

int fs_write_atomic(const char *path, const void *data, size_t len, PureErr *err) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return err_set(err, "%s: cannot create: %s", tmp, strerror(errno));
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            close(fd);
            unlink(tmp);
            return err_set(err, "%s: write failed: %s", path, strerror(e));
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return err_set(err, "%s: fsync failed: %s", path, strerror(e));
    }
    if (close(fd) != 0) {
        unlink(tmp);
        return err_set(err, "%s: close failed: %s", path, strerror(errno));
    }
    if (fs_rename_durable(tmp, path, err) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

int fs_mkdir_p(const char *path, PureErr *err) {
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return err_set(err, "bad directory path '%s'", path);
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return err_set(err, "%s: cannot create directory: %s", buf, strerror(errno));
            buf[i] = c;
        }
    }
    if (!fs_is_dir(path)) return err_set(err, "%s: exists and is not a directory", path);
    return 0;
}

static int remove_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb; (void)flag; (void)ftw;
    return remove(p);
}

int fs_remove_all(const char *path, PureErr *err) {
    struct stat st;
    if (lstat(path, &st) != 0) return 0;
    if (nftw(path, remove_cb, 16, FTW_DEPTH | FTW_PHYS) != 0)
        return err_set(err, "%s: cannot remove: %s", path, strerror(errno));
    return 0;
}

int fs_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

int fs_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

char *fs_join(const char *a, const char *b) {
    size_t na = strlen(a), nb = strlen(b);
    int slash = na > 0 && a[na - 1] != '/';
    char *r = xmalloc(na + nb + 2);
    memcpy(r, a, na);
    if (slash) r[na] = '/';
    memcpy(r + na + slash, b, nb + 1);
    return r;
}
