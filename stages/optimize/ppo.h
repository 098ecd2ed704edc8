/* ppo.h - the per-token PPO-clip objective with an optional KL penalty.
 *
 * For one response token with current log-prob lp, sampling log-prob old,
 * advantage A and (optional) reference log-prob ref:
 *   ratio = exp(lp - old)
 *   loss  = -min(ratio * A, clip(ratio, 1 - eps, 1 + eps) * A)
 *         + kl_coef * (exp(ref - lp) - (ref - lp) - 1)      (the k3 estimator)
 * The clipped branch has no gradient, so d loss / d lp = -ratio * A when the
 * unclipped branch is the minimum, else 0; the KL term adds
 * kl_coef * (1 - exp(ref - lp)). The optimizer averages over the tokens of a
 * mini-batch (token mean), which the caller applies.
 */
#ifndef PURE_PPO_H
#define PURE_PPO_H

typedef struct PpoToken {
    double loss, dlp, ratio, kl;
    int clipped;   /* 1 when the clipped branch is active (no policy gradient) */
} PpoToken;

/* kl_coef 0 or has_ref 0 disables the KL term. */
PpoToken ppo_token(double lp, double old, double adv, double ref, int has_ref, double clip_eps, double kl_coef);

#endif
