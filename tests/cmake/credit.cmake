# credit.cmake - tests of the Lua sandbox (lua/) and credit assignment (stages/credit/).
# The credit sources are compiled into the tests directly so they build and run
# while other modules linked into pure_stage_credit are still in progress.
set(CREDIT_CORE_SRCS ${CMAKE_SOURCE_DIR}/stages/credit/credit_core.c ${CMAKE_SOURCE_DIR}/stages/credit/credit_lua.c)
pure_test(test_sandbox SOURCES ${PURE_TEST_DIR}/credit/test_sandbox.c LIBS pure_lua pure_util)
pure_test(test_credit SOURCES ${PURE_TEST_DIR}/credit/test_credit.c ${CREDIT_CORE_SRCS} LIBS pure_lua pure_util)
# credit_cli: `pure credit` without the rest of pure; driven by the numpy comparison and the CLI tests.
add_executable(credit_cli ${PURE_TEST_DIR}/credit/credit_cli_main.c ${CMAKE_SOURCE_DIR}/cli/cmd_credit.c
               ${CREDIT_CORE_SRCS})
target_include_directories(credit_cli PRIVATE ${CMAKE_SOURCE_DIR})
target_link_libraries(credit_cli PRIVATE pure_lua pure_util)
add_test(NAME test_credit_numpy COMMAND ${PURE_PYTHON} ${PURE_TEST_DIR}/credit/test_credit_numpy.py
         $<TARGET_FILE:credit_cli> ${CMAKE_SOURCE_DIR})
add_test(NAME test_credit_cli COMMAND ${PURE_PYTHON} ${PURE_TEST_DIR}/credit/test_credit_cli.py
         $<TARGET_FILE:credit_cli> ${CMAKE_SOURCE_DIR})
pure_test(test_credit_stage SOURCES ${PURE_TEST_DIR}/credit/test_credit_stage.c
          ${CMAKE_SOURCE_DIR}/stages/credit/credit.c ${CREDIT_CORE_SRCS} LIBS pure_storage pure_lua pure_util)
# bench/credit_bench.sh builds and runs this (a benchmark, not a test).
add_executable(credit_bench ${CMAKE_SOURCE_DIR}/bench/credit_bench.c ${CREDIT_CORE_SRCS})
target_include_directories(credit_bench PRIVATE ${CMAKE_SOURCE_DIR})
target_link_libraries(credit_bench PRIVATE pure_lua pure_util)
# With the real runner and every stage kind: plans only, nothing runs.
pure_test(test_credit_fingerprint SOURCES ${PURE_TEST_DIR}/credit/test_credit_fingerprint.c LIBS pure_cli)
