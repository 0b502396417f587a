# The include rules between the files of the library (docs/ARCHITECTURE.md).
add_test(NAME include_rules
         COMMAND sh "${CMAKE_SOURCE_DIR}/tests/include_rules.sh" "${CMAKE_SOURCE_DIR}" "${CMAKE_C_COMPILER}")
set_tests_properties(include_rules PROPERTIES LABELS unit)
