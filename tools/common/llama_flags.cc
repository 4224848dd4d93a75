#include "common/llama_flags.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <utility>

namespace st {
namespace {

// A llama.cpp spelling with the double-dash option it stands for here.
struct Rename {
  const char* from;
  const char* to;
};
constexpr Rename kRenames[] = {
    {"-sys", "--system-prompt"},       {"-sysf", "--system-prompt-file"}, {"-cnv", "--conversation"},
    {"-no-cnv", "--no-conversation"},  {"-st", "--single-turn"},          {"-sp", "--special"},
    {"-ub", "--ubatch-size"},          {"-ctk", "--cache-type-k"},        {"-ctv", "--cache-type-v"},
    {"-np", "--parallel"},
};

// A llama.cpp flag with nothing to do here: accepted (with its value) where `applies_if` is an
// option of the program, with a note saying why it changes nothing.
enum class Value { kNone, kOne, kOptionalSwitch };
struct Ignored {
  const char* short_name;
  const char* long_name;
  const char* alt_name;  // another long spelling, or nullptr
  Value value;
  const char* applies_if;
  const char* why;
};
constexpr Ignored kIgnored[] = {
    {"-ngl", "--n-gpu-layers", "--gpu-layers", Value::kOne, "--ctx-size",
     "this engine runs on the CPU only, there are no layers to offload to a GPU"},
    {"-fa", "--flash-attn", nullptr, Value::kOptionalSwitch, "--ctx-size",
     "attention always runs as one fused pass per head here, there is nothing to switch"},
    {"-tb", "--threads-batch", nullptr, Value::kOne, "--ctx-size", "prompt batches use the -t threads"},
    {"-b", "--batch-size", nullptr, Value::kOne, "--ubatch-size",
     "prompt tokens are evaluated -ub at a time, there is no separate logical batch"},
    {"-mli", "--multiline-input", nullptr, Value::kNone, "--conversation",
     "chat input is always multi-line: end a line with \\ to continue it"},
};

bool IsSwitchValue(const std::string& v) {
  return v == "on" || v == "off" || v == "auto" || v == "1" || v == "0" || v == "true" || v == "false";
}

// "-fa", "-mli", "-foo": one dash, then at least two letters. CLI11 would split such a word into
// a short option and its value (or bundled short flags), never what a llama.cpp user meant.
// Negative numbers ("-1", "-0.5") and "-inf"/"-nan" (values of --temp or -l) are not options.
bool LooksLikeSingleDashWord(const std::string& a) {
  if (a.size() < 3 || a[0] != '-' || a[1] == '-') return false;
  if (!std::isalpha(static_cast<unsigned char>(a[1])) || !std::isalpha(static_cast<unsigned char>(a[2]))) return false;
  const std::string name = a.substr(0, a.find('='));
  if (name == "-inf" || name == "-nan" || name == "-infinity") return false;
  return std::all_of(name.begin() + 1, name.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; });
}

bool HasOption(const CLI::App& app, const std::string& name) { return app.get_option_no_throw(name) != nullptr; }

}  // namespace

NormalizedArgs NormalizeLlamaFlags(const CLI::App& app, int argc, char** argv) {
  NormalizedArgs out;
  std::string program = argc > 0 ? argv[0] : "this program";
  program = program.substr(program.rfind('/') + 1);
  bool options_done = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (options_done || a == "--") {
      options_done = true;
      out.args.push_back(std::move(a));
      continue;
    }
    const size_t eq = a.find('=');
    const std::string name = a.substr(0, eq);
    const std::string inline_value = eq == std::string::npos ? "" : a.substr(eq);  // "=value" or ""
    bool handled = false;
    for (const Rename& r : kRenames) {
      if (name != r.from) continue;
      if (!HasOption(app, r.to)) {
        out.error = fmt::format("{} (llama.cpp's {}) is not an option of {} (see --help)", r.from, r.to, program);
        return out;
      }
      out.args.push_back(r.to + inline_value);
      handled = true;
      break;
    }
    if (handled) continue;
    for (const Ignored& g : kIgnored) {
      if (name != g.short_name && name != g.long_name && (g.alt_name == nullptr || name != g.alt_name)) continue;
      if (!HasOption(app, g.applies_if)) {
        out.error = fmt::format("{} (llama.cpp's {}) is not an option of {} (see --help)", name, g.long_name, program);
        return out;
      }
      std::string shown = name;
      if (!inline_value.empty()) {
        shown += inline_value;
      } else if (g.value == Value::kOne) {
        if (i + 1 >= argc) {
          out.error = fmt::format("{} needs a value", name);
          return out;
        }
        shown += std::string(" ") + argv[++i];
      } else if (g.value == Value::kOptionalSwitch && i + 1 < argc && IsSwitchValue(argv[i + 1])) {
        shown += std::string(" ") + argv[++i];
      }
      out.notes.push_back(fmt::format("note: {} ignored: {}", shown, g.why));
      handled = true;
      break;
    }
    if (handled) continue;
    if (LooksLikeSingleDashWord(a)) {
      out.error = fmt::format("unknown option {} (an option of more than one letter takes two dashes; see --help)", name);
      return out;
    }
    out.args.push_back(std::move(a));
  }
  return out;
}

std::optional<int> ParseCommandLine(CLI::App& app, int argc, char** argv) {
  NormalizedArgs n = NormalizeLlamaFlags(app, argc, argv);
  try {
    if (!n.error.empty()) {
      // --help wins over a bad word, as it does in CLI11.
      if (std::none_of(argv + 1, argv + argc, [](const char* a) { return !std::strcmp(a, "-h") || !std::strcmp(a, "--help"); })) {
        std::fprintf(stderr, "error: %s\n", n.error.c_str());
        return 2;
      }
      n.args = {"--help"};
    }
    std::reverse(n.args.begin(), n.args.end());  // CLI11 takes the arguments in reverse order
    app.parse(n.args);
  } catch (const CLI::CallForHelp& e) {
    app.exit(e);
    return 0;
  } catch (const CLI::CallForAllHelp& e) {
    app.exit(e);
    return 0;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "error: %s (see --help)\n", e.what());
    return 2;
  }
  for (const std::string& note : n.notes) std::fprintf(stderr, "%s\n", note.c_str());
  return std::nullopt;
}

}  // namespace st
