# The verifier's core is pure string code: tests compile it directly and need only pure_util, not the
# model and tokenizer libraries that the stage library links.
set(PURE_VERIFY_CORE ${CMAKE_SOURCE_DIR}/verifier/verify_extract.c ${CMAKE_SOURCE_DIR}/verifier/verify_norm.c
    ${CMAKE_SOURCE_DIR}/verifier/verify_expr.c ${CMAKE_SOURCE_DIR}/verifier/verify_equal.c)
pure_test(test_verify_cases SOURCES ${PURE_TEST_DIR}/verify/test_verify_cases.c ${PURE_VERIFY_CORE} LIBS pure_util)
pure_test(test_verify_data SOURCES ${PURE_TEST_DIR}/verify/test_verify_data.c ${PURE_VERIFY_CORE}
          ${CMAKE_SOURCE_DIR}/stages/data/loaders.c LIBS pure_util)
pure_test(test_verify_stage SOURCES ${PURE_TEST_DIR}/verify/test_verify_stage.c ${PURE_VERIFY_CORE}
          ${CMAKE_SOURCE_DIR}/stages/verify/verify.c LIBS pure_storage pure_util)
pure_test(test_grade_cmd SOURCES ${PURE_TEST_DIR}/verify/test_grade_cmd.c ${PURE_VERIFY_CORE}
          ${CMAKE_SOURCE_DIR}/cli/cmd_grade.c LIBS pure_util)
# pure grade against sympy (independent judge): random constant expressions and polynomial identities
add_test(NAME test_verify_sympy COMMAND bash ${PURE_TEST_DIR}/verify/sympy_grade.sh $<TARGET_FILE:pure> ${PURE_PYTHON})
set_tests_properties(test_verify_sympy PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
