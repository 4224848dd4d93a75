// smallthinker-vocab: turn a Hugging Face tokenizer (tokenizer.json + tokenizer_config.json) into
// a vocabulary-only GGUF with SmallThinker's layout (see src/text/hf_vocab.h):
//
//   smallthinker-vocab --tokenizer-json tokenizer.json --tokenizer-config tokenizer_config.json
//                      -o vocab.gguf
//
// The result has general.architecture = "smallthinker" and the tokenizer keys, no tensors; the
// model generator and smallthinker-tokenize read it.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <string>

#include "cli/exit_codes.h"
#include "text/hf_vocab.h"
#include "text/tokenizer.h"
#include "util/output_file.h"

namespace st {
namespace {

struct Args {
  std::string tokenizer_json;
  std::string tokenizer_config;
  size_t n_vocab = kSmallThinkerVocabSize;
  std::string output;
};

int Run(const Args& a) {
  if (Status c = CheckOutputsAreNotInputs({{"-o", a.output}}, {{"--tokenizer-json", a.tokenizer_json},
                                                                {"--tokenizer-config", a.tokenizer_config}});
      !c.ok()) {
    std::fprintf(stderr, "error: %s\n", c.message().c_str());
    return kExitUsage;
  }
  auto vocab = LoadHfVocab(a.tokenizer_json, a.tokenizer_config, a.n_vocab);
  if (!vocab.ok()) {
    std::fprintf(stderr, "error: %s\n", vocab.status().message().c_str());
    return ExitCodeForModelError(vocab.status());
  }
  // Refuse to write a vocabulary our own tokenizer cannot load.
  auto tok = Tokenizer::FromVocab(*vocab);
  if (!tok.ok()) {
    std::fprintf(stderr, "error: %s\n", tok.status().message().c_str());
    return kExitModel;
  }
  if (Status s = WriteVocabGguf(*vocab, a.output); !s.ok()) {
    std::fprintf(stderr, "error: %s\n", s.message().c_str());
    return kExitIo;
  }
  std::fprintf(stderr, "wrote %s: %zu tokens, %zu merges, bos/eos %d, chat template %s\n", a.output.c_str(),
               vocab->tokens.size(), vocab->merges.size(), vocab->eos_id,
               vocab->chat_template.empty() ? "none" : "yes");
  return kExitOk;
}

}  // namespace
}  // namespace st

int main(int argc, char** argv) {
  st::Args a;
  CLI::App app{"smallthinker-vocab: write a SmallThinker vocabulary GGUF from a Hugging Face tokenizer"};
  app.footer(std::string(st::kExitCodesHelp) + "\nUnreadable or malformed tokenizer files count as model files (3).");
  app.add_option("--tokenizer-json", a.tokenizer_json, "Hugging Face tokenizer.json")->required();
  app.add_option("--tokenizer-config", a.tokenizer_config, "tokenizer_config.json (added tokens, chat template)");
  app.add_option("--n-vocab", a.n_vocab, "vocabulary size, padded with [PAD<id>] tokens")
      ->capture_default_str()->check(CLI::Range(size_t{1}, size_t{1} << 24));
  app.add_option("-o,--output", a.output, "the GGUF file to write")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? st::kExitOk : st::kExitUsage;
  }
  return st::Run(a);
}
