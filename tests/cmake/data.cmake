# The data kind's library (loaders, prepare) with the shared steps and toy task of stages/common/.
pure_test(test_steps_toy SOURCES ${PURE_TEST_DIR}/data/test_steps_toy.c LIBS pure_stage_data)
pure_test(test_data_sources SOURCES ${PURE_TEST_DIR}/data/test_data_sources.c LIBS pure_stage_data)
# the data stage kind through `pure run`: every source kind, the layout read back with h5py, bad specs refused
add_test(NAME test_data_pipeline
  COMMAND bash ${PURE_TEST_DIR}/data/pipeline_data.sh $<TARGET_FILE:pure> ${PURE_SHARED_DIR} ${PURE_PYTHON})
set_tests_properties(test_data_pipeline PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
# the toy step checker against an independent Python implementation (tests/data/toy_check_ref.py)
pure_test(test_toy_check_diff SOURCES ${PURE_TEST_DIR}/data/test_toy_check_diff.c LIBS pure_stage_data)
