# RL stage kinds (sft, rollout, prm, prm_train, optimize, eval) and the example pipelines.
pure_test(test_rl_units
  SOURCES ${PURE_TEST_DIR}/rl/test_rl_units.c ${CMAKE_SOURCE_DIR}/stages/optimize/ppo.c
          ${CMAKE_SOURCE_DIR}/stages/rollout/step_map.c ${CMAKE_SOURCE_DIR}/stages/eval/monitor.c
          ${CMAKE_SOURCE_DIR}/stages/common/perm.c
  LIBS pure_util m)
