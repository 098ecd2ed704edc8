# RL stage kinds (sft, rollout, prm, prm_train, optimize, eval) and the example pipelines.
pure_test(test_rl_units
  SOURCES ${PURE_TEST_DIR}/rl/test_rl_units.c ${CMAKE_SOURCE_DIR}/stages/optimize/ppo.c
          ${CMAKE_SOURCE_DIR}/stages/rollout/step_map.c ${CMAKE_SOURCE_DIR}/stages/eval/monitor.c
          ${CMAKE_SOURCE_DIR}/stages/common/perm.c
  LIBS pure_util m)
# smoke.yaml end to end + SIGKILL in the middle of the RL loop + resume == uninterrupted run
add_test(NAME test_rl_e2e_smoke
  COMMAND bash ${PURE_TEST_DIR}/rl/e2e_smoke.sh $<TARGET_FILE:pure-test> ${CMAKE_SOURCE_DIR} ${PURE_PYTHON})
set_tests_properties(test_rl_e2e_smoke PROPERTIES TIMEOUT 600)
# every RL stage kind refuses wrong artifacts and parameters with a clear message
add_test(NAME test_rl_bad_inputs COMMAND bash ${PURE_TEST_DIR}/rl/bad_inputs.sh $<TARGET_FILE:pure>)
set_tests_properties(test_rl_bad_inputs PROPERTIES TIMEOUT 300)
pure_test(test_rl_format SOURCES ${PURE_TEST_DIR}/rl/test_rl_format.c LIBS pure_cli)
# every example pipeline validates; qwen_math_smoke.yaml runs on the CPU with the real tokenizer and data
add_test(NAME test_rl_pipelines
  COMMAND bash ${PURE_TEST_DIR}/rl/pipelines.sh $<TARGET_FILE:pure> ${CMAKE_SOURCE_DIR} ${PURE_PYTHON})
set_tests_properties(test_rl_pipelines PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
pure_test(test_rl_lua_prm SOURCES ${PURE_TEST_DIR}/rl/test_rl_lua_prm.c LIBS pure_lua)
# kill -9 at 20 random moments of the smoke pipeline, resume, everything equal to an uninterrupted run
add_test(NAME test_rl_kill_torture
  COMMAND bash ${PURE_TEST_DIR}/rl/kill_torture.sh $<TARGET_FILE:pure> ${CMAKE_SOURCE_DIR} ${PURE_PYTHON} 20)
set_tests_properties(test_rl_kill_torture PROPERTIES TIMEOUT 900 LABELS slow)
# stop words: special tokens become stop ids (the official recipe's stop words), the rest stay strings
pure_test(test_stops SOURCES ${PURE_TEST_DIR}/rl/test_stops.c LIBS pure_stage_common)
# issue 11's machinery in one small pipeline (dev split, SFT dev checks, hard negatives, prm_eval, controlled PRM,
# KL metrics, reference_fraction, measure_after, unscored steps)
add_test(NAME test_rl_quality_pipeline
  COMMAND bash ${PURE_TEST_DIR}/rl/quality_pipeline.sh $<TARGET_FILE:pure> ${CMAKE_SOURCE_DIR} ${PURE_PYTHON})
set_tests_properties(test_rl_quality_pipeline PROPERTIES TIMEOUT 300)
