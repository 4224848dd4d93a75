# The training script's smoke tests (a few steps on a tiny config, export in every layout and type).
find_program(ST_TRAIN_PYTHON NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(ST_TRAIN_PYTHON AND EXISTS ${CMAKE_SOURCE_DIR}/tools/train/test_train.py)
  add_test(NAME train_smoke
    COMMAND ${ST_TRAIN_PYTHON} -m unittest discover -s ${CMAKE_SOURCE_DIR}/tools/train -p "test_*.py")
  set_tests_properties(train_smoke PROPERTIES LABELS "train" TIMEOUT 600
    ENVIRONMENT "OMP_NUM_THREADS=1;OPENBLAS_NUM_THREADS=1")
endif()
# Export -> engine round trip: PyTorch model vs smallthinker-cli, every weight type and layout.
if(ST_TRAIN_PYTHON AND EXISTS ${CMAKE_SOURCE_DIR}/tools/train/engine_roundtrip.py)
  add_test(NAME train_engine_roundtrip
    COMMAND ${ST_TRAIN_PYTHON} ${CMAKE_SOURCE_DIR}/tools/train/engine_roundtrip.py --bin ${CMAKE_BINARY_DIR})
  set_tests_properties(train_engine_roundtrip PROPERTIES LABELS "train;e2e" TIMEOUT 300
    ENVIRONMENT "OMP_NUM_THREADS=1;OPENBLAS_NUM_THREADS=1")
endif()
