/* credit_bench.c - times credit_compute() on the issue-3 workloads, one thread:
 *   built-in rules on 512 responses x 8,192 tokens (30 steps each, groups of 8);
 *   the Lua rule lua/rules/min.lua on 512 responses x 30 steps (1,024 tokens each).
 * Prints one line per case: best of REPS in milliseconds of CPU time (this thread:
 * robust on a shared, loaded machine) and of wall time; writes each batch as
 * `pure credit` JSON into OUT_DIR so bench/credit_bench.py can time the numpy
 * reference on exactly the same data. usage: credit_bench SOURCE_DIR OUT_DIR */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "tests/credit/credit_random.h"

#define REPS 7

static double clock_ms(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Fixed length and step count, groups of 8: the shape the goals are stated for. */
static void make_batch(RandBatch *rb, int64_t n, int length, int steps) {
    rand_batch_init(rb, 2024, n, 8, length, length, steps, 1, 0);
    /* rand_batch_init draws 0..steps; make every response have exactly `steps` */
    rb->step_ends = xrealloc(rb->step_ends, (size_t)(n * steps) * sizeof *rb->step_ends);
    rb->rewards = xrealloc(rb->rewards, (size_t)(n * steps) * sizeof *rb->rewards);
    rb->b.step_ends = rb->step_ends;
    rb->b.step_rewards = rb->rewards;
    int64_t o = 0;
    for (int64_t i = 0; i < n; i++) {
        rb->step_off[i] = o;
        for (int j = 0; j < steps; j++) {
            rb->step_ends[o] = j == steps - 1 ? length - 1 : (int32_t)((int64_t)(j + 1) * length / steps - 1);
            rb->rewards[o++] = (float)(((i * 31 + j * 17) % 200) / 100.0 - 1.0);
        }
    }
    rb->step_off[n] = o;
}

static void write_json(const RandBatch *rb, const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    fputs("{\"responses\": [", f);
    for (int64_t i = 0; i < rb->b.n; i++) {
        fprintf(f, "%s\n{\"group\": %lld, \"length\": %d, \"eos\": true, \"step_ends\": [", i ? "," : "",
                (long long)rb->group[i], rb->length[i]);
        for (int64_t k = rb->step_off[i]; k < rb->step_off[i + 1]; k++)
            fprintf(f, "%s%d", k > rb->step_off[i] ? ", " : "", rb->step_ends[k]);
        fputs("], \"step_rewards\": [", f);
        for (int64_t k = rb->step_off[i]; k < rb->step_off[i + 1]; k++)
            fprintf(f, "%s%.9g", k > rb->step_off[i] ? ", " : "", rb->rewards[k]);
        if (rb->has_v[i]) fprintf(f, "], \"verifiable\": %.9g}", rb->v[i]);
        else fputs("], \"verifiable\": null}", f);
    }
    fputs("]}\n", f);
    fclose(f);
}

/* Best CPU and wall milliseconds over REPS runs. */
static void time_case(const char *rule, const char *batch, const CreditBatch *b, const CreditConfig *cfg) {
    double best_cpu = 1e30, best_wall = 1e30;
    for (int r = 0; r < REPS; r++) {
        PureErr err;
        CreditResult res;
        double c0 = clock_ms(CLOCK_THREAD_CPUTIME_ID), w0 = clock_ms(CLOCK_MONOTONIC);
        if (credit_compute(b, cfg, &res, &err) < 0) {
            fprintf(stderr, "credit_bench: %s\n", err.msg);
            exit(1);
        }
        double c = clock_ms(CLOCK_THREAD_CPUTIME_ID) - c0, w = clock_ms(CLOCK_MONOTONIC) - w0;
        best_cpu = c < best_cpu ? c : best_cpu;
        best_wall = w < best_wall ? w : best_wall;
        credit_result_free(&res);
    }
    printf("c %s %s %.3f %.3f\n", rule, batch, best_cpu, best_wall);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: credit_bench SOURCE_DIR OUT_DIR\n");
        return 2;
    }
    char path[1024];
    RandBatch big, small;
    make_batch(&big, 512, 8192, 30);
    make_batch(&small, 512, 1024, 30);
    snprintf(path, sizeof path, "%s/big.json", argv[2]);
    write_json(&big, path);
    snprintf(path, sizeof path, "%s/lua.json", argv[2]);
    write_json(&small, path);

    /* every built-in rule (those that run no script) on the big batch */
    for (const CreditRule *r = credit_rules; r->name; r++) {
        if (r->needs & CREDIT_NEEDS_SCRIPT) continue;
        CreditConfig cfg;
        credit_config_init(&cfg);
        cfg.rule = r;
        time_case(r->name, "big", &big.b, &cfg);
    }
    snprintf(path, sizeof path, "%s/lua/rules/min.lua", argv[1]);
    PureErr err;
    Sandbox *sb = sandbox_open(path, NULL, &err);
    if (!sb) {
        fprintf(stderr, "credit_bench: %s\n", err.msg);
        return 1;
    }
    CreditConfig cfg;
    credit_config_init(&cfg);
    cfg.rule = credit_rule_find("lua", NULL);
    cfg.lua = sb;
    time_case("lua-min", "lua", &small.b, &cfg);
    cfg.rule = credit_rule_find("min", NULL);
    time_case("min", "lua", &small.b, &cfg);
    sandbox_close(sb);
    rand_batch_free(&big);
    rand_batch_free(&small);
    return 0;
}
