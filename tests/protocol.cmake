# Protocol test vectors (docs/PROTOCOL.md Appendices A and B): one generator
# program shared by the writer (protocol_vectors [--network] --write) and the
# tests, which regenerate the committed files and require byte equality.
add_executable(protocol_vectors tests/protocol_vectors_main.c tests/protocol_vectors.c
               tests/protocol_vectors_network.c)
target_link_libraries(protocol_vectors PRIVATE pq3_testutil)
add_test(NAME test_protocol_vectors
         COMMAND protocol_vectors --check "${CMAKE_SOURCE_DIR}/tests/vectors/protocol-v1.json")
set_tests_properties(test_protocol_vectors PROPERTIES LABELS unit
                     ENVIRONMENT "${PQ3_TEST_ENV}" TIMEOUT 600)
add_test(NAME test_protocol_vectors_network
         COMMAND protocol_vectors --network --check
                 "${CMAKE_SOURCE_DIR}/tests/vectors/protocol-v1-network.json")
set_tests_properties(test_protocol_vectors_network PROPERTIES LABELS unit
                     ENVIRONMENT "${PQ3_TEST_ENV}" TIMEOUT 600)
