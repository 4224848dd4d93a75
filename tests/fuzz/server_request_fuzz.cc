// libFuzzer target: the server's request parsers (tools/server/openai_api.h) on arbitrary bytes
// parsed as JSON, with the shipped model's tokenizer and the chatml and qwen3 templates. See
// CheckServerRequest.
#include "format/gguf_file.h"
#include "fuzz_main.h"
#include "text_fuzz_checks.h"

namespace {

const smallthinker::Tokenizer& PublicVocabulary() {
  static const st::Tokenizer* impl = [] {
    const std::string path = ST_SOURCE_DIR "/models/tinystories-st-q8_0.gguf";
    auto file = st::GgufFile::Open(path);
    if (!file.ok()) st::fuzz::FailIf("server_request_fuzz", path + ": " + file.status().ToString());
    auto t = st::Tokenizer::FromGguf(*file);
    if (!t.ok()) st::fuzz::FailIf("server_request_fuzz", path + ": " + t.status().ToString());
    return new st::Tokenizer(std::move(*t));
  }();
  static const smallthinker::Tokenizer tok = smallthinker::Tokenizer::FromImpl(*impl);
  return tok;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  st::fuzz::FailIf("server_request_fuzz", st::fuzz::CheckServerRequest(PublicVocabulary(), data, size));
  return 0;
}
