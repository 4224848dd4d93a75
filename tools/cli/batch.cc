// Batch mode: every prompt of --batch-file, each from an empty context, results as JSONL in input
// order (stdout or --batch-output), each line flushed as soon as it and the lines before it are
// done. A bad line gives {"id", "line", "error"} in its place and an "error:" line on stderr; the
// others still run. Exit code 0 when every line ran, 1 otherwise, 130 on Ctrl-C (requests in
// flight are written with stop_reason "interrupted" once decoding; later lines are not run).
//
// Continuous batching: --parallel N keeps N requests in flight, one sequence of the context each.
// Every step is one forward pass over the current token of every decoding request plus prompt
// tokens of starting ones (up to -ub tokens), so each expert's weights are read once per step for
// all of them; a finished request's slot takes the next line at once. A request's tokens are those
// it gets alone (the forward pass is batch-invariant), so results do not depend on N.
#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cli/batch_input.h"
#include "cli/cli_modes.h"
#include "cli/exit_codes.h"
#include "cli/interrupt.h"
#include "text/unicode.h"
#include "util/escape.h"

namespace st {
namespace {

using ojson = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

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

double Ms(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

// The prompt tokens of a good request, or an error message.
std::vector<int32_t> PromptTokens(const CliContext& ctx, const BatchRequest& req, const Result<ChatTemplate>& tmpl,
                                  std::string* error) {
  const CliArgs& a = ctx.args;
  const Tokenizer& tok = ctx.tokenizer;
  std::string text;
  bool add_bos = tok.add_bos();
  if (req.prompt && !a.has_system) {
    text = *req.prompt;
  } else {
    if (!tmpl.ok()) {
      *error = tmpl.status().message();
      return {};
    }
    std::vector<ChatMessage> messages = req.messages;
    if (req.prompt) messages = {{"system", a.system_prompt, std::nullopt}, {"user", *req.prompt, std::nullopt}};
    auto rendered = tmpl->Render(messages, *ChatOptionsFromArgs(a));  // checked at start
    if (!rendered.ok()) {
      *error = RenderError(a, tok, rendered.status()).message();
      return {};
    }
    text = *rendered;
    add_bos = tok.AddBosFor(text);
  }
  std::vector<int32_t> tokens = tok.Encode(text, add_bos, /*parse_special=*/true);
  if (tokens.empty()) {
    *error = "empty prompt";
  } else if (tokens.size() > ctx.context.n_ctx()) {
    *error = PromptTooLong(tokens.size(), ctx.context.n_ctx()).message();
  }
  return tokens;
}

// A request in flight in one sequence of the context.
struct Slot {
  bool busy = false;
  size_t order = 0;                // its place among the results
  BatchRequest req;
  std::vector<int32_t> prompt;
  size_t prompt_done = 0;          // prompt tokens evaluated
  std::optional<Sampler> sampler;
  int32_t n_predict = -1;
  std::vector<int32_t> generated;  // sampled tokens (an end-of-generation token last when it stopped so)
  int32_t next = -1;               // a sampled token to evaluate in the next step
  bool done = false;
  StopReason stop = StopReason::kLength;
  Clock::time_point t_start, t_prompt;
};

class Scheduler {
 public:
  Scheduler(CliContext& ctx, FILE* out) : ctx_(ctx), out_(out), slots_(ctx.context.n_seq()) {}

  // Runs every line of `in`; returns the exit code.
  int Run(std::istream& in) {
    const Result<ChatTemplate> tmpl = SelectTemplate(ctx_);  // only messages lines and -sys need it
    bool eof = false;
    while (true) {
      if (InterruptRequested()) interrupted_ = true;
      // Free slots take the next lines.
      for (uint32_t s = 0; s < slots_.size() && !eof && !interrupted_; ++s) {
        while (!slots_[s].busy && !eof) eof = !StartNextLine(in, s, tmpl);
      }
      if (interrupted_ || std::none_of(slots_.begin(), slots_.end(), [](const Slot& x) { return x.busy; })) break;
      Step();
      Flush();
      if (OutputFailed()) break;  // the results cannot be written: stop rather than compute for nothing
    }
    if (interrupted_) {
      for (uint32_t s = 0; s < slots_.size(); ++s) {
        Slot& sl = slots_[s];
        if (sl.busy && sl.prompt_done == sl.prompt.size()) Finish(s, StopReason::kInterrupted);  // its answer so far
      }
    }
    Flush(/*all=*/interrupted_);
    read_failed_ = in.bad();
    return 0;
  }

  size_t n_ok() const { return n_ok_; }
  size_t n_failed() const { return n_failed_; }
  bool interrupted() const { return interrupted_; }
  bool read_failed() const { return read_failed_; }
  const RunTimings& timings() const { return timings_; }

 private:
  // Reads lines up to the next good or bad request; a good one starts in slot s. False at the end.
  bool StartNextLine(std::istream& in, uint32_t s, const Result<ChatTemplate>& tmpl) {
    std::string line;
    while (std::getline(in, line)) {
      ++line_no_;
      if (line_no_ == 1) StripUtf8Bom(line);  // else a JSONL first line would not start with '{'
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (IsBlankBatchLine(line)) continue;
      BatchRequest req = ParseBatchLine(line, line_no_);
      const size_t order = results_.size();
      results_.emplace_back();
      std::string error = req.error;
      std::vector<int32_t> prompt;
      if (error.empty()) prompt = PromptTokens(ctx_, req, tmpl, &error);
      std::optional<Sampler> sampler;
      if (error.empty()) {
        auto sm = Sampler::Create(ctx_.sampling);  // every line from the same seed: reproducible alone
        if (sm.ok()) sampler.emplace(std::move(*sm)); else error = sm.status().message();
      }
      if (!error.empty()) {
        Fail(order, req, error);
        return true;
      }
      Slot& sl = slots_[s];
      sl = Slot{};
      sl.busy = true;
      sl.order = order;
      sl.n_predict = req.n_predict.value_or(ctx_.args.n_predict);
      sl.req = std::move(req);
      sl.prompt = std::move(prompt);
      sl.sampler = std::move(sampler);
      for (int32_t t : sl.prompt) sl.sampler->Accept(t);
      sl.t_start = Clock::now();
      return true;
    }
    return false;
  }

  // One forward pass: every decoding slot's next token, then prompt tokens up to the batch size.
  void Step() {
    smallthinker::Context& c = ctx_.context;
    std::vector<smallthinker::Token> batch;
    std::vector<uint32_t> owner;  // batch index -> slot
    const size_t budget = c.batch_size();
    for (uint32_t s = 0; s < slots_.size(); ++s) {
      Slot& sl = slots_[s];
      if (sl.busy && sl.next >= 0) {
        batch.push_back({sl.next, c.SeqLength(s), s, smallthinker::Output::kLogits});
        owner.push_back(s);
      }
    }
    for (uint32_t s = 0; s < slots_.size() && batch.size() < budget; ++s) {
      Slot& sl = slots_[s];
      if (!sl.busy || sl.prompt_done == sl.prompt.size()) continue;
      const size_t n = std::min(budget - batch.size(), sl.prompt.size() - sl.prompt_done);
      for (size_t i = sl.prompt_done; i < sl.prompt_done + n; ++i) {
        // The prompt's last token gives the first prediction (exact head, as a one-shot prefill).
        const bool last = i + 1 == sl.prompt.size();
        batch.push_back({sl.prompt[i], static_cast<uint32_t>(i), s,
                         last ? smallthinker::Output::kExact : smallthinker::Output::kNone});
        owner.push_back(s);
      }
      sl.prompt_done += n;
    }
    if (Status st = c.Decode(batch); !st.ok()) {
      // Nothing of the batch was kept: its requests fail, the others go on.
      std::vector<bool> hit(slots_.size(), false);
      for (uint32_t s : owner) hit[s] = true;
      for (uint32_t s = 0; s < slots_.size(); ++s) {
        if (hit[s]) {
          Fail(slots_[s].order, slots_[s].req, st.message());
          Release(s);
        }
      }
      return;
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      if (batch[i].output == smallthinker::Output::kNone) continue;
      const uint32_t s = owner[i];
      Slot& sl = slots_[s];
      if (batch[i].output == smallthinker::Output::kExact) sl.t_prompt = Clock::now();
      Sample(s, c.Logits(i));
    }
  }

  // What Generator::Generate does after each evaluated token.
  void Sample(uint32_t s, std::span<const float> logits) {
    Slot& sl = slots_[s];
    const CliArgs& a = ctx_.args;
    auto limit = [&] { return sl.n_predict >= 0 && sl.generated.size() >= static_cast<size_t>(sl.n_predict); };
    sl.next = -1;
    if (limit()) return Finish(s, StopReason::kLength);
    const int32_t t = sl.sampler->Sample(BiasedLogits(logits, ctx_.biases, a.ignore_eos, ctx_.tokenizer, &work_));
    sl.sampler->Accept(t);
    sl.generated.push_back(t);
    if (!a.ignore_eos && ctx_.tokenizer.IsEndOfGeneration(t)) return Finish(s, StopReason::kEog);
    if (limit()) return Finish(s, StopReason::kLength);
    if (ctx_.context.SeqLength(s) >= ctx_.context.n_ctx()) return Finish(s, StopReason::kContext);
    sl.next = t;
  }

  void Finish(uint32_t s, StopReason stop) {
    Slot& sl = slots_[s];
    const Clock::time_point now = Clock::now();
    const bool eog = stop == StopReason::kEog && !sl.generated.empty();
    const std::span<const int32_t> content(sl.generated.data(), sl.generated.size() - (eog ? 1 : 0));
    RunTimings t;
    t.prompt_n = sl.prompt.size();
    t.prompt_ms = Ms(sl.t_start, sl.t_prompt);
    t.predicted_n = sl.generated.size();
    t.predicted_ms = Ms(sl.t_prompt, now);
    timings_ += t;
    ojson r;
    r["id"] = sl.req.id;
    r["line"] = sl.req.line;
    r["text"] = ctx_.tokenizer.Decode(content, ctx_.args.special);
    r["prompt_tokens"] = sl.prompt.size();
    r["generated_tokens"] = sl.generated.size();
    r["stop_reason"] = StopReasonName(stop);
    r["timings"] = TimingsOjson(t);
    results_[sl.order] = std::move(r);
    ++n_ok_;
    Release(s);
  }

  void Fail(size_t order, const BatchRequest& req, const std::string& error) {
    ++n_failed_;
    std::fprintf(stderr, "error: %s line %zu: %s\n", ctx_.args.batch_file.c_str(), req.line,
                 EscapeForDisplay(error).c_str());
    results_[order] = ojson{{"id", req.id}, {"line", req.line}, {"error", error}};
  }

  // Frees slot s and its sequence (a truncation to nothing always succeeds).
  void Release(uint32_t s) {
    slots_[s].busy = false;
    (void)ctx_.context.Truncate(s, 0);
  }

  // Writes the finished results that every earlier line precedes (with `all`, every finished one).
  void Flush(bool all = false) {
    while (written_ < results_.size() && (results_[written_] || all)) {
      if (results_[written_]) WriteLine(out_, *results_[written_]);
      results_[written_].reset();
      ++written_;
    }
  }

  CliContext& ctx_;
  FILE* out_;
  std::vector<Slot> slots_;
  std::vector<std::optional<ojson>> results_;  // in input order; written ones are reset
  size_t written_ = 0;
  size_t line_no_ = 0, n_ok_ = 0, n_failed_ = 0;
  bool interrupted_ = false, read_failed_ = false;
  std::vector<float> work_;
  RunTimings timings_;
};

}  // namespace

int RunBatch(CliContext& ctx) {
  const CliArgs& a = ctx.args;
  std::ifstream in(a.batch_file, std::ios::binary);
  if (!in) return Fail(kExitIo, fmt::format("--batch-file {}: cannot open: {}", a.batch_file, std::strerror(errno)));
  // --batch-output: every line goes to the temporary opened by main (flushed as it is done); it
  // replaces the target at the end unless writing or reading failed, so a failed run leaves the
  // earlier results alone. Ctrl-C keeps what was finished, as stdout would.
  FILE* out = ctx.batch_output != nullptr ? ctx.batch_output->file() : stdout;
  const auto t0 = Clock::now();
  Scheduler sched(ctx, out);
  sched.Run(in);
  ctx.extra_timings += sched.timings();
  if (ctx.batch_output != nullptr) {
    if (OutputFailed() || sched.read_failed()) {
      ctx.batch_output->Discard();
    } else if (Status s = ctx.batch_output->Commit(); !s.ok()) {
      return Fail(kExitIo, s);
    }
  }
  if (OutputFailed()) return Fail(kExitIo, fmt::format("batch results: write failed: {}", OutputError()));
  const RunTimings& t = sched.timings();
  const double wall = Ms(t0, Clock::now());
  std::fprintf(stderr, "batch: %zu lines ran, %zu failed; %u in parallel, %.1f s, %.1f generated tokens/s overall\n",
               sched.n_ok(), sched.n_failed(), ctx.context.n_seq(), wall / 1000.0,
               wall > 0 ? 1000.0 * t.predicted_n / wall : 0.0);
  ctx.summary["batch"] = {{"ok", sched.n_ok()},
                          {"failed", sched.n_failed()},
                          {"interrupted", sched.interrupted()},
                          {"parallel", ctx.context.n_seq()},
                          {"wall_ms", wall}};
  if (sched.read_failed()) return Fail(kExitIo, fmt::format("--batch-file {}: read failed", a.batch_file));
  if (sched.interrupted()) {
    std::fprintf(stderr, "interrupted\n");
    return kExitInterrupted;
  }
  return sched.n_failed() > 0 ? kExitError : kExitOk;
}

}  // namespace st
