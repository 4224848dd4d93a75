# smallthinker-server tests (label "server", the units "unit"):
#   server_unittests   GoogleTest units of tools/server (stop strings, request parsing, the engine);
#                      labelled "unit", so tools/sanitize.sh runs them under ASan/UBSan and TSan
#   server_npm         installs the `openai` client and `playwright-core` from the npm registry
#                      into the build tree (a fixture of the two below)
#   server_http        tests/server/server_check.py: the server end to end with curl and with the
#                      official `openai` npm client (tests/server/openai_client.mjs)
#   server_web         tests/server/web_check.mjs: the web page in headless Chromium, screenshot
file(GLOB ST_SERVER_UNITTEST_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/server/*_unittest.cc)
add_executable(server_unittests ${ST_SERVER_UNITTEST_SOURCES} ${CMAKE_CURRENT_SOURCE_DIR}/test_util.cc)
target_include_directories(server_unittests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_definitions(server_unittests PRIVATE ST_SOURCE_DIR="${CMAKE_SOURCE_DIR}" ST_BINARY_DIR="${CMAKE_BINARY_DIR}"
                           ST_SHARED_DIR="${ST_SHARED_DIR}")
target_link_libraries(server_unittests PRIVATE st_server st_gen GTest::gtest GTest::gtest_main GTest::gmock)
# Label "unit" only (gtest_discover_tests keeps just the first of several labels): ctest -L unit runs them,
# and so do the sanitizers.
gtest_discover_tests(server_unittests DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "unit")

set(ST_SERVER_NPM ${CMAKE_BINARY_DIR}/test_scratch/server/npm)
find_program(ST_NPM npm)
find_program(ST_NODE node)
find_program(ST_CURL curl)
find_program(ST_CHROMIUM chromium)
find_program(ST_SERVER_PYTHON NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
add_test(NAME server_npm
  COMMAND ${CMAKE_COMMAND} -E env npm_config_update_notifier=false
          ${ST_NPM} install --prefix ${ST_SERVER_NPM} --no-audit --no-fund --loglevel=error openai@4 playwright-core@1)
set_tests_properties(server_npm PROPERTIES LABELS "server" TIMEOUT 300 FIXTURES_SETUP server_npm)
add_test(NAME server_http
  COMMAND ${ST_SERVER_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/server/server_check.py --bin ${CMAKE_BINARY_DIR}
          --model ${CMAKE_SOURCE_DIR}/models/tinystories-st-q8_0.gguf --npm ${ST_SERVER_NPM}
          --work ${CMAKE_BINARY_DIR}/test_scratch/server/http)
set_tests_properties(server_http PROPERTIES LABELS "server" TIMEOUT 300 FIXTURES_REQUIRED server_npm)
add_test(NAME server_web
  COMMAND ${ST_NODE} ${CMAKE_CURRENT_SOURCE_DIR}/server/web_check.mjs --bin ${CMAKE_BINARY_DIR}
          --model ${CMAKE_SOURCE_DIR}/models/tinystories-st-q8_0.gguf --npm ${ST_SERVER_NPM}
          --chromium ${ST_CHROMIUM} --work ${CMAKE_BINARY_DIR}/test_scratch/server/web)
set_tests_properties(server_web PROPERTIES LABELS "server" TIMEOUT 120 FIXTURES_REQUIRED server_npm)
