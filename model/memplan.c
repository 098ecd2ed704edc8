/* memplan.c - the memory a model will use, from its config alone.
 *
 * Every term is the size of an allocation the engine makes, computed by the
 * function that sizes it (acts_floats, bwd_scratch_floats in forward.c, the
 * generation sub-batch of sample.c, the head chunks of the backends), so the
 * plan and the engine cannot drift apart silently: tests/model/
 * test_model_memplan.c compares the plan with the measured peak RSS.
 *
 * The engine's peak is the parameter blocks plus the larger of two phases
 * that never overlap: a forward (and backward) over one micro-batch, or one
 * generation call (KV cache, the prefill's activations, the sampling rows).
 * Small host bookkeeping (packing indices, outputs of a few floats per
 * token) is counted with the activations; the CPU attention's per-task
 * scratch (two head_dim x sequence panels per task) is not.
 */
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "model/model_internal.h"

/* The CPU head's block (cpu_lmhead.c: RB x VC logits and three doubles plus
 * a float per row) and the CUDA head's logit budget (vocab.cu). */
#define HOST_HEAD_BYTES (1024.0 * 1024 * 4 + 1024.0 * (3 * 8 + 4))
#define DEVICE_HEAD_BUDGET (256.0 * 1024 * 1024)
#define HOST_HEAD_GRAD_BYTES ((1024.0 * 1024 + 1024.0 * c->hidden_size) * 4) /* RB x VC and RB x C, rounded */
#define BF16_PANEL 256 /* cpu_bf16.c: output columns widened per task */

/* bf16 products' transients for n rows: the activation operand rounded to bf16 (bf16 on a device; on the CPU
   bf16 with the AMX and vdpbf16ps kernels, f32 values with the widening ones) and, on the CPU, one widened weight
   panel per thread; in training, the weight gradients' two rounded
   operands (n x (C + F) f32 values). The CPU's widening kernel is the largest (AMX packs bf16), so the plan is
   the bound for every kernel. */
static double bf16_scratch(const ModelConfig *c, const ModelUse *u, size_t n) {
    if (u->precision != MODEL_BF16) return 0;
    double widest = c->intermediate_size > c->hidden_size ? c->intermediate_size : c->hidden_size;
    double qd = (double)c->num_heads * c->head_dim;
    if (qd > widest) widest = qd;
    double grad_ops = u->train ? (double)n * (c->hidden_size + widest) : 0; /* dW's two rounded operands */
    if (!u->host) return fmax((double)n * widest, grad_ops) * 2;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    double threads = cores < 1 ? 1 : cores > 64 ? 64 : (double)cores;
    const Backend *cpu = backend_cpu(); /* the kernel this machine runs decides the operand's width */
    double ob = cpu->bf16_operand_bytes ? (double)cpu->bf16_operand_bytes() : 4;
    double fwd = (double)n * widest * ob + threads * BF16_PANEL * widest * 4;
    return fmax(fwd, grad_ops * 4);
}

/* Bytes of a forward over n tokens in rows of len: activations (and the
 * backward's scratch when training), packing and output arrays. */
static double forward_bytes(const ModelConfig *c, const ModelUse *u, double *head) {
    size_t n = (size_t)u->fwd_rows * (size_t)u->fwd_len;
    double width = c->num_labels > 0 ? c->num_labels : 1;
    double acts = (double)acts_floats(c, n, u->train, u->recompute) * sizeof(float);
    if (u->train) acts += (double)bwd_scratch_floats(c, n) * sizeof(float);
    /* packing: 3 device and 5 host ints per token; outputs: device + host (width+1), the caller's (B, T, width)
       output and its gathered copy, tokens and lengths */
    acts += (double)n * (8 * 4 + 2 * (width + 1) * 4 + (width + 2) * 4) + bf16_scratch(c, u, n);
    if (c->num_labels > 0) *head = 0;
    else if (u->host) /* + in bf16 training the rounded operands of the head's gradient (cpu_lmhead.c) */
        *head = HOST_HEAD_BYTES + (u->train && u->precision == MODEL_BF16 ? HOST_HEAD_GRAD_BYTES : 0);
    else {
        double rows = floor(DEVICE_HEAD_BUDGET / (4.0 * c->vocab_size));
        if (rows < 1) rows = 1;
        if (rows > (double)n) rows = (double)n;
        *head = rows * c->vocab_size * 4.0;
        /* bf16 training: the head's gradient rounds the logits and the rows' hidden states (vocab.cu) */
        if (u->train && u->precision == MODEL_BF16) *head += rows * (c->vocab_size + c->hidden_size) * 2.0;
    }
    return acts;
}

void model_memory_plan(const ModelConfig *c, const ModelUse *u, ModelMem *o) {
    memset(o, 0, sizeof *o);
    double mat, vec;
    model_config_param_split(c, &mat, &vec);
    double params = mat + vec;
    if (u->precision == MODEL_BF16) {
        /* forward reads bf16 matrices; vectors stay f32 (in the master block when training) */
        o->weights = mat * 2 + (u->train ? 0 : vec * 4);
        o->master = u->train ? params * 4 : 0;
    } else {
        o->weights = params * 4;
    }
    if (u->train) o->grads = params * 4, o->optimizer = params * 8;
    if (u->train && u->dp) o->optimizer += params * 4; /* dp.h's sum of the units, kept apart from the gradients */
    o->phase = "load";

    double fwd = 0, fwd_head = 0;
    if (u->fwd_rows > 0 && u->fwd_len > 0) fwd = forward_bytes(c, u, &fwd_head);

    double gen = 0, kv = 0, gen_acts = 0, gen_head = 0;
    if (u->gen_seqs > 0) {
        double per_token = 2.0 * c->num_layers * c->num_kv_heads * c->head_dim * kv_elem_bytes(u->precision);
        int max_t = u->gen_prompt + u->gen_new;
        if (max_t > c->max_position) max_t = c->max_position;
        int ns = u->gen_seqs;
        if (u->host) { /* sample.c's sub-batches under the CPU budget */
            double fit = floor((double)MODEL_KV_BUDGET_HOST / (per_token * max_t));
            if (fit < 1) fit = 1;
            if (fit < ns) ns = (int)fit;
        }
        o->gen_batch = ns;
        kv = (double)ns * max_t * per_token;
        size_t prefill = (size_t)ns * (size_t)u->gen_prompt;
        gen_acts = (double)acts_floats(c, prefill, 0, 0) * sizeof(float) + (double)prefill * 16 +
                   bf16_scratch(c, u, prefill);
        /* the picker: last hidden rows and logits on the device, logits and scratch on the host, the results */
        gen_head = (double)ns * c->hidden_size * 4 + (double)ns * c->vocab_size * 4 * (u->host ? 2 : 1);
        if (u->host) gen_head += (double)c->vocab_size * 12 + (double)ns * (u->gen_new + 1) * 8;
        gen = kv + gen_acts + gen_head;
    }
    if (fwd + fwd_head >= gen && fwd > 0) {
        o->activations = fwd, o->logits = fwd_head, o->phase = "forward";
    } else if (gen > 0) {
        o->activations = gen_acts, o->kv_cache = kv, o->logits = gen_head, o->phase = "generation";
    }
    o->total = o->weights + o->master + o->grads + o->optimizer + o->activations + o->kv_cache + o->logits;
    /* loading: the mapped checkpoint is resident next to the weights (CPU); an f32 or f16 file read into bf16
       passes through one f32 tensor at a time */
    if (u->host && u->file_bytes > 0) {
        double biggest = (double)c->vocab_size * c->hidden_size * 4;
        int widen = u->precision == MODEL_BF16 && strcmp(c->dtype, "bfloat16") != 0;
        double load = o->weights + o->master + u->file_bytes + (widen ? biggest : 0);
        if (load > o->total) o->total = load, o->phase = "load";
    }
}
