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

#endif
