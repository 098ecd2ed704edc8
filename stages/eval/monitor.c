/* monitor.c - repetition score and the reward-hacking monitor (see monitor.h). */
#include "stages/eval/monitor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

int monitor_check(const EvalPoint *h, int n, const MonitorConfig *c, MonitorFlags *f) {
    memset(f, 0, sizeof *f);
    if (n < 2) return 0;
    const EvalPoint *s = &h[0], *e = &h[n - 1];
    const EvalPoint *rs = NULL;
    for (int i = 0; i < n - 1; i++)
        if (!isnan(h[i].process_reward)) {
            rs = &h[i];
            break;
        }
    /* the newest process reward: the final eval after the loop has none of its own */
    const EvalPoint *re = NULL;
    for (int i = n - 1; i > 0 && !re; i--)
        if (!isnan(h[i].process_reward)) re = &h[i];
    if (rs && re && re != rs && re->process_reward - rs->process_reward > c->reward_rise &&
        s->accuracy - e->accuracy > c->acc_drop)
        f->reward_up_acc_down = 1;
    if (s->steps > 0) {
        f->steps_collapse = e->steps < s->steps / c->ratio;
        f->steps_explode = e->steps > s->steps * c->ratio;
    }
    if (s->length > 0) {
        f->length_collapse = e->length < s->length / c->ratio;
        f->length_explode = e->length > s->length * c->ratio;
    }
    f->any = f->reward_up_acc_down || f->steps_collapse || f->steps_explode || f->length_collapse || f->length_explode;
    return f->any;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

double repetition_score(const int32_t *t, int n, int ngram) {
    int m = n - ngram + 1;
    if (ngram < 1 || m <= 0) return 0;
    uint64_t *h = xmalloc((size_t)m * sizeof(uint64_t));
    for (int i = 0; i < m; i++) {
        uint64_t x = 1469598103934665603ULL; /* FNV-1a over the n-gram's ids */
        for (int k = 0; k < ngram; k++) {
            uint32_t v = (uint32_t)t[i + k];
            for (int b = 0; b < 4; b++) x = (x ^ ((v >> (8 * b)) & 0xff)) * 1099511628211ULL;
        }
        h[i] = x;
    }
    qsort(h, (size_t)m, sizeof *h, cmp_u64);
    int distinct = 1;
    for (int i = 1; i < m; i++) distinct += h[i] != h[i - 1];
    free(h);
    return 1.0 - (double)distinct / m;
}
