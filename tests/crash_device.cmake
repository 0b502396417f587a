# kill -9 trials of the device layer (tests/crash_device.c): 200 in the
# default run; 2000 with -DPQ3_SLOW_TESTS=ON (label slow).
add_executable(crash_device "${CMAKE_SOURCE_DIR}/tests/crash_device.c")
target_link_libraries(crash_device PRIVATE pq3_testutil)
add_test(NAME crash_device COMMAND crash_device 200)
set_tests_properties(crash_device PROPERTIES LABELS unit TIMEOUT 600 ENVIRONMENT "${PQ3_TEST_ENV}")
if(PQ3_SLOW_TESTS)
  add_test(NAME crash_device_slow COMMAND crash_device 2000)
  set_tests_properties(crash_device_slow PROPERTIES LABELS slow TIMEOUT 3600
                       ENVIRONMENT "${PQ3_TEST_ENV}")
endif()
