# End-to-end logits tests: generated model -> engine -> NumPy reference -> comparison
# (tests/e2e/logits_check.py documents the variants and tolerances).
find_program(ST_DEBIAN_PYTHON NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT ST_DEBIAN_PYTHON)
  find_program(ST_DEBIAN_PYTHON python3)
endif()
set(ST_E2E_WORK ${CMAKE_BINARY_DIR}/test_scratch/e2e)

function(st_logits_test name)
  add_test(NAME ${name}
    COMMAND ${ST_DEBIAN_PYTHON} ${CMAKE_SOURCE_DIR}/tests/e2e/logits_check.py
            --bin ${CMAKE_BINARY_DIR} --work ${ST_E2E_WORK}/${name} ${ARGN})
  set_tests_properties(${name} PROPERTIES LABELS "e2e" TIMEOUT 300)
endfunction()

foreach(variant a b c)
  foreach(type f32 f16 bf16)
    st_logits_test(logits_${variant}_${type} --variant ${variant} --type ${type} --kv-type f32)
  endforeach()
  foreach(type q8_0 q4_0)
    st_logits_test(logits_${variant}_${type}_emulated --variant ${variant} --type ${type} --kv-type f16 --emulate)
    st_logits_test(logits_${variant}_${type}_f64 --variant ${variant} --type ${type} --kv-type f16)
  endforeach()
endforeach()
# The default F16 KV cache against a reference that rounds K and V to f16 the same way.
st_logits_test(logits_a_f32_kv_f16 --variant a --type f32 --kv-type f16 --emulate)
# The Q8_0 KV cache (-ctk/-ctv q8_0) against a reference that rounds keys, values and the scoring
# queries to Q8_0 the same way (head dims of 32: Q8_0 blocks never cross heads).
st_logits_test(logits_c_q8_0_kv_q8_0 --variant c --type q8_0 --kv-type q8_0 --emulate --gen-args "--head-dim 32")
st_logits_test(logits_b_q4_0_kv_q8_0 --variant b --type q4_0 --kv-type q8_0 --emulate --gen-args "--head-dim 32")
# --router-gating forces the gating function whatever the file says.
st_logits_test(logits_b_f32_force_sigmoid --variant b --type f32 --router-gating sigmoid)
# One thread and two threads must give the same answer as the reference (and each other).
st_logits_test(logits_c_q4_0_one_thread --variant c --type q4_0 --kv-type f16 --emulate --threads 1)

# Every kernel table this CPU has must pass the same comparisons (skipped where the CPU lacks it).
foreach(isa scalar avx2 avx512 avx512_vnni neon)
  st_logits_test(logits_c_q4_0_${isa} --variant c --type q4_0 --kv-type f16 --emulate --kernels ${isa})
  st_logits_test(logits_b_f16_${isa} --variant b --type f16 --kv-type f32 --kernels ${isa})
  set_tests_properties(logits_c_q4_0_${isa} logits_b_f16_${isa} PROPERTIES SKIP_RETURN_CODE 77)
endforeach()

# The reference implementation's own tests.
add_test(NAME reference_selftest
  COMMAND ${ST_DEBIAN_PYTHON} -m unittest discover -s ${CMAKE_SOURCE_DIR}/tools/reference -p "test_*.py")
set_tests_properties(reference_selftest PROPERTIES LABELS "e2e" TIMEOUT 300)

# The full SmallThinker-4B shape (2.3 GB Q4_0 file generated into the build tree): slow, opt in with
# `ctest -L slow`.
add_test(NAME logits_full_4b_q4_0
  COMMAND ${ST_DEBIAN_PYTHON} ${CMAKE_SOURCE_DIR}/tests/e2e/logits_check.py
          --bin ${CMAKE_BINARY_DIR} --work ${ST_E2E_WORK}/full_4b --preset 4b --variant preset --type q4_0
          --kv-type f16 --emulate --n-prompt 6 --n-predict 2)
set_tests_properties(logits_full_4b_q4_0 PROPERTIES LABELS "slow" TIMEOUT 3600)
