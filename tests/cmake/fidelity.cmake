# fidelity.cmake - the options that make pipelines/qwen_math.yaml match the official PURE code (docs/fidelity.md):
# the PRM input from token ids (prm/prm_train input_format tokens), the token step rule (rollout step_rule token),
# the prompt-length filter (data max_prompt_tokens) and the context cap (rollout/eval cap_at_context).
pure_test(test_prm_tokens SOURCES ${PURE_TEST_DIR}/rl/test_prm_tokens.c ${PURE_TEST_DIR}/stage_test_host.c
          LIBS pure_stage_prm pure_stage_rollout pure_runner)
