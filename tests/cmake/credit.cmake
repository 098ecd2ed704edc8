# credit.cmake - tests of the Lua sandbox (lua/) and credit assignment (stages/credit/),
# linked against the real libraries: pure_stage_credit (the tables, the core, the
# rules and the stage kind), pure_cli (`pure credit`, the runner and every kind).
pure_test(test_sandbox SOURCES ${PURE_TEST_DIR}/credit/test_sandbox.c LIBS pure_lua pure_util)
pure_test(test_credit SOURCES ${PURE_TEST_DIR}/credit/test_credit.c LIBS pure_stage_credit)
# credit_cli: `pure credit` (cmd_credit from pure_cli) as its own binary; driven by the numpy
# comparison and the CLI tests.
add_executable(credit_cli ${PURE_TEST_DIR}/credit/credit_cli_main.c)
target_link_libraries(credit_cli PRIVATE pure_cli)
add_test(NAME test_credit_numpy COMMAND ${PURE_PYTHON} ${PURE_TEST_DIR}/credit/test_credit_numpy.py
         $<TARGET_FILE:credit_cli> ${CMAKE_SOURCE_DIR})
add_test(NAME test_credit_cli COMMAND ${PURE_PYTHON} ${PURE_TEST_DIR}/credit/test_credit_cli.py
         $<TARGET_FILE:credit_cli> ${CMAKE_SOURCE_DIR})
# The credit stage kind through the real stage host (stages/stage_host.h).
pure_test(test_credit_stage SOURCES ${PURE_TEST_DIR}/credit/test_credit_stage.c LIBS pure_stage_credit)
# bench/credit_bench.sh builds and runs this (a benchmark, not a test).
add_executable(credit_bench ${CMAKE_SOURCE_DIR}/bench/credit_bench.c)
target_include_directories(credit_bench PRIVATE ${CMAKE_SOURCE_DIR})
target_link_libraries(credit_bench PRIVATE pure_stage_credit)
# With the real runner and every stage kind: plans only, nothing runs.
pure_test(test_credit_fingerprint SOURCES ${PURE_TEST_DIR}/credit/test_credit_fingerprint.c LIBS pure_cli)
# The prm kind's text paths (issue 12): mode model with step offsets past the stored text (run it under
# ASan: the heap overflow it guards against), mode lua with hostile scorers.
pure_test(test_prm_stage SOURCES ${PURE_TEST_DIR}/credit/test_prm_stage.c ${PURE_TEST_DIR}/stage_test_host.c
          LIBS pure_stage_prm pure_runner)
# issue 11: the checker's step kinds, hard negatives, prm mode controlled, prm_eval, verify's reference_fraction,
# validate-time Lua checks of the prm stage
pure_test(test_prm_quality SOURCES ${PURE_TEST_DIR}/credit/test_prm_quality.c ${PURE_TEST_DIR}/stage_test_host.c
          LIBS pure_stage_prm pure_stage_prm_eval pure_stage_prm_calibrate pure_stage_verify pure_runner)
