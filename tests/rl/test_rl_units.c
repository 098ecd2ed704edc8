/* test_rl_units.c - unit tests of the RL stage kinds' pure parts, against
 * hand-worked values: the PPO-clip token loss and gradient (also checked by
 * finite differences), mapping text steps onto tokens when "\n\n" merges into
 * larger tokens, the repetition score, the reward-hacking monitor and the
 * seeded permutations behind batch order and prompt choice. */
#include <math.h>
#include <stdlib.h>

#include "stages/common/lm.h"
#include "stages/eval/monitor.h"
#include "stages/optimize/ppo.h"
#include "stages/rollout/step_map.h"
#include "tests/check.h"

static void test_ppo(void) {
    PpoToken t = ppo_token(-1.0, -1.0, 2.0, 0, 0, 0.2, 0);
    CHECK_NEAR(t.ratio, 1.0, 1e-12);
    CHECK_NEAR(t.loss, -2.0, 1e-12);
    CHECK_NEAR(t.dlp, -2.0, 1e-12);
    CHECK(!t.clipped);
    double l15 = log(1.5), l05 = log(0.5);
    t = ppo_token(l15, 0, 1.0, 0, 0, 0.2, 0); /* ratio above the range, A > 0: clipped */
    CHECK_NEAR(t.loss, -1.2, 1e-12);
    CHECK_NEAR(t.dlp, 0.0, 1e-12);
    CHECK(t.clipped);
    t = ppo_token(l15, 0, -1.0, 0, 0, 0.2, 0); /* A < 0: the unclipped term is the minimum */
    CHECK_NEAR(t.loss, 1.5, 1e-12);
    CHECK_NEAR(t.dlp, 1.5, 1e-12);
    CHECK(!t.clipped);
    t = ppo_token(l05, 0, -1.0, 0, 0, 0.2, 0);
    CHECK_NEAR(t.loss, 0.8, 1e-12);
    CHECK_NEAR(t.dlp, 0.0, 1e-12);
    CHECK(t.clipped);
    t = ppo_token(l05, 0, 1.0, 0, 0, 0.2, 0);
    CHECK_NEAR(t.loss, -0.5, 1e-12);
    CHECK_NEAR(t.dlp, -0.5, 1e-12);
    /* k3 KL: d = ref - lp = -0.5: kl = e^-0.5 + 0.5 - 1 */
    t = ppo_token(-1.0, -1.0, 0.0, -1.5, 1, 0.2, 0.1);
    CHECK_NEAR(t.kl, 0.10653065971263342, 1e-12);
    CHECK_NEAR(t.loss, 0.010653065971263342, 1e-12);
    CHECK_NEAR(t.dlp, 0.1 * (1 - exp(-0.5)), 1e-12);
    /* finite differences inside the unclipped region, with KL */
    double lp = -0.9, h = 1e-6;
    PpoToken a = ppo_token(lp + h, -1.0, 0.7, -1.2, 1, 0.2, 0.05), b = ppo_token(lp - h, -1.0, 0.7, -1.2, 1, 0.2, 0.05);
    CHECK_NEAR(ppo_token(lp, -1.0, 0.7, -1.2, 1, 0.2, 0.05).dlp, (a.loss - b.loss) / (2 * h), 1e-6);
    /* kl_coef without reference log-probs does nothing */
    CHECK_NEAR(ppo_token(-1, -1, 1, -3, 0, 0.2, 1.0).loss, -1.0, 1e-12);
}

static void test_step_map(void) {
    int32_t tok[8], byt[8];
    /* byte-level: "1+2=3\n\nx", one token per byte */
    size_t te1[8] = {1, 2, 3, 4, 5, 6, 7, 8}, se1[2] = {7, 8};
    CHECK(step_map_tokens(te1, 8, se1, 2, tok, byt) == 2);
    CHECK(tok[0] == 6 && tok[1] == 7 && byt[0] == 7 && byt[1] == 8);
    /* "ab" "\n\ncd" "\n\n" "ef" <eos>: the first delimiter is merged into "\n\ncd" */
    size_t te2[5] = {2, 6, 8, 10, 10}, se2[3] = {4, 8, 10};
    CHECK(step_map_tokens(te2, 5, se2, 3, tok, byt) == 3);
    CHECK(tok[0] == 1 && tok[1] == 2 && tok[2] == 4);
    CHECK(byt[0] == 4 && byt[1] == 8 && byt[2] == 10);
    /* two steps end inside one token "a\n\nb\n\n": merged */
    size_t te3[2] = {6, 7}, se3[3] = {3, 6, 7};
    CHECK(step_map_tokens(te3, 2, se3, 3, tok, byt) == 2);
    CHECK(tok[0] == 0 && tok[1] == 1 && byt[0] == 6 && byt[1] == 7);
    /* only eos: one empty step at the last token; no tokens: no steps */
    size_t te4[1] = {0};
    CHECK(step_map_tokens(te4, 1, NULL, 0, tok, byt) == 1);
    CHECK(tok[0] == 0 && byt[0] == 0);
    CHECK(step_map_tokens(te4, 0, NULL, 0, tok, byt) == 0);
}

static void test_repetition(void) {
    int32_t a[] = {1, 2, 3, 4, 5}, b[] = {1, 1, 1, 1, 1}, c[] = {1, 2, 1, 2, 1, 2};
    CHECK_NEAR(repetition_score(a, 5, 2), 0.0, 1e-12);
    CHECK_NEAR(repetition_score(b, 5, 2), 0.75, 1e-12);
    CHECK_NEAR(repetition_score(c, 6, 2), 0.6, 1e-12);
    CHECK_NEAR(repetition_score(c, 3, 4), 0.0, 1e-12);
}

static void test_monitor(void) {
    MonitorConfig mc = {0.05, 0.05, 2.0};
    MonitorFlags f;
    EvalPoint h[3] = {{-1, 0.40, NAN, 4.0, 40}, {0, 0.38, 0.2, 4.0, 41}, {1, 0.20, 0.5, 4.5, 42}};
    CHECK(monitor_check(h, 3, &mc, &f) == 1);
    CHECK(f.reward_up_acc_down && !f.steps_collapse && !f.steps_explode && !f.length_collapse);
    h[2].accuracy = 0.39; /* accuracy held: no flag */
    CHECK(monitor_check(h, 3, &mc, &f) == 0);
    h[2].steps = 1.5; /* 4 -> 1.5 < 4 / 2 */
    CHECK(monitor_check(h, 3, &mc, &f) == 1 && f.steps_collapse);
    h[2].steps = 9.0;
    h[2].length = 100;
    CHECK(monitor_check(h, 3, &mc, &f) == 1 && f.steps_explode && f.length_explode && !f.reward_up_acc_down);
    CHECK(monitor_check(h, 1, &mc, &f) == 0); /* nothing to compare with */
    /* a final point without a process reward uses the newest one before it */
    EvalPoint g[3] = {{-1, 0.40, NAN, 4.0, 40}, {0, 0.30, 0.5, 4.0, 40}, {1, 0.25, NAN, 4.0, 40}};
    CHECK(monitor_check(g, 3, &mc, &f) == 0); /* one reward only: no rise to see */
    EvalPoint k[4] = {{-1, 0.40, NAN, 4.0, 40}, {0, 0.38, 0.2, 4.0, 40}, {1, 0.30, 0.5, 4.0, 40},
                      {2, 0.25, NAN, 4.0, 40}};
    CHECK(monitor_check(k, 4, &mc, &f) == 1 && f.reward_up_acc_down);
}

static void test_permutation(void) {
    int64_t p[50], q[50], r[50], seen[50] = {0};
    common_permutation(p, 50, 42, 0);
    common_permutation(q, 50, 42, 0);
    common_permutation(r, 50, 42, 1);
    int same = 1, differ = 0;
    for (int i = 0; i < 50; i++) {
        same &= p[i] == q[i];
        differ += p[i] != r[i];
        if (p[i] >= 0 && p[i] < 50) seen[p[i]]++;
    }
    CHECK(same);
    CHECK(differ > 10);
    int ok = 1;
    for (int i = 0; i < 50; i++) ok &= seen[i] == 1;
    CHECK(ok);
}

int main(void) {
    test_ppo();
    test_step_map();
    test_repetition();
    test_monitor();
    test_permutation();
    return check_report("test_rl_units");
}
