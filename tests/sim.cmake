# The network simulator (docs/NETWORK.md): tests/sim.c is linked into the
# ctest test_sim (made by the tests/test_*.c convention) and into the
# benchmark bench_sim. The benchmarks are defined after this file is
# included, so attaching to bench_sim is deferred to the end of the
# top-level directory.
if(TARGET test_sim)
  target_sources(test_sim PRIVATE "${CMAKE_SOURCE_DIR}/tests/sim.c")
  set_tests_properties(test_sim PROPERTIES TIMEOUT 300)
endif()

function(pq3_sim_attach_bench)
  if(TARGET bench_sim)
    target_sources(bench_sim PRIVATE "${CMAKE_SOURCE_DIR}/tests/sim.c")
    target_include_directories(bench_sim PRIVATE "${CMAKE_SOURCE_DIR}/tests")
  endif()
endfunction()
cmake_language(DEFER CALL pq3_sim_attach_bench)
