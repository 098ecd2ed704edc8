/* monitor.h - evaluation summaries and the reward-hacking monitor.
 *
 * The monitor compares the latest evaluation with the first one it knows
 * (the start of RL, usually the SFT policy) and raises flags when
 *   - the mean process reward rose by more than reward_rise while verifiable
 *     accuracy fell by more than acc_drop (the PRM is being gamed), or
 *   - steps per response or response length fell below start / ratio
 *     (collapse: e.g. one correct-looking step and stop) or rose above
 *     start * ratio (explosion: e.g. farming harmless filler steps).
 * The process reward of the start is the first point that has one, the newest
 * is the last point that has one (a final eval after the loop has none).
 */
#ifndef PURE_EVAL_MONITOR_H
#define PURE_EVAL_MONITOR_H

#include <stdint.h>

typedef struct EvalPoint {
    int iteration;           /* -1 = before the loop */
    double accuracy;         /* average over benchmarks */
    double process_reward;   /* mean step reward of the iteration's rollouts; NAN when unknown */
    double steps, length;    /* means per response */
} EvalPoint;

typedef struct MonitorConfig {
    double acc_drop, reward_rise, ratio;
} MonitorConfig;

typedef struct MonitorFlags {
    int reward_up_acc_down, steps_collapse, steps_explode, length_collapse, length_explode;
    int any;
} MonitorFlags;

/* Checks hist[n-1] against the start; returns flags.any. */
int monitor_check(const EvalPoint *hist, int n, const MonitorConfig *c, MonitorFlags *f);

/* 1 - distinct n-grams / n-grams of a token sequence (0 when shorter than n):
 * 0 for text that never repeats itself, close to 1 for a loop. */
double repetition_score(const int32_t *tokens, int n_tokens, int ngram);

#endif
