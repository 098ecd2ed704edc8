# CUDA backend tests (tests/cuda/).
# test_cuda_host needs no GPU (Philox port, arena, sampling reference) and
# runs everywhere; the GPU tests exist only when the CUDA backend is built and
# exit 77 (skipped) when no device is present. They carry the label gpu.
# sample_ref.c calls the engine's sampling rule, model/sample_rule.c, which
# lives in pure_model: targets that take sample_ref.c without pure_model
# compile the rule in themselves.
set(PURE_SAMPLE_RULE ${CMAKE_SOURCE_DIR}/model/sample_rule.c)
pure_test(test_cuda_host SOURCES ${PURE_TEST_DIR}/cuda/test_cuda_host.c
          ${CMAKE_SOURCE_DIR}/model/cuda/arena.c ${CMAKE_SOURCE_DIR}/model/cuda/sample_ref.c ${PURE_SAMPLE_RULE}
          LIBS pure_util m)
# The sampling rule's two cut searches (the host's quick-select, the device
# reference's bisection): the same token from the same logits and uniform (no GPU needed).
pure_test(test_cuda_sample_match SOURCES ${PURE_TEST_DIR}/cuda/test_cuda_sample_match.c
          ${CMAKE_SOURCE_DIR}/model/cuda/sample_ref.c LIBS pure_model pure_util m)
if(PURE_HAVE_CUDA)
  pure_test(test_cuda_ops SOURCES ${PURE_TEST_DIR}/cuda/test_cuda_ops.c ${PURE_SAMPLE_RULE}
            LIBS pure_model_cuda pure_model_cpu pure_util m LABELS gpu)
  pure_test(test_cuda_model SOURCES ${PURE_TEST_DIR}/cuda/test_cuda_model.c
            LIBS pure_model pure_tokenizer pure_util m LABELS gpu)
endif()

# The CUDA backend built against the CPU emulator of tests/cuda/emu/ (plain
# C++, no nvcc, no GPU): its kernels and launchers run and are compared with
# the CPU backend on every machine. Each .cu is compiled through a one-line
# .cpp wrapper because a source file has one language per build.
include(CheckLanguage)
check_language(CXX)
if(CMAKE_CXX_COMPILER)
  enable_language(CXX)
  file(GLOB emu_cu CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/model/cuda/*.cu)
  set(emu_srcs ${PURE_TEST_DIR}/cuda/emu/emu.cpp ${CMAKE_SOURCE_DIR}/model/cuda/arena.c
      ${CMAKE_SOURCE_DIR}/model/cuda/sample_ref.c ${PURE_SAMPLE_RULE})
  foreach(cu ${emu_cu})
    get_filename_component(stem ${cu} NAME_WE)
    file(CONFIGURE OUTPUT ${CMAKE_BINARY_DIR}/cuda_emu/emu_${stem}.cpp CONTENT "#include \"${cu}\"\n")
    list(APPEND emu_srcs ${CMAKE_BINARY_DIR}/cuda_emu/emu_${stem}.cpp)
  endforeach()
  add_library(pure_model_cuda_emu STATIC ${emu_srcs})
  set_target_properties(pure_model_cuda_emu PROPERTIES CXX_STANDARD 17)
  target_include_directories(pure_model_cuda_emu BEFORE PUBLIC ${PURE_TEST_DIR}/cuda/emu ${CMAKE_SOURCE_DIR})
  target_compile_definitions(pure_model_cuda_emu PUBLIC PURE_HAVE_CUDA=1)
  target_compile_options(pure_model_cuda_emu PRIVATE -Wno-unknown-pragmas)
  target_link_libraries(pure_model_cuda_emu PUBLIC pure_util)
  pure_test(test_cuda_emu SOURCES ${PURE_TEST_DIR}/cuda/emu/test_emu.cpp LIBS pure_model_cuda_emu)
  target_include_directories(test_cuda_emu BEFORE PRIVATE ${PURE_TEST_DIR}/cuda/emu)
  set_target_properties(test_cuda_emu PROPERTIES CXX_STANDARD 17)
  # ~7 s of CPU in a release build, minutes under ASan: labelled slow
  pure_test(test_cuda_emu_ops SOURCES ${PURE_TEST_DIR}/cuda/test_cuda_ops.c
            LIBS pure_model_cuda_emu pure_model_cpu pure_util m LABELS slow)
  target_compile_definitions(test_cuda_emu_ops PRIVATE PURE_CUDA_EMU_TEST=1)
endif()
if(CMAKE_CXX_COMPILER)
  # The model core (model/*.c) over the emulated backend: device "cuda" runs
  # the whole-model checks of test_cuda_model.c without a GPU.
  file(GLOB emu_core CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/model/*.c)
  list(REMOVE_ITEM emu_core ${PURE_SAMPLE_RULE}) # already in pure_model_cuda_emu
  add_library(pure_model_emu STATIC ${emu_core})
  target_include_directories(pure_model_emu PUBLIC ${CMAKE_SOURCE_DIR} ${OPENBLAS_INC} ${HDF5_C_INCLUDE_DIRS})
  target_link_libraries(pure_model_emu PUBLIC pure_model_cuda_emu pure_model_cpu pure_tokenizer pure_util)
  pure_test(test_cuda_emu_model SOURCES ${PURE_TEST_DIR}/cuda/test_cuda_model.c
            LIBS pure_model_emu pure_tokenizer pure_util m LABELS slow)
  target_compile_definitions(test_cuda_emu_model PRIVATE PURE_CUDA_EMU_TEST=1)
  # the memory plan against the arena's peak on the emulated device
  pure_test(test_cuda_emu_memplan SOURCES ${PURE_TEST_DIR}/model/test_model_memplan.c
            LIBS pure_model_emu pure_util m LABELS slow)
  target_compile_definitions(test_cuda_emu_memplan PRIVATE PURE_CUDA_EMU_TEST=1)
endif()

# bench/cuda_bench.sh builds and runs cuda_bench (a benchmark, not a test);
# cuda_bench_emu is the same program over the emulator, to smoke-test it without a GPU.
if(PURE_HAVE_CUDA)
  add_executable(cuda_bench EXCLUDE_FROM_ALL ${CMAKE_SOURCE_DIR}/bench/cuda_bench.c)
  target_include_directories(cuda_bench PRIVATE ${CMAKE_SOURCE_DIR})
  target_link_libraries(cuda_bench PRIVATE pure_model pure_util)
endif()
if(CMAKE_CXX_COMPILER)
  add_executable(cuda_bench_emu EXCLUDE_FROM_ALL ${CMAKE_SOURCE_DIR}/bench/cuda_bench.c)
  target_include_directories(cuda_bench_emu PRIVATE ${CMAKE_SOURCE_DIR})
  target_link_libraries(cuda_bench_emu PRIVATE pure_model_emu pure_util)
endif()
