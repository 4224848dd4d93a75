# Faults under load: model file deleted/truncated while in use, expert file truncated while
# streaming, SIGINT mid-answer, a full disk for every result stream (tests/faults/faults_check.py).
find_program(ST_FAULTS_PYTHON NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
add_test(NAME faults
  COMMAND ${ST_FAULTS_PYTHON} ${CMAKE_SOURCE_DIR}/tests/faults/faults_check.py
          --bin ${CMAKE_BINARY_DIR} --work ${CMAKE_BINARY_DIR}/test_scratch/faults)
set_tests_properties(faults PROPERTIES LABELS "faults" TIMEOUT 300)
