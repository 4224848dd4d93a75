#include "common/llama_flags.h"

#include <algorithm>
#include <cstdio>
#include <utility>

namespace st {

std::vector<std::string> NormalizeLlamaFlags(int argc, char** argv) {
  static const std::pair<const char*, const char*> kMap[] = {
      {"-sys", "--system-prompt"}, {"-cnv", "--conversation"}, {"-no-cnv", "--no-conversation"},
      {"-st", "--single-turn"},    {"-sp", "--special"},       {"-ub", "--ubatch-size"},
      {"-ngl", "--n-gpu-layers"},  {"-ctk", "--cache-type-k"}, {"-ctv", "--cache-type-v"},
      {"-np", "--parallel"},
  };
  std::vector<std::string> out;
  out.reserve(argc);
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (i > 0) {
      for (const auto& [from, to] : kMap) {
        const std::string f = from;
        if (a == f) {
          a = to;
          break;
        }
        if (a.rfind(f + "=", 0) == 0) {
          a = std::string(to) + a.substr(f.size());
          break;
        }
      }
    }
    out.push_back(std::move(a));
  }
  return out;
}

std::optional<int> ParseCommandLine(CLI::App& app, int argc, char** argv) {
  try {
    std::vector<std::string> args = NormalizeLlamaFlags(argc, argv);
    std::reverse(args.begin(), args.end());  // CLI11 takes the arguments in reverse order
    args.pop_back();                         // the program name
    app.parse(args);
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
  return std::nullopt;
}

}  // namespace st
