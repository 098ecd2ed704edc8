# compat.cmake - pure against the tools researchers run (issue 16): Hugging Face transformers,
# tokenizers and math-verify, torch 2, in the cached environment of scripts/venv.sh. Label
# `compat` (ctest -L compat selects them, -LE compat leaves them out). Without that environment
# tests/compat/run.sh says so in capitals and the tests are reported as skipped, never passed.
# The first one to run builds the environment (minutes; the others wait on its lock).
add_executable(tok_ids ${PURE_TEST_DIR}/compat/tok_ids.c)
target_include_directories(tok_ids PRIVATE ${CMAKE_SOURCE_DIR})
target_link_libraries(tok_ids PRIVATE pure_tokenizer pure_util)
function(pure_compat_test name script)
  add_test(NAME ${name} COMMAND bash ${PURE_TEST_DIR}/compat/run.sh ${script} ${ARGN})
  set_tests_properties(${name} PROPERTIES SKIP_RETURN_CODE 77 LABELS compat TIMEOUT 1800)
endfunction()
pure_compat_test(compat_hf_models hf_models.py $<TARGET_FILE:pure>)
pure_compat_test(compat_tokenizers tokenizers_compat.py $<TARGET_FILE:tok_ids> ${PURE_SHARED_DIR})
pure_compat_test(compat_pure_to_hf pure_to_hf.py $<TARGET_FILE:pure> ${CMAKE_SOURCE_DIR})
pure_compat_test(compat_grade grade_compat.py $<TARGET_FILE:pure> ${PURE_SHARED_DIR})
