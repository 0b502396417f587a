# Protocol test vectors (docs/PROTOCOL.md Appendix A): one generator shared by
# the writer (protocol_vectors --write) and the test, which regenerates the
# committed file and requires byte equality.
add_executable(protocol_vectors tests/protocol_vectors_main.c tests/protocol_vectors.c)
target_link_libraries(protocol_vectors PRIVATE pq3_testutil)
add_test(NAME test_protocol_vectors
         COMMAND protocol_vectors --check "${CMAKE_SOURCE_DIR}/tests/vectors/protocol-v1.json")
set_tests_properties(test_protocol_vectors PROPERTIES LABELS unit
                     ENVIRONMENT "${PQ3_TEST_ENV}" TIMEOUT 600)
