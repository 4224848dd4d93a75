// smallthinker-cli: run a SmallThinker GGUF model (llama.cpp's flags and habits).
//
//   smallthinker-cli -m model.gguf -p "Once upon a time" -n 64        one-shot completion
//   smallthinker-cli -m model.gguf                                   chat (on a terminal)
//   smallthinker-cli -m model.gguf --batch-file prompts.jsonl        batch, JSONL results
//   smallthinker-cli -m model.gguf --token-ids 1,2,3 -n 8            ids in, greedy ids out
//
// This file sets up what every mode shares (arguments, model, tokenizer, sampler, Ctrl-C) and
// prints the end-of-run report; the modes live in one_shot.cc, chat.cc, batch.cc, token_ids.cc.
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "cli/cli_args.h"
#include "cli/cli_modes.h"
#include "cli/exit_codes.h"
#include "cli/interrupt.h"
#include "cli/report.h"
#include "common/output_check.h"
#include "text/unicode.h"
#include "util/escape.h"
#include "util/output_file.h"

namespace st {

int Fail(int code, const std::string& message) {
  // Messages may quote the model file's strings (or a batch line's): escaped, never raw.
  std::fprintf(stderr, "error: %s\n", EscapeForDisplay(message).c_str());
  return code;
}

Status PromptTooLong(size_t n_tokens, uint32_t n_ctx) {
  return InvalidArgument(
      fmt::format("the prompt is {} tokens, longer than the context of {} tokens (-c)", n_tokens, n_ctx));
}

namespace {
int g_output_errno = 0;  // the first failed write to a result stream (stdout, --batch-output)
}  // namespace

void NoteOutputError(int err) {
  if (g_output_errno == 0) g_output_errno = err != 0 ? err : EIO;
}

bool WriteChecked(FILE* out, const std::string& text) {
  const bool ok = std::fwrite(text.data(), 1, text.size(), out) == text.size() && std::fflush(out) == 0;
  if (!ok) NoteOutputError(errno);
  return ok;
}

void WriteOut(const std::string& text) { WriteChecked(stdout, text); }

bool OutputFailed() { return g_output_errno != 0; }
std::string OutputError() { return std::strerror(g_output_errno); }

// Reads -f, -sysf, --render-chat or /load: I/O problems are exit code 4, an empty or non-UTF-8 text 2. A leading BOM is
// dropped (an editor's, not part of the prompt).
int ReadPromptFile(const std::string& path, const char* flag, const char* what, std::string* text) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return Fail(kExitIo, fmt::format("{} {}: cannot open: {}", flag, path, std::strerror(errno)));
  if (S_ISDIR(st.st_mode)) return Fail(kExitIo, fmt::format("{} {}: is a directory, not a file", flag, path));
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(kExitIo, fmt::format("{} {}: cannot open: {}", flag, path, std::strerror(errno)));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Fail(kExitIo, fmt::format("{} {}: read failed", flag, path));
  *text = ss.str();
  StripUtf8Bom(*text);
  if (text->empty()) return Fail(kExitUsage, fmt::format("empty {} ({} {} is empty)", what, flag, path));
  if (const size_t bad = FirstInvalidUtf8(*text); bad != text->size()) {
    return Fail(kExitUsage, fmt::format("{} {}: the {} is not valid UTF-8 (byte {} of {})", flag, path, what, bad, text->size()));
  }
  return kExitOk;
}

int CheckModelPath(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return Fail(kExitModel, fmt::format("-m {}: is a directory, not a GGUF model file", path));
  }
  return kExitOk;
}

namespace {

// Checks that a file we will read exists and is a regular file (exit code 4 otherwise).
int CheckReadable(const std::string& path, const char* flag) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return Fail(kExitIo, fmt::format("{} {}: cannot open: {}", flag, path, std::strerror(errno)));
  if (S_ISDIR(st.st_mode)) return Fail(kExitIo, fmt::format("{} {}: is a directory, not a file", flag, path));
  if (access(path.c_str(), R_OK) != 0) return Fail(kExitIo, fmt::format("{} {}: cannot read: {}", flag, path, std::strerror(errno)));
  return kExitOk;
}

nlohmann::json SamplingJson(const SamplerParams& p) {
  return {{"temp", p.temperature},           {"top_k", p.top_k},
          {"top_p", p.top_p},                {"min_p", p.min_p},
          {"repeat_penalty", p.repeat_penalty}, {"repeat_last_n", p.repeat_last_n},
          {"presence_penalty", p.presence_penalty}, {"frequency_penalty", p.frequency_penalty},
          {"seed", p.seed},                  {"samplers", p.order}};
}

int Main(int argc, char** argv) {
  const auto t_start = std::chrono::steady_clock::now();
  IgnoreSigpipe();
  CliArgs a;
  if (auto code = ParseCliArgs(argc, argv, a)) return *code;
  if (Status s = CheckCliArgs(a); !s.ok()) return Fail(kExitUsage, s);
  if (auto o = ChatOptionsFromArgs(a); !o.ok()) return Fail(kExitUsage, o.status());
  if (!a.chat_template_file.empty()) {
    if (int code = ReadPromptFile(a.chat_template_file, "--chat-template-file", "chat template", &a.chat_template_text);
        code != kExitOk) {
      return code;
    }
  }
  if (!a.chat_template.empty() || !a.chat_template_file.empty()) {
    if (auto t = CheckUserChatTemplate(a); !t.ok()) return Fail(kExitUsage, t.status());
  }
  // An output that is one of the inputs would be destroyed by the run (--json equal to -m, the
  // batch results written over the batch file): refuse it before anything is opened.
  const std::vector<NamedPath> outputs = {{"--json", a.json_path}, {"--batch-output", a.batch_output},
                                          {"--dump-logits", a.dump_logits}};
  const std::vector<NamedPath> inputs = {{"-m", a.run.model},          {"-f", a.prompt_file},
                                         {"-sysf", a.system_prompt_file}, {"--batch-file", a.batch_file},
                                         {"--expert-file", a.run.expert_file}, {"--render-chat", a.render_chat},
                                         {"--chat-template-file", a.chat_template_file}};
  if (Status s = CheckOutputsAreNotInputs(outputs, inputs); !s.ok()) return Fail(kExitUsage, s);
  if (!a.token_ids.empty()) return RunTokenIds(a);
  if (!a.render_chat.empty()) return RunRenderChat(a);

  // Everything that can fail without the model fails before loading it.
  const bool stdin_tty = isatty(STDIN_FILENO);
  if (auto mode = ResolveCliMode(a, stdin_tty, /*model_has_template=*/true); !mode.ok()) {
    return Fail(kExitUsage, mode.status());
  }
  std::string prompt_text = a.prompt;
  if (!a.prompt_file.empty()) {
    if (int code = ReadPromptFile(a.prompt_file, "-f", "prompt", &prompt_text); code != kExitOk) return code;
  }
  if (!a.system_prompt_file.empty()) {
    if (int code = ReadPromptFile(a.system_prompt_file, "-sysf", "system prompt", &a.system_prompt); code != kExitOk) {
      return code;
    }
    a.has_system = true;
  }
  if (!a.batch_file.empty()) {
    if (int code = CheckReadable(a.batch_file, "--batch-file"); code != kExitOk) return code;
  }
  // Opened now so that a bad path fails before the model loads, but written to temporaries that
  // replace the targets only at a successful end: a failed run leaves earlier results alone.
  auto json_out = OpenOutput(a.json_path, "--json");
  if (!json_out.ok()) return Fail(kExitIo, json_out.status());
  auto batch_out = OpenOutput(a.batch_output, "--batch-output");
  if (!batch_out.ok()) return Fail(kExitIo, batch_out.status());

  if (int c = CheckModelPath(a.run.model); c != kExitOk) return c;
  int code = kExitError;
  auto loaded = LoadForRun(a.run, &code);
  if (!loaded.ok()) return Fail(code, loaded.status());
  if (!loaded->model->has_tokenizer()) {
    return Fail(ExitCodeForModelError(loaded->model->tokenizer_error()), loaded->model->tokenizer_error());
  }
  const Tokenizer* tokenizer = &loaded->model->tokenizer().impl();
  auto mode = ResolveCliMode(a, stdin_tty, !tokenizer->chat_template().empty());
  if (!mode.ok()) return Fail(kExitUsage, mode.status());

  std::vector<LogitBias> biases;
  for (const std::string& s : a.logit_bias) {
    LogitBias b = *ParseLogitBias(s);  // checked by CheckCliArgs
    if (b.token >= tokenizer->n_vocab()) {
      return Fail(kExitUsage, fmt::format("--logit-bias {}: token {} is out of range (the vocabulary has {} tokens)", s,
                                          b.token, tokenizer->n_vocab()));
    }
    biases.push_back(b);
  }
  SamplerParams sampling = SamplerParamsFromArgs(a);
  {
    auto probe = Sampler::Create(sampling);  // resolves a random seed once, checks the parameters
    if (!probe.ok()) return Fail(kExitUsage, probe.status());
    sampling.seed = probe->seed();
  }
  std::fprintf(stderr, "mode: %s; sampler seed: %u; samplers: %s; temp %.2f, top-k %d, top-p %.2f, min-p %.2f\n",
               CliModeName(*mode), sampling.seed, sampling.order.c_str(), sampling.temperature, sampling.top_k,
               sampling.top_p, sampling.min_p);

  InstallInterruptHandler();
  Generator generator(*loaded->context, *tokenizer, biases, a.run.batch_size);
  nlohmann::json summary = {{"mode", CliModeName(*mode)}, {"model", a.run.model}};
  CliContext ctx{a, *tokenizer, generator, *loaded->context, biases, sampling, prompt_text, summary};
  if (batch_out->is_open()) ctx.batch_output = &*batch_out;
  int exit_code = kExitOk;
  switch (*mode) {
    case CliMode::kOneShot: exit_code = RunOneShot(ctx); break;
    case CliMode::kChat: exit_code = RunChat(ctx); break;
    case CliMode::kBatch: exit_code = RunBatch(ctx); break;
    case CliMode::kTokenIds: break;  // handled above
  }

  // A full disk or a closed pipe must not pass for success: the results were lost.
  if (OutputFailed() && exit_code != kExitIo) {
    Fail(kExitIo, fmt::format("writing the results failed: {} (output is incomplete)", OutputError()));
    exit_code = kExitIo;
  }
  // The report: on stderr, and as JSON with --json; not after a bad prompt or file (exit 2, 3, 4).
  if (exit_code != kExitOk && exit_code != kExitError && exit_code != kExitInterrupted) return exit_code;
  RunTimings t = generator.timings();
  t += ctx.extra_timings;  // the --parallel batch runs outside the generator
  t.load_ms = loaded->load_ms;
  const double total_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t_start).count();
  const MemoryReport mem = MakeMemoryReport(*loaded->context, loaded->context->stats().tokens);
  std::fprintf(stderr, "\n%s%s", FormatTimings(t, total_ms).c_str(), FormatMemoryReport(mem).c_str());
  if (!a.json_path.empty()) {
    summary["timings"] = TimingsJson(t);
    summary["load_ms"] = t.load_ms;
    summary["total_ms"] = total_ms;
    summary["tokens"] = {{"prompt", t.prompt_n}, {"generated", t.predicted_n},
                         {"context_used", generator.evaluated().size()}};
    summary["memory"] = MemoryReportJson(mem);
    nlohmann::json settings = SettingsJson(a.run, SamplingJson(sampling));
    settings["n_ctx"] = loaded->context->n_ctx();
    settings["n_threads"] = loaded->context->n_threads();
    settings["n_parallel"] = loaded->context->n_seq();
    settings["n_predict"] = a.n_predict;
    settings["ignore_eos"] = a.ignore_eos;
    summary["settings"] = settings;
    summary["exit_code"] = exit_code;
    if (Status s = WriteJsonFile(a.json_path, *json_out, summary); !s.ok()) return Fail(kExitIo, s);
  }
  return exit_code;
}

}  // namespace
}  // namespace st

int main(int argc, char** argv) { return st::Main(argc, argv); }
