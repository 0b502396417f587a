# pq3d end to end (docs/SERVER.md): real pq3d processes on loopback driven by
# the client library and the device layer, over SQLite and over PostgreSQL
# (a throwaway cluster, tests/pg_cluster.sh; exit 77 without PostgreSQL).
if(TARGET pq3d)
  add_executable(server_e2e tests/server_e2e.c)
  target_link_libraries(server_e2e PRIVATE pq3_testutil OpenSSL::Crypto)
  add_test(NAME server_e2e_sqlite COMMAND server_e2e)
  add_test(NAME server_e2e_pg COMMAND sh ${CMAKE_SOURCE_DIR}/tests/pg_cluster.sh
           $<TARGET_FILE:server_e2e> pg)
  set_tests_properties(server_e2e_sqlite server_e2e_pg PROPERTIES LABELS "server"
                       SKIP_RETURN_CODE 77 TIMEOUT 300
                       ENVIRONMENT "${PQ3_TEST_ENV};PQ3D=$<TARGET_FILE:pq3d>")
endif()

# kill -9 of pq3d under a 10,000-envelope load, both backends; PostgreSQL with
# its durable defaults (PQ3_PG_DURABLE=1: no fsync=off).
if(TARGET pq3d)
  add_executable(crash_pq3d tests/crash_pq3d.c)
  target_link_libraries(crash_pq3d PRIVATE pq3_testutil OpenSSL::Crypto Threads::Threads)
  add_test(NAME crash_pq3d_sqlite COMMAND crash_pq3d)
  add_test(NAME crash_pq3d_pg COMMAND env PQ3_PG_DURABLE=1 sh
           ${CMAKE_SOURCE_DIR}/tests/pg_cluster.sh $<TARGET_FILE:crash_pq3d> pg)
  set_tests_properties(crash_pq3d_sqlite crash_pq3d_pg PROPERTIES LABELS "server;crash"
                       SKIP_RETURN_CODE 77 TIMEOUT 600
                       ENVIRONMENT "${PQ3_TEST_ENV};PQ3D=$<TARGET_FILE:pq3d>")
endif()

# Two nodes on one PostgreSQL: cross-node push, one node killed mid-load.
if(TARGET pq3d)
  add_executable(multinode_pq3d tests/multinode_pq3d.c)
  target_link_libraries(multinode_pq3d PRIVATE pq3_testutil OpenSSL::Crypto)
  add_test(NAME multinode_pq3d COMMAND env PQ3_PG_DURABLE=1 sh
           ${CMAKE_SOURCE_DIR}/tests/pg_cluster.sh $<TARGET_FILE:multinode_pq3d>)
  set_tests_properties(multinode_pq3d PROPERTIES LABELS "server;crash" SKIP_RETURN_CODE 77
                       TIMEOUT 600 ENVIRONMENT "${PQ3_TEST_ENV};PQ3D=$<TARGET_FILE:pq3d>")
endif()

# Bad input over raw TLS (every byte the test's own).
if(TARGET pq3d)
  add_executable(server_abuse tests/server_abuse.c)
  target_link_libraries(server_abuse PRIVATE pq3_testutil OpenSSL::SSL OpenSSL::Crypto)
  add_test(NAME server_abuse COMMAND server_abuse)
  set_tests_properties(server_abuse PROPERTIES LABELS "server" SKIP_RETURN_CODE 77 TIMEOUT 300
                       ENVIRONMENT "${PQ3_TEST_ENV};PQ3D=$<TARGET_FILE:pq3d>")
endif()

# Key transparency end to end: epochs every second, proofs checked by the
# client library, the server's forgeries refused; both backends.
if(TARGET pq3d)
  add_executable(server_kt tests/server_kt.c)
  target_link_libraries(server_kt PRIVATE pq3_testutil OpenSSL::Crypto SQLite::SQLite3)
  add_test(NAME server_kt_sqlite COMMAND server_kt)
  add_test(NAME server_kt_pg COMMAND sh ${CMAKE_SOURCE_DIR}/tests/pg_cluster.sh
           $<TARGET_FILE:server_kt> pg)
  set_tests_properties(server_kt_sqlite server_kt_pg PROPERTIES LABELS "server"
                       SKIP_RETURN_CODE 77 TIMEOUT 300
                       ENVIRONMENT "${PQ3_TEST_ENV};PQ3D=$<TARGET_FILE:pq3d>")
endif()
