/* rundir.h - the run directory: lock, completion records, integrity checks.
 *
 * Layout (docs/pipeline-spec.md, "Run directory"):
 *   RUN/lock                       the pid of the running `pure run` (which flock()s RUN/ itself)
 *   RUN/spec.yaml                  the resolved spec of the last run
 *   RUN/metrics.jsonl              one JSON object per stage run that reported metrics
 *   RUN/stages/NAME[/ITER]/FP16/   committed outputs (PORT.h5, PORT/) + done.json, written last
 *   RUN/stages/NAME[/ITER]/FP16.tmp/      outputs being written (never read)
 *   RUN/stages/NAME[/ITER]/FP16.scratch/  the stage's scratch, kept across crashes
 *   RUN/stages/NAME[/ITER]/latest.json    copy of the newest done.json (for "why stale")
 * FP16 = the first 16 hex digits of the instance fingerprint. A committed
 * directory without done.json is an interrupted commit and is redone.
 */
#ifndef PURE_RUNDIR_H
#define PURE_RUNDIR_H

#include <cjson/cJSON.h>
#include "runner/plan.h"

/* Creates the run directory and takes its lock; the fd stays open while the
 * run holds it. Error when another process holds it (names its pid) or the
 * directory is not writable. */
int rundir_lock(const char *root, int *fd, PureErr *err);
void rundir_unlock(int fd);
/* pid of the process holding the lock, 0 when free (or no run directory). */
long rundir_lock_holder(const char *root);

/* RUN/<inst dir>/<fp16><suffix> (caller frees). */
char *rundir_inst_path(const char *root, const Inst *in, const char *suffix);
/* Committed path of output `out` of plan instance `inst` (caller frees). */
char *rundir_output_path(const char *root, const Plan *p, int inst, int out);
/* The done record of this instance's fingerprint, NULL when absent or unreadable. */
cJSON *rundir_read_done(const char *root, const Inst *in);

/* Describes an output directory's files for the done record: per output port
 * {"kind": "h5"|"dir", "files": [{"path", "size", "mtime", "sha256"}]}.
 * Also fsyncs every file and directory. */
cJSON *rundir_describe_outputs(const char *dir, const StageKind *k, PureErr *err);

/* Integrity of a committed directory against its done record. quick: sizes
 * and mtimes (what `pure status` uses), with the SHA-256 of any file whose
 * mtime changed (a copy, an rsync without -t, a restore: new times, same
 * bytes); else SHA-256 of every byte. A file whose bytes match but whose
 * time changed is accepted and its new time written into `done`, and
 * *retimed is set (the caller may save the record). Only a change of
 * content is damage. Returns 0 when intact, else -1 with the reason in why. */
int rundir_check(const char *commit_dir, cJSON *done, int quick, int *retimed, char *why, size_t cap);

/* metrics.jsonl: drops a torn last line; returns the set of fingerprints
 * already recorded (a cJSON object used as a set). */
cJSON *rundir_metrics_load(const char *root);
int rundir_metrics_append(const char *root, const cJSON *line, PureErr *err);

#endif
