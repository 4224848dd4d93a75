// Batch mode: every prompt of --batch-file, each from an empty context, results as JSONL in input
// order (stdout or --batch-output). A bad line gives {"id", "line", "error"} in its place and an
// "error:" line on stderr; the others still run. Exit code 0 when every line ran, 1 otherwise, 130
// on Ctrl-C (the lines after it are not run).
#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "cli/batch_input.h"
#include "cli/cli_modes.h"
#include "cli/exit_codes.h"

namespace st {
namespace {

using ojson = nlohmann::ordered_json;

void WriteLine(FILE* out, const ojson& j) {
  WriteChecked(out, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

ojson TimingsOjson(const RunTimings& t) {
  const nlohmann::json j = TimingsJson(t);
  ojson o;
  for (const char* k : {"prompt_n", "prompt_ms", "prompt_per_second", "predicted_n", "predicted_ms",
                        "predicted_per_second"}) {
    o[k] = j[k];
  }
  return o;
}

// Runs one good request; returns the result object, or an error message in *error.
ojson RunRequest(CliContext& ctx, const BatchRequest& req, const Result<ChatTemplate>& tmpl, std::string* error,
                 bool* interrupted) {
  const CliArgs& a = ctx.args;
  const Tokenizer& tok = ctx.tokenizer;
  Generator& gen = ctx.generator;
  std::string text;
  if (req.prompt && !a.has_system) {
    text = *req.prompt;
  } else {
    if (!tmpl.ok()) {
      *error = "chat template: " + tmpl.status().message();
      return {};
    }
    std::vector<ChatMessage> messages = req.messages;
    if (req.prompt) messages = {{"system", a.system_prompt, std::nullopt}, {"user", *req.prompt, std::nullopt}};
    auto rendered = tmpl->Render(messages);
    if (!rendered.ok()) {
      *error = rendered.status().message();
      return {};
    }
    text = *rendered;
  }
  const std::vector<int32_t> tokens = tok.Encode(text, tok.add_bos(), /*parse_special=*/true);
  if (tokens.empty()) {
    *error = "empty prompt";
    return {};
  }
  if (tokens.size() > gen.n_ctx()) {
    *error = PromptTooLong(tokens.size(), gen.n_ctx()).message();
    return {};
  }
  auto sampler = Sampler::Create(ctx.sampling);  // every line from the same seed: reproducible alone
  if (!sampler.ok()) {
    *error = sampler.status().message();
    return {};
  }
  gen.set_sampler(&*sampler);
  if (Status s = gen.Evaluate(tokens, 0); !s.ok()) {
    *interrupted = s.code() == StatusCode::kCancelled;
    *error = s.message();
    return {};
  }
  GenerateOptions o;
  o.n_predict = req.n_predict.value_or(a.n_predict);
  o.ignore_eos = a.ignore_eos;
  o.render_special = a.special;
  auto g = gen.Generate(o, nullptr);
  if (!g.ok()) {
    *error = g.status().message();
    return {};
  }
  *interrupted = g->stop == StopReason::kInterrupted;
  RunTimings t = gen.last_evaluate();
  t.predicted_n = g->timings.predicted_n;
  t.predicted_ms = g->timings.predicted_ms;
  ojson r;
  r["id"] = req.id;
  r["line"] = req.line;
  r["text"] = tok.Decode(g->content_tokens(), a.special);
  r["prompt_tokens"] = tokens.size();
  r["generated_tokens"] = g->tokens.size();
  r["stop_reason"] = StopReasonName(g->stop);
  r["timings"] = TimingsOjson(t);
  return r;
}

}  // namespace

int RunBatch(CliContext& ctx) {
  const CliArgs& a = ctx.args;
  std::ifstream in(a.batch_file, std::ios::binary);
  if (!in) return Fail(kExitIo, fmt::format("--batch-file {}: cannot open: {}", a.batch_file, std::strerror(errno)));
  FILE* out = stdout;
  if (!a.batch_output.empty()) {
    out = std::fopen(a.batch_output.c_str(), "wb");
    if (!out) {
      return Fail(kExitIo, fmt::format("--batch-output {}: cannot write: {}", a.batch_output, std::strerror(errno)));
    }
  }
  // Only messages lines and -sys need a template; a bad one fails those lines alone.
  const Result<ChatTemplate> tmpl = SelectTemplate(ctx);

  size_t line_no = 0, n_ok = 0, n_failed = 0;
  bool interrupted = false;
  std::string line;
  while (!interrupted && std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (IsBlankBatchLine(line)) continue;
    const BatchRequest req = ParseBatchLine(line, line_no);
    std::string error = req.error;
    ojson result;
    if (error.empty()) result = RunRequest(ctx, req, tmpl, &error, &interrupted);
    if (interrupted) {
      if (error.empty()) {  // the answer so far (stop_reason "interrupted")
        ++n_ok;
        WriteLine(out, result);
      }
      break;
    }
    if (!error.empty()) {
      ++n_failed;
      std::fprintf(stderr, "error: %s line %zu: %s\n", a.batch_file.c_str(), line_no, error.c_str());
      result = ojson{{"id", req.id}, {"line", line_no}, {"error", error}};
    } else {
      ++n_ok;
    }
    WriteLine(out, result);
    if (OutputFailed()) break;  // the results cannot be written: stop rather than compute for nothing
  }
  const bool read_failed = in.bad();
  if (out != stdout && std::fclose(out) != 0) NoteOutputError(errno);
  if (OutputFailed()) return Fail(kExitIo, fmt::format("batch results: write failed: {}", OutputError()));
  std::fprintf(stderr, "batch: %zu lines ran, %zu failed\n", n_ok, n_failed);
  ctx.summary["batch"] = {{"ok", n_ok}, {"failed", n_failed}, {"interrupted", interrupted}};
  if (read_failed) return Fail(kExitIo, fmt::format("--batch-file {}: read failed", a.batch_file));
  if (interrupted) {
    std::fprintf(stderr, "interrupted\n");
    return kExitInterrupted;
  }
  return n_failed > 0 ? kExitError : kExitOk;
}

}  // namespace st
