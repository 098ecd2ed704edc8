/* tboard.c - a run's TensorBoard event file from its done records (see tboard.h). */
#include "runner/tboard.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/fs.h"
#include "util/tfevents.h"

char *tboard_path(const char *root, const char *name) {
    char rel[512];
    snprintf(rel, sizeof rel, "tensorboard/%s/events.out.tfevents.0.pure", name);
    return fs_join(root, rel);
}

/* "2026-12-01T12:46:39Z" -> seconds since the epoch; now when absent or malformed. */
static double wall_of(const cJSON *done) {
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(done, "started"));
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (s && sscanf(s, "%d-%d-%dT%d:%d:%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) == 6) {
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        return (double)timegm(&tm);
    }
    return (double)time(NULL);
}

static int64_t step_of(const Plan *p, int i) {
    const Inst *in = &p->insts[i];
    if (in->iter >= 0) return in->iter;
    return p->spec->stages[in->stage].sec == SEC_AFTER ? p->spec->iterations : 0;
}

static int write_inst(TfWriter *w, const Plan *p, int i, const cJSON *done, PureErr *err) {
    const cJSON *m;
    double wall = wall_of(done);
    const char *stage = p->spec->stages[p->insts[i].stage].name;
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(done, "metrics")) {
        if (!cJSON_IsNumber(m)) continue;
        char tag[512];
        snprintf(tag, sizeof tag, "%s/%s", stage, m->string);
        if (tf_scalar(w, tag, step_of(p, i), wall, (float)m->valuedouble, err)) return -1;
    }
    return 0;
}

int tboard_rebuild(const char *path, const Plan *p, cJSON *const *done, PureErr *err) {
    char *dir = fs_dirname(path), tmp[4096];
    int rc = fs_mkdir_p(dir, err);
    free(dir);
    if (rc) return -1;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    TfWriter w;
    if (tf_open(&w, tmp, 1, (double)time(NULL), err)) return -1;
    for (int i = 0; i < p->n && !rc; i++)
        if (done[i]) rc = write_inst(&w, p, i, done[i], err);
    if (tf_close(&w, rc ? NULL : err) || rc || rename(tmp, path) != 0) {
        if (!err->set) err_set(err, "%s: cannot rename into place", path);
        remove(tmp);
        return -1;
    }
    return 0;
}

int tboard_append(const char *path, const Plan *p, int i, const cJSON *done, PureErr *err) {
    TfWriter w;
    if (tf_open(&w, path, 0, 0, err)) return -1;
    int rc = write_inst(&w, p, i, done, err);
    return tf_close(&w, rc ? NULL : err) || rc ? -1 : 0;
}
