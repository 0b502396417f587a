# The shared library exports only pq3_ symbols (hidden visibility by default).
find_program(NM nm)
if(NM AND NOT PQ3_SANITIZE)
  add_test(NAME exported_symbols
           COMMAND sh "${CMAKE_SOURCE_DIR}/tests/exported_symbols.sh" "${NM}" $<TARGET_FILE:openpq3>)
  set_tests_properties(exported_symbols PROPERTIES LABELS unit)
endif()
