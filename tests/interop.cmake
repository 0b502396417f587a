# Independent JavaScript implementation of docs/PROTOCOL.md checking the C
# library's protocol vectors (tests/interop/verify.mjs for Appendix A,
# tests/interop/verify-network.mjs for Appendix B). Needs node, and
# @noble/post-quantum in tests/interop/node_modules (scripts/install-deps runs
# npm install); without the package the scripts exit 77 (skipped).
find_program(PQ3_NODE node)
if(PQ3_NODE)
  add_test(NAME test_interop_protocol
           COMMAND ${PQ3_NODE} tests/interop/verify.mjs tests/vectors/protocol-v1.json
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  add_test(NAME test_interop_network
           COMMAND ${PQ3_NODE} tests/interop/verify-network.mjs
                   tests/vectors/protocol-v1-network.json
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(test_interop_protocol test_interop_network PROPERTIES
                       LABELS unit SKIP_RETURN_CODE 77
                       ENVIRONMENT "${PQ3_TEST_ENV}" TIMEOUT 300)
else()
  message(STATUS "node not found: the protocol interop tests (tests/interop/*.mjs) are not registered")
endif()
