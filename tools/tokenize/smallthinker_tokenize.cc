// smallthinker-tokenize: print the token ids of a text, as a JSON array on stdout.
//
//   smallthinker-tokenize -m model.gguf -p "Hello world"          ->  [9707,1879]
//   smallthinker-tokenize -m vocab.gguf -f prompt.txt --parse-special --show-pieces
//
// Like llama.cpp's llama-tokenize: no BOS unless --add-bos, special-token text ("<|im_start|>")
// becomes its token only with --parse-special. Any GGUF with tokenizer keys works (a full model or
// a vocabulary written by smallthinker-vocab).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "cli/exit_codes.h"
#include "common/llama_flags.h"
#include "common/output_check.h"
#include "format/gguf_file.h"
#include "text/tokenizer.h"
#include "text/unicode.h"
#include "util/escape.h"

namespace st {
namespace {

struct Args {
  std::string model;
  std::string prompt;
  std::string file;
  bool add_bos = false;
  bool parse_special = false;
  bool show_pieces = false;
};

int Fail(int code, const std::string& message) {
  std::fprintf(stderr, "error: %s\n", EscapeForDisplay(message).c_str());  // may quote the file's strings
  return code;
}

int Run(const Args& a, bool have_prompt) {
  if (have_prompt == !a.file.empty()) return Fail(kExitUsage, "give the text with exactly one of -p/--prompt and -f/--file");
  std::string text = a.prompt;
  if (!a.file.empty()) {
    std::ifstream in(a.file, std::ios::binary);
    if (!in) return Fail(kExitIo, fmt::format("{}: cannot open", a.file));
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) return Fail(kExitIo, fmt::format("{}: read failed", a.file));
    text = ss.str();
    StripUtf8Bom(text);  // an editor's mark, not part of the text
  }
  auto file = GgufFile::Open(a.model);
  if (!file.ok()) return Fail(ExitCodeForModelError(file.status()), file.status().message());
  auto tok = Tokenizer::FromGguf(*file);
  if (!tok.ok()) return Fail(ExitCodeForModelError(tok.status()), tok.status().message());

  const std::vector<int32_t> ids = tok->Encode(text, a.add_bos, a.parse_special);
  nlohmann::json out = nlohmann::json::array();
  for (int32_t id : ids) {
    if (a.show_pieces) {
      out.push_back({{"id", id}, {"piece", tok->TokenToPiece(id)}});
    } else {
      out.push_back(id);
    }
  }
  // A piece may be part of a UTF-8 character: JSON output replaces such bytes with U+FFFD.
  std::printf("%s\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  return kExitOk;
}

}  // namespace
}  // namespace st

int main(int argc, char** argv) {
  st::Args a;
  CLI::App app{"smallthinker-tokenize: print the token ids of a text as a JSON array"};
  app.footer(st::kExitCodesHelp);
  app.add_option("-m,--model", a.model, "GGUF file with tokenizer keys (a model or a vocabulary)")->required();
  auto* prompt = app.add_option("-p,--prompt", a.prompt, "the text");
  app.add_option("-f,--file", a.file, "read the text from FILE (bytes as they are; a leading UTF-8 BOM is dropped)");
  app.add_flag("--add-bos", a.add_bos, "put the BOS token first (off by default, whatever the vocabulary says)");
  app.add_flag("--parse-special", a.parse_special, "turn special-token text such as <|im_start|> into its token");
  app.add_flag("--show-pieces", a.show_pieces, "print [{\"id\": ..., \"piece\": ...}, ...] instead of bare ids");
  st::IgnoreSigpipe();
  if (auto code = st::ParseCommandLine(app, argc, argv)) return *code;
  return st::FinishStdout(st::Run(a, prompt->count() > 0));
}
