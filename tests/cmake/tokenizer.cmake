# tokenizer.cmake - tests of tokenizer/ (and the encode benchmark, built on demand).
set(TOK_TEST_LIBS pure_tokenizer pure_util PkgConfig::UTF8PROC)
pure_test(test_tokenizer_qwen SOURCES ${PURE_TEST_DIR}/tokenizer/test_tokenizer_qwen.c LIBS ${TOK_TEST_LIBS})
