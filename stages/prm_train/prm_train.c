/* prm_train.c - the `prm_train` stage kind: trains a token-classification PRM.
 *
 * Step-labelled examples come from one of two sources:
 *   toy:   the toy task's demonstrations (and, when a `policy` is connected,
 *          responses sampled from it, which is the distribution the PRM will
 *          score during RL), labelled by the exact step checker: a step is
 *          correct (1) when the checker gives it a positive reward;
 *   jsonl: PRM800K-style lines {"problem", "steps": [...], "labels": [1,0,-1]}
 *          (format in stages/common/prmfmt.h and docs/stages.md).
 * The model is a fresh tiny Qwen2-shaped classifier with 2 labels (or `init`),
 * trained with the cross-entropy at the step markers of the method's input
 * format. A learned PRM is imperfect by construction, as real ones are.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stages/common/io.h"
#include "stages/common/lm.h"
#include "stages/common/prmfmt.h"
#include "stages/common/steps.h"
#include "stages/common/toy.h"
#include "stages/common/layouts.h"
#include "stages/stage.h"
#include "util/fs.h"
#include "util/json.h"

static const PortDef pt_inputs[] = {
    {"train", ART_H5, 0, "toy prompts with solutions (data stage, source toy)", layout_prompts},
    {"policy", ART_DIR, 1, "toy: also label responses sampled from this policy"},
    {"base", ART_DIR, 1, "init_from_policy: start from this LM instead of `policy` (e.g. one SFT-trained longer than "
                         "the RL policy); the samples still come from `policy`"},
    {0},
};
static const PortDef pt_outputs[] = {
    {"prm", ART_DIR, 0, "token-classification PRM folder (num_labels 2)"},
    {0},
};
static const char *const pt_source_names[] = {"toy", "jsonl", NULL};
/* What the steps after a response's first wrong step are trained on. PRM800K's
 * raters stop at the first wrong step and ProcessBench asks for the earliest
 * error, so a PRM in that protocol never learns a label for what follows one.
 * It matters on the toy: with progress required, an answer step after a slip
 * is wrong although it copies the last value correctly, and only the whole
 * chain says so; up to the first error every label is a local fact. */
enum { PT_AFTER_KEEP, PT_AFTER_UNLABELLED };
static const char *const pt_after_names[] = {"keep", "unlabelled", NULL};
enum { PT_SOURCE_TOY, PT_SOURCE_JSONL };

static const ParamDef pt_params[] = {
    COMMON_MODEL_PARAMS,
    COMMON_ADAMW_PARAMS("1.0e-3"),
    {"source", PT_ENUM, "toy", 1, 0, pt_source_names, "where step labels come from"},
    {"init_from_policy", PT_BOOL, "false", 1, 0, NULL,
     "start from the connected policy's weights and tokenizer (a new 2-label head), as real PRMs start from an LM"},
    {"extra_layers", PT_INT, "0", 0, 64, NULL,
     "init_from_policy: this many new decoder layers above the policy's (output projections zero, so the PRM "
     "starts as the policy's function): a PRM larger than the policy, whose new layers can read what the policy "
     "predicts at each token"},
    {"freeze_policy", PT_BOOL, "false", 1, 0, NULL,
     "init_from_policy: keep the policy's embedding and layers fixed and train only the extra layers, the final "
     "norm and the head, so training cannot wash out what the policy computes (CPU only)"},
    {"data", PT_PATH, "", 1, 0, NULL, "jsonl: PRM800K-style file {problem, steps, labels} per line"},
    {"require_progress", PT_BOOL, "true", 1, 0, NULL, "toy: the labelling checker demands progress"},
    {"filler_correct", PT_BOOL, "true", 1, 0, NULL, "toy: filler steps (v+0=v) are labelled correct"},
    {"hard_negatives", PT_INT, "0", 0, 64, NULL,
     "toy: per demonstration, this many variants with one defect each (a small slip, a skipped operation, a "
     "miscopied operand, a wrong boxed answer, in turn), labelled by the checker"},
    {"clean_solutions", PT_BOOL, "false", 1, 0, NULL,
     "toy: also each demonstration's error-free solution, labelled by the checker: the positives that balance the "
     "hard negatives (whose final answers are all wrong)"},
    {"samples", PT_INT, "2", 0, 1024, NULL, "toy with a policy: responses sampled per prompt"},
    {"sample_prompts", PT_INT, "256", 0, 1e9, NULL, "toy with a policy: prompts to sample from (0 = all)"},
    {"max_new_tokens", PT_INT, "128", 1, 1e6, NULL, "toy with a policy: longest sampled response"},
    {"temperature", PT_FLOAT, "1.0", 0, 100, NULL, "toy with a policy: sampling temperature"},
    {"steps", PT_INT, "0", 0, 1e9, NULL, "optimizer steps (0 = epochs x examples / batch_size)"},
    {"epochs", PT_INT, "1", 0, 100000, NULL, "passes over the examples (when steps = 0)"},
    {"batch_size", PT_INT, "16", 1, 1e6, NULL, "examples per optimizer step"},
    {"micro_batch", PT_INT, "16", 1, 1e6, NULL, "examples per forward/backward"},
    {"max_len", PT_INT, "512", 8, 1e7, NULL, "longest PRM input in tokens"},
    {"input_format", PT_ENUM, "text", 1, 0, prm_input_formats,
     "text: prm's text format; tokens: the official PRM's layout (TRL PRMTrainer), for prm input_format tokens: "
     "jsonl: the problem's ids, then each step's ids + the \"\\n\" id; toy: the prompt's ids, then each step's "
     "ids without its delimiter's last token + the \"\\n\" id, as prm builds it from rollouts (so the policy's own "
     "layout, \"\\n\\n\" between steps)"},
    {"after_first_error", PT_ENUM, "keep", 1, 0, pt_after_names,
     "the steps after a response's first wrong step: keep their labels, or leave them unlabelled (no loss), as "
     "PRM800K's raters stop at the first error"},
    {"log_every", PT_INT, "50", 1, 1e9, NULL, "log the loss every N steps"},
    {0},
};

static int pt_check(const StageParams *p, PureErr *err) {
    if (param_enum(p, "source") == PT_SOURCE_JSONL && !param_str(p, "data")[0])
        return err_set(err, "source jsonl needs the parameter 'data' (a PRM800K-style .jsonl file)");
    if (param_int(p, "extra_layers") > 0 && !param_bool(p, "init_from_policy"))
        return err_set(err, "extra_layers adds layers above the policy's: it needs init_from_policy: true (a fresh "
                            "PRM takes its size from 'layers')");
    if (param_bool(p, "freeze_policy") && !param_bool(p, "init_from_policy"))
        return err_set(err, "freeze_policy keeps the policy's weights fixed: it needs init_from_policy: true");
    if (param_bool(p, "freeze_policy") && param_float(p, "weight_decay") != 0)
        return err_set(err, "freeze_policy keeps the policy's weights fixed through zero gradients: weight_decay must "
                            "be 0 (it is %g), which would still shrink them", param_float(p, "weight_decay"));
    return 0;
}

typedef struct Examples {
    PrmInput *in;
    int8_t **labels;
    int n, cap;
    int64_t pos, total;
    int32_t nl;            /* >= 0: the tokens format with this "\n" id */
    int unlabel_after_err; /* after_first_error: unlabelled */
} Examples;

/* Takes an input already built and its ns labels (1 correct, 0 wrong, -1 none). */
static int ex_push(Examples *ex, const PrmInput *in, const int8_t *labels, int ns) {
    if (ex->n == ex->cap) {
        ex->cap = ex->cap ? 2 * ex->cap : 256;
        ex->in = xrealloc(ex->in, (size_t)ex->cap * sizeof *ex->in);
        ex->labels = xrealloc(ex->labels, (size_t)ex->cap * sizeof *ex->labels);
    }
    ex->in[ex->n] = *in;
    ex->labels[ex->n] = xmalloc((size_t)ns);
    memcpy(ex->labels[ex->n], labels, (size_t)ns);
    if (ex->unlabel_after_err) {
        int s = 0;
        while (s < ns && labels[s] != 0) s++;
        for (s++; s < ns; s++) ex->labels[ex->n][s] = -1;
    }
    for (int s = 0; s < ns; s++) ex->pos += ex->labels[ex->n][s] == 1, ex->total += ex->labels[ex->n][s] >= 0;
    ex->n++;
    return 0;
}

static int ex_add(Examples *ex, const Tokenizer *tok, int max_len, const char *problem, const char *const *steps,
                  const size_t *lens, const int8_t *labels, int ns, PureErr *err) {
    if (ns == 0) return 0;
    PrmInput in;
    if (ex->nl >= 0 ? prm_format_pieces(tok, problem, steps, lens, ns, ex->nl, max_len, &in, err)
                    : prm_format(tok, problem, steps, lens, ns, max_len, &in, err))
        return -1;
    return ex_push(ex, &in, labels, ns);
}

/* The tokens format for a toy response, built as prm builds it from a rollout
 * (prm_format_tokens): the prompt's ids as the rollout stage encodes them,
 * then each step's tokens up to, not including, the token that ends its
 * "\n\n" delimiter (the rollout's step end), each followed by the "\n" id; the
 * last step keeps all its tokens (a rollout's ends at the eos). Two steps
 * ending inside one token (not possible with the toy's byte tokenizer) get the
 * same end token here, where the rollout stage's step_map merges them. */
static int toy_tokens_input(const Tokenizer *tok, const char *prompt, const char *text, const size_t *ends, int ns,
                            int32_t nl, int max_len, PrmInput *in, PureErr *err) {
    int32_t *pids = NULL, *ids = NULL;
    int np = 0;
    size_t n = 0, *off = NULL;
    if (policy_encode_prompt(tok, prompt, 0, &pids, &np, err)) return err_prefix(err, "PRM input, prompt");
    if (tokenizer_encode(tok, text, strlen(text), 0, &ids, &n, &off, err)) {
        free(pids);
        return err_prefix(err, "PRM input, response");
    }
    int32_t *tend = xmalloc(((size_t)ns + 1) * sizeof(int32_t));
    size_t j = 0;
    for (int s = 0; s < ns; s++) {
        if (s == ns - 1) {
            tend[s] = (int32_t)n;
            break;
        }
        while (j < n && off[2 * j + 1] < ends[s]) j++; /* the token holding the delimiter's last byte */
        tend[s] = (int32_t)j;
    }
    prm_format_tokens(pids, np, ids, (int)n, tend, ns, nl, max_len, in);
    free(pids), free(ids), free(off), free(tend);
    return 0;
}

/* Labels one toy response by the checker and adds it. */
static int add_toy(StageCtx *ctx, Examples *ex, const Tokenizer *tok, const char *problem, const char *prompt,
                   const char *text, PureErr *err) {
    size_t *ends = NULL, *starts = NULL;
    int ns = steps_split(text, strlen(text), &ends, &starts);
    if (ns <= 0) return 0;
    ToyCheckOptions o;
    toy_check_options_default(&o);
    o.require_progress = stage_param_bool(ctx, "require_progress");
    o.filler_correct = stage_param_bool(ctx, "filler_correct");
    float *r = xmalloc((size_t)ns * sizeof(float));
    int8_t *lab = xmalloc((size_t)ns);
    const char **steps = xmalloc((size_t)ns * sizeof(char *));
    size_t *lens = xmalloc((size_t)ns * sizeof(size_t));
    int rc = 0;
    if (toy_check_steps(problem, text, &o, r, ns) != ns)
        rc = err_set(err, "input 'train': '%.60s' is not a toy problem (source toy labels toy-task steps only)",
                     problem);
    for (int s = 0; s < ns && !rc; s++) {
        lab[s] = r[s] > 0;
        steps[s] = text + starts[s];
        lens[s] = ends[s] - starts[s];
    }
    int max_len = (int)stage_param_int(ctx, "max_len");
    if (!rc && ex->nl >= 0) {
        PrmInput in;
        rc = toy_tokens_input(tok, prompt, text, ends, ns, ex->nl, max_len, &in, err);
        if (!rc) rc = ex_push(ex, &in, lab, ns);
    } else if (!rc) {
        rc = ex_add(ex, tok, max_len, problem, steps, lens, lab, ns, err);
    }
    free(r), free(lab), free(steps), free(lens), free(ends), free(starts);
    return rc;
}

static int load_toy(StageCtx *ctx, Examples *ex, const Tokenizer *tok, PureErr *err) {
    Prompts pr;
    if (input_read_prompts(ctx, "train", &pr, err)) return -1;
    int rc = 0, hard = (int)stage_param_int(ctx, "hard_negatives"), clean = stage_param_bool(ctx, "clean_solutions");
    for (int64_t i = 0; i < pr.n && !rc; i++) {
        if (!pr.solution[i][0]) continue;
        rc = add_toy(ctx, ex, tok, pr.problem[i], pr.prompt[i], pr.solution[i], err);
        ToyProblem tp;
        if (!rc && (hard > 0 || clean) && toy_problem_parse(pr.problem[i], &tp) < 0)
            rc = err_set(err, "input 'train': row %lld '%.60s' is not a toy problem (hard_negatives and "
                         "clean_solutions need the toy task)", (long long)i, pr.problem[i]);
        if (!rc && clean) {
            char *pos = toy_clean_solution(&tp);
            rc = add_toy(ctx, ex, tok, pr.problem[i], pr.prompt[i], pos, err);
            free(pos);
        }
        for (int k = 0; k < hard && !rc; k++) {
            char *neg = toy_negative(&tp, k % TOY_NEG_KINDS, stage_seed(ctx), (uint64_t)i * (uint64_t)hard + (uint64_t)k);
            rc = add_toy(ctx, ex, tok, pr.problem[i], pr.prompt[i], neg, err);
            free(neg);
        }
    }
    const char *pol = stage_input_path(ctx, "policy");
    int K = (int)stage_param_int(ctx, "samples");
    if (!rc && pol && K > 0) {
        Policy p;
        if (policy_load_ctx(ctx, pol, "policy", 0, 0, &p, err)) {
            prompts_free(&pr);
            return -1;
        }
        int64_t np = stage_param_int(ctx, "sample_prompts");
        if (np == 0 || np > pr.n) np = pr.n;
        int32_t eos = tokenizer_eos_id(p.tok);
        SampleConfig sc = {0};
        sc.max_new_tokens = (int)stage_param_int(ctx, "max_new_tokens");
        sc.temperature = (float)stage_param_float(ctx, "temperature");
        sc.top_p = 1;
        sc.stop_ids = eos >= 0 ? &eos : NULL;
        sc.n_stop_ids = eos >= 0;
        sc.seed = stage_seed(ctx);
        for (int64_t i = 0; i < np && !rc; i++) {
            int32_t *ids = NULL;
            int n = 0;
            if (policy_encode_prompt(p.tok, pr.prompt[i], 0, &ids, &n, err)) {
                rc = -1;
                break;
            }
            const int32_t **pp = xmalloc((size_t)K * sizeof *pp);
            int *pl = xmalloc((size_t)K * sizeof(int));
            uint64_t *st = xmalloc((size_t)K * sizeof(uint64_t));
            SampleResult *res = xcalloc((size_t)K, sizeof *res);
            for (int k = 0; k < K; k++) pp[k] = ids, pl[k] = n, st[k] = (uint64_t)i * K + k;
            rc = model_generate(p.m, p.tok, K, pp, pl, st, &sc, res, err);
            for (int k = 0; k < K && !rc; k++) {
                char *text = tokenizer_decode(p.tok, res[k].tokens, res[k].n, 1, NULL);
                rc = add_toy(ctx, ex, tok, pr.problem[i], pr.prompt[i], text, err);
                free(text);
            }
            for (int k = 0; k < K; k++) sample_result_free(&res[k]);
            free(res), free(st), free(pl), free(pp), free(ids);
            stage_progress(ctx, i + 1, np, "prompts sampled");
        }
        policy_free(&p);
    }
    prompts_free(&pr);
    return rc;
}

static int load_jsonl(StageCtx *ctx, Examples *ex, const Tokenizer *tok, PureErr *err) {
    const char *path = stage_param_str(ctx, "data");
    size_t len = 0;
    char *buf = fs_read_file(path, &len, err);
    if (!buf) return err_prefix(err, "parameter 'data'");
    int rc = 0, line = 0, max_len = (int)stage_param_int(ctx, "max_len");
    for (char *s = buf, *e; s < buf + len && !rc; s = e + 1) {
        e = strchr(s, '\n');
        if (!e) e = buf + len;
        line++;
        if (e == s) continue;
        char what[512];
        snprintf(what, sizeof what, "%s:%d", path, line);
        cJSON *j = json_parse(s, (size_t)(e - s), what, err);
        if (!j) {
            rc = -1;
            break;
        }
        cJSON *pb = cJSON_GetObjectItem(j, "problem"), *st = cJSON_GetObjectItem(j, "steps"),
              *lb = cJSON_GetObjectItem(j, "labels");
        int ns = cJSON_GetArraySize(st);
        if (!cJSON_IsString(pb) || !cJSON_IsArray(st) || !cJSON_IsArray(lb) || cJSON_GetArraySize(lb) != ns) {
            rc = err_set(err, "%s: expected {\"problem\": string, \"steps\": [strings], \"labels\": [1|0|-1, one per "
                         "step]}", what);
        } else {
            const char **steps = xmalloc(((size_t)ns + 1) * sizeof(char *));
            size_t *lens = xmalloc(((size_t)ns + 1) * sizeof(size_t));
            int8_t *lab = xmalloc((size_t)ns + 1);
            for (int k = 0; k < ns && !rc; k++) {
                cJSON *sk = cJSON_GetArrayItem(st, k), *lk = cJSON_GetArrayItem(lb, k);
                if (!cJSON_IsString(sk) || !cJSON_IsNumber(lk) || lk->valueint < -1 || lk->valueint > 1)
                    rc = err_set(err, "%s: step %d: expected a string step and a label 1, 0 or -1", what, k);
                else
                    steps[k] = sk->valuestring, lens[k] = strlen(sk->valuestring), lab[k] = (int8_t)lk->valueint;
            }
            if (!rc) rc = ex_add(ex, tok, max_len, pb->valuestring, steps, lens, lab, ns, err);
            free(steps), free(lens), free(lab);
        }
        cJSON_Delete(j);
    }
    free(buf);
    return rc;
}

/* A classifier with the policy's architecture and weights (all but the LM
 * head), so the PRM starts from what the policy knows about the task. With
 * extra_layers, new layers sit between the policy's last layer and its final
 * norm; their output projections start at zero, so each new layer adds nothing
 * to the residual stream until trained and the PRM starts as the policy's
 * features. The new layers see the policy's next-token prediction at every
 * position, which a verifier of "a+b=c" needs next to the digit written. */
static int from_policy(StageCtx *ctx, const char *out, Policy *p, PureErr *err) {
    const char *dir = stage_input_path(ctx, "base"), *port = "base";
    if (!dir) dir = stage_input_path(ctx, "policy"), port = "policy";
    if (!dir) return err_set(err, "init_from_policy needs the input 'policy' (or 'base')");
    Policy src;
    if (policy_load_ctx(ctx, dir, port, 0, 1, &src, err)) return -1;
    ModelConfig cfg = *model_config(src.m);
    int base = cfg.num_layers, extra = (int)stage_param_int(ctx, "extra_layers");
    cfg.num_labels = 2;
    cfg.num_layers += extra;
    memset(p, 0, sizeof *p);
    int rc = 0;
    if (!(p->m = model_create(&cfg, stage_seed(ctx), stage_param_str(ctx, "device"), err))) rc = -1;
    for (int i = 0; !rc && i < model_tensor_count(src.m); i++) {
        int nd;
        int64_t shape[2] = {1, 1};
        const char *name = model_tensor_info(src.m, i, &nd, shape);
        if (!strncmp(name, "lm_head", 7)) continue;
        float *buf = xmalloc((size_t)(shape[0] * (nd > 1 ? shape[1] : 1)) * sizeof(float));
        rc = model_get_tensor(src.m, name, buf, err) || model_set_tensor(p->m, name, buf, err);
        free(buf);
    }
    for (int i = 0; !rc && i < model_tensor_count(p->m); i++) {
        int nd, layer = -1;
        int64_t shape[2] = {1, 1};
        const char *name = model_tensor_info(p->m, i, &nd, shape);
        if (sscanf(name, "model.layers.%d.", &layer) != 1 || layer < base) continue;
        if (!strstr(name, ".o_proj.weight") && !strstr(name, ".down_proj.weight")) continue;
        float *zero = xcalloc((size_t)(shape[0] * (nd > 1 ? shape[1] : 1)), sizeof(float));
        rc = model_set_tensor(p->m, name, zero, err);
        free(zero);
    }
    if (!rc) rc = common_copy_tokenizer(dir, out, err);
    if (!rc) {
        char *tj = fs_join(out, "tokenizer.json");
        if (!(p->tok = tokenizer_load(tj, err))) rc = -1;
        free(tj);
    }
    policy_free(&src);
    if (rc) policy_free(p);
    return rc ? err_prefix(err, "init_from_policy") : 0;
}

/* freeze_policy: the flat-vector ranges of the tensors copied from the policy
 * (embedding and the policy's own layers; not the final norm or the head).
 * Their gradients are zeroed before each AdamW step; with no weight decay on
 * a zero gradient AdamW leaves them exactly as they were. */
typedef struct Frozen {
    int64_t (*range)[2];
    int n;
} Frozen;

static int frozen_init(Model *m, int base_layers, Frozen *fz, PureErr *err) {
    memset(fz, 0, sizeof *fz);
    if (!model_param_data(m)) return err_set(err, "freeze_policy needs the CPU (device: cpu): the gradient vector "
                                                  "is written in host memory");
    int64_t off = 0;
    fz->range = xmalloc((size_t)model_tensor_count(m) * sizeof *fz->range);
    for (int i = 0; i < model_tensor_count(m); i++) {
        int nd, layer = -1;
        int64_t shape[2] = {1, 1};
        const char *name = model_tensor_info(m, i, &nd, shape);
        int64_t size = shape[0] * (nd > 1 ? shape[1] : 1);
        int policy = !strncmp(name, "model.embed_tokens", 18) ||
                     (sscanf(name, "model.layers.%d.", &layer) == 1 && layer < base_layers);
        if (policy) fz->range[fz->n][0] = off, fz->range[fz->n][1] = off + size, fz->n++;
        off += size;
    }
    return 0;
}

static void frozen_apply(Model *m, const Frozen *fz) {
    float *g = model_grad_data(m);
    for (int i = 0; i < fz->n; i++)
        memset(g + fz->range[i][0], 0, (size_t)(fz->range[i][1] - fz->range[i][0]) * sizeof(float));
}

static int pt_run(StageCtx *ctx, PureErr *err) {
    const char *out = stage_output_path(ctx, "prm");
    Policy p;
    if (stage_input_path(ctx, "base") && !stage_param_bool(ctx, "init_from_policy"))
        return err_set(err, "input 'base' is the LM the PRM starts from: it needs init_from_policy: true");
    if (stage_param_bool(ctx, "init_from_policy")) {
        if (from_policy(ctx, out, &p, err)) return -1;
    } else if (common_model_create(ctx, out, 2, &p, err)) {
        return -1;
    }
    Examples ex = {.nl = -1, .unlabel_after_err = stage_param_enum(ctx, "after_first_error") == PT_AFTER_UNLABELLED};
    if (stage_param_int(ctx, "steps") == 0 && stage_param_int(ctx, "epochs") == 0) {
        /* no training: import `init` (or a fresh classifier) as the PRM */
        stage_log(ctx, "prm_train: 0 steps, writing the initial model as the PRM");
        int rc = policy_save(&p, NULL, out, err);
        policy_free(&p);
        return rc;
    }
    int rc = stage_param_enum(ctx, "input_format") == PRM_INPUT_TOKENS
                 ? prm_newline_id(p.tok, "input_format tokens: the PRM's tokenizer", &ex.nl, err)
                 : 0;
    if (!rc)
        rc = stage_param_enum(ctx, "source") == PT_SOURCE_JSONL ? load_jsonl(ctx, &ex, p.tok, err)
                                                                : load_toy(ctx, &ex, p.tok, err);
    if (!rc && ex.total == 0) rc = err_set(err, "no labelled steps to train the PRM on");
    Frozen fz = {0};
    if (!rc && stage_param_bool(ctx, "freeze_policy")) {
        int base_layers = model_config(p.m)->num_layers - (int)stage_param_int(ctx, "extra_layers");
        rc = frozen_init(p.m, base_layers, &fz, err);
        /* nothing flows back into the frozen part, so its backward is skipped (its gradients stay zero; the
           zeroing before each step is kept as the statement of the rule) */
        if (!rc) model_set_backward_from(p.m, base_layers);
    }
    if (!rc) {
        int bs = (int)stage_param_int(ctx, "batch_size"), micro = (int)stage_param_int(ctx, "micro_batch");
        int steps = (int)stage_param_int(ctx, "steps"), log_every = (int)stage_param_int(ctx, "log_every");
        if (steps == 0) steps = (int)((stage_param_int(ctx, "epochs") * ex.n + bs - 1) / bs);
        AdamWConfig ac;
        common_adamw_config(ctx, steps, &ac);
        stage_log(ctx, "prm_train: %d examples, %lld labelled steps (%.0f%% correct), %d steps", ex.n,
                  (long long)ex.total, 100.0 * ex.pos / ex.total, steps);
        stage_metric(ctx, "labelled_steps", (double)ex.total);
        stage_metric(ctx, "labelled_correct_fraction", (double)ex.pos / (double)ex.total);
        int64_t *order = xmalloc((size_t)ex.n * sizeof(int64_t)), pos = ex.n;
        PrmInput *bin = xmalloc((size_t)bs * sizeof *bin);
        const int8_t **blab = xmalloc((size_t)bs * sizeof *blab);
        double acc_sum = 0, loss_sum = 0;
        int64_t acc_n = 0;
        for (int step = 0, epoch = 0; step < steps && !rc; step++) {
            int nlab = 0;
            for (int i = 0; i < bs; i++) {
                if (pos == ex.n) common_permutation(order, ex.n, stage_seed(ctx), (uint64_t)epoch++), pos = 0;
                int64_t e = order[pos++];
                bin[i] = ex.in[e];
                blab[i] = ex.labels[e];
                for (int s = 0; s < bin[i].n_steps; s++) nlab += blab[i][s] >= 0 && bin[i].marker[s] >= 0;
            }
            double loss = 0;
            int right = 0;
            model_zero_grad(p.m);
            for (int s = 0; s < bs && !rc; s += micro) {
                int c = bs - s < micro ? bs - s : micro;
                rc = prm_train_micro(p.m, bin + s, blab + s, c, nlab > 0 ? nlab : 1, &loss, &right, err);
            }
            double gn, lr;
            if (!rc && fz.n) frozen_apply(p.m, &fz);
            if (!rc && model_adamw_step(p.m, &ac, &gn, &lr, err)) rc = -1;
            if (rc) break;
            if (step >= steps - 20) acc_sum += right, loss_sum += loss, acc_n += nlab;
            if ((step + 1) % log_every == 0 || step == 0)
                stage_log(ctx, "prm_train step %d/%d loss %.4f step accuracy %.3f", step + 1, steps,
                          nlab ? loss / nlab : 0, nlab ? (double)right / nlab : 0);
            stage_progress(ctx, step + 1, steps, "steps");
        }
        if (!rc) {
            stage_metric(ctx, "loss", acc_n ? loss_sum / acc_n : 0);
            stage_metric(ctx, "step_accuracy", acc_n ? acc_sum / acc_n : 0);
            stage_metric(ctx, "examples", ex.n);
            stage_metric(ctx, "correct_fraction", (double)ex.pos / ex.total);
            rc = policy_save(&p, NULL, out, err);
        }
        free(order), free(bin), free(blab);
    }
    free(fz.range);
    for (int i = 0; i < ex.n; i++) prm_input_free(&ex.in[i]), free(ex.labels[i]);
    free(ex.in), free(ex.labels);
    policy_free(&p);
    return rc;
}

const StageKind stage_kind_prm_train = {
    "prm_train", 1,
    "Trains a token-classification process reward model (2 labels) on step-labelled data: toy-task "
    "demonstrations and policy samples labelled by the exact step checker, or PRM800K-style JSONL.",
    pt_inputs, pt_outputs, pt_params, pt_run, pt_check,
};
