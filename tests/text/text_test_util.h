// Helpers shared by the text tests (header-only: tests/CMakeLists.txt builds each *_test.cc with
// test_util.cc alone). Tokenizers are built once per test process from the real files in
// ../shared/data/tokenizer (see ../shared/data/README.md).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "format/gguf_file.h"
#include "test_util.h"
#include "text/hf_vocab.h"
#include "text/tokenizer.h"

namespace st::testing {

// llama.cpp's test vectors: `<base>.inp` and `<base>.out` (see the data README for the format).
struct VocabCase {
  std::string text;
  std::vector<int32_t> ids;
};

namespace text_test_detail {

template <typename T>
T OrDie(Result<T> r, const char* what) {
  if (!r.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, r.status().ToString().c_str());
    std::abort();
  }
  return std::move(r).value();
}

}  // namespace text_test_detail

// SmallThinker's vocabulary, built from qwen3/tokenizer.json + tokenizer_config.json. Aborts the
// test binary if the files are missing or malformed.
inline const Tokenizer& QwenTokenizer() {
  static const Tokenizer* tok = [] {
    const std::string dir = SharedDir() + "/data/tokenizer/qwen3/";
    Vocab v = text_test_detail::OrDie(LoadHfVocab(dir + "tokenizer.json", dir + "tokenizer_config.json"),
                                      "qwen3 vocab");
    return new Tokenizer(text_test_detail::OrDie(Tokenizer::FromVocab(std::move(v)), "qwen3 tokenizer"));
  }();
  return *tok;
}

// ggml-vocab-gpt-2.gguf, read directly.
inline const Tokenizer& Gpt2Tokenizer() {
  static const Tokenizer* tok = [] {
    const std::string path = SharedDir() + "/data/tokenizer/llama.cpp-vectors/ggml-vocab-gpt-2.gguf";
    GgufFile f = text_test_detail::OrDie(GgufFile::Open(path), "gpt-2 gguf");
    return new Tokenizer(text_test_detail::OrDie(Tokenizer::FromGguf(f), "gpt-2 tokenizer"));
  }();
  return *tok;
}

inline std::vector<VocabCase> ReadVocabCases(const std::string& base) {
  const std::string sep = "\n__ggml_vocab_test__\n";
  const std::string inp = ReadFileOrDie(base + ".inp");
  std::vector<VocabCase> cases;
  size_t pos = 0;
  while (pos < inp.size()) {
    const size_t end = inp.find(sep, pos);
    if (end == std::string::npos) break;
    cases.push_back({inp.substr(pos, end - pos), {}});
    pos = end + sep.size();
  }
  std::istringstream out(ReadFileOrDie(base + ".out"));
  std::string line;
  for (size_t i = 0; i < cases.size() && std::getline(out, line); ++i) {
    std::istringstream ids(line);
    int32_t id;
    while (ids >> id) cases[i].ids.push_back(id);
  }
  return cases;
}

}  // namespace st::testing
