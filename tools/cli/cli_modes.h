// The modes of smallthinker-cli (one_shot.cc, chat.cc, batch.cc, token_ids.cc) and what they share.
// Each returns the process exit code (exit_codes.h) and prints its own "error: ..." line.
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli_args.h"
#include "cli/generator.h"
#include "common/run_options.h"
#include "smallthinker/status.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"
#include "util/output_file.h"

namespace st {

// Everything a text mode needs, set up by main.
struct CliContext {
  const CliArgs& args;
  const Tokenizer& tokenizer;
  Generator& generator;       // sequence 0 of the context
  smallthinker::Context& context;
  const std::vector<LogitBias>& biases;
  SamplerParams sampling;     // the seed resolved (never kRandomSeed)
  std::string prompt_text;    // -p, or the contents of -f ("" when neither)
  nlohmann::json& summary;    // the --json summary; modes add their fields
  RunTimings extra_timings = {};  // work done outside the generator (--parallel batches)
  OutputFile* batch_output = nullptr;  // --batch-output's temporary (nullptr: stdout); batch commits it
};

int RunOneShot(CliContext& ctx);
int RunChat(CliContext& ctx);
int RunBatch(CliContext& ctx);
// The first form: needs no tokenizer. Prints its own report.
int RunTokenIds(const CliArgs& args);
int RunRenderChat(const CliArgs& args);  // render_chat.cc

// --chat-template-kwargs as render options (InvalidArgument naming the flag when malformed).
Result<ChatRenderOptions> ChatOptionsFromArgs(const CliArgs& args);

// Prints "error: <message>" on stderr and returns `code`.
int Fail(int code, const std::string& message);
inline int Fail(int code, const Status& s) { return Fail(code, s.message()); }

// Exit code 3 with an "error:" line when -m names a directory (0 otherwise; Model::Load reports
// the rest).
int CheckModelPath(const std::string& path);

// Reads a text file named by `flag` (-f, -sysf, --render-chat, /load) into *text, dropping a
// leading BOM. Prints the one error line and returns its exit code: 4 when it cannot be read, 2
// when it is empty or not UTF-8 (`what` names the contents in that message); kExitOk otherwise.
int ReadPromptFile(const std::string& path, const char* flag, const char* what, std::string* text);

// The template for -sys, chat and batch messages (--chat-template or --chat-template-file, else
// the model's, else chatml), with bos_token/eos_token from the vocabulary (chat_template_args.cc).
Result<ChatTemplate> LoadChatTemplate(const CliArgs& args, const Tokenizer& tokenizer);
inline Result<ChatTemplate> SelectTemplate(const CliContext& ctx) { return LoadChatTemplate(ctx.args, ctx.tokenizer); }
// The user's template (--chat-template, or the text of --chat-template-file), parsed: checked
// before the model loads. REQUIRES: one of them is given.
Result<ChatTemplate> CheckUserChatTemplate(const CliArgs& args);
// A rendering error with the template's source named ("--chat-template-file T: line 3, ...").
Status RenderError(const CliArgs& args, const Tokenizer& tokenizer, const Status& s);
// Whose fault a template error is: 2 for the user's template (or a raise_exception refusing the
// conversation), 3 for the model's own template, 4 for a failed read.
int ExitCodeForTemplateError(const CliArgs& args, const Status& s);

// "error: the prompt is N tokens, longer than the context (M, -c)" as a Status (InvalidArgument).
Status PromptTooLong(size_t n_tokens, uint32_t n_ctx);

// Writes text to stdout and flushes (a token's text as soon as it is produced).
void WriteOut(const std::string& text);
// Writes and flushes `text` to `out`; a failure (ENOSPC, EPIPE, ...) is remembered for the exit
// code. Returns whether it succeeded.
bool WriteChecked(FILE* out, const std::string& text);
// Records a failed write or close of a result stream (errno).
void NoteOutputError(int err);
// Whether any result write failed, and why.
bool OutputFailed();
std::string OutputError();

}  // namespace st
