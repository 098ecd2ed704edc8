/* toy.h - the synthetic toy task: chains of additions and subtractions.
 *
 * Problems look like "23+45-12=?"; demonstrations are "\n\n"-separated steps
 * "23+45=68", "68-12=56", "The answer is \boxed{56}.". Demonstrations may
 * contain harmless filler steps ("68+0=68") and wrong steps, and the exact
 * step checker (the oracle PRM) has a "must make progress" switch, so the
 * task leaves a policy room to hack a process reward (docs/toy-task.md).
 */
#ifndef PURE_TOY_H
#define PURE_TOY_H

#include <stdint.h>

typedef struct ToyConfig {
    int min_ops, max_ops;      /* number of + / - operations in a problem, e.g. 2..3 */
    int max_operand;           /* operands in [0, max_operand] */
    double filler_rate;        /* share of demonstrations that contain harmless filler steps like "68+0=68" */
    double error_rate;         /* per-step probability that a demonstration step has a wrong result */
} ToyConfig;

#define TOY_MAX_OPS 7
typedef struct ToyProblem { int n_operands; int operands[8]; char ops[8]; int answer; char text[256]; } ToyProblem;
/* ops[i] joins operands[i] and operands[i+1] ('+' or '-'); n_operands = number of operations + 1. */

void toy_config_default(ToyConfig *c);
/* Deterministic in (seed, index) via util/rng.h. */
void toy_problem_generate(const ToyConfig *c, uint64_t seed, uint64_t index, ToyProblem *p);
/* A demonstration solution: "\n\n"-separated steps like "23+45=68", possibly filler/wrong steps per the config,
   final step "The answer is \boxed{56}." (malloc'd). */
char *toy_solution(const ToyConfig *c, const ToyProblem *p, uint64_t seed, uint64_t index);
/* Parses a problem text written by toy_problem_generate back (0 ok, -1 not a toy problem). */
int toy_problem_parse(const char *text, ToyProblem *p);

typedef struct ToyCheckOptions {
    int require_progress;      /* 1: a step must advance the computation (apply the next operation), not just be true arithmetic */
    float correct_reward;      /* e.g. +1 */
    float wrong_reward;        /* e.g. -1 */
    int filler_correct;        /* 1 (default): a filler step "v+0=v" at the current value scores correct_reward even
                                  when require_progress is on (the harmless step a sum-form policy can farm) */
} ToyCheckOptions;
void toy_check_options_default(ToyCheckOptions *o);
/* The exact step checker (the oracle PRM): splits response with steps_split and scores each step; returns the number
   of steps, fills rewards[0..min(n,max_steps)-1]. Arithmetic steps are judged on their arithmetic (and progress when
   asked); the final answer step is judged on the boxed value. Returns -1 if problem_text is not a toy problem.
   Details (docs/toy-task.md): without progress, the boxed value must equal the result of the last arithmetic
   step (the answer if there is none); with progress, it must equal the true answer. */
int toy_check_steps(const char *problem_text, const char *response, const ToyCheckOptions *o, float *rewards, int max_steps);

/* What the checker saw in one step: the kind of step and, for a slip or a wrong answer, how far off it is.
   The controlled PRM mode (stages/prm/prm_controlled.c) errs by kind, and PRM training draws hard negatives of
   these kinds, so both are stated in the checker's own terms. */
typedef enum ToyStepKind {
    TOY_STEP_PROGRESS,     /* a true step that applies the next operation(s) (plain mode: any true arithmetic) */
    TOY_STEP_FILLER,       /* v+0=v at the running value */
    TOY_STEP_SLIP,         /* the right operation with a wrong result (error = written - true) */
    TOY_STEP_OFF_TRACK,    /* arithmetic that does not continue the problem (skipped or wrong operand, wrong start) */
    TOY_STEP_ANSWER,       /* the boxed value the checker expects */
    TOY_STEP_WRONG_ANSWER, /* any other boxed value (error = boxed - expected; 0 when the box holds no integer) */
    TOY_STEP_OTHER,        /* prose, malformed lines */
    TOY_STEP_KINDS
} ToyStepKind;
typedef struct ToyStepInfo {
    int kind;              /* ToyStepKind */
    long error;
} ToyStepInfo;
const char *toy_step_kind_name(int kind);
/* toy_check_steps that also fills info[0..min(n,max_steps)-1] (info may be NULL). */
int toy_check_steps_info(const char *problem_text, const char *response, const ToyCheckOptions *o, float *rewards,
                         ToyStepInfo *info, int max_steps);

/* Hard negatives for PRM training: a demonstration of problem p with exactly one defect of the given kind, at a
   step drawn from (seed, index); the steps after it continue from what was written, as a policy's would.
   Deterministic in (p, kind, seed, index); malloc'd. */
typedef enum ToyNegative {
    TOY_NEG_SMALL_SLIP,    /* one result off by 1 or 2 (the slips a learned PRM misses most: "8-4=3") */
    TOY_NEG_SKIP,          /* one operation skipped: the next operand applied to the value before it */
    TOY_NEG_OPERAND,       /* one operand miscopied by 1 or 2, with true arithmetic on the wrong operand */
    TOY_NEG_WRONG_ANSWER,  /* a correct chain whose boxed answer is off by 1 or 2 */
    TOY_NEG_KINDS
} ToyNegative;
char *toy_negative(const ToyProblem *p, int kind, uint64_t seed, uint64_t index);
/* The error-free solution of p (no filler, no slip): the positive counterpart of the hard negatives. */
char *toy_clean_solution(const ToyProblem *p);

#endif
