/* tboard.h - TensorBoard event files of a run (spec `tensorboard: true`).
 *
 * One event file per spec in RUN/tensorboard/NAME/ (NAME: the spec file's
 * stem, or a sweep's variant and seed), so `tensorboard --logdir runs/`
 * shows every run and variant. Every numeric metric of a committed stage run
 * is a scalar tagged STAGE/KEY at step = its iteration (stages before the
 * loop: 0; after it: the number of iterations). The file is derived data:
 * each `pure run` rewrites it from the done records of the plan (so resume,
 * --force and a crash mid-append never leave duplicates or gaps), then
 * appends as stage runs commit. */
#ifndef PURE_TBOARD_H
#define PURE_TBOARD_H

#include <cjson/cJSON.h>
#include "runner/plan.h"

/* The event file's path for this spec in root (caller frees). */
char *tboard_path(const char *root, const char *name);
/* Rewrites the file from done[i] (NULL = not done) for every instance in plan order. */
int tboard_rebuild(const char *path, const Plan *p, cJSON *const *done, PureErr *err);
/* Appends instance i's metrics from its done record. */
int tboard_append(const char *path, const Plan *p, int i, const cJSON *done, PureErr *err);

#endif
