# smallthinker-cli tests (label "cli"; ctest -L cli):
#   cli_unittests        GoogleTest units of tools/cli (argument checks, batch lines, chat KV reuse)
#   cli_<Class>          tests/cli/cli_check.py end to end: one-shot, chat on a pseudo-terminal,
#                        batch files, errors and exit codes (each class makes its own tiny model)
# The unit sources are named *_unittest.cc so that tests/CMakeLists.txt's *_test.cc glob leaves
# them to this file, which links them with the CLI's own sources.
file(GLOB ST_CLI_UNITTEST_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/cli/*_unittest.cc)
add_executable(cli_unittests ${ST_CLI_UNITTEST_SOURCES}
  ${CMAKE_SOURCE_DIR}/tools/cli/cli_args.cc
  ${CMAKE_SOURCE_DIR}/tools/cli/batch_input.cc
  ${CMAKE_SOURCE_DIR}/tools/cli/chat_session.cc
  ${CMAKE_SOURCE_DIR}/tools/cli/generator.cc
  ${CMAKE_SOURCE_DIR}/tools/cli/interrupt.cc)
target_compile_definitions(cli_unittests PRIVATE ST_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
target_link_libraries(cli_unittests PRIVATE st_tools st_gen GTest::gtest GTest::gtest_main)
gtest_discover_tests(cli_unittests DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "cli")

find_program(ST_CLI_PYTHON NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT ST_CLI_PYTHON)
  find_program(ST_CLI_PYTHON python3)
endif()
foreach(group OneShotTest ChatPtyTest BatchTest ErrorsTest)
  add_test(NAME cli_${group}
    COMMAND ${ST_CLI_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/cli/cli_check.py
            --bin ${CMAKE_BINARY_DIR} --work ${CMAKE_BINARY_DIR}/test_scratch/cli/${group} ${group})
  set_tests_properties(cli_${group} PROPERTIES LABELS "cli" TIMEOUT 120)
endforeach()

# tests/cli/hardening_check.py (issue 12): result files replaced only on success, outputs that are
# inputs refused, BOMs, bad bench values, short perplexity contexts, failed writes to stdout
# (full disk, closed pipe) in every program, memory errors, escaped file strings, llama.cpp flags,
# the model tools' outputs (gen, vocab), peak RSS under --memory-limit.
foreach(group OutputFilesTest BomTest BenchArgsTest PerplexityTest StdoutErrorsTest MemoryTest EscapeTest LlamaFlagsTest
        ModelToolsOutputTest MemoryLimitRssTest)
  add_test(NAME cli_hardening_${group}
    COMMAND ${ST_CLI_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/cli/hardening_check.py
            --bin ${CMAKE_BINARY_DIR} --work ${CMAKE_BINARY_DIR}/test_scratch/cli_hardening/${group} ${group})
  set_tests_properties(cli_hardening_${group} PROPERTIES LABELS "cli" TIMEOUT 180)
endforeach()

# tests/cli/render_chat_check.py (issue 14): --render-chat against Python's jinja2 (as transformers
# renders), byte for byte: the Qwen3 template (with and without thinking) and the shipped model's.
add_test(NAME cli_render_chat
  COMMAND ${ST_CLI_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/cli/render_chat_check.py
          --bin ${CMAKE_BINARY_DIR} --work ${CMAKE_BINARY_DIR}/test_scratch/cli_render_chat)
set_tests_properties(cli_render_chat PROPERTIES LABELS "cli" TIMEOUT 180)

# tests/cli/template_corpus_check.py (issue 14): the Jinja engine against Python's jinja2 on the
# public chat templates of tests/data/chat_templates/ (plus Qwen3's and the shipped model's), six
# conversations each, byte for byte; known differences are listed in the script with their reason.
add_test(NAME cli_template_corpus
  COMMAND ${ST_CLI_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/cli/template_corpus_check.py
          --bin ${CMAKE_BINARY_DIR} --work ${CMAKE_BINARY_DIR}/test_scratch/cli_template_corpus)
set_tests_properties(cli_template_corpus PROPERTIES LABELS "cli" TIMEOUT 300)
