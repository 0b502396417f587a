# pq3d's storage interface (server/store.h): one suite, run over both
# backends. store_pg runs in a throwaway PostgreSQL 15 cluster
# (tests/pg_cluster.sh; skipped, exit 77, when PostgreSQL is not installed).
if(TARGET pq3d_store)
  add_executable(store_suite tests/store_suite.c)
  target_link_libraries(store_suite PRIVATE pq3d_store pq3_testutil Threads::Threads)
  add_test(NAME store_sqlite COMMAND store_suite)
  add_test(NAME store_pg COMMAND sh ${CMAKE_SOURCE_DIR}/tests/pg_cluster.sh
           $<TARGET_FILE:store_suite> pg)
  set_tests_properties(store_sqlite store_pg PROPERTIES LABELS "server"
                       SKIP_RETURN_CODE 77 TIMEOUT 300 ENVIRONMENT "${PQ3_TEST_ENV}")
endif()
