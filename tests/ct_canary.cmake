# ct_canary branches on a secret on purpose; the ct test must fail on it.
if(TARGET ct_canary)
  set_tests_properties(ct_canary PROPERTIES WILL_FAIL TRUE)
endif()
