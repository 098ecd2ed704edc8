# model/safetensors.c: built into the test directly so these tests do not
# depend on the rest of the engine.
pure_test(test_safetensors SOURCES ${PURE_TEST_DIR}/model_io/test_safetensors.c ${CMAKE_SOURCE_DIR}/model/safetensors.c
          LIBS pure_util)
