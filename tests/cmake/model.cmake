# Tests of the transformer engine (model/). The PyTorch parity test needs
# /usr/bin/python3 with torch (PURE_PYTHON) and skips (77) without it.
pure_test(test_model_parity SOURCES ${PURE_TEST_DIR}/model/test_model_parity.c LIBS pure_model pure_util)
pure_test(test_model_unit SOURCES ${PURE_TEST_DIR}/model/test_model_unit.c LIBS pure_model pure_tokenizer pure_util)
