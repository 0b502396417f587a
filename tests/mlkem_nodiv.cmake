# No division instruction in the compiled ML-KEM code (tests/mlkem_nodiv.sh).
find_program(OBJDUMP NAMES objdump llvm-objdump)
if(OBJDUMP)
  add_test(NAME mlkem_nodiv
           COMMAND sh "${CMAKE_SOURCE_DIR}/tests/mlkem_nodiv.sh" "${OBJDUMP}"
                   "${CMAKE_BINARY_DIR}" "${CMAKE_SOURCE_DIR}")
  set_tests_properties(mlkem_nodiv PROPERTIES LABELS unit)
endif()
