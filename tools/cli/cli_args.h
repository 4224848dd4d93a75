// The command line of smallthinker-cli: every flag (llama.cpp spellings and meanings), the checks
// that need no model, and the choice of mode (token ids, one-shot, chat, batch).
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/run_options.h"
#include "common/sampling_defaults.h"
#include "smallthinker/status.h"
#include "smallthinker/sampler.h"

namespace st {

// The sampling defaults (kDefaultTemp, ...) are in common/sampling_defaults.h, shared with the server.

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
  std::string prompt_file;     // -f (bytes as they are, a leading BOM dropped)
  std::string system_prompt;   // -sys (escapes processed unless --no-escape), or -sysf's text
  bool has_system = false;     // -sys was given, or -sysf once main has read it
  std::string system_prompt_file;  // -sysf (bytes as they are, a leading BOM dropped)
  bool no_escape = false;
  std::string chat_template;                 // --chat-template NAME or Jinja text
  std::string chat_template_file;            // --chat-template-file T.jinja
  std::string chat_template_text;            // its contents (read by main before the model loads)
  std::string chat_template_kwargs;          // --chat-template-kwargs JSON ({"enable_thinking": false})
  std::string render_chat;                   // --render-chat MESSAGES.json: print the rendered prompt
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
