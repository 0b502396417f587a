# ML-KEM tests that need more than the tests/test_*.c convention.

# The 1,000,000-round CCTV accumulated test (several minutes): only with
# -DPQ3_SLOW_TESTS=ON, label "slow".
option(PQ3_SLOW_TESTS "Register the slow tests (label slow)" OFF)
if(PQ3_SLOW_TESTS)
  add_test(NAME test_mlkem_cctv_million COMMAND test_mlkem_cctv million)
  set_tests_properties(test_mlkem_cctv_million PROPERTIES LABELS slow
                       ENVIRONMENT "${PQ3_TEST_ENV}" TIMEOUT 3600)
endif()
