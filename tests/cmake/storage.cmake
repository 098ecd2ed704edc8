# storage/: the HDF5 artifact store and `pure inspect`.
pure_test(test_artifact SOURCES ${PURE_TEST_DIR}/storage/test_artifact.c LIBS pure_storage)
