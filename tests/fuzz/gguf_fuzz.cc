// libFuzzer target for the GGUF reader and the model binding: see fuzz_pipeline.h for what one
// input exercises. Built by tests/fuzz/CMakeLists.txt with clang and -fsanitize=fuzzer,address,
// undefined; run with tools/fuzz.sh [SECONDS].
//
// An input crashes the fuzzer when a sanitizer fires, or when the pipeline reports an invariant
// violation (a bound view outside the file) or returns a kInternal status (a bug, never bytes).
#include <cstdio>
#include <cstdlib>

#include "fuzz_pipeline.h"

namespace {

const bool kVerbose = std::getenv("ST_FUZZ_VERBOSE") != nullptr;

void Fail(const st::Status& s) {
  std::fprintf(stderr, "gguf_fuzz: %s\n", s.ToString().c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const st::fuzz::PipelineResult r = st::fuzz::RunGgufPipeline(data, size);
  if (kVerbose) {  // ST_FUZZ_VERBOSE=1 gguf_fuzz FILE...: say what each input did
    std::fprintf(stderr, "gguf_fuzz: %zu bytes: load %s; vocab %s\n", size,
                 r.loaded ? "ok" : r.load.ToString().c_str(), r.vocab.ToString().c_str());
  }
  if (!r.invariant.ok()) Fail(r.invariant);
  if (r.load.code() == st::StatusCode::kInternal) Fail(r.load);
  if (r.vocab.code() == st::StatusCode::kInternal) Fail(r.vocab);
  return 0;
}
