# The data stage's core (steps, toy task, loaders, prepare) is compiled into the tests directly with the
# verifier it uses for \boxed{} references; only pure_storage and pure_util are linked.
set(PURE_DATA_CORE ${CMAKE_SOURCE_DIR}/stages/common/steps.c ${CMAKE_SOURCE_DIR}/stages/common/toy.c
    ${CMAKE_SOURCE_DIR}/stages/data/loaders.c ${CMAKE_SOURCE_DIR}/stages/data/prepare.c
    ${CMAKE_SOURCE_DIR}/verifier/verify_extract.c ${CMAKE_SOURCE_DIR}/verifier/verify_norm.c
    ${CMAKE_SOURCE_DIR}/verifier/verify_expr.c ${CMAKE_SOURCE_DIR}/verifier/verify_equal.c)
pure_test(test_steps_toy SOURCES ${PURE_TEST_DIR}/data/test_steps_toy.c ${PURE_DATA_CORE} LIBS pure_storage pure_util)
pure_test(test_data_sources SOURCES ${PURE_TEST_DIR}/data/test_data_sources.c ${PURE_DATA_CORE} LIBS pure_storage pure_util)
# the data stage kind through `pure run`: every source kind, the layout read back with h5py, bad specs refused
add_test(NAME test_data_pipeline
  COMMAND bash ${PURE_TEST_DIR}/data/pipeline_data.sh $<TARGET_FILE:pure> ${PURE_SHARED_DIR} ${PURE_PYTHON})
set_tests_properties(test_data_pipeline PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
# the toy step checker against an independent Python implementation (tests/data/toy_check_ref.py)
pure_test(test_toy_check_diff SOURCES ${PURE_TEST_DIR}/data/test_toy_check_diff.c ${PURE_DATA_CORE} LIBS pure_storage pure_util)
