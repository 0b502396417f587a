# The attacker games (tests/test_games.c) need the conversation recorder and
# the attacker's key schedule, kept apart in tests/games_attacker.c.
if(TARGET test_games)
  target_sources(test_games PRIVATE "${CMAKE_SOURCE_DIR}/tests/games_attacker.c")
  set_tests_properties(test_games PROPERTIES TIMEOUT 300)
endif()
