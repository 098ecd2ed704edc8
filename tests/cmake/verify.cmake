# verifier/ (answer checking) is pure string code over util/; the data loaders come with the data kind.
pure_test(test_verify_cases SOURCES ${PURE_TEST_DIR}/verify/test_verify_cases.c LIBS pure_verifier)
pure_test(test_verify_data SOURCES ${PURE_TEST_DIR}/verify/test_verify_data.c LIBS pure_stage_data)
pure_test(test_verify_stage SOURCES ${PURE_TEST_DIR}/verify/test_verify_stage.c ${PURE_TEST_DIR}/stage_test_host.c
          LIBS pure_stage_verify pure_runner)
pure_test(test_grade_cmd SOURCES ${PURE_TEST_DIR}/verify/test_grade_cmd.c ${CMAKE_SOURCE_DIR}/cli/cmd_grade.c
          LIBS pure_verifier)
# pure grade against sympy (independent judge): random constant expressions and polynomial identities
add_test(NAME test_verify_sympy COMMAND bash ${PURE_TEST_DIR}/verify/sympy_grade.sh $<TARGET_FILE:pure> ${PURE_PYTHON})
set_tests_properties(test_verify_sympy PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
# work of extraction, normalization and comparison grows linearly with hostile inputs (steps, not time)
pure_test(test_verify_linear SOURCES ${PURE_TEST_DIR}/verify/test_verify_linear.c LIBS pure_verifier)
