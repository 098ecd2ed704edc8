pure_test(test_util SOURCES ${PURE_TEST_DIR}/test_util.c LIBS pure_util)
