# fidelity.cmake - the options that make pipelines/qwen_math.yaml match the official PURE code (docs/fidelity.md):
# the PRM input from token ids (prm/prm_train input_format tokens), the token step rule (rollout step_rule token),
# the prompt-length filter (data max_prompt_tokens) and the context cap (rollout/eval cap_at_context).
pure_test(test_prm_tokens SOURCES ${PURE_TEST_DIR}/rl/test_prm_tokens.c ${PURE_TEST_DIR}/stage_test_host.c
          LIBS pure_stage_prm pure_stage_rollout pure_runner)
pure_test(test_data_filter SOURCES ${PURE_TEST_DIR}/data/test_data_filter.c LIBS pure_stage_data)
# through `pure run` on a tiny random model with the Qwen tokenizer: cap_at_context, step_rule token (against a
# Python rule over tokenizer.json), prm/prm_train input_format tokens, data max_prompt_tokens, and their errors
add_test(NAME test_fidelity_options
  COMMAND bash ${PURE_TEST_DIR}/rl/fidelity_options.sh $<TARGET_FILE:pure> ${CMAKE_SOURCE_DIR} ${PURE_PYTHON})
set_tests_properties(test_fidelity_options PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
