# storage/: the HDF5 artifact store and `pure inspect`.
pure_test(test_artifact SOURCES ${PURE_TEST_DIR}/storage/test_artifact.c LIBS pure_storage)
pure_test(test_artifact_corrupt SOURCES ${PURE_TEST_DIR}/storage/test_artifact_corrupt.c LIBS pure_storage)
pure_test(test_artifact_h5py SOURCES ${PURE_TEST_DIR}/storage/test_artifact_h5py.c LIBS pure_storage)
pure_test(test_inspect SOURCES ${PURE_TEST_DIR}/storage/test_inspect.c LIBS pure_storage)
