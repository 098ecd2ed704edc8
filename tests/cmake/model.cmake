# Tests of the transformer engine (model/). The PyTorch parity test needs
# /usr/bin/python3 with torch (PURE_PYTHON) and skips (77) without it.
pure_test(test_model_parity SOURCES ${PURE_TEST_DIR}/model/test_model_parity.c LIBS pure_model pure_util)
pure_test(test_model_unit SOURCES ${PURE_TEST_DIR}/model/test_model_unit.c LIBS pure_model pure_tokenizer pure_util)
# bench/model_bench.sh builds and runs this one (a benchmark, not a test).
add_executable(model_bench EXCLUDE_FROM_ALL ${CMAKE_SOURCE_DIR}/bench/model_bench.c)
target_include_directories(model_bench PRIVATE ${CMAKE_SOURCE_DIR} ${OPENBLAS_INC})
target_link_libraries(model_bench PRIVATE pure_model pure_util)
# The tensor table (names, shapes, order, offsets) and the pointers bound to it.
pure_test(test_model_table SOURCES ${PURE_TEST_DIR}/model/test_model_table.c LIBS pure_model pure_util)
pure_test(test_model_io SOURCES ${PURE_TEST_DIR}/model/test_model_io.c LIBS pure_model pure_util)
pure_test(test_model_cli SOURCES ${PURE_TEST_DIR}/model/test_model_cli.c LIBS pure_model pure_storage pure_tokenizer pure_util)
target_compile_definitions(test_model_cli PRIVATE PURE_BIN="$<TARGET_FILE:pure>")
add_dependencies(test_model_cli pure)
pure_test(test_model_05b SOURCES ${PURE_TEST_DIR}/model/test_model_05b.c LIBS pure_model pure_util LABELS slow)
pure_test(test_model_cpu_ops SOURCES ${PURE_TEST_DIR}/model/test_model_cpu_ops.c LIBS pure_model_cpu pure_util)
pure_test(test_model_hf SOURCES ${PURE_TEST_DIR}/model/test_model_hf.c LIBS pure_model pure_util)
# Hostile config.json / safetensors files and non-finite weights (issue 12): each case in a child process.
pure_test(test_model_hostile SOURCES ${PURE_TEST_DIR}/model/test_model_hostile.c LIBS pure_model pure_util)
# Activation recomputation (bit-identical gradients) and the memory plan against the measured peak RSS.
pure_test(test_model_memplan SOURCES ${PURE_TEST_DIR}/model/test_model_memplan.c LIBS pure_model pure_util)
# `pure plan` on the smoke and the paper's pipelines, and `pure run` refusing what will not fit.
add_test(NAME plan_cli COMMAND bash ${PURE_TEST_DIR}/model/plan_cli.sh $<TARGET_FILE:pure>)
# bf16 mixed precision: rounding, the bf16 product kernels against the reference, forward/backward against f32,
# master weights, and bf16 inference loads (no f32 matrices) equal to training loads.
pure_test(test_model_bf16 SOURCES ${PURE_TEST_DIR}/model/test_model_bf16.c LIBS pure_model pure_model_cpu pure_util)
# smoke.yaml in bf16: runs, differs from f32, and resumes exactly after SIGKILL.
add_test(NAME bf16_resume
  COMMAND bash ${PURE_TEST_DIR}/model/bf16_resume.sh $<TARGET_FILE:pure-test> ${CMAKE_SOURCE_DIR} ${PURE_PYTHON})
