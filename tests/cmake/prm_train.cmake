# prm_train options for a PRM that is not a copy of the policy (issue 11): extra_layers
add_test(NAME test_prm_train_layers
  COMMAND bash ${PURE_TEST_DIR}/rl/prm_train_layers.sh $<TARGET_FILE:pure> ${CMAKE_SOURCE_DIR} ${PURE_PYTHON})
set_tests_properties(test_prm_train_layers PROPERTIES TIMEOUT 300)
# input_format tokens on the toy source: the layout the prm stage scores (hand-written ids, and the rollout path)
pure_test(test_prm_toy_tokens SOURCES ${PURE_TEST_DIR}/rl/test_prm_toy_tokens.c LIBS pure_stage_rollout pure_stage_common)
# after_first_error: unlabelled (PRM800K's labels stop at the first wrong step)
add_test(NAME test_prm_train_labels COMMAND bash ${PURE_TEST_DIR}/rl/prm_train_labels.sh $<TARGET_FILE:pure>)
set_tests_properties(test_prm_train_labels PROPERTIES TIMEOUT 300)
