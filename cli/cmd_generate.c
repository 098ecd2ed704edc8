/* cmd_generate.c - `pure generate`: sample continuations from a model folder.
 *
 * --prompt TEXT prints each completion; --prompts FILE.jsonl ({"prompt": ...}
 * or {"tokens": [...]} per line) prints one JSON object per sample:
 * {"index", "sample", "text", "tokens", "logprobs", "finish"}. Sample k of
 * prompt i draws from stream i * n + k, so a prompt's samples do not depend
 * on the other prompts in the file.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd_util.h"
#include "cli/commands.h"
#include "util/err.h"
#include "util/log.h"

static const char *USAGE =
    "usage: pure generate --model DIR [--tokenizer FILE] (--prompt TEXT | --prompts FILE.jsonl)\n"
    "                     [--max-new-tokens N=128] [--temperature T=0] [--top-p P=1] [--top-k K=0]\n"
    "                     [--seed S=0] [--n SAMPLES=1] [--stop STR]... [--no-eos] [--chat]\n"
    "                     [--device cpu|cuda|auto] [--threads N]\n"
    "  temperature 0 is greedy; generation stops at the tokenizer's eos (unless --no-eos),\n"
    "  at any --stop string, or after N new tokens. --chat wraps each prompt in the chat template.\n";

static const char *finish_name(int f) { return f == FINISH_EOS ? "eos" : f == FINISH_STOP ? "stop" : "length"; }

static void print_json(int idx, int k, const Tokenizer *tok, const SampleResult *r) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "index", idx);
    cJSON_AddNumberToObject(o, "sample", k);
    char *text = tok ? tokenizer_decode(tok, r->tokens, (size_t)r->n, 0, NULL) : NULL;
    if (text) cJSON_AddStringToObject(o, "text", text);
    free(text);
    cJSON *t = cJSON_AddArrayToObject(o, "tokens"), *lp = cJSON_AddArrayToObject(o, "logprobs");
    for (int i = 0; i < r->n; i++) {
        cJSON_AddItemToArray(t, cJSON_CreateNumber(r->tokens[i]));
        cJSON_AddItemToArray(lp, cJSON_CreateNumber((double)r->logprobs[i]));
    }
    cJSON_AddStringToObject(o, "finish", finish_name(r->finish));
    char *s = cJSON_PrintUnformatted(o);
    printf("%s\n", s);
    cJSON_free(s);
    cJSON_Delete(o);
}

int cmd_generate(int argc, char **argv) {
    const char *model = NULL, *tok_path = NULL, *prompt = NULL, *prompts_file = NULL, *device = "cpu";
    const char *stops[32];
    int n_stops = 0, no_eos = 0, chat = 0;
    long long max_new = 128, top_k = 0, seed = 0, n = 1, threads = 0;
    double temp = 0, top_p = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(USAGE, stdout);
            return PURE_EXIT_OK;
        }
        if (!strcmp(a, "--no-eos")) no_eos = 1;
        else if (!strcmp(a, "--chat")) chat = 1;
        else if (!(v = cmd_value(argc, argv, &i))) return PURE_EXIT_USAGE;
        else if (!strcmp(a, "--model")) model = v;
        else if (!strcmp(a, "--tokenizer")) tok_path = v;
        else if (!strcmp(a, "--prompt")) prompt = v;
        else if (!strcmp(a, "--prompts")) prompts_file = v;
        else if (!strcmp(a, "--device")) device = v;
        else if (!strcmp(a, "--stop")) {
            if (n_stops == 32) return fprintf(stderr, "--stop: at most 32\n"), PURE_EXIT_USAGE;
            stops[n_stops++] = v;
        } else if (!strcmp(a, "--max-new-tokens") ? cmd_int(a, v, &max_new)
                   : !strcmp(a, "--top-k")        ? cmd_int(a, v, &top_k)
                   : !strcmp(a, "--seed")         ? cmd_int(a, v, &seed)
                   : !strcmp(a, "--n")            ? cmd_int(a, v, &n)
                   : !strcmp(a, "--threads")      ? cmd_int(a, v, &threads)
                   : !strcmp(a, "--temperature")  ? cmd_double(a, v, &temp)
                   : !strcmp(a, "--top-p")        ? cmd_double(a, v, &top_p)
                                                  : (fprintf(stderr, "pure generate: unknown option %s\n%s", a, USAGE), -1))
            return PURE_EXIT_USAGE;
    }
    if (!model || (!prompt == !prompts_file)) {
        fprintf(stderr, "pure generate: need --model and exactly one of --prompt / --prompts\n%s", USAGE);
        return PURE_EXIT_USAGE;
    }
    if (max_new < 0 || n < 1 || top_k < 0 || temp < 0 || top_p <= 0 || top_p > 1) {
        fprintf(stderr, "pure generate: need --max-new-tokens >= 0, --n >= 1, --top-k >= 0, --temperature >= 0, "
                        "0 < --top-p <= 1\n");
        return PURE_EXIT_USAGE;
    }
    model_set_threads((int)threads);
    Model *m;
    Tokenizer *tok;
    if (cmd_load(model, tok_path, prompt != NULL || chat || n_stops > 0, device, &m, &tok)) return PURE_EXIT_FAIL;
    CmdInput *in = NULL;
    int n_in = 0, rc = PURE_EXIT_OK;
    if (prompt) {
        in = xcalloc(1, sizeof(CmdInput));
        n_in = 1;
        char *p = chat ? tokenizer_chat_prompt(tok, NULL, prompt) : xstrdup(prompt);
        PureErr err = {0};
        size_t nt;
        if (tokenizer_encode(tok, p, strlen(p), 1, &in[0].tokens, &nt, NULL, &err)) {
            log_error("--prompt: %s", err.msg);
            rc = PURE_EXIT_FAIL;
        }
        in[0].n = (int)nt;
        free(p);
    } else if (cmd_read_inputs(prompts_file, "prompt", tok, &in, &n_in)) {
        rc = PURE_EXIT_FAIL;
    }
    int total = n_in * (int)n;
    const int32_t **pp = xcalloc(total + 1, sizeof(int32_t *));
    int *pl = xcalloc(total + 1, sizeof(int));
    uint64_t *streams = xcalloc(total + 1, sizeof(uint64_t));
    SampleResult *res = xcalloc(total + 1, sizeof(SampleResult));
    for (int i = 0; i < n_in; i++)
        for (int k = 0; k < n; k++) {
            int s = i * (int)n + k;
            pp[s] = in[i].tokens, pl[s] = in[i].n, streams[s] = (uint64_t)s;
        }
    int32_t eos = tok ? tokenizer_eos_id(tok) : -1;
    if (eos < 0) eos = model_config(m)->eos_id;
    SampleConfig sc = {.max_new_tokens = (int)max_new, .temperature = (float)temp, .top_p = (float)top_p,
                       .top_k = (int)top_k, .stop_ids = &eos, .n_stop_ids = (!no_eos && eos >= 0),
                       .stop_strings = stops, .n_stop_strings = n_stops, .seed = (uint64_t)seed};
    PureErr err = {0};
    if (rc == PURE_EXIT_OK && model_generate(m, tok, total, pp, pl, streams, &sc, res, &err)) {
        log_error("generate: %s", err.msg);
        rc = PURE_EXIT_FAIL;
    }
    for (int s = 0; rc == PURE_EXIT_OK && s < total; s++) {
        if (prompts_file) print_json(s / (int)n, s % (int)n, tok, &res[s]);
        else {
            char *text = tokenizer_decode(tok, res[s].tokens, (size_t)res[s].n, 0, NULL);
            if (n > 1) printf("--- sample %d (%s)\n", s, finish_name(res[s].finish));
            printf("%s\n", text ? text : "");
            free(text);
        }
    }
    for (int s = 0; s < total; s++) sample_result_free(&res[s]);
    free(pp), free(pl), free(streams), free(res);
    cmd_inputs_free(in, n_in);
    tokenizer_free(tok);
    model_free(m);
    return rc;
}
