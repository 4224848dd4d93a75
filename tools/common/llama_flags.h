// llama.cpp spells some long options with one dash (-sys, -cnv, -no-cnv, -st, -sp, -ub, -fa, ...),
// which CLI11 does not accept: it would read "-fa" as "-f a" (a prompt file named "a") and
// "-mli" as "-m li". ParseCommandLine therefore looks at every single-dash word of more than one
// letter before CLI11 does: a llama.cpp spelling becomes its double-dash name, one this engine
// has no use for (-ngl, -fa, -tb, -b, -mli) is dropped with a note on stderr, one the program
// does not take is refused by the name the user typed, and any other is an unknown option.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

namespace st {

struct NormalizedArgs {
  std::vector<std::string> args;   // argv without argv[0], double-dash names for llama.cpp's
  std::vector<std::string> notes;  // one line per ignored llama.cpp flag ("-ngl 0 ignored: ...")
  std::string error;               // a refused or unknown option; empty when all is well
};

// Rewrites llama.cpp's spellings for `app` (whose options decide what applies): "-sys" ->
// "--system-prompt", "-sysf" -> "--system-prompt-file", "-cnv" -> "--conversation", "-no-cnv" ->
// "--no-conversation", "-st" -> "--single-turn", "-sp" -> "--special", "-ub" -> "--ubatch-size",
// "-ctk"/"-ctv" -> "--cache-type-k"/"--cache-type-v", "-np" -> "--parallel" (also "-x=value").
// Programs that run a model accept and ignore -ngl/--n-gpu-layers N, -fa/--flash-attn [on|off|auto],
// -tb/--threads-batch N, -b/--batch-size N and (the CLI) -mli/--multiline-input. Words after "--"
// and negative numbers are left alone.
NormalizedArgs NormalizeLlamaFlags(const CLI::App& app, int argc, char** argv);

// Parses the command line with llama.cpp spellings accepted. Returns nullopt to go on, or the exit
// code to leave with: 0 after --help, 2 after a usage error (one "error: ..." line on stderr).
std::optional<int> ParseCommandLine(CLI::App& app, int argc, char** argv);

}  // namespace st
