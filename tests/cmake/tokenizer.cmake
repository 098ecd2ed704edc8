# tokenizer.cmake - tests of tokenizer/ (and the encode benchmark, built on demand).
set(TOK_TEST_LIBS pure_tokenizer pure_util PkgConfig::UTF8PROC)
pure_test(test_tokenizer_qwen SOURCES ${PURE_TEST_DIR}/tokenizer/test_tokenizer_qwen.c LIBS ${TOK_TEST_LIBS})
pure_test(test_tokenizer_toy SOURCES ${PURE_TEST_DIR}/tokenizer/test_tokenizer_toy.c LIBS ${TOK_TEST_LIBS})
pure_test(test_tokenizer_fuzz SOURCES ${PURE_TEST_DIR}/tokenizer/test_tokenizer_fuzz.c LIBS ${TOK_TEST_LIBS})
# bench/tokenizer_bench.sh builds and runs this one (not a test: speed is never asserted in tests)
add_executable(tokenizer_bench EXCLUDE_FROM_ALL ${CMAKE_SOURCE_DIR}/bench/tokenizer_bench.c)
target_include_directories(tokenizer_bench PRIVATE ${CMAKE_SOURCE_DIR})
target_link_libraries(tokenizer_bench PRIVATE pure_tokenizer pure_util)
