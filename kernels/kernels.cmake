# The st_kernels library: one instruction set per source file, compile flags per file.
# Included by the top-level CMakeLists.txt and by the aarch64 cross check (tools/ci/neon_check.sh),
# so the source lists live in one place.
set(ST_KERNELS_DIR ${CMAKE_CURRENT_LIST_DIR})
set(ST_KERNEL_SOURCES
  ${ST_KERNELS_DIR}/ggml_type.cc
  ${ST_KERNELS_DIR}/quantize.cc
  ${ST_KERNELS_DIR}/quantize_kquants.cc
  ${ST_KERNELS_DIR}/kernel_table.cc
  ${ST_KERNELS_DIR}/cpu_features.cc
  ${ST_KERNELS_DIR}/scalar/scalar_kernels.cc
  ${ST_KERNELS_DIR}/scalar/scalar_kquants.cc)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set(ST_AVX2_SOURCES
    ${ST_KERNELS_DIR}/avx2/avx2_kernels.cc
    ${ST_KERNELS_DIR}/avx2/avx2_float.cc
    ${ST_KERNELS_DIR}/avx2/avx2_q8.cc
    ${ST_KERNELS_DIR}/avx2/avx2_kquants.cc)
  set(ST_AVX512_SOURCES
    ${ST_KERNELS_DIR}/avx512/avx512_kernels.cc
    ${ST_KERNELS_DIR}/avx512/avx512_float.cc
    ${ST_KERNELS_DIR}/avx512/avx512_q8.cc
    ${ST_KERNELS_DIR}/avx512/avx512_kquants.cc)
  set(ST_AVX512_VNNI_SOURCES
    ${ST_KERNELS_DIR}/avx512/avx512_vnni.cc)
  list(APPEND ST_KERNEL_SOURCES ${ST_AVX2_SOURCES} ${ST_AVX512_SOURCES} ${ST_AVX512_VNNI_SOURCES})
  set_source_files_properties(${ST_AVX2_SOURCES} PROPERTIES COMPILE_OPTIONS "-mavx2;-mfma;-mf16c")
  set_source_files_properties(${ST_AVX512_SOURCES} PROPERTIES
    COMPILE_OPTIONS "-mavx512f;-mavx512bw;-mavx512dq;-mavx512vl;-mavx2;-mfma;-mf16c")
  set_source_files_properties(${ST_AVX512_VNNI_SOURCES} PROPERTIES
    COMPILE_OPTIONS "-mavx512f;-mavx512bw;-mavx512dq;-mavx512vl;-mavx512vnni;-mavx2;-mfma;-mf16c")
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  # Advanced SIMD is part of the AArch64 baseline: no extra flags; the dot-product file adds them.
  list(APPEND ST_KERNEL_SOURCES
    ${ST_KERNELS_DIR}/neon/neon_kernels.cc
    ${ST_KERNELS_DIR}/neon/neon_float.cc
    ${ST_KERNELS_DIR}/neon/neon_q8.cc
    ${ST_KERNELS_DIR}/neon/neon_kquants.cc
    ${ST_KERNELS_DIR}/neon/neon_dotprod.cc)
  set_source_files_properties(${ST_KERNELS_DIR}/neon/neon_dotprod.cc PROPERTIES COMPILE_OPTIONS "-march=armv8.2-a+dotprod")
endif()

add_library(st_kernels STATIC ${ST_KERNEL_SOURCES})
get_filename_component(ST_KERNELS_ROOT ${ST_KERNELS_DIR} DIRECTORY)
target_include_directories(st_kernels PUBLIC ${ST_KERNELS_ROOT} ${ST_KERNELS_ROOT}/src ${ST_KERNELS_ROOT}/include)
# The scalar table is the specification: no silent contraction of a*b+c into fma (aarch64 would
# otherwise contract where x86 cannot). SIMD files write their fmas explicitly.
target_compile_options(st_kernels PRIVATE -ffp-contract=off)
