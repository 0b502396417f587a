# The ProVerif models of formal/ (docs/FORMAL.md): one test per model, label
# formal only. Each fails when a RESULT line differs from the model's
# EXPECTPV block, on a syntax error, or when ProVerif runs past its limit;
# without ProVerif it reports itself SKIPPED (exit 77).
# .ci/run builds ProVerif into build/proverif (../shared/tools/build-proverif).
if(EXISTS "${CMAKE_BINARY_DIR}/proverif/proverif2.05/proverif")
  set(PQ3_PROVERIF_DEFAULT "${CMAKE_BINARY_DIR}/proverif/proverif2.05/proverif")
else()
  find_program(PQ3_PROVERIF_FOUND proverif)
  if(PQ3_PROVERIF_FOUND)
    set(PQ3_PROVERIF_DEFAULT "${PQ3_PROVERIF_FOUND}")
  else()
    set(PQ3_PROVERIF_DEFAULT proverif)
  endif()
endif()
set(PQ3_PROVERIF "${PQ3_PROVERIF_DEFAULT}" CACHE FILEPATH "ProVerif 2.05 executable for the formal tests")

# Limits in seconds (measured times are in docs/FORMAL.md; about 3x margin
# for a loaded 2-core machine).
set(PQ3_FORMAL_MODELS
    start 300
    ctl_bundle_sig 120
    ctl_cert 120
    ctl_msg_sig 120
    ctl_sidd 120
    ctl_replay 120)
list(LENGTH PQ3_FORMAL_MODELS n)
math(EXPR last "${n} - 1")
foreach(i RANGE 0 ${last} 2)
  math(EXPR j "${i} + 1")
  list(GET PQ3_FORMAL_MODELS ${i} model)
  list(GET PQ3_FORMAL_MODELS ${j} limit)
  math(EXPR ctest_limit "${limit} + 30")
  add_test(NAME formal_${model}
           COMMAND sh "${CMAKE_SOURCE_DIR}/tests/formal_check.sh" "${PQ3_PROVERIF}"
                   "${CMAKE_SOURCE_DIR}/formal/pq3" "${CMAKE_SOURCE_DIR}/formal/${model}.pv" ${limit})
  set_tests_properties(formal_${model} PROPERTIES LABELS formal SKIP_RETURN_CODE 77
                       TIMEOUT ${ctest_limit})
endforeach()
