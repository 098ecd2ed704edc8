/* data.c - the `data` stage kind: benchmark/training files or the toy task -> `train` and `test`
 * artifacts in the "prompts" layout (docs/architecture.md). The work is in prepare.c. */
#include <string.h>
#include "stages/data/loaders.h"
#include "stages/data/prepare.h"
#include "stages/common/layouts.h"
#include "stages/stage.h"

static const PortDef no_inputs[] = {{0}};
static const PortDef outputs[] = {
    {"train", ART_H5, 0, "prompts for SFT and RL", layout_prompts},
    {"test", ART_H5, 0, "held-out prompts (evaluation sets), same layout", layout_prompts},
    {"dev", ART_H5, 0, "prompts for decisions made during a run (SFT early stopping, PRM quality), in neither train nor "
     "test; 0 rows unless n_dev > 0", layout_prompts},
    {"extra", ART_H5, 0, "toy: more problems in none of train, test and dev, for training a verifier (the PRM or its LM) "
     "on more than the policy sees; 0 rows unless n_extra > 0", layout_prompts},
    {0}};

static const char *const reference_selects[] = {"fraction", "answer_field", NULL};
enum { REFERENCE_FRACTION, REFERENCE_ANSWER_FIELD };

static const ParamDef params[] = {
    {"source", PT_ENUM, "toy", 1, 0, data_sources,
     "where prompts come from: the toy task, a file of ../shared/data, or any JSONL file (or JSON array)", sizeof data_sources[0]},
    {"sources", PT_LIST, "[]", 1, 0, NULL,
     "benchmark sources concatenated into one artifact (evaluation sets; files found under data_dir); overrides source"},
    {"path", PT_PATH, "", 1, 0, NULL, "the file of a real source (default: its place under data_dir)"},
    {"data_dir", PT_PATH, "", 1, 0, NULL, "a folder laid out like ../shared/data (benchmarks/<name>/test.jsonl, train/...)"},
    {"problem_field", PT_STRING, "problem", 1, 0, NULL, "jsonl: the field holding the problem text"},
    {"answer_field", PT_STRING, "answer", 1, 0, NULL,
     "jsonl: the field holding the reference answer (\"\": take the last \\boxed{} of the solution)"},
    {"solution_field", PT_STRING, "solution", 1, 0, NULL, "jsonl: the field holding a worked solution (\"\": none)"},
    {"template", PT_STRING, "", 1, 0, NULL,
     "prompt template with {problem}; default: the method's template, or \"{problem}\\n\\n\" for the toy task"},
    {"shuffle", PT_BOOL, "true", 1, 0, NULL, "shuffle rows with the stage seed before limit and split"},
    {"limit", PT_INT, "0", 0, 1e9, NULL, "keep at most this many rows per source (0: all)"},
    {"test_size", PT_INT, "-1", -1, 1e9, NULL,
     "rows held out as `test` (-1: benchmarks all test, math_train/jsonl none); toy: see n_test"},
    {"test_fraction", PT_FLOAT, "0", 0, 1, NULL, "if > 0, the share of rows held out as `test` (overrides test_size)"},
    {"reference_fraction", PT_FLOAT, "1", 0, 1, NULL,
     "share of train prompts whose reference may be used as a verifiable reward (the method: 0.1)"},
    {"reference_select", PT_ENUM, "fraction", 1, 0, reference_selects,
     "fraction: a seeded random reference_fraction of train prompts; answer_field: math_train's own 10% (answer != \"null\")"},
    {"max_prompt_tokens", PT_INT, "0", 0, 1e9, NULL,
     "files: drop rows whose templated prompt has more tokens than this, counted with `tokenizer` (0: keep all; "
     "verl's filter_prompts with max_prompt_length, the official 1024)"},
    {"tokenizer", PT_PATH, "", 1, 0, NULL,
     "max_prompt_tokens: the policy's tokenizer.json (a model folder works too, but a path parameter's whole "
     "content is hashed)"},
    {"n_train", PT_INT, "2048", 1, 1e8, NULL, "toy: number of train problems"},
    {"n_test", PT_INT, "512", 0, 1e7, NULL, "toy: number of test problems (none of them in train)"},
    {"n_dev", PT_INT, "0", 0, 1e7, NULL,
     "dev rows: toy, new problems in neither train nor test; files, rows moved from the start of train"},
    {"n_extra", PT_INT, "0", 0, 1e6, NULL, "toy: rows of `extra`, new problems drawn after the dev ones"},
    {"extra_error_rate", PT_FLOAT, "-1", -1, 1, NULL,
     "toy: per-step slip probability of extra's demonstrations (-1: error_rate); 0 gives a verifier's LM correct "
     "arithmetic to learn; the problems are the same at any rate"},
    {"min_ops", PT_INT, "2", 1, 7, NULL, "toy: fewest +/- operations per problem"},
    {"max_ops", PT_INT, "3", 1, 7, NULL, "toy: most +/- operations per problem"},
    {"max_operand", PT_INT, "20", 1, 1e6, NULL, "toy: operands are drawn from [0, max_operand]"},
    {"filler_rate", PT_FLOAT, "0.2", 0, 1, NULL, "toy: share of demonstrations with harmless filler steps (\"68+0=68\")"},
    {"error_rate", PT_FLOAT, "0.15", 0, 1, NULL, "toy: per-step probability of a wrong result in a demonstration"},
    {0}};

static void read_options(const StageParams *p, DataOptions *o) {
    data_options_default(o);
    o->source = param_str(p, "source");
    o->n_sources = param_list(p, "sources", &o->sources);
    o->path = param_str(p, "path");
    o->data_dir = param_str(p, "data_dir");
    o->fields.problem = param_str(p, "problem_field");
    o->fields.answer = param_str(p, "answer_field");
    o->fields.solution = param_str(p, "solution_field");
    o->template_ = param_str(p, "template");
    o->shuffle = param_bool(p, "shuffle");
    o->limit = param_int(p, "limit");
    o->test_size = param_int(p, "test_size");
    o->test_fraction = param_float(p, "test_fraction");
    o->reference_fraction = param_float(p, "reference_fraction");
    o->reference_from_answer_field = param_enum(p, "reference_select") == REFERENCE_ANSWER_FIELD;
    o->max_prompt_tokens = param_int(p, "max_prompt_tokens");
    o->tokenizer = param_str(p, "tokenizer");
    o->n_train = param_int(p, "n_train");
    o->n_test = param_int(p, "n_test");
    o->n_dev = param_int(p, "n_dev");
    o->n_extra = param_int(p, "n_extra");
    o->extra_error_rate = param_float(p, "extra_error_rate");
    o->toy.min_ops = (int)param_int(p, "min_ops");
    o->toy.max_ops = (int)param_int(p, "max_ops");
    o->toy.max_operand = (int)param_int(p, "max_operand");
    o->toy.filler_rate = param_float(p, "filler_rate");
    o->toy.error_rate = param_float(p, "error_rate");
}

static int check_data(const StageParams *p, PureErr *err) {
    DataOptions o;
    read_options(p, &o);
    int toy = o.n_sources == 0 && strcmp(o.source, "toy") == 0;
    if (toy && o.toy.min_ops > o.toy.max_ops)
        return err_set(err, "min_ops (%d) must not exceed max_ops (%d)", o.toy.min_ops, o.toy.max_ops);
    if (o.extra_error_rate < 0 && o.extra_error_rate != -1)
        return err_set(err, "extra_error_rate must be a probability in [0, 1], or -1 for error_rate's; got %g",
                       o.extra_error_rate);
    if (!toy && o.n_extra > 0)
        return err_set(err, "n_extra draws new toy problems; source '%s' reads a file (use test_size/n_dev to split it)",
                       o.n_sources ? o.sources[0] : o.source);
    if (!toy && !*o.path && !*o.data_dir)
        return err_set(err, "source '%s' reads a file: set `path` (or `data_dir` for the files of ../shared/data)",
                       o.n_sources ? o.sources[0] : o.source);
    if (o.n_sources && !*o.data_dir) return err_set(err, "`sources` finds its files under `data_dir`: set data_dir");
    for (int i = 0; i < o.n_sources; i++)
        if (!data_source_known(o.sources[i]))
            return err_set(err, "sources[%d]: '%s' is not a benchmark (expected math500, minerva_math, olympiadbench, "
                                "aime24, amc23, gsm8k or math_train)", i, o.sources[i]);
    if (!toy && strcmp(o.source, "jsonl") == 0 && o.n_sources == 0 && !*o.path)
        return err_set(err, "source 'jsonl' needs `path`");
    if (o.reference_from_answer_field && !(o.n_sources == 0 && strcmp(o.source, "math_train") == 0))
        return err_set(err, "reference_select: answer_field applies to source math_train only (got '%s')", o.source);
    if (o.max_prompt_tokens > 0 && toy)
        return err_set(err, "max_prompt_tokens filters the rows of files; the toy task's prompts are short (got source toy)");
    if (o.max_prompt_tokens > 0 && !*o.tokenizer)
        return err_set(err, "max_prompt_tokens counts tokens with `tokenizer`: set it to the policy's tokenizer.json");
    if (param_is_set(p, "test_size") && o.test_fraction > 0)
        return err_set(err, "set test_size or test_fraction, not both");
    if (*o.template_ && !strstr(o.template_, "{problem}"))
        return err_set(err, "template must contain {problem}, got \"%s\"", o.template_);
    return 0;
}

static int write_split(StageCtx *ctx, const char *port, const DataSplit *s, PureErr *err) {
    Artifact *a = stage_output_create(ctx, port, err);
    if (!a) return -1;
    int rc = data_split_write(a, s, err);
    if (artifact_close(a, rc ? NULL : err) < 0) rc = -1;
    return rc;
}

static int run_data(StageCtx *ctx, PureErr *err) {
    DataOptions o;
    read_options(stage_params(ctx), &o);
    o.seed = stage_seed(ctx);
    DataSplit train, test, dev, extra;
    int rc = data_prepare(&o, &train, &test, &dev, &extra, err);
    if (rc == 0) rc = write_split(ctx, "train", &train, err);
    if (rc == 0) rc = write_split(ctx, "test", &test, err);
    if (rc == 0) rc = write_split(ctx, "dev", &dev, err);
    if (rc == 0) rc = write_split(ctx, "extra", &extra, err);
    if (rc == 0) {
        int64_t with_ref = 0;
        for (int64_t i = 0; i < train.rows.n; i++) with_ref += train.has_reference[i];
        stage_metric(ctx, "n_train", (double)train.rows.n);
        stage_metric(ctx, "n_test", (double)test.rows.n);
        stage_metric(ctx, "n_dev", (double)dev.rows.n);
        if (extra.rows.n) stage_metric(ctx, "n_extra", (double)extra.rows.n);
        stage_metric(ctx, "train_with_reference", (double)with_ref);
        if (o.max_prompt_tokens > 0) {
            stage_metric(ctx, "dropped_long_prompts", (double)train.dropped_long);
            stage_log(ctx, "%lld rows dropped: their prompt has more than %lld tokens", (long long)train.dropped_long,
                      (long long)o.max_prompt_tokens);
        }
        stage_log(ctx, "%lld train prompts (%lld with a verifiable reference), %lld test prompts",
                  (long long)train.rows.n, (long long)with_ref, (long long)test.rows.n);
    }
    data_split_free(&train);
    data_split_free(&test);
    data_split_free(&dev);
    data_split_free(&extra);
    return rc;
}

const StageKind stage_kind_data = {
    "data", 4, /* 2: the method's template has real newlines inside the quotes, as the official code; 3: dev;
                 4: the extra output (a stored run of version 3 lacks it) */
    "Prompts for training and evaluation: the toy arithmetic task (docs/toy-task.md) or the benchmark and training "
    "files of ../shared/data (MATH-500, Minerva Math, OlympiadBench, AIME24, AMC23, GSM8K, the MATH training set) "
    "or any JSONL file with field mapping. Reference answers come from the answer field or the last \\boxed{} of the "
    "solution; rows are shuffled with the stage seed, limited, split, templated, and a seeded share of train prompts "
    "keeps its reference as a verifiable reward.",
    no_inputs, outputs, params, run_data, check_data};
