# The text fuzzers' seeds and regressions replayed as GoogleTest units (label "unit", like the GGUF
# fuzzer's regression tests, so tools/sanitize.sh runs them too). The fuzzers themselves are
# tests/fuzz/CMakeLists.txt (clang); this links the same checks with the CLI's batch-line parser
# and the server's request parser. Named *_unittest.cc so that the *_test.cc glob leaves it here.
add_executable(fuzz_text_replay_unittests ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/text_fuzz_replay_unittest.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/test_util.cc
  ${CMAKE_SOURCE_DIR}/tools/cli/batch_input.cc
  ${CMAKE_SOURCE_DIR}/tools/cli/cli_args.cc)
target_include_directories(fuzz_text_replay_unittests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz)
target_compile_definitions(fuzz_text_replay_unittests PRIVATE ST_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
                           ST_BINARY_DIR="${CMAKE_BINARY_DIR}" ST_SHARED_DIR="${ST_SHARED_DIR}")
target_link_libraries(fuzz_text_replay_unittests PRIVATE st_server st_gen GTest::gtest GTest::gtest_main)
gtest_discover_tests(fuzz_text_replay_unittests DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "unit")
