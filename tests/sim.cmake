# The network simulator (docs/NETWORK.md): tests/sim.c is linked into the
# ctest test_sim (made by the tests/test_*.c convention); the top-level
# CMakeLists.txt links it into the benchmark bench_sim too.
if(TARGET test_sim)
  target_sources(test_sim PRIVATE "${CMAKE_SOURCE_DIR}/tests/sim.c")
  set_tests_properties(test_sim PROPERTIES TIMEOUT 300)
endif()

