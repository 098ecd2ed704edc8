/* cmd_plan.c - `pure plan`: the memory (and, on a GPU, the time) a pipeline
 * will need, per stage that loads a model, before anything runs; and the
 * check `pure run` makes with it (cli_plan_check).
 *
 * Each model-loading kind has a row below saying how it uses its models:
 * which port or parameters give the model's shape, whether it trains, and
 * which parameters size its largest forward and its generation batches. The
 * bytes come from model_memory_plan (model/memplan.c), which sizes every
 * allocation with the engine's own formulas. A model's shape is read from
 * config.json (`init`, or a folder a port is wired to through other stages)
 * or built from a fresh model's parameters, following references through
 * the stages that pass a model on (sft -> rollout -> optimize -> ...).
 * Prompt lengths are not known before the data exist: --prompt-tokens
 * (default 256) stands for the longest prompt.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"
#include "util/fs.h"

/* ---- devices ---- */

typedef struct Gpu {
    const char *name;
    double mem_gb;       /* usable memory, 1e9 bytes */
    double bf16_tflops;  /* dense tensor-core peak */
    double fp32_tflops;  /* TF32 tensor-core peak (what the f32 path's cuBLAS may use) */
    double bw_tbs;       /* HBM bandwidth, TB/s */
} Gpu;

static const Gpu GPUS[] = {
    {"h200", 141, 989, 495, 4.8},  {"h100", 80, 989, 495, 3.35}, {"a100", 80, 312, 156, 2.0},
    {"l40s", 48, 362, 183, 0.86}, {"a10", 24, 125, 62, 0.6},     {NULL, 0, 0, 0, 0},
};
/* efficiency the time estimate assumes: a share of the peak for dense work, of the bandwidth for decoding */
#define MFU_ASSUMED 0.40
#define BW_ASSUMED 0.70
/* memory outside the model's blocks: the process, libraries and tokenizer on the CPU; the CUDA context,
   cuBLAS workspace and the arena's slack on a GPU */
#define CPU_RUNTIME_BYTES (96.0 * 1048576)
#define GPU_RUNTIME_BYTES (1.5 * 1073741824)

typedef struct PlanOpts {
    const char *device;   /* NULL: each stage's own (auto = cpu) */
    const Gpu *gpu;
    double gpu_bytes;     /* 0: the GPU's */
    int prompt_tokens;
} PlanOpts;

/* ---- a model's shape through the graph ---- */

/* The model behind a reference: the config, and whether it could be found. */
static int ref_model(const Spec *s, const SpecRef *r, ModelConfig *cfg, char *what, size_t cap, PureErr *err);

static const ParamValue *par(const SpecStage *st, const char *name) { return spec_param(st, name); }
static int64_t par_int(const SpecStage *st, const char *name, int64_t def) {
    const ParamValue *v = par(st, name);
    return v ? v->i : def;
}
static const char *par_str(const SpecStage *st, const char *name) {
    const ParamValue *v = par(st, name);
    return v && v->s ? v->s : "";
}

static const SpecRef *input(const SpecStage *st, const char *port) {
    int i = stage_port_index(st->kind->inputs, port);
    return i >= 0 && st->inputs[i].kind != REF_NONE ? &st->inputs[i] : NULL;
}

/* The model a stage writes (sft.policy, prm_train.prm, optimize.policy). */
static int stage_model(const Spec *s, int si, ModelConfig *cfg, char *what, size_t cap, PureErr *err) {
    const SpecStage *st = &s->stages[si];
    const char *k = st->kind->kind;
    if (!strcmp(k, "optimize")) {
        const SpecRef *r = input(st, "policy");
        if (!r) return err_set(err, "stage '%s': input 'policy' is not connected", st->name);
        return ref_model(s, r, cfg, what, cap, err);
    }
    int labels = !strcmp(k, "prm_train") ? 2 : 0;
    if (strcmp(k, "sft") && strcmp(k, "prm_train"))
        return err_set(err, "stage '%s' (kind %s) writes no model", st->name, k);
    const char *init = par_str(st, "init");
    const SpecRef *base = input(st, "base");
    if (init[0]) {
        if (model_config_load(init, cfg, err)) return err_prefix(err, "stage '%s': parameter 'init'", st->name);
        snprintf(what, cap, "%s", init);
        return 0;
    }
    if (labels && par(st, "init_from_policy") && par(st, "init_from_policy")->b) {
        /* the PRM is the base LM (or the policy) with a 2-label head and extra_layers more decoder layers */
        const SpecRef *r = base ? base : input(st, "policy");
        if (!r) return err_set(err, "stage '%s': init_from_policy needs input 'policy'", st->name);
        if (ref_model(s, r, cfg, what, cap, err)) return -1;
        cfg->num_labels = labels;
        cfg->num_layers += (int)par_int(st, "extra_layers", 0);
        return 0;
    }
    if (!labels && base) return ref_model(s, base, cfg, what, cap, err);
    model_config_default(cfg);
    const char *tok = par_str(st, "tokenizer");
    if (tok[0]) {
        /* the same tokenizer is reached through every stage downstream: load it once */
        static char seen_path[8][512];
        static int seen_vocab[8], nseen;
        int hit = -1;
        for (int i = 0; i < nseen; i++)
            if (!strcmp(seen_path[i], tok)) hit = i;
        if (hit >= 0) cfg->vocab_size = seen_vocab[hit];
        else {
            Tokenizer *t = tokenizer_load(tok, err);
            if (!t) return err_prefix(err, "stage '%s': parameter 'tokenizer'", st->name);
            cfg->vocab_size = tokenizer_vocab_size(t);
            tokenizer_free(t);
            if (nseen < 8 && strlen(tok) < sizeof seen_path[0])
                snprintf(seen_path[nseen], sizeof seen_path[0], "%s", tok), seen_vocab[nseen++] = cfg->vocab_size;
        }
    } else {
        cfg->vocab_size = 257; /* the byte-level toy tokenizer: 256 bytes + <|endoftext|> */
    }
    cfg->hidden_size = (int)par_int(st, "hidden_size", 64);
    cfg->num_layers = (int)par_int(st, "layers", 2);
    cfg->num_heads = (int)par_int(st, "heads", 4);
    cfg->num_kv_heads = (int)par_int(st, "kv_heads", 2);
    cfg->intermediate_size = (int)par_int(st, "intermediate_size", 256);
    cfg->max_position = (int)par_int(st, "max_position", 512);
    cfg->head_dim = cfg->num_heads > 0 ? cfg->hidden_size / cfg->num_heads : 0;
    cfg->num_labels = labels;
    snprintf(what, cap, "fresh %dx%d", cfg->num_layers, cfg->hidden_size);
    return 0;
}

static int ref_model(const Spec *s, const SpecRef *r, ModelConfig *cfg, char *what, size_t cap, PureErr *err) {
    if (r->kind == REF_STAGE) return stage_model(s, r->stage, cfg, what, cap, err);
    if (r->kind == REF_STATE || r->kind == REF_LOOP) {
        const SpecState *x = &s->states[r->state];
        if (x->init.kind == REF_STAGE) return stage_model(s, x->init.stage, cfg, what, cap, err);
        if (x->update.kind == REF_STAGE) return stage_model(s, x->update.stage, cfg, what, cap, err);
    }
    return err_set(err, "a model input is not connected to a stage that writes a model");
}

/* ---- the kinds that load models ---- */

typedef struct ModelLine {
    char role[24];
    char what[200];
    ModelConfig cfg;
    ModelUse use;
    ModelMem mem;
} ModelLine;

typedef struct StagePlan {
    const SpecStage *st;
    char device[8];
    int precision, recompute;
    ModelLine m[2];
    int nm;
    double total, avail;
    double seconds;    /* GPU time estimate (0: none) */
} StagePlan;

static int use_precision(const SpecStage *st) {
    const ParamValue *v = par(st, "precision");
    return v && v->s && !strcmp(v->s, "bf16") ? MODEL_BF16 : MODEL_FP32;
}

static void add_model(StagePlan *sp, const char *role, const ModelConfig *cfg, const char *what, ModelUse u) {
    ModelLine *l = &sp->m[sp->nm++];
    snprintf(l->role, sizeof l->role, "%s", role);
    snprintf(l->what, sizeof l->what, "%s", what);
    l->cfg = *cfg;
    u.precision = sp->precision;
    u.recompute = u.train && sp->recompute;
    u.host = strcmp(sp->device, "cuda") != 0;
    /* a model read from a checkpoint: the mapped file is resident while it loads (CPU) */
    if (u.host && strncmp(what, "fresh", 5))
        u.file_bytes = model_config_params(cfg) * (strcmp(cfg->dtype, "float32") ? 2.0 : 4.0);
    l->use = u;
    model_memory_plan(cfg, &l->use, &l->mem);
}

/* Fills sp for stage si; returns 1 when the stage loads no model, -1 on error. */
static int fill_stage(const Spec *s, int si, const PlanOpts *o, StagePlan *sp, PureErr *err) {
    const SpecStage *st = &s->stages[si];
    const char *k = st->kind->kind;
    memset(sp, 0, sizeof *sp);
    sp->st = st;
    const char *dev = o->device ? o->device : model_device_resolve(par_str(st, "device"));
    snprintf(sp->device, sizeof sp->device, "%s", !strcmp(dev, "cuda") ? "cuda" : "cpu");
    sp->precision = use_precision(st);
    sp->recompute = par(st, "recompute") ? par(st, "recompute")->b : 0;
    int P = o->prompt_tokens;
    ModelConfig cfg;
    char what[200];
    if (!strcmp(k, "sft") || !strcmp(k, "prm_train")) {
        if (stage_model(s, si, &cfg, what, sizeof what, err)) return -1;
        int train = par_int(st, "steps", 0) > 0 || par_int(st, "epochs", 0) > 0;
        if (!train) sp->precision = MODEL_FP32; /* an import loads and saves f32 (common_model_create) */
        int len = !strcmp(k, "prm_train") ? (int)par_int(st, "max_len", 512) : cfg.max_position;
        if (len > cfg.max_position) len = cfg.max_position;
        ModelUse u = {.train = train, .fwd_rows = train ? (int)par_int(st, "micro_batch", 16) : 0, .fwd_len = len};
        add_model(sp, train ? "train" : "load", &cfg, what, u);
        const SpecRef *pol = input(st, "policy");
        if (!strcmp(k, "prm_train") && pol && par_int(st, "samples", 0) > 0 && train) {
            ModelConfig pc;
            char pw[200];
            if (ref_model(s, pol, &pc, pw, sizeof pw, err)) return -1;
            /* one call per prompt, its `samples` responses together */
            ModelUse g = {.gen_seqs = (int)par_int(st, "samples", 2), .gen_prompt = P,
                          .gen_new = (int)par_int(st, "max_new_tokens", 128)};
            add_model(sp, "sample", &pc, pw, g);
        }
        return 0;
    }
    if (!strcmp(k, "rollout") || !strcmp(k, "eval")) {
        const SpecRef *pol = input(st, "policy");
        if (!pol || ref_model(s, pol, &cfg, what, sizeof what, err)) return pol ? -1 : 1;
        int newt = (int)par_int(st, "max_new_tokens", 128), bs = (int)par_int(st, "batch_size", 64);
        int64_t n = !strcmp(k, "rollout") ? par_int(st, "prompts_per_iteration", 8) * par_int(st, "samples", 4) : bs;
        if (n <= 0 || n > bs) n = bs;
        /* eval's sampled pass@1 generates batch_size prompts x samples sequences per call */
        if (!strcmp(k, "eval") && par_int(st, "samples", 0) > 0) n = (int64_t)bs * par_int(st, "samples", 0);
        ModelUse u = {.gen_seqs = (int)n, .gen_prompt = P, .gen_new = newt};
        const SpecRef *ref = !strcmp(k, "rollout") ? input(st, "reference") : NULL;
        int micro = (int)par_int(st, "micro_batch", 16);
        if (ref || (par(st, "recompute_logprobs") && par(st, "recompute_logprobs")->b))
            u.fwd_rows = micro, u.fwd_len = P + newt;
        add_model(sp, "sample", &cfg, what, u);
        if (ref) {
            ModelConfig rc;
            char rw[200];
            if (ref_model(s, ref, &rc, rw, sizeof rw, err)) return -1;
            ModelUse r = {.fwd_rows = micro, .fwd_len = P + newt};
            add_model(sp, "reference", &rc, rw, r);
        }
        return 0;
    }
    if (!strcmp(k, "prm")) {
        if (strcmp(par_str(st, "mode"), "model")) return 1;
        const SpecRef *mr = input(st, "model");
        if (!mr) return 1;
        if (ref_model(s, mr, &cfg, what, sizeof what, err)) return -1;
        ModelUse u = {.fwd_rows = (int)par_int(st, "micro_batch", 16), .fwd_len = (int)par_int(st, "max_len", 1024)};
        add_model(sp, "score", &cfg, what, u);
        return 0;
    }
    if (!strcmp(k, "optimize")) {
        if (stage_model(s, si, &cfg, what, sizeof what, err)) return -1;
        int len = P + 128;
        const SpecRef *ro = input(st, "rollouts");
        if (ro && ro->kind == REF_STAGE) len = P + (int)par_int(&s->stages[ro->stage], "max_new_tokens", 128);
        ModelUse u = {.train = 1, .dp = 1, .fwd_rows = (int)par_int(st, "micro_batch", 8), .fwd_len = len};
        add_model(sp, "train", &cfg, what, u);
        return 0;
    }
    return 1;
}

/* ---- time on a GPU (an estimate from peaks, stated as such) ---- */

/* Responses per iteration a stage handles: the rollout's prompts x samples (its own, or its input's). */
static double responses_of(const Spec *s, const SpecStage *st) {
    if (strcmp(st->kind->kind, "rollout")) {
        const SpecRef *r = input(st, "rollouts");
        if (!r || r->kind != REF_STAGE) return 0;
        st = &s->stages[r->stage];
    }
    return (double)par_int(st, "prompts_per_iteration", 8) * (double)par_int(st, "samples", 4);
}

/* Upper bound: every response at max_new_tokens; dense work at MFU_ASSUMED of
 * the peak, decoding at BW_ASSUMED of the bandwidth. Rollout, PRM scoring and
 * optimize only (what one RL iteration does); 0 for the other kinds. */
static double stage_seconds(const Spec *s, const StagePlan *sp, const PlanOpts *o) {
    const Gpu *g = o->gpu;
    const SpecStage *st = sp->st;
    const char *k = st->kind->kind;
    if (strcmp(k, "rollout") && strcmp(k, "prm") && strcmp(k, "optimize")) return 0;
    double flops = (sp->precision == MODEL_BF16 ? g->bf16_tflops : g->fp32_tflops) * 1e12 * MFU_ASSUMED;
    double bw = g->bw_tbs * 1e12 * BW_ASSUMED, t = 0, R = responses_of(s, st);
    for (int i = 0; i < sp->nm; i++) {
        const ModelLine *l = &sp->m[i];
        double P = model_config_params(&l->cfg);
        if (l->use.gen_seqs > 0) {
            /* per call: the prefill, then gen_new steps each reading the weights and the (on average half
               full) cache, or computing, whichever is slower */
            double ns = l->mem.gen_batch > 0 ? l->mem.gen_batch : 1, calls = ceil(R / ns);
            double prefill = 2 * P * ns * l->use.gen_prompt / flops;
            double step = fmax((l->mem.weights + 0.5 * l->mem.kv_cache) / bw, 2 * P * ns / flops);
            t += calls * (prefill + l->use.gen_new * step);
        }
        if (l->use.fwd_rows > 0) {
            double tokens = R * l->use.fwd_len * (double)(strcmp(k, "optimize") ? 1 : par_int(st, "epochs", 1));
            double per = l->use.train ? (l->use.recompute ? 8 : 6) : 2; /* forward 2, backward 4, recompute 2 */
            t += per * P * tokens / flops;
        }
    }
    return t;
}

/* ---- the report ---- */

static void gib(char *buf, size_t cap, double bytes) {
    if (bytes <= 0) snprintf(buf, cap, "-");
    else if (bytes < 1048576.0) snprintf(buf, cap, "%.0fK", ceil(bytes / 1024));
    else if (bytes < 1073741824.0) snprintf(buf, cap, "%.0fM", bytes / 1048576);
    else snprintf(buf, cap, "%.1fG", bytes / 1073741824);
}

static double device_bytes(const StagePlan *sp, const PlanOpts *o, const char **what) {
    if (!strcmp(sp->device, "cuda")) {
        *what = o->gpu_bytes > 0 ? "--gpu-memory" : o->gpu->name;
        return o->gpu_bytes > 0 ? o->gpu_bytes : o->gpu->mem_gb * 1e9;
    }
    return model_memory_available(what);
}

static double stage_total(const StagePlan *sp) {
    double t = !strcmp(sp->device, "cuda") ? GPU_RUNTIME_BYTES : CPU_RUNTIME_BYTES;
    for (int i = 0; i < sp->nm; i++) t += sp->m[i].mem.total;
    return t;
}

/* What to change for a stage that does not fit: each remedy the kind
 * offers, with the total it would give, first the ones that fit. */
static void advise(const StagePlan *sp, const PlanOpts *o, FILE *f, char *fix, size_t cap) {
    const SpecStage *st = sp->st;
    char a[32], b[32];
    for (int pass = 0; pass < 3; pass++) {
        StagePlan alt = *sp;
        const char *what = NULL;
        char line[160] = "";
        int runs = 0; /* a stage that only loads and saves (an import) gains nothing from bf16 */
        for (int i = 0; i < sp->nm; i++) runs |= sp->m[i].use.fwd_rows > 0 || sp->m[i].use.gen_seqs > 0;
        if (pass == 0 && sp->precision == MODEL_FP32 && runs) {
            alt.precision = MODEL_BF16, what = "precision: bf16";
        } else if (pass == 1 && !sp->recompute && sp->m[0].use.train) {
            alt.recompute = 1, what = "recompute: true";
        } else if (pass == 2) {
            /* halve the micro-batch (forward) or the batch (generation) until it fits or reaches 1 */
            const char *param = sp->m[0].use.gen_seqs > 0 ? "batch_size" : "micro_batch";
            int v = sp->m[0].use.gen_seqs > 0 ? sp->m[0].use.gen_seqs : sp->m[0].use.fwd_rows;
            const char *dw;
            if (v <= 1) continue; /* nothing to halve (a load, or already 1) */
            while (v > 1) {
                v /= 2;
                for (int i = 0; i < alt.nm; i++) {
                    ModelUse *u = &alt.m[i].use;
                    if (u->gen_seqs > 0 && !strcmp(param, "batch_size")) u->gen_seqs = v;
                    else if (u->fwd_rows > 0 && !strcmp(param, "micro_batch")) u->fwd_rows = v;
                    model_memory_plan(&alt.m[i].cfg, u, &alt.m[i].mem);
                }
                if (stage_total(&alt) <= device_bytes(sp, o, &dw)) break;
            }
            snprintf(line, sizeof line, "%s: %d", param, v);
            what = line;
        }
        if (!what) continue;
        for (int i = 0; i < alt.nm && pass < 2; i++) {
            alt.m[i].use.precision = alt.precision;
            alt.m[i].use.recompute = alt.m[i].use.train && alt.recompute;
            model_memory_plan(&alt.m[i].cfg, &alt.m[i].use, &alt.m[i].mem);
        }
        const char *dw;
        double t = stage_total(&alt), av = device_bytes(sp, o, &dw);
        gib(a, sizeof a, t), gib(b, sizeof b, av);
        if (f) fprintf(f, "    %s.%s -> %s of %s%s\n", st->name, what, a, b, t <= av ? " (fits)" : "");
        if (fix && !fix[0] && t <= av) snprintf(fix, cap, "set %s.%s (%s)", st->name, what, a);
    }
    if (strcmp(sp->device, "cuda")) return;
    /* more GPUs (docs/distributed.md): first pure's own ZeRO-1 (mpirun -np G: the AdamW moments, dp's gradient sum
       and its receive buffer split G ways, everything else per GPU), then ZeRO-3 / FSDP, which would shard the
       parameter blocks too (one layer's weights gathered at a time) and which pure lacks */
    const char *dw;
    double av = device_bytes(sp, o, &dw);
    for (int zero = 1; zero <= 3; zero += 2) {
        for (int G = 2; G <= 512; G *= 2) {
            double t = GPU_RUNTIME_BYTES;
            for (int i = 0; i < sp->nm; i++) {
                const ModelMem *m = &sp->m[i].mem;
                double per = m->activations + m->kv_cache + m->logits, P4 = model_config_params(&sp->m[i].cfg) * 4;
                if (zero == 1) t += m->weights + m->master + m->grads + (m->optimizer + (m->optimizer > 0 ? P4 : 0)) / G + per;
                else t += (m->weights + m->master + m->grads + m->optimizer) / G + m->weights / sp->m[i].cfg.num_layers * 2 + per;
            }
            if (t > av) continue;
            gib(a, sizeof a, t), gib(b, sizeof b, av);
            if (zero == 1) {
                if (fix && !fix[0]) snprintf(fix, cap, "run it on %d GPUs: mpirun -np %d (ZeRO-1, docs/distributed.md)", G, G);
                if (f) fprintf(f, "    or %d GPUs with pure's ZeRO-1 (mpirun -np %d; AdamW state and the gradient sum split "
                               "%d ways): %s of %s per GPU (the NCCL path has not yet run on a GPU)\n", G, G, G, a, b);
            } else {
                if (fix && !fix[0]) snprintf(fix, cap, "it needs %d GPUs with ZeRO-3 sharding, which pure lacks", G);
                if (f) fprintf(f, "    or %d GPUs with ZeRO-3/FSDP sharding of weights, master, gradients and AdamW state: "
                               "%s of %s per GPU (pure lacks ZeRO-3: its ZeRO-1 does not fit on up to 512)\n", G, a, b);
            }
            return;
        }
    }
}

/* Plans every stage that loads a model; prints the table to f (NULL: only the
 * verdict). Returns the number of stages that do not fit, or -1 on error. */
static int plan_report(const Spec *s, const PlanOpts *o, const char *only, FILE *f, char *first, size_t cap,
                       PureErr *err) {
    int bad = 0;
    double iter_s = 0;
    int timed = 0;
    if (f)
        fprintf(f, "%-14s %-9s %-5s %-4s %7s %7s %7s %7s %7s %7s %7s %8s\n", "stage", "model", "prec", "dev",
                "weights", "master", "grads", "optim", "activ", "kv", "logits", "total");
    for (int oi = 0; oi < s->nstages; oi++) {
        int si = s->order ? s->order[oi] : oi;
        if (only && !only[si]) continue;
        StagePlan sp;
        int rc = fill_stage(s, si, o, &sp, err);
        if (rc < 0) { /* e.g. an init folder made later: the stage checks its own model when it runs */
            if (f) fprintf(f, "%-14s not planned: %s\n", s->stages[si].name, err->msg);
            err_clear(err);
            continue;
        }
        if (rc > 0) continue;
        const char *dw;
        sp.total = stage_total(&sp);
        sp.avail = device_bytes(&sp, o, &dw);
        int fits = sp.total <= sp.avail;
        if (!strcmp(sp.device, "cuda")) sp.seconds = stage_seconds(s, &sp, o);
        if (sp.st->sec == SEC_LOOP && sp.seconds > 0) iter_s += sp.seconds, timed = 1;
        char c[8][32], tot[32], av[32];
        for (int i = 0; i < sp.nm && f; i++) {
            const ModelMem *m = &sp.m[i].mem;
            gib(c[0], 32, m->weights), gib(c[1], 32, m->master), gib(c[2], 32, m->grads);
            gib(c[3], 32, m->optimizer), gib(c[4], 32, m->activations), gib(c[5], 32, m->kv_cache);
            gib(c[6], 32, m->logits), gib(c[7], 32, m->total);
            fprintf(f, "%-14s %-9s %-5s %-4s %7s %7s %7s %7s %7s %7s %7s %8s\n", i ? "" : sp.st->name, sp.m[i].role,
                    sp.precision == MODEL_BF16 ? "bf16" : "fp32", sp.device, c[0], c[1], c[2], c[3], c[4], c[5], c[6],
                    c[7]);
        }
        gib(tot, sizeof tot, sp.total), gib(av, sizeof av, sp.avail);
        if (f) {
            fprintf(f, "%-14s total %s with the runtime's %s, of %s (%s): %s", "", tot,
                    !strcmp(sp.device, "cuda") ? "1.5G" : "96M", av, dw, fits ? "fits" : "DOES NOT FIT");
            if (sp.seconds > 0) fprintf(f, "  ~%.0f s", sp.seconds);
            fprintf(f, "\n");
            for (int i = 0; i < sp.nm; i++) {
                const ModelLine *l = &sp.m[i];
                fprintf(f, "    %s: %s, %.2fB parameters", l->role, l->what, model_config_params(&l->cfg) / 1e9);
                if (l->use.fwd_rows) fprintf(f, ", forward %d x %d tokens", l->use.fwd_rows, l->use.fwd_len);
                if (l->use.gen_seqs)
                    fprintf(f, ", generation %d x (%d + %d) tokens%s", l->mem.gen_batch, l->use.gen_prompt,
                            l->use.gen_new, l->mem.gen_batch < l->use.gen_seqs ? " (CPU KV budget)" : "");
                if (l->use.recompute) fprintf(f, ", recompute");
                fprintf(f, "; peak in %s\n", l->mem.phase);
            }
        }
        if (!fits) {
            if (!bad && first) {
                const ModelMem *m = &sp.m[0].mem;
                double big = fmax(fmax(m->weights + m->master, m->grads + m->optimizer),
                                  fmax(m->activations, m->kv_cache));
                const char *part = big == m->kv_cache ? "the KV cache"
                                   : big == m->activations ? "activations"
                                   : big == m->weights + m->master ? "weights" : "gradients and AdamW state";
                snprintf(first, cap, "stage '%s' needs %s on %s but %s has %s (the largest part: %s, %.1f GiB)",
                         sp.st->name, tot, sp.device, dw, av, part, big / 1073741824);
            }
            char fix[256] = "";
            advise(&sp, o, f, fix, sizeof fix);
            if (bad == 0 && first) {
                size_t at = strlen(first);
                snprintf(first + at, cap - at, "; %s", fix[0] ? fix : "no single change of micro_batch, batch_size, "
                         "recompute or precision makes it fit");
            }
            bad++;
        }
    }
    if (f && timed)
        fprintf(f, "\ntime per RL iteration on one %s (rollout + PRM + optimize, every response at max_new_tokens, "
                "%.0f%% MFU, %.0f%% of bandwidth): ~%.0f s (%.1f min)\n", o->gpu->name, 100 * MFU_ASSUMED,
                100 * BW_ASSUMED, iter_s, iter_s / 60);
    return bad;
}

/* ---- the command, and the check `pure run` makes ---- */

static const char *help =
    "usage: pure plan PIPELINE.yaml [--set key.path=value]... [--device cpu|cuda]\n"
    "                 [--gpu h200|h100|a100|l40s|a10] [--gpu-memory GB] [--prompt-tokens N]\n"
    "\n"
    "Prints, for every stage that loads a model, the bytes its models will use:\n"
    "weights, f32 master copy (bf16 training), gradients, AdamW state, activations\n"
    "(kept or recomputed, with backward's scratch), KV cache, logits chunk, and the total\n"
    "against the device's memory (CPU: physical memory or a lower ulimit -v / cgroup\n"
    "limit; CUDA: --gpu-memory, else the named GPU, default h200). For a stage that does\n"
    "not fit it lists what to change. On CUDA it also estimates the time of one RL\n"
    "iteration from the GPU's peaks. `pure run` makes the same check before it starts.\n"
    "\n"
    "  --device D         plan every stage for D (default: each stage's device; auto = what it would\n"
    "                     pick here: cuda when this build has it and a GPU is present, else cpu)\n"
    "  --gpu NAME         the GPU to plan for (memory, peak FLOP/s and bandwidth)\n"
    "  --gpu-memory GB    usable GPU memory in 1e9 bytes (overrides the GPU's)\n"
    "  --prompt-tokens N  the longest prompt in tokens (default 256; prompts are not read)\n"
    "\n"
    "Exit codes: 0 every stage fits, 1 a stage does not fit, 2 bad usage or spec.\n";

static const Gpu *gpu_named(const char *name) {
    for (const Gpu *g = GPUS; g->name; g++)
        if (!strcmp(g->name, name)) return g;
    return NULL;
}

int cmd_plan(int argc, char **argv) {
    PlanOpts po = {NULL, &GPUS[0], 0, 256};
    /* our options first; the rest go to the shared parser */
    char **rest = malloc(sizeof(char *) * (size_t)(argc + 1));
    int nr = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if ((!strcmp(a, "--device") || !strcmp(a, "--gpu") || !strcmp(a, "--gpu-memory") ||
             !strcmp(a, "--prompt-tokens")) && !more) {
            fprintf(stderr, "pure plan: %s needs a value\n", a);
            free(rest);
            return PURE_EXIT_USAGE;
        }
        if (!strcmp(a, "--device")) {
            po.device = argv[++i];
            if (strcmp(po.device, "cpu") && strcmp(po.device, "cuda")) {
                fprintf(stderr, "pure plan: --device '%s' is not one of cpu, cuda\n", po.device);
                free(rest);
                return PURE_EXIT_USAGE;
            }
        } else if (!strcmp(a, "--gpu")) {
            if (!(po.gpu = gpu_named(argv[++i]))) {
                fprintf(stderr, "pure plan: --gpu '%s' is not one of h200, h100, a100, l40s, a10\n", argv[i]);
                free(rest);
                return PURE_EXIT_USAGE;
            }
        } else if (!strcmp(a, "--gpu-memory") || !strcmp(a, "--prompt-tokens")) {
            char *end;
            double v = strtod(argv[++i], &end);
            if (*end || !(v > 0) || v > 1e7) {
                fprintf(stderr, "pure plan: %s '%s' is not a positive number\n", a, argv[i]);
                free(rest);
                return PURE_EXIT_USAGE;
            }
            if (a[2] == 'g') po.gpu_bytes = v * 1e9;
            else po.prompt_tokens = (int)v;
        } else {
            rest[nr++] = argv[i];
        }
    }
    rest[nr] = NULL;
    CliOpts o;
    int rc = cli_parse(nr, rest, "set quiet", 1, help, &o);
    if (rc) {
        free(rest);
        return rc > 0 ? PURE_EXIT_OK : PURE_EXIT_USAGE;
    }
    Spec *spec;
    Plan *plan = cli_load(&o, &spec);
    if (!plan) {
        free(rest);
        return PURE_EXIT_USAGE;
    }
    PureErr err;
    err_clear(&err);
    char first[512] = "";
    int bad = plan_report(spec, &po, NULL, stdout, first, sizeof first, &err);
    if (bad < 0) fprintf(stderr, "pure plan: %s\n", err.msg);
    else if (bad) printf("\n%d stage%s will not fit: %s\n", bad, bad == 1 ? "" : "s", first);
    cli_unload(plan, spec);
    free(rest);
    return bad < 0 ? PURE_EXIT_USAGE : bad ? PURE_EXIT_FAIL : PURE_EXIT_OK;
}

int cli_plan_check(const Spec *spec, const Plan *plan, const char *wanted, PureErr *err) {
    PlanOpts po = {NULL, &GPUS[0], 0, 256};
    char first[512] = "";
    PureErr perr;
    err_clear(&perr);
    /* only the stages this run may execute (--until): a per-stage mask from the per-instance one */
    char *only = NULL;
    if (wanted) {
        only = xcalloc((size_t)spec->nstages + 1, 1);
        for (int i = 0; i < plan->n; i++)
            if (wanted[i]) only[plan->insts[i].stage] = 1;
    }
    int bad = plan_report(spec, &po, only, NULL, first, sizeof first, &perr);
    free(only);
    if (bad < 0) return 0; /* a shape the plan cannot read (a model folder made later): the stage checks it */
    if (bad)
        return err_set(err, "%s. Nothing was run; `pure plan %s` (with the same --set options) shows every stage "
                       "and each remedy", first, spec->path);
    return 0;
}
