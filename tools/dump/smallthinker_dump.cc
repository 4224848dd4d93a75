// smallthinker-dump: print a GGUF file's metadata and tensor directory, and, for SmallThinker
// files, the model configuration as the engine reads it. Useful to see why a file is refused.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>

#include "cli/exit_codes.h"
#include "common/llama_flags.h"
#include "common/output_check.h"
#include "format/gguf_file.h"
#include "model/model.h"
#include "util/escape.h"

namespace {

// Every string from the file (keys, values, tensor names, messages that quote them) goes through
// EscapeForDisplay: the file is untrusted and stdout may be a terminal.
std::string Shown(const std::string& s) { return st::EscapeForDisplay(s); }

int Fail(const st::Status& s) {
  std::fprintf(stderr, "error: %s\n", Shown(s.message()).c_str());
  return st::ExitCodeForModelError(s);
}

int Dump(const std::string& path, bool no_tensors, size_t max_array) {
  auto f = st::GgufFile::Open(path);
  if (!f.ok()) return Fail(f.status());
  std::printf("%s: GGUF v%u, %zu keys, %zu tensors, alignment %u, data at offset %llu, %llu bytes\n", path.c_str(),
              f->version(), f->metadata().size(), f->tensors().size(), f->alignment(),
              static_cast<unsigned long long>(f->data_offset()), static_cast<unsigned long long>(f->file_size()));
  for (const auto& [key, value] : f->metadata()) {
    std::string shown = value.Describe();
    if (value.type() == st::GgufType::kArray && max_array > 0) {
      const auto& a = value.as_array();
      shown += " [";
      for (size_t i = 0; i < a.size() && i < max_array; ++i) shown += (i ? ", " : "") + a.At(i).Describe();
      shown += a.size() > max_array ? ", ...]" : "]";
    }
    std::printf("  %-48s %s\n", Shown(key).c_str(), Shown(shown).c_str());
  }
  if (!no_tensors) {
    for (const auto& t : f->tensors()) {
      std::printf("  %-40s %-6s %-24s offset %12llu  %10.3f MiB\n", Shown(t.name).c_str(), st::GgmlTypeName(t.type),
                  t.ShapeString().c_str(), static_cast<unsigned long long>(t.offset), t.nbytes / 1048576.0);
    }
  }
  auto arch = f->GetOptionalString("general.architecture");
  if (arch.ok() && arch->value_or("") == "smallthinker") {
    auto m = st::Model::Load(path);
    if (!m.ok()) return Fail(m.status());
    std::printf("\n%s", (*m)->config().Describe().c_str());
    const auto& w = (*m)->weights();
    std::printf("down layout: %s, LM head: %s, predictor: %s\n",
                w.down_layout == st::DownLayout::kTransposed ? "transposed {E, F, X}" : "normal {F, E, X}",
                w.tied_output ? "tied to token_embd" : "output.weight",
                w.predictor ? fmt::format("rank {}", w.predictor->w1.rows).c_str() : "none");
    std::printf("expert weights: %.1f MiB, other weights: %.1f MiB\n", (*m)->ExpertBytes() / 1048576.0,
                (*m)->NonExpertBytes() / 1048576.0);
    for (const auto& warn : (*m)->warnings()) std::printf("warning: %s\n", Shown(warn).c_str());
  }
  return st::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"smallthinker-dump: print a GGUF file's metadata, tensors and (for SmallThinker files) config"};
  app.footer(st::kExitCodesHelp);
  std::string path;
  bool no_tensors = false;
  size_t max_array = 8;
  app.add_option("file", path, "GGUF file")->required();
  app.add_flag("--no-tensors", no_tensors, "do not list tensors");
  app.add_option("--max-array", max_array, "array elements shown per key")->capture_default_str();
  st::IgnoreSigpipe();
  if (auto code = st::ParseCommandLine(app, argc, argv)) return *code;
  return st::FinishStdout(Dump(path, no_tensors, max_array));
}
