# storage/: the HDF5 artifact store and `pure inspect`.
pure_test(test_artifact SOURCES ${PURE_TEST_DIR}/storage/test_artifact.c LIBS pure_storage)
pure_test(test_artifact_corrupt SOURCES ${PURE_TEST_DIR}/storage/test_artifact_corrupt.c LIBS pure_storage)
# HDF5 leaks on its own error paths for damaged files; suppressed for this test only
set_tests_properties(test_artifact_corrupt PROPERTIES
  ENVIRONMENT "LSAN_OPTIONS=suppressions=${PURE_TEST_DIR}/storage/lsan_hdf5.supp:print_suppressions=0")
pure_test(test_artifact_h5py SOURCES ${PURE_TEST_DIR}/storage/test_artifact_h5py.c LIBS pure_storage)
pure_test(test_inspect SOURCES ${PURE_TEST_DIR}/storage/test_inspect.c ${CMAKE_SOURCE_DIR}/cli/cmd_inspect.c LIBS pure_storage)
# Files made to hurt the reader: sizes, nesting, link graphs, external links, invalid UTF-8 (issue 12).
pure_test(test_artifact_hostile SOURCES ${PURE_TEST_DIR}/storage/test_artifact_hostile.c ${CMAKE_SOURCE_DIR}/cli/cmd_inspect.c
          LIBS pure_storage)
set_tests_properties(test_artifact_hostile PROPERTIES
  ENVIRONMENT "LSAN_OPTIONS=suppressions=${PURE_TEST_DIR}/storage/lsan_hdf5.supp:print_suppressions=0")
# `pure inspect` on a realistic file with one byte flipped at a time: error or identical output (issue 12).
pure_test(test_inspect_damaged SOURCES ${PURE_TEST_DIR}/storage/test_inspect_damaged.c ${CMAKE_SOURCE_DIR}/cli/cmd_inspect.c
          LIBS pure_storage)
set_tests_properties(test_inspect_damaged PROPERTIES
  ENVIRONMENT "LSAN_OPTIONS=suppressions=${PURE_TEST_DIR}/storage/lsan_hdf5.supp:print_suppressions=0")
