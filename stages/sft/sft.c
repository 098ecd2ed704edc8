/* sft.c - the `sft` stage kind: supervised warm start on (prompt, solution) pairs.
 *
 * Builds a fresh tiny Qwen2-shaped causal LM (byte-level tokenizer unless one
 * is given) or starts from a Hugging Face folder, then trains next-token
 * prediction on prompt + solution + eos with the loss on the solution tokens
 * only (token mean over each batch). Batches are drawn from a seeded
 * permutation per epoch, so the result depends only on the seed and inputs.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stages/common/dp.h"
#include "stages/common/greedy.h"
#include "stages/common/io.h"
#include "stages/common/lm.h"
#include "stages/common/layouts.h"
#include "stages/stage.h"
#include "util/dist.h"
#include "util/fs.h"

static const PortDef sft_inputs[] = {
    {"train", ART_H5, 0, "prompts with a non-empty `solution` column (data stage)", layout_prompts},
    {"dev", ART_H5, 1, "prompts with references for early stopping (data.dev): see stop_accuracy", layout_prompts,
     1},
    {"base", ART_DIR, 1, "start from this LM (another stage's policy, e.g. sft.policy trained on) instead of a fresh "
                         "model; the parameter `init` does the same for a folder outside the pipeline"},
    {0},
};
static const PortDef sft_outputs[] = {
    {"policy", ART_DIR, 0, "Hugging Face folder: config.json, model.safetensors, tokenizer.json, tokenizer_config.json"},
    {0},
};
static const ParamDef sft_params[] = {
    COMMON_MODEL_PARAMS,
    COMMON_ADAMW_PARAMS("1.0e-3"),
    {"epochs", PT_INT, "1", 0, 100000, NULL, "passes over the examples (ignored when steps > 0)"},
    {"steps", PT_INT, "0", 0, 1e9, NULL, "optimizer steps (0 = epochs x examples / batch_size)"},
    {"batch_size", PT_INT, "16", 1, 1e6, NULL, "examples per optimizer step"},
    {"micro_batch", PT_INT, "16", 1, 1e6, NULL, "examples per forward/backward (gradient accumulation)"},
    {"chat_template", PT_BOOL, "false", 1, 0, NULL, "wrap prompts in the tokenizer's ChatML template"},
    {"log_every", PT_INT, "50", 1, 1e9, NULL, "log the loss every N steps"},
    {"stop_accuracy", PT_FLOAT, "0", 0, 1, NULL,
     "early stopping (needs `dev`): every dev_every steps, greedy pass@1 on the dev prompts; training stops at "
     "the first check that reaches this (0 = off; `steps` stays the limit and sets the schedule)"},
    {"dev_every", PT_INT, "100", 1, 1e9, NULL, "early stopping: steps between dev checks"},
    {"dev_limit", PT_INT, "200", 1, 1e9, NULL, "early stopping: dev prompts checked (the first N)"},
    {"dev_max_new_tokens", PT_INT, "128", 1, 1e6, NULL, "early stopping: longest greedy response"},
    {0},
};

static int sft_check(const StageParams *p, PureErr *err) {
    if (param_float(p, "stop_accuracy") > 0 && param_int(p, "steps") == 0)
        return err_set(err, "stop_accuracy needs `steps` (the most steps, which also sets the schedule)");
    return 0;
}

/* Early stopping: greedy pass@1 on the dev split. */
static int dev_check(StageCtx *ctx, const Policy *p, const Prompts *dev, double *acc, PureErr *err) {
    int64_t n = stage_param_int(ctx, "dev_limit");
    if (n > dev->n) n = dev->n;
    return greedy_accuracy(p, dev, n, (int)stage_param_int(ctx, "dev_max_new_tokens"), 64,
                           stage_param_bool(ctx, "chat_template"), acc, err);
}

typedef struct Example {
    int32_t *prompt, *target;
    int plen, tlen;
} Example;

static int encode_examples(StageCtx *ctx, const Policy *p, const Prompts *pr, Example **out, int *n_out,
                           PureErr *err) {
    int chat = stage_param_bool(ctx, "chat_template"), maxp = model_config(p->m)->max_position, n = 0, cut = 0;
    Example *ex = xcalloc((size_t)pr->n + 1, sizeof *ex);
    for (int64_t i = 0; i < pr->n; i++) {
        if (!pr->solution[i][0]) continue;
        Example *e = &ex[n];
        if (policy_encode_prompt(p->tok, pr->prompt[i], chat, &e->prompt, &e->plen, err) ||
            policy_encode_text(p->tok, pr->solution[i], 1, &e->target, &e->tlen, err)) {
            free(e->prompt);
            for (int k = 0; k < n; k++) free(ex[k].prompt), free(ex[k].target);
            free(ex);
            return err_prefix(err, "example %lld", (long long)i);
        }
        if (e->plen + e->tlen > maxp) {
            cut++;
            if (e->plen >= maxp) {
                free(e->prompt), free(e->target);
                continue;
            }
            e->tlen = maxp - e->plen;
        }
        n++;
    }
    if (cut) stage_warn(ctx, "%d examples longer than max_position %d were truncated or dropped", cut, maxp);
    *out = ex;
    *n_out = n;
    return 0;
}

static int sft_run(StageCtx *ctx, PureErr *err) {
    Prompts pr;
    if (input_read_prompts(ctx, "train", &pr, err)) return -1;
    int rc = 0, writer = dist_rank() == 0;
    /* ranks > 0 train the same model (dp.h) but write nothing: their tokenizer copy goes to a private folder */
    char priv[] = "/tmp/pure-sft-rank-XXXXXX";
    const char *out = writer ? stage_output_path(ctx, "policy") : mkdtemp(priv);
    if (!out) {
        prompts_free(&pr);
        return err_set(err, "cannot make a temporary folder for rank %d: %s", dist_rank(), strerror(errno));
    }
    Policy p;
    Example *ex = NULL;
    int n = 0;
    if (common_model_create(ctx, out, 0, &p, err)) {
        prompts_free(&pr);
        return -1;
    }
    if (stage_param_int(ctx, "steps") == 0 && stage_param_int(ctx, "epochs") == 0) {
        /* no training: import `init` (or a fresh model) as the policy */
        stage_log(ctx, "sft: 0 steps, writing the initial model as the policy");
        prompts_free(&pr);
        rc = writer ? policy_save(&p, NULL, out, err) : 0;
        policy_free(&p);
        if (!writer) fs_remove_all(priv, NULL);
        return rc;
    }
    rc = encode_examples(ctx, &p, &pr, &ex, &n, err);
    prompts_free(&pr);
    double stop_acc = stage_param_float(ctx, "stop_accuracy"), dev_acc = -1;
    int dev_every = (int)stage_param_int(ctx, "dev_every"), stopped = 0;
    Prompts dev = {0};
    if (!rc && stop_acc > 0) {
        if (!stage_input_path(ctx, "dev"))
            rc = err_set(err, "stop_accuracy %g needs the input 'dev' (prompts with references, e.g. data.dev)", stop_acc);
        else if (!(rc = input_read_prompts(ctx, "dev", &dev, err)) && dev.n == 0)
            rc = err_set(err, "input 'dev': no rows (set the data stage's n_dev)");
    }
    if (!rc && n == 0)
        rc = err_set(err, "input 'train': no row has a non-empty 'solution' (sft needs demonstrations)");
    if (rc) goto done;

    int bs = (int)stage_param_int(ctx, "batch_size"), micro = (int)stage_param_int(ctx, "micro_batch");
    int steps = (int)stage_param_int(ctx, "steps");
    if (steps == 0) steps = (int)((stage_param_int(ctx, "epochs") * n + bs - 1) / bs);
    int log_every = (int)stage_param_int(ctx, "log_every");
    AdamWConfig ac;
    common_adamw_config(ctx, steps, &ac);
    stage_log(ctx, "sft: %d examples, %lld parameters, %d steps of %d", n, (long long)model_num_params(p.m), steps,
              bs);

    int64_t *order = xmalloc((size_t)n * sizeof(int64_t));
    int64_t pos = n; /* position in the current epoch's permutation; n = draw a new one */
    int epoch = 0;
    SeqRow *rows = xmalloc((size_t)bs * sizeof *rows);
    float *lp = NULL, *dlp = NULL;
    double *ulosses = NULL;
    DpState dp;
    if (dp_init(&dp, p.m, err)) {
        free(rows), free(order);
        rc = -1;
        goto done;
    }
    double loss_sum = 0, last_loss = 0;
    int loss_n = 0;
    for (int step = 0; step < steps && !rc; step++) {
        int ntok = 0;
        for (int i = 0; i < bs; i++) {
            if (pos == n) {
                common_permutation(order, n, stage_seed(ctx), (uint64_t)epoch++);
                pos = 0;
            }
            Example *e = &ex[order[pos++]];
            rows[i] = (SeqRow){e->prompt, e->plen, e->target, e->tlen};
            ntok += e->tlen;
        }
        lp = xrealloc(lp, (size_t)(ntok + 1) * sizeof(float));
        dlp = xrealloc(dlp, (size_t)(ntok + 1) * sizeof(float));
        for (int i = 0; i < ntok; i++) dlp[i] = -1.0f / (float)ntok; /* loss = mean NLL over target tokens */
        /* the micro-batches are dp.h's units: unit u on rank u % size, summed in unit order */
        int units = (bs + micro - 1) / micro, rounds = (units + dp.size - 1) / dp.size;
        ulosses = xrealloc(ulosses, ((size_t)rounds * dp.size + 1) * sizeof(double));
        dp_begin(&dp);
        for (int j = 0; j < rounds && !rc; j++) {
            int u = j * dp.size + dp.rank;
            double mine = 0;
            if (u < units) {
                int s0 = u * micro, c = bs - s0 < micro ? bs - s0 : micro, mt = 0;
                for (int i = 0; i < c; i++) mt += rows[s0 + i].rlen;
                model_zero_grad(p.m);
                rc = lm_rows_forward(p.m, rows + s0, c, 1, lp, err) || lm_rows_backward(p.m, rows + s0, c, dlp, err);
                for (int i = 0; i < mt; i++) mine -= lp[i];
                if (rc && dp.size > 1) dist_fail(PURE_EXIT_FAIL, err->msg); /* the others wait in this round */
            }
            if (rc) break;
            dp_round(&dp, p.m, (int64_t)j * dp.size, units);
            dist_allgather(&mine, sizeof mine, ulosses + (size_t)j * dp.size);
        }
        if (rc) break;
        double loss = 0;
        for (int u = 0; u < units; u++) loss += ulosses[u];
        double gnorm, lr;
        if (dp_step(&dp, p.m, &ac, &gnorm, &lr, err)) {
            rc = -1;
            break;
        }
        loss /= ntok;
        if (!isfinite(loss)) {
            rc = err_set(err, "sft: loss became %g at step %d (lr %g too high?)", loss, step, lr);
            break;
        }
        last_loss = loss;
        if (step >= steps - 10) loss_sum += loss, loss_n++;
        if ((step + 1) % log_every == 0 || step == 0) stage_log(ctx, "sft step %d/%d loss %.4f grad %.3f lr %.2e",
                                                                step + 1, steps, loss, gnorm, lr);
        stage_progress(ctx, step + 1, steps, "steps");
        if (stop_acc > 0 && (step + 1) % dev_every == 0 && step + 1 < steps) {
            if ((rc = dev_check(ctx, &p, &dev, &dev_acc, err))) break;
            stage_log(ctx, "sft step %d: dev greedy accuracy %.3f (stop at %.3f)", step + 1, dev_acc, stop_acc);
            if (dev_acc >= stop_acc) {
                stopped = step + 1;
                break;
            }
        }
    }
    if (!rc && stop_acc > 0 && !stopped) rc = dev_check(ctx, &p, &dev, &dev_acc, err);
    if (!rc && stop_acc > 0) {
        stage_metric(ctx, "dev_accuracy", dev_acc);
        stage_metric(ctx, "stopped_at", stopped ? stopped : steps);
        if (!stopped) stage_warn(ctx, "dev accuracy %.3f never reached stop_accuracy %.3f in %d steps", dev_acc, stop_acc, steps);
    }
    prompts_free(&dev);
    if (!rc) {
        stage_metric(ctx, "loss", loss_n ? loss_sum / loss_n : last_loss);
        stage_metric(ctx, "examples", n);
        stage_metric(ctx, "steps", stopped ? stopped : steps);
        if (writer) rc = policy_save(&p, NULL, out, err);
    }
    dp_free(&dp);
    free(ulosses);
    free(order);
    free(rows);
    free(lp);
    free(dlp);
done:
    for (int i = 0; i < n; i++) free(ex[i].prompt), free(ex[i].target);
    free(ex);
    policy_free(&p);
    if (!writer) fs_remove_all(priv, NULL);
    return rc;
}

const StageKind stage_kind_sft = {
    "sft", 2,
    "Supervised warm start: next-token loss on the solution tokens of (prompt, solution) pairs, from a fresh tiny "
    "Qwen2-shaped model or an existing Hugging Face folder (`init`).",
    sft_inputs, sft_outputs, sft_params, sft_run, sft_check, STAGE_ALL_RANKS,
};
