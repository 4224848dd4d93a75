// The command line of smallthinker-cli: every flag (llama.cpp spellings and meanings), the checks
// that need no model, and the choice of mode (token ids, one-shot, chat, batch).
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/run_options.h"
#include "smallthinker/status.h"
#include "smallthinker/sampler.h"

namespace st {

// SmallThinker's recommended sampling (the authors' command lines; spec §7), the CLI's default.
// llama.cpp's defaults differ: --temp 0.8 --top-k 40 --top-p 0.95 --min-p 0.05
// --samplers "penalties;top_k;top_p;min_p;temperature".
// The penalties and min_p stages are in the chain so that --repeat-penalty and --min-p work; with
// their defaults (1.0 and 0) they do nothing, so the chain equals the authors'
// "temperature;top_k;top_p".
inline constexpr float kDefaultTemp = 0.6f;
inline constexpr int32_t kDefaultTopK = 20;
inline constexpr float kDefaultTopP = 0.95f;
inline constexpr float kDefaultMinP = 0.0f;
inline constexpr const char* kDefaultSamplers = "penalties;temperature;top_k;top_p;min_p";

// What the program does.
enum class CliMode {
  kTokenIds,  // --token-ids: ids in, greedy ids out (the first form)
  kOneShot,   // -p / -f: complete the prompt (raw, or as a user turn with -sys) and exit
  kChat,      // interactive conversation through the chat template
  kBatch,     // --batch-file: one prompt per line, JSONL results
};

const char* CliModeName(CliMode mode);

struct CliArgs {
  RunOptions run;

  // Prompt.
  std::string prompt;          // -p (escapes processed unless --no-escape)
  bool has_prompt = false;     // -p was given (even as "")
  std::string prompt_file;     // -f (bytes as they are)
  std::string system_prompt;   // -sys (escapes processed unless --no-escape)
  bool has_system = false;
  bool no_escape = false;
  std::string chat_template;                 // --chat-template NAME or Jinja text
  int32_t n_predict = -1;                    // -n; -1 = until end of generation or a full context
  bool n_predict_given = false;
  bool ignore_eos = false;
  bool special = false;                      // -sp: print control tokens
  bool no_display_prompt = false;            // one-shot raw mode echoes the prompt unless set
  bool verbose_prompt = false;               // print the prompt's token ids (stderr)
  std::vector<std::string> logit_bias;       // -l TOKEN(+|-)BIAS, repeatable

  // Chat.
  bool conversation = false;     // -cnv
  bool no_conversation = false;  // -no-cnv
  bool single_turn = false;      // -st

  // Batch.
  std::string batch_file;
  std::string batch_output;  // "" = stdout

  // Reports.
  std::string json_path;  // --json FILE ("-" = stderr)

  // Sampling (the seed is a signed value so that -1 can mean random).
  SamplerParams sampling;
  int64_t seed = -1;

  // The first form.
  std::string token_ids;
  std::string dump_logits;
};

// Registers every flag on `app` (with the defaults above) writing into `a`.
void AddCliOptions(CLI::App& app, CliArgs& a);

// Parses argv (llama.cpp's one-dash long flags accepted). Returns the exit code to leave with when
// parsing ends the program (--help: 0 after printing it; a bad flag: 2 after one "error:" line),
// or nullopt to go on.
std::optional<int> ParseCliArgs(int argc, char** argv, CliArgs& a);

// Checks that need no model: conflicting flags, empty prompts, ranges. Errors are InvalidArgument
// (exit code 2).
Status CheckCliArgs(const CliArgs& a);

// The mode, once the model's template is known. stdin_is_tty: chat mode starts by itself only on a
// terminal. Errors: no prompt and no way to chat (InvalidArgument).
Result<CliMode> ResolveCliMode(const CliArgs& a, bool stdin_is_tty, bool model_has_template);

// The sampler parameters the flags ask for (the seed resolved to kRandomSeed for -1).
SamplerParams SamplerParamsFromArgs(const CliArgs& a);

// llama.cpp's escape processing for -p and -sys: \n \r \t \' \" \\ \a \b \f \v, \xHH and \NNN (octal);
// other backslashes stay as they are.
std::string ProcessEscapes(const std::string& s);

// One -l/--logit-bias entry, "TOKEN+BIAS" or "TOKEN-BIAS" (BIAS may be "inf").
struct LogitBias {
  int32_t token = 0;
  float bias = 0;
};
Result<LogitBias> ParseLogitBias(const std::string& s);

// Where `text` stops being valid UTF-8 (its size when it is valid).
size_t FirstInvalidUtf8(const std::string& text);

}  // namespace st
