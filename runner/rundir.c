/* rundir.c - run directory lock, done records, output description and checks. */
#include "runner/rundir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs.h"
#include "util/hash.h"
#include "util/json.h"

/* ---------------------------------------------------------------- lock */

static long read_pid(const char *path) {
    char *t = fs_read_file(path, NULL, NULL);
    long pid = t ? strtol(t, NULL, 10) : 0;
    free(t);
    return pid;
}

/* The lock is a flock() on the run directory itself, not on a file in it:
 * deleting RUN/lock (or any file) during a run cannot let a second run in,
 * since the directory cannot go while it holds the run's files. RUN/lock
 * only records the holder's pid for messages. flock() is local to one
 * machine on NFS-like shared filesystems (docs/pipeline-spec.md). */
int rundir_lock(const char *root, int *fd, PureErr *err) {
    if (fs_mkdir_p(root, err)) return err_prefix(err, "run directory is not usable");
    int f = open(root, O_RDONLY | O_DIRECTORY);
    if (f < 0) return err_set(err, "run directory %s cannot be opened: %s", root, strerror(errno));
    char *path = fs_join(root, "lock");
    /* a `pure status` probing the lock holds it for microseconds: retry briefly */
    int locked = -1;
    for (int tries = 0; tries < 5 && (locked = flock(f, LOCK_EX | LOCK_NB)) != 0; tries++) usleep(20000);
    if (locked != 0) {
        long pid = read_pid(path);
        err_set(err, "run directory %s is in use by another `pure run` (pid %ld); wait for it or stop it", root, pid);
        close(f);
        free(path);
        return -1;
    }
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    int pf = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (pf < 0 || write(pf, buf, (size_t)n) != n) {
        err_set(err, "run directory %s is not writable: %s: %s", root, path, strerror(errno));
        if (pf >= 0) close(pf);
        close(f);
        free(path);
        return -1;
    }
    close(pf);
    free(path);
    *fd = f;
    return 0;
}

void rundir_unlock(int fd) {
    if (fd >= 0) close(fd); /* closing releases the flock; the pid file stays (harmless) */
}

long rundir_lock_holder(const char *root) {
    char *path = fs_join(root, "lock");
    int f = open(root, O_RDONLY | O_DIRECTORY);
    long pid = 0;
    if (f >= 0) {
        if (flock(f, LOCK_SH | LOCK_NB) != 0) pid = read_pid(path);
        close(f);
    }
    free(path);
    return pid;
}

/* ---------------------------------------------------------------- records */

char *rundir_output_path(const char *root, const Plan *p, int inst, int out) {
    const Inst *in = &p->insts[inst];
    char *dir = rundir_inst_path(root, in, NULL), name[512];
    char *path = fs_join(dir, port_file_name(&p->spec->stages[in->stage].kind->outputs[out], name, sizeof name));
    free(dir);
    return path;
}

char *rundir_inst_path(const char *root, const Inst *in, const char *suffix) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s/%.16s%s", root, in->dir, in->fp, suffix ? suffix : "");
    return xstrdup(buf);
}

cJSON *rundir_read_done(const char *root, const Inst *in) {
    char *path = rundir_inst_path(root, in, "/done.json");
    size_t len;
    char *text = fs_read_file(path, &len, NULL);
    free(path);
    if (!text) return NULL;
    cJSON *j = cJSON_ParseWithLength(text, len);
    free(text);
    const cJSON *fp = cJSON_GetObjectItemCaseSensitive(j, "fingerprint");
    if (!cJSON_IsString(fp) || strcmp(fp->valuestring, in->fp)) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

/* ---------------------------------------------------------------- describing outputs */

static void mtime_str(const struct stat *st, char *buf, size_t cap) {
    snprintf(buf, cap, "%lld.%09ld", (long long)st->st_mtim.tv_sec, (long)st->st_mtim.tv_nsec);
}

/* Hashes and fsyncs one file. */
static int describe_file(const char *path, const char *rel, cJSON *files, PureErr *err) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return err_set(err, "%s: cannot open: %s", path, strerror(errno));
    Sha256 h;
    sha256_init(&h);
    static unsigned char buf[1 << 16];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) sha256_update(&h, buf, (size_t)n);
    struct stat st;
    int bad = n < 0 || fstat(fd, &st) != 0 || fsync(fd) != 0;
    int e = errno;
    close(fd);
    if (bad) return err_set(err, "%s: cannot read or sync: %s", path, strerror(e));
    uint8_t d[32];
    char hex[65], mt[48];
    sha256_final(&h, d);
    sha256_to_hex(d, hex);
    mtime_str(&st, mt, sizeof mt);
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "path", rel);
    cJSON_AddNumberToObject(f, "size", (double)st.st_size);
    cJSON_AddStringToObject(f, "mtime", mt);
    cJSON_AddStringToObject(f, "sha256", hex);
    cJSON_AddItemToArray(files, f);
    return 0;
}

static int describe_tree(const char *path, const char *rel, cJSON *files, PureErr *err) {
    struct stat st;
    if (lstat(path, &st) != 0) return err_set(err, "%s: %s", path, strerror(errno));
    if (S_ISLNK(st.st_mode)) return err_set(err, "%s: symbolic links are not allowed in artifacts", path);
    if (!S_ISDIR(st.st_mode)) return describe_file(path, rel, files, err);
    struct dirent **ents;
    int n = scandir(path, &ents, NULL, alphasort);
    if (n < 0) return err_set(err, "%s: cannot list: %s", path, strerror(errno));
    int rc = 0;
    for (int i = 0; i < n; i++) {
        const char *nm = ents[i]->d_name;
        if (!rc && strcmp(nm, ".") && strcmp(nm, "..")) {
            char *p = fs_join(path, nm), *r = fs_join(rel, nm);
            rc = describe_tree(p, r, files, err);
            free(p);
            free(r);
        }
        free(ents[i]);
    }
    free(ents);
    if (!rc) rc = fs_fsync_path(path, err);
    return rc;
}

cJSON *rundir_describe_outputs(const char *dir, const StageKind *k, PureErr *err) {
    cJSON *outs = cJSON_CreateObject();
    for (int i = 0; k->outputs && k->outputs[i].name; i++) {
        const PortDef *p = &k->outputs[i];
        char rel[512];
        char *path = fs_join(dir, port_file_name(p, rel, sizeof rel));
        int ok = p->kind == ART_H5 ? fs_exists(path) && !fs_is_dir(path) : fs_is_dir(path);
        if (!ok) {
            err_set(err, "the stage did not write its output '%s' (%s expected at %s)", p->name,
                    p->kind == ART_H5 ? "an HDF5 file" : "a directory", path);
            free(path);
            cJSON_Delete(outs);
            return NULL;
        }
        cJSON *o = cJSON_AddObjectToObject(outs, p->name);
        cJSON_AddStringToObject(o, "kind", p->kind == ART_H5 ? "h5" : "dir");
        cJSON *files = cJSON_AddArrayToObject(o, "files");
        int rc = describe_tree(path, rel, files, err);
        free(path);
        if (rc) {
            cJSON_Delete(outs);
            return NULL;
        }
    }
    if (fs_fsync_path(dir, err)) {
        cJSON_Delete(outs);
        return NULL;
    }
    return outs;
}

/* ---------------------------------------------------------------- checks */

int rundir_check(const char *commit_dir, cJSON *done, int quick, int *retimed, char *why, size_t cap) {
    const cJSON *outs = cJSON_GetObjectItemCaseSensitive(done, "outputs"), *o;
    if (retimed) *retimed = 0;
    if (!cJSON_IsObject(outs)) return snprintf(why, cap, "done record has no outputs"), -1;
    cJSON_ArrayForEach(o, outs) {
        cJSON *f;
        cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(o, "files")) {
            const char *rel = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "path"));
            const cJSON *size = cJSON_GetObjectItemCaseSensitive(f, "size");
            const char *mt = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "mtime"));
            const char *sha = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "sha256"));
            if (!rel || !cJSON_IsNumber(size) || !mt || !sha) return snprintf(why, cap, "malformed done record"), -1;
            char *path = fs_join(commit_dir, rel);
            struct stat st;
            int rc = 0;
            if (stat(path, &st) != 0) {
                snprintf(why, cap, "%s is missing", rel);
                rc = -1;
            } else if ((double)st.st_size != size->valuedouble) {
                snprintf(why, cap, "%s has %lld bytes, %.0f were committed", rel, (long long)st.st_size,
                         size->valuedouble);
                rc = -1;
            } else if (quick) {
                char now[48], hex[65];
                mtime_str(&st, now, sizeof now);
                if (strcmp(now, mt)) {
                    /* new time: damage only if the bytes changed too */
                    if (sha256_file_hex(path, hex) != 0) {
                        snprintf(why, cap, "%s cannot be read", rel);
                        rc = -1;
                    } else if (strcmp(hex, sha)) {
                        snprintf(why, cap, "%s was modified after it was committed (its SHA-256 differs)", rel);
                        rc = -1;
                    } else {
                        cJSON_ReplaceItemInObjectCaseSensitive(f, "mtime", cJSON_CreateString(now));
                        if (retimed) *retimed = 1;
                    }
                }
            } else {
                char hex[65];
                if (sha256_file_hex(path, hex) != 0) {
                    snprintf(why, cap, "%s cannot be read", rel);
                    rc = -1;
                } else if (strcmp(hex, sha)) {
                    snprintf(why, cap, "%s does not match its committed SHA-256", rel);
                    rc = -1;
                }
            }
            free(path);
            if (rc) return -1;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- metrics */

cJSON *rundir_metrics_load(const char *root) {
    cJSON *set = cJSON_CreateObject();
    char *path = fs_join(root, "metrics.jsonl");
    size_t len = 0;
    char *text = fs_read_file(path, &len, NULL);
    if (text && len && text[len - 1] != '\n') {
        /* a torn append from a crash: drop the partial line */
        size_t keep = len;
        while (keep > 0 && text[keep - 1] != '\n') keep--;
        if (truncate(path, (off_t)keep) == 0) len = keep;
        text[len] = '\0';
    }
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        cJSON *j = cJSON_Parse(line);
        const char *fp = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "fingerprint"));
        if (fp && !cJSON_GetObjectItemCaseSensitive(set, fp)) cJSON_AddTrueToObject(set, fp);
        cJSON_Delete(j);
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    free(path);
    return set;
}

int rundir_metrics_append(const char *root, const cJSON *line, PureErr *err) {
    char *path = fs_join(root, "metrics.jsonl");
    char *text = cJSON_PrintUnformatted(line);
    size_t n = strlen(text);
    text = xrealloc(text, n + 2);
    text[n++] = '\n';
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    int rc = 0;
    /* one write() per line, so a crash leaves at most one torn line (dropped on
     * load); no fsync: a line lost in a crash is restored from done.json */
    if (fd < 0 || write(fd, text, n) != (ssize_t)n)
        rc = err_set(err, "%s: cannot append: %s", path, strerror(errno));
    if (fd >= 0) close(fd);
    free(text);
    free(path);
    return rc;
}
