// libFuzzer target: Encode/Decode round trip of arbitrary bytes through a real vocabulary, loaded
// once: $ST_FUZZ_VOCAB (any GGUF with a tokenizer, e.g. one smallthinker-vocab wrote from the Qwen3
// tokenizer.json), else the shipped models/tinystories-st-q8_0.gguf. See CheckTokenizer.
#include <cstdlib>
#include <optional>

#include "format/gguf_file.h"
#include "fuzz_main.h"
#include "text_fuzz_checks.h"

namespace {

const st::Tokenizer& Vocabulary() {
  static const st::Tokenizer* tok = [] {
    const char* env = std::getenv("ST_FUZZ_VOCAB");
    const std::string path = env ? env : ST_SOURCE_DIR "/models/tinystories-st-q8_0.gguf";
    auto file = st::GgufFile::Open(path);
    if (!file.ok()) st::fuzz::FailIf("tokenizer_fuzz", path + ": " + file.status().ToString());
    auto t = st::Tokenizer::FromGguf(*file);
    if (!t.ok()) st::fuzz::FailIf("tokenizer_fuzz", path + ": " + t.status().ToString());
    return new st::Tokenizer(std::move(*t));
  }();
  return *tok;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  st::fuzz::FailIf("tokenizer_fuzz", st::fuzz::CheckTokenizer(Vocabulary(), data, size));
  return 0;
}
