# The shipped trained model (models/): the engine's logits against committed PyTorch logits on
# every kernel table the CPU has, and the README's first command writing English.
find_program(ST_SHIPPED_PYTHON NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
set(ST_SHIPPED_MODEL ${CMAKE_SOURCE_DIR}/models/tinystories-st-q8_0.gguf)
if(ST_SHIPPED_PYTHON AND EXISTS ${ST_SHIPPED_MODEL})
  add_test(NAME shipped_golden_logits
    COMMAND ${ST_SHIPPED_PYTHON} ${CMAKE_SOURCE_DIR}/tests/e2e/shipped_golden.py --bin ${CMAKE_BINARY_DIR}
            --model ${ST_SHIPPED_MODEL} --golden ${CMAKE_SOURCE_DIR}/tests/data/shipped_golden
            --kernels auto,scalar,avx2,avx512,avx512_vnni,neon)
  set_tests_properties(shipped_golden_logits PROPERTIES LABELS "e2e" TIMEOUT 300 SKIP_RETURN_CODE 77)
  add_test(NAME shipped_story
    COMMAND ${ST_SHIPPED_PYTHON} ${CMAKE_SOURCE_DIR}/tests/e2e/shipped_story.py --bin ${CMAKE_BINARY_DIR}
            --model ${ST_SHIPPED_MODEL}
            --corpus ${CMAKE_SOURCE_DIR}/../shared/data/corpus/tinystories-subset-Arnoochka.txt)
  set_tests_properties(shipped_story PROPERTIES LABELS "e2e;cli" TIMEOUT 300)
endif()

# The README's API example: two prompts continued together on the shipped model.
if(EXISTS ${ST_SHIPPED_MODEL})
  add_test(NAME api_example COMMAND smallthinker-example -m ${ST_SHIPPED_MODEL} "once upon a time" "the little dog")
  set_tests_properties(api_example PROPERTIES LABELS "cli" TIMEOUT 60
    PASS_REGULAR_EXPRESSION "once upon a time[^\n]+\n---\nthe little dog[^\n]+")
endif()
