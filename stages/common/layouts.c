/* layouts.c - the dataset tables of layouts.h. The doc strings are what
 * docs/artifacts.md shows; change a table and regenerate that section. */
#include "stages/common/layouts.h"

const DatasetDef layout_prompts[] = {
    {"id", DS_VEC, DT_I64, "P", NULL, 0, "row index in the source file"},
    {"benchmark", DS_STRINGS, 0, "P", NULL, 0, "source name (math500, toy, ...)"},
    {"problem", DS_STRINGS, 0, "P", NULL, 0, "the problem text"},
    {"prompt", DS_STRINGS, 0, "P", NULL, 0, "the templated prompt"},
    {"reference", DS_STRINGS, 0, "P", NULL, 0, "reference answer, \"\" if none"},
    {"has_reference", DS_VEC, DT_U8, "P", NULL, 0, "1: the reference may be used as a verifiable reward"},
    {"solution", DS_STRINGS, 0, "P", NULL, 0, "worked solution (the SFT target), \"\" if none"},
    {0},
};

const DatasetDef layout_rollouts[] = {
    {"prompt_index", DS_VEC, DT_I64, "N", NULL, 0, "row in the prompts artifact"},
    {"group", DS_VEC, DT_I64, "N", NULL, 0, "0..groups-1 within this batch: responses to one prompt"},
    {"prompt_tokens", DS_RAGGED, DT_I32, "N", NULL, 0, "the prompt's token ids"},
    {"tokens", DS_RAGGED, DT_I32, "N", "tokens", 0, "the response's token ids"},
    {"logprobs", DS_RAGGED, DT_F32, "N", "tokens", 0, "log-probability of each response token under the sampler"},
    {"ref_logprobs", DS_RAGGED, DT_F32, "N", "tokens", 1, "under the reference model (only when one is connected)"},
    {"length", DS_VEC, DT_I32, "N", NULL, 0, "response tokens"},
    {"finish", DS_VEC, DT_I32, "N", NULL, 0, "0 eos, 1 stop, 2 length"},
    {"text", DS_STRINGS, 0, "N", NULL, 0, "the decoded response"},
    {"step_ends", DS_RAGGED, DT_I32, "N", "steps", 0, "response token index ending each \"\\n\\n\" step; the last ends at length-1"},
    {"step_bytes", DS_RAGGED, DT_I32, "N", "steps", 1, "byte offset one past each step's end in text"},
    {"samples", DS_ATTR, DT_I64, NULL, NULL, 1, "K responses per prompt"},
    {"iteration", DS_ATTR, DT_I64, NULL, NULL, 1, "the loop iteration that sampled them"},
    {"tokenizer_vocab", DS_ATTR, DT_I64, NULL, NULL, 1,
     "the policy tokenizer's size (largest id + 1), checked by prm input_format tokens"},
    {0},
};

const DatasetDef layout_rewards[] = {
    {"step_rewards", DS_RAGGED, DT_F32, "N", "steps", 0, "one process reward per step of the rollouts' step_ends"},
    {"mode", DS_ATTR_STR, 0, NULL, NULL, 1, "the prm mode that scored them"},
    {"step_head", DS_RAGGED, DT_F32, "N", "steps", 1,
     "mode model with an `lm`: the PRM's own P(+) - P(-) per step (NaN: past max_len), the calibration's first "
     "feature"},
    {"step_lm_min_logprob", DS_RAGGED, DT_F32, "N", "steps", 1,
     "mode model with an `lm`: the lowest log-probability of the step's tokens under the LM (NaN: past its context)"},
    {0},
};

const DatasetDef layout_prm_calibration[] = {
    {"bias", DS_ATTR, DT_F64, NULL, NULL, 0, "P(step correct) = sigmoid(bias + w_head * head + w_lm * lm)"},
    {"w_head", DS_ATTR, DT_F64, NULL, NULL, 0, "weight of the PRM's P(+) - P(-)"},
    {"w_lm", DS_ATTR, DT_F64, NULL, NULL, 0, "weight of the step's lowest token log-probability under the LM"},
    {"log_loss", DS_ATTR, DT_F64, NULL, NULL, 0, "mean negative log-likelihood of the fitted steps' labels"},
    {"steps", DS_ATTR, DT_I64, NULL, NULL, 0, "steps fitted (those with finite features)"},
    {"wrong_steps", DS_ATTR, DT_I64, NULL, NULL, 0, "of which the labels call wrong"},
    {"iterations", DS_ATTR, DT_I64, NULL, NULL, 0, "Newton steps taken"},
    {0},
};

const DatasetDef layout_verifiable[] = {
    {"reward", DS_VEC, DT_F32, "N", NULL, 0, "verifiable reward of each response"},
    {"has_reward", DS_VEC, DT_U8, "N", NULL, 0, "1: the prompt has a usable reference"},
    {"correct", DS_VEC, DT_U8, "N", NULL, 0, "1: the final answer matches the reference"},
    {"extracted", DS_STRINGS, 0, "N", NULL, 0, "the final answer found in the response, \"\" if none"},
    {0},
};

const DatasetDef layout_advantages[] = {
    {"returns", DS_RAGGED, DT_F32, "N", "tokens", 0, "return of each response token"},
    {"advantages", DS_RAGGED, DT_F32, "N", "tokens", 0, "advantage of each response token"},
    {0},
};

const DatasetDef layout_results[] = {
    {"benchmark", DS_STRINGS, 0, "R", NULL, 0, "the row's benchmark"},
    {"correct", DS_VEC, DT_U8, "R", NULL, 0, "1: greedy answer correct"},
    {"length", DS_VEC, DT_I32, "R", NULL, 0, "response tokens"},
    {"steps", DS_VEC, DT_I32, "R", NULL, 0, "\"\\n\\n\" steps in the response"},
    {"repetition", DS_VEC, DT_F32, "R", NULL, 0, "share of repeated steps"},
    {"extracted", DS_STRINGS, 0, "R", NULL, 0, "the final answer found, \"\" if none"},
    {"text", DS_STRINGS, 0, "R", NULL, 0, "the response"},
    {"sampled_correct", DS_VEC, DT_F32, "R", NULL, 1, "share of the row's sampled responses graded correct (samples > 0)"},
    {"history/iteration", DS_VEC, DT_F64, "H", NULL, 0, "monitor history: iteration of each eval so far"},
    {"history/accuracy", DS_VEC, DT_F64, "H", NULL, 0, "monitor history: accuracy"},
    {"history/process_reward", DS_VEC, DT_F64, "H", NULL, 0, "monitor history: mean step reward"},
    {"history/steps", DS_VEC, DT_F64, "H", NULL, 0, "monitor history: mean steps per response"},
    {"history/length", DS_VEC, DT_F64, "H", NULL, 0, "monitor history: mean response length"},
    {"accuracy", DS_ATTR, DT_F64, NULL, NULL, 0, "overall accuracy (also accuracy_<benchmark> per benchmark)"},
    {"hack_flag", DS_ATTR, DT_I64, NULL, NULL, 0, "1: the reward-hacking monitor fired"},
    {"sampled_accuracy", DS_ATTR, DT_F64, NULL, NULL, 1, "sampled pass@1, averaged over benchmarks (samples > 0)"},
    {0},
};

const DatasetDef layout_prm_quality[] = {
    {"min_score", DS_VEC, DT_F32, "N", NULL, 0, "lowest step score of each response (NaN: no steps)"},
    {"wrong_steps", DS_VEC, DT_I32, "N", NULL, 0, "steps the labels call wrong"},
    {"flagged_steps", DS_VEC, DT_I32, "N", NULL, 0, "steps scored below the threshold"},
    {"step_auc", DS_ATTR, DT_F64, NULL, NULL, 0, "AUC of step scores, correct vs wrong steps (-1: undefined)"},
    {"wrong_step_recall", DS_ATTR, DT_F64, NULL, NULL, 0, "share of wrong steps flagged (-1: undefined)"},
    {"wrong_step_precision", DS_ATTR, DT_F64, NULL, NULL, 0, "share of flagged steps that are wrong (-1: undefined)"},
    {"response_auc", DS_ATTR, DT_F64, NULL, NULL, 0, "AUC of the min step score vs answer correctness (-1: undefined)"},
    {"wrong_all_pass_fraction", DS_ATTR, DT_F64, NULL, NULL, 0,
     "wrong-answer responses with no step flagged (-1: undefined)"},
    {"answer_argmin_fraction", DS_ATTR, DT_F64, NULL, NULL, 0,
     "correct responses (>= 2 steps) whose lowest score is the last step (-1: undefined)"},
    {"correct_step_fraction", DS_ATTR, DT_F64, NULL, NULL, 0, "base rate: share of correct steps"},
    {"step_accuracy", DS_ATTR, DT_F64, NULL, NULL, 0, "share of steps classified right at the threshold"},
    {"steps", DS_ATTR, DT_F64, NULL, NULL, 0, "steps measured"},
    {"responses", DS_ATTR, DT_F64, NULL, NULL, 0, "responses measured"},
    {"first_error_step_auc", DS_ATTR, DT_F64, NULL, NULL, 0,
     "step AUC on each response's steps up to and including its first wrong one (-1: undefined)"},
    {"first_error_recall", DS_ATTR, DT_F64, NULL, NULL, 0, "wrong-step recall on those steps (-1: undefined)"},
    {"first_error_precision", DS_ATTR, DT_F64, NULL, NULL, 0, "wrong-step precision on those steps (-1: undefined)"},
    {"processbench_error_acc", DS_ATTR, DT_F64, NULL, NULL, 0,
     "responses with a wrong step whose first flagged step is the first wrong one (-1: undefined)"},
    {"processbench_correct_acc", DS_ATTR, DT_F64, NULL, NULL, 0,
     "responses with no wrong step and no step flagged (-1: undefined)"},
    {"processbench_f1", DS_ATTR, DT_F64, NULL, NULL, 0, "harmonic mean of the two (-1: undefined)"},
    {"meets_bar", DS_ATTR, DT_I64, NULL, NULL, 0, "1: the stated quality bar is met"},
    {0},
};
