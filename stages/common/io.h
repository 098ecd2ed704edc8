/* io.h - reading and writing the artifacts the RL stage kinds exchange.
 *
 * One reader per artifact layout (stages/common/layouts.c): the prompts table
 * (data -> everyone), the rollouts table (rollout -> prm, verify, credit,
 * optimize), process rewards (prm -> credit, eval) and verifiable rewards
 * (verify -> credit). The host checks a port's datasets before run(), but the
 * readers do not rely on it: each checks every dataset's presence, dtype and
 * row count (and what rows must agree with) and names the file and dataset on
 * a mismatch, so a reader called directly, or a stage wired to the wrong
 * artifact, fails with a clear message.
 */
#ifndef PURE_COMMON_IO_H
#define PURE_COMMON_IO_H

#include <stdint.h>
#include "storage/artifact.h"
#include "util/err.h"

/* ---- prompts (data.train / data.test) ---- */
typedef struct Prompts {
    int64_t n;               /* P */
    int64_t *id;             /* (P) */
    char **benchmark;        /* (P) */
    char **problem;          /* (P) */
    char **prompt;           /* (P) templated prompt */
    char **reference;        /* (P) "" if none */
    uint8_t *has_reference;  /* (P) */
    char **solution;         /* (P) "" if none */
} Prompts;

int prompts_read(Artifact *a, Prompts *p, PureErr *err);
void prompts_free(Prompts *p);

/* ---- ragged rows ---- */
typedef struct Ragged {
    int64_t n;         /* rows */
    int64_t *off;      /* (n+1) */
    void *v;           /* (off[n]) values, dtype chosen by the reader */
} Ragged;
void ragged_free(Ragged *r);
static inline int64_t ragged_len(const Ragged *r, int64_t i) { return r->off[i + 1] - r->off[i]; }

/* ---- rollouts (rollout.rollouts) ---- */
typedef struct Rollouts {
    int64_t n;               /* N responses */
    int64_t *prompt_index;   /* (N) row in the prompts artifact */
    int64_t *group;          /* (N) */
    Ragged prompt_tokens;    /* i32 */
    Ragged tokens;           /* i32, response tokens */
    Ragged logprobs;         /* f32, per response token */
    Ragged ref_logprobs;     /* f32, n = 0 when absent */
    int32_t *length;         /* (N) */
    int32_t *finish;         /* (N) FINISH_* */
    char **text;             /* (N) */
    Ragged step_ends;        /* i32, response token index ending each step */
    Ragged step_bytes;       /* i32, byte offset one past each step's end in text (n = 0 when absent) */
} Rollouts;

/* Reads and cross-checks (tokens vs logprobs vs length, step_ends within length). */
int rollouts_read(Artifact *a, Rollouts *r, PureErr *err);
int rollouts_write(Artifact *a, const Rollouts *r, PureErr *err);
void rollouts_free(Rollouts *r);

/* Reads a ragged f32 dataset whose row lengths must equal `like`'s (per-token
 * or per-step alignment); names both datasets on a mismatch. */
int ragged_read_aligned(Artifact *a, const char *name, const Ragged *like, const char *like_name, Ragged *out,
                        PureErr *err);

/* ---- process rewards (prm.rewards) ---- */
/* Reads step_rewards (ragged f32) into out. With steps (the rollouts'
 * step_ends) row i must hold one reward per step of response i; steps NULL
 * takes any rows (a reader without the rollouts). */
int rewards_read(Artifact *a, const Ragged *steps, Ragged *out, PureErr *err);
/* rewards_read of any per-step ragged f32 dataset `name` (step_head, step_lm_min_logprob) */
int step_values_read(Artifact *a, const char *name, const Ragged *steps, Ragged *out, PureErr *err);

/* ---- verifiable rewards (verify.verifiable) ---- */
typedef struct Verifiable {
    int64_t n;               /* N responses */
    float *reward;           /* (N) */
    uint8_t *has_reward;     /* (N) 0 or 1: 0 = the prompt has no usable reference, reward unused */
} Verifiable;
/* Reads reward and has_reward, n rows each (n < 0: any, both equal). */
int verifiable_read(Artifact *a, int64_t n, Verifiable *v, PureErr *err);
void verifiable_free(Verifiable *v);

/* ---- stage inputs ---- */
struct StageCtx;
/* Opens input `port`, reads it as prompts / rollouts / rewards / verifiable
 * rewards, closes it; errors are prefixed with "input 'PORT'". */
int input_read_prompts(struct StageCtx *ctx, const char *port, Prompts *p, PureErr *err);
int input_read_rollouts(struct StageCtx *ctx, const char *port, Rollouts *r, PureErr *err);
int input_read_rewards(struct StageCtx *ctx, const char *port, const Ragged *steps, Ragged *out, PureErr *err);
/* step_values_read from an input; a missing dataset is an error naming the port, the file and the dataset */
int input_read_step_values(struct StageCtx *ctx, const char *port, const char *name, const Ragged *steps, Ragged *out,
                           PureErr *err);
int input_read_verifiable(struct StageCtx *ctx, const char *port, int64_t n, Verifiable *v, PureErr *err);

/* ---- files ---- */
int common_copy_file(const char *src, const char *dst, PureErr *err);
/* Copies tokenizer.json (required) and tokenizer_config.json (if present) from src_dir to dst_dir. */
int common_copy_tokenizer(const char *src_dir, const char *dst_dir, PureErr *err);

#endif
