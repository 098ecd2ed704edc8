# Scale-out (docs/distributed.md): util/dist, row sharding and the data-parallel reduction, and whole
# pipelines under mpirun.
pure_test(test_dist SOURCES ${PURE_TEST_DIR}/dist/test_dist.c LIBS pure_stage_common)
# smoke.yaml on 1, 2 and 3 ranks commits the same artifacts; N -> M resume; kill -9 of one rank; failures
add_test(NAME test_dist_mpi_runs
  COMMAND bash ${PURE_TEST_DIR}/dist/mpi_runs.sh $<TARGET_FILE:pure> ${CMAKE_SOURCE_DIR} ${PURE_PYTHON})
set_tests_properties(test_dist_mpi_runs PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600 LABELS mpi
  # under ASan: OpenMPI's allocations are suppressed by library, which needs whole stacks (slow unwinder) and its
  # plug-ins still loaded at exit (disable_dlclose, set by the script)
  ENVIRONMENT "LSAN_OPTIONS=suppressions=${PURE_TEST_DIR}/dist/lsan_mpi.supp:print_suppressions=0;ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:fast_unwind_on_malloc=0")
