# cmake --install into a temporary prefix, then build against it with pkg-config.
find_program(PKG_CONFIG_EXE pkg-config)
if(PKG_CONFIG_EXE AND NOT PQ3_SANITIZE)
  add_test(NAME install_check
           COMMAND sh "${CMAKE_SOURCE_DIR}/tests/install_check.sh" "${CMAKE_BINARY_DIR}")
  set_tests_properties(install_check PROPERTIES LABELS unit)
endif()
