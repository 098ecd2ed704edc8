/* plan.h - stage instances and their fingerprints.
 *
 * A plan unrolls the spec into instances: each stage before and after the
 * loop once, each loop stage once per iteration it runs in. Instances are in
 * execution order (every instance comes after the ones it reads). Each has an
 * identity (kind, version, seed, canonical parameters, input fingerprints) and
 * a fingerprint = SHA-256 of that identity: "up to date" means a committed
 * artifact with that fingerprint exists. The identity is also stored in the
 * completion record, so `pure status` can say which part changed.
 */
#ifndef PURE_PLAN_H
#define PURE_PLAN_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include "runner/spec.h"

typedef struct Inst {
    int stage;        /* index into Spec.stages */
    int iter;         /* loop iteration, -1 outside the loop */
    int *in;          /* per input port: producing instance, -1 when unconnected */
    int *in_out;      /* per input port: the producer's output index */
    int *cons;        /* instances that read this one */
    int ncons;
    uint64_t seed;
    char fp[65];
    cJSON *identity;  /* what fp hashes */
    char *dir;        /* relative to the run directory: stages/NAME or stages/NAME/ITER (ITER unpadded: 0, 1, ...) */
} Inst;

typedef struct Plan {
    const Spec *spec;
    Inst *insts;
    int n;
    int **loop_idx;   /* per stage: instance index per iteration (-1 when not run), NULL outside the loop */
    int *single;      /* per stage: instance index for stages outside the loop, else -1 */
} Plan;

Plan *plan_build(const Spec *spec, PureErr *err);
void plan_free(Plan *p);
/* Does a loop stage run in iteration `iter`? (every K: (i+1) % K == 0, and the last iteration) */
int plan_runs_in(const Spec *s, const SpecStage *st, int iter);
/* "rollout[3]" or "data". */
const char *plan_label(const Plan *p, int i, char *buf, size_t cap);

#endif
