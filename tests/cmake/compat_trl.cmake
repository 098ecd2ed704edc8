# compat_trl.cmake - pure's GRPO update against TRL's GRPOTrainer (issue 16): the same policy, sampled batch
# and rewards, advantages and weight deltas compared (bench/trl_grpo.py). Label compat, like compat.cmake;
# tests/compat/run_trl.sh adds TRL to the reference environment on first use.
add_test(NAME compat_trl_grpo COMMAND bash ${PURE_TEST_DIR}/compat/run_trl.sh $<TARGET_FILE:pure>)
set_tests_properties(compat_trl_grpo PROPERTIES SKIP_RETURN_CODE 77 LABELS compat TIMEOUT 900)
