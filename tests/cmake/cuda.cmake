# CUDA backend tests (tests/cuda/).
# test_cuda_host needs no GPU (Philox port, arena, sampling reference) and
# runs everywhere; the GPU tests exist only when the CUDA backend is built and
# exit 77 (skipped) when no device is present. They carry the label gpu.
pure_test(test_cuda_host SOURCES ${PURE_TEST_DIR}/cuda/test_cuda_host.c
          ${CMAKE_SOURCE_DIR}/model/cuda/arena.c ${CMAKE_SOURCE_DIR}/model/cuda/sample_ref.c LIBS pure_util m)
