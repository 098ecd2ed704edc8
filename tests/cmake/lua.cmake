# lua.cmake - the Lua sandbox's own library functions (lua/): the pattern matcher against the
# standard library's, and backtracking patterns stopped by the budgets (issue 12).
pure_test(test_lua_patterns SOURCES ${PURE_TEST_DIR}/lua/test_lua_patterns.c LIBS pure_lua pure_util)
