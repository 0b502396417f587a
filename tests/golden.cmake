# Golden blobs of every serialized format (tests/vectors/golden/README.md):
# the scenario (tests/golden.c) is shared by the writer golden_gen, run by
# hand once per new format, and by the ctest test_formats (made by the
# tests/test_*.c convention), which reads every golden file and regenerates
# those of the current formats.
add_executable(golden_gen tests/golden_gen.c tests/golden.c)
target_link_libraries(golden_gen PRIVATE pq3_testutil)
if(TARGET test_formats)
  target_sources(test_formats PRIVATE "${CMAKE_SOURCE_DIR}/tests/golden.c")
endif()
