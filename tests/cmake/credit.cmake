# credit.cmake - tests of the Lua sandbox (lua/) and credit assignment (stages/credit/).
pure_test(test_sandbox SOURCES ${PURE_TEST_DIR}/credit/test_sandbox.c LIBS pure_lua pure_util)
