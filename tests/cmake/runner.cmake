# runner: spec loading/validation units, the bad-spec corpus, end-to-end runs
# of the `pure` binary on test-only stage kinds (PURE_TEST_KINDS=1).
pure_test(test_runner_spec SOURCES ${PURE_TEST_DIR}/runner/test_spec.c LIBS pure_core)
pure_test(test_bad_specs SOURCES ${PURE_TEST_DIR}/runner/test_bad_specs.c LIBS pure_core)
add_test(NAME runner_cli COMMAND bash ${PURE_TEST_DIR}/runner/cli.sh $<TARGET_FILE:pure>)
add_test(NAME runner_resume COMMAND bash ${PURE_TEST_DIR}/runner/resume.sh $<TARGET_FILE:pure> ${PURE_PYTHON})
# the stage-kind reference in docs/pipeline-spec.md is what `pure stages --markdown` prints
add_test(NAME runner_stages_doc COMMAND bash ${PURE_TEST_DIR}/runner/stages_doc.sh $<TARGET_FILE:pure>
         ${CMAKE_SOURCE_DIR}/docs/pipeline-spec.md)
set_tests_properties(runner_cli runner_resume runner_stages_doc PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
