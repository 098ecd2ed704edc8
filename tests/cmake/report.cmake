# report/: reading finished runs (rollout views, comparisons, HTML reports), on hand-made run directories
# (tests/report/fixture.c) and on a real smoke run.
set(PURE_REPORT_FIXTURE ${PURE_TEST_DIR}/report/fixture.c)
pure_test(test_rollview SOURCES ${PURE_TEST_DIR}/report/test_rollview.c ${PURE_REPORT_FIXTURE} LIBS pure_report)
add_test(NAME test_show_rollouts COMMAND bash ${PURE_TEST_DIR}/report/show.sh $<TARGET_FILE:pure> ${PURE_PYTHON})
set_tests_properties(test_show_rollouts PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
pure_test(test_compare SOURCES ${PURE_TEST_DIR}/report/test_compare.c ${PURE_REPORT_FIXTURE} LIBS pure_report)
pure_test(test_report SOURCES ${PURE_TEST_DIR}/report/test_report.c ${PURE_REPORT_FIXTURE} LIBS pure_report)
# the report in headless Chromium: no console errors, the expected series, screenshots in report_screenshots/
add_test(NAME test_report_chromium COMMAND bash ${PURE_TEST_DIR}/report/chromium.sh $<TARGET_FILE:pure>
         $<TARGET_FILE:test_report> ${PURE_PYTHON} ${CMAKE_BINARY_DIR}/report_screenshots)
set_tests_properties(test_report_chromium PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
# TensorBoard event files (util/tfevents.c): CRC-32C and framing by hand, then whole runs read by an independent reader
pure_test(test_tfevents SOURCES ${PURE_TEST_DIR}/report/test_tfevents.c LIBS pure_util)
add_test(NAME test_tfevents_run COMMAND bash ${PURE_TEST_DIR}/report/tfevents.sh $<TARGET_FILE:pure> ${PURE_PYTHON})
set_tests_properties(test_tfevents_run PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 180)
# the latest metrics in pure run's progress and done lines
add_test(NAME test_progress_metrics COMMAND bash ${PURE_TEST_DIR}/report/progress.sh $<TARGET_FILE:pure> ${PURE_PYTHON})
set_tests_properties(test_progress_metrics PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
# sweeps: expansion, sharing, the status grid, resume after kill -9, the views on a sweep directory, errors
add_test(NAME test_sweep COMMAND bash ${PURE_TEST_DIR}/report/sweep.sh $<TARGET_FILE:pure> ${PURE_PYTHON})
set_tests_properties(test_sweep PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
