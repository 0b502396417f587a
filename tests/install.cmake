# cmake --install into a temporary prefix, then build against it with
# pkg-config and with the CMake package (find_package(OpenPQ3)), and compile
# every public header on its own (tests/install_check.sh).
find_program(PKG_CONFIG_EXE pkg-config)
if(PKG_CONFIG_EXE AND NOT PQ3_SANITIZE)
  add_test(NAME install_check
           COMMAND sh "${CMAKE_SOURCE_DIR}/tests/install_check.sh" "${CMAKE_BINARY_DIR}"
                   "${CMAKE_SOURCE_DIR}" "${CMAKE_COMMAND}" "${CMAKE_C_COMPILER}")
  set_tests_properties(install_check PROPERTIES LABELS unit TIMEOUT 300)
endif()
