/* ppo.c - per-token PPO-clip loss and gradient (see ppo.h). */
#include "stages/optimize/ppo.h"

#include <math.h>

PpoToken ppo_token(double lp, double old, double adv, double ref, int has_ref, double clip_eps, double kl_coef) {
    PpoToken t = {0};
    t.ratio = exp(lp - old);
    double cr = t.ratio < 1 - clip_eps ? 1 - clip_eps : (t.ratio > 1 + clip_eps ? 1 + clip_eps : t.ratio);
    double un = t.ratio * adv, cl = cr * adv;
    if (un <= cl) {
        t.loss = -un;
        t.dlp = -un; /* d(ratio)/d(lp) = ratio */
    } else {
        t.loss = -cl;
        t.clipped = 1;
    }
    if (has_ref && kl_coef != 0) {
        double d = ref - lp;
        t.kl = exp(d) - d - 1;
        t.loss += kl_coef * t.kl;
        t.dlp += kl_coef * (1 - exp(d));
    }
    return t;
}
