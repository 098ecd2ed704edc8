# runner: spec loading/validation units, the bad-spec corpus, end-to-end runs
# of `pure-test`: the shipped program plus test-only stage kinds and the
# runner's fault-injection hook (tests/runner/test_main.c), never installed.
add_executable(pure-test ${PURE_TEST_DIR}/runner/test_main.c ${PURE_TEST_DIR}/runner/test_kinds.c)
target_include_directories(pure-test PRIVATE ${CMAKE_SOURCE_DIR})
target_link_libraries(pure-test PRIVATE pure_cli)
set(PURE_TEST_KINDS_SRC ${PURE_TEST_DIR}/runner/test_kinds.c)
pure_test(test_runner_spec SOURCES ${PURE_TEST_DIR}/runner/test_spec.c ${PURE_TEST_KINDS_SRC} LIBS pure_cli)
pure_test(test_bad_specs SOURCES ${PURE_TEST_DIR}/runner/test_bad_specs.c ${PURE_TEST_KINDS_SRC} LIBS pure_cli)
# a stage kind added in a test binary with one table entry, run through the real runner
pure_test(test_add_kind SOURCES ${PURE_TEST_DIR}/runner/test_add_kind.c LIBS pure_cli)
add_test(NAME runner_cli COMMAND bash ${PURE_TEST_DIR}/runner/cli.sh $<TARGET_FILE:pure-test>)
add_test(NAME runner_resume COMMAND bash ${PURE_TEST_DIR}/runner/resume.sh $<TARGET_FILE:pure-test> ${PURE_PYTHON})
# the shipped program has neither the test kinds nor the fault hook
add_test(NAME runner_shipped COMMAND bash ${PURE_TEST_DIR}/runner/shipped.sh $<TARGET_FILE:pure>)
# the stage-kind reference in docs/pipeline-spec.md is what `pure stages --markdown` prints, and the
# dataset tables of docs/artifacts.md are what `pure stages --artifacts` prints
add_test(NAME runner_stages_doc COMMAND bash ${PURE_TEST_DIR}/runner/stages_doc.sh $<TARGET_FILE:pure>
         ${CMAKE_SOURCE_DIR}/docs/pipeline-spec.md ${CMAKE_SOURCE_DIR}/docs/artifacts.md)
set_tests_properties(runner_cli runner_resume runner_stages_doc runner_shipped PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
# the runner under a hostile or careless user: deleted lock, copied run directory, kill before latest.json,
# file-size limit
add_test(NAME runner_hostile COMMAND bash ${PURE_TEST_DIR}/runner/hostile.sh $<TARGET_FILE:pure-test>)
set_tests_properties(runner_hostile PROPERTIES TIMEOUT 300)
# a parameter at its default stays out of the fingerprint, so changing a default needs a kind version bump
pure_test(test_param_defaults SOURCES ${PURE_TEST_DIR}/runner/test_param_defaults.c LIBS pure_cli)
