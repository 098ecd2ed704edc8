# fuzz.cmake - libFuzzer harnesses (tests/fuzz/fuzz_<name>.c, seed corpus in
# tests/fuzz/corpus/<name>/), built only with -DPURE_FUZZ=ON and clang.
# scripts/fuzz.sh builds them and runs each for a bounded time (CI: every change).
if(PURE_FUZZ)
  # pure_fuzzer(NAME LIBS...): fuzz_NAME from tests/fuzz/fuzz_NAME.c
  function(pure_fuzzer name)
    add_executable(fuzz_${name} ${PURE_TEST_DIR}/fuzz/fuzz_${name}.c)
    target_include_directories(fuzz_${name} PRIVATE ${CMAKE_SOURCE_DIR} ${OPENBLAS_INC})
    target_link_libraries(fuzz_${name} PRIVATE ${ARGN})
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
    target_compile_definitions(fuzz_${name} PRIVATE PURE_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
                               PURE_SHARED_DIR="${PURE_SHARED_DIR}")
    set_property(GLOBAL APPEND PROPERTY PURE_FUZZERS fuzz_${name})
  endfunction()
  file(GLOB fuzz_cmakes CONFIGURE_DEPENDS ${PURE_TEST_DIR}/fuzz/*.cmake)
  foreach(f ${fuzz_cmakes})
    include(${f})
  endforeach()
  get_property(all_fuzzers GLOBAL PROPERTY PURE_FUZZERS)
  add_custom_target(fuzzers DEPENDS ${all_fuzzers})
endif()
