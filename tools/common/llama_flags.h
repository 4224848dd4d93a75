// llama.cpp spells some long options with one dash (-sys, -cnv, -no-cnv, -st, -sp, -ub, -fa, ...),
// which CLI11 does not accept. NormalizeLlamaFlags rewrites those spellings to their double-dash
// names before parsing, so users can type what they are used to.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

namespace st {

// Returns argv with "-sys" -> "--system-prompt", "-cnv" -> "--conversation",
// "-no-cnv" -> "--no-conversation", "-st" -> "--single-turn", "-sp" -> "--special",
// "-ub" -> "--ubatch-size", "-ngl" -> "--n-gpu-layers" (and "-x=value" forms). Other arguments are
// unchanged.
std::vector<std::string> NormalizeLlamaFlags(int argc, char** argv);

// Parses the command line with llama.cpp spellings accepted. Returns nullopt to go on, or the exit
// code to leave with: 0 after --help, 2 after a usage error (one "error: ..." line on stderr).
std::optional<int> ParseCommandLine(CLI::App& app, int argc, char** argv);

}  // namespace st
