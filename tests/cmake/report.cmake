# report/: reading finished runs (rollout views, comparisons, HTML reports), on hand-made run directories
# (tests/report/fixture.c) and on a real smoke run.
set(PURE_REPORT_FIXTURE ${PURE_TEST_DIR}/report/fixture.c)
pure_test(test_rollview SOURCES ${PURE_TEST_DIR}/report/test_rollview.c ${PURE_REPORT_FIXTURE} LIBS pure_report)
add_test(NAME test_show_rollouts COMMAND bash ${PURE_TEST_DIR}/report/show.sh $<TARGET_FILE:pure> ${PURE_PYTHON})
set_tests_properties(test_show_rollouts PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
pure_test(test_compare SOURCES ${PURE_TEST_DIR}/report/test_compare.c ${PURE_REPORT_FIXTURE} LIBS pure_report)
