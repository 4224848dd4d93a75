// The first form of smallthinker-cli: token ids in, greedy token ids out (comma-separated on
// stdout), optionally every evaluated position's logits to a .npy. Needs no tokenizer.
//   smallthinker-cli -m model.gguf --token-ids 1,2,3 -n 8 --dump-logits logits.npy
#include <fmt/format.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/cli_modes.h"
#include "cli/exit_codes.h"
#include "cli/report.h"
#include "util/npy.h"

namespace st {
namespace {

constexpr int32_t kDefaultTokenIdsPredict = 16;

Result<std::vector<int32_t>> ParseTokenIds(const std::string& s) {
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    const std::string item = s.substr(i, j - i);
    try {
      size_t used = 0;
      const long long v = std::stoll(item, &used);
      if (used != item.size() || v < 0 || v > INT32_MAX) throw std::invalid_argument(item);
      ids.push_back(static_cast<int32_t>(v));
    } catch (const std::exception&) {
      return InvalidArgument(fmt::format("--token-ids: '{}' is not a non-negative integer", item));
    }
    i = j + 1;
  }
  if (ids.empty()) return InvalidArgument("--token-ids: no token ids given");
  return ids;
}

}  // namespace

int RunTokenIds(const CliArgs& args) {
  RunOptions run = args.run;
  // A dump holds full distributions: the predicted head would leave -inf for unselected rows.
  if (!args.dump_logits.empty()) {
    run.lm_head = "exact";
    run.max_outputs = run.batch_size;  // the prompt's every position, a batch at a time
  }
  const int32_t n_predict = args.n_predict_given ? args.n_predict : kDefaultTokenIdsPredict;
  auto ids = ParseTokenIds(args.token_ids);
  if (!ids.ok()) return Fail(kExitUsage, ids.status());
  if (!args.dump_logits.empty()) {  // the dump keeps every position's logits (the plan counts them)
    run.caller_logit_rows = n_predict < 0 ? UINT32_MAX : static_cast<uint32_t>(ids->size() + n_predict + 1);
  }
  auto json_out = OpenOutput(args.json_path, "--json");
  if (!json_out.ok()) return Fail(kExitIo, json_out.status());
  if (int c = CheckModelPath(run.model); c != kExitOk) return c;
  int code = kExitError;
  auto loaded = LoadForRun(run, &code);
  if (!loaded.ok()) return Fail(code, loaded.status());
  smallthinker::Context& dec = *loaded->context;
  const uint64_t V = dec.n_vocab();
  const auto t_loaded = std::chrono::steady_clock::now();

  std::vector<int32_t> tokens = *ids;
  const size_t n_prompt = tokens.size();
  if (n_prompt > dec.n_ctx()) return Fail(kExitUsage, PromptTooLong(n_prompt, dec.n_ctx()));
  std::vector<float> all_logits;  // [positions, V] when dumping
  uint32_t pos = 0;
  const float* logits = nullptr;
  auto fail_eval = [](const Status& s) {
    return Fail(ExitCodeForRunError(s), s);
  };
  // The prompt in batches (its logits are bit-identical to token-by-token evaluation).
  {
    auto r = dec.Prefill(0, tokens, 0, args.dump_logits.empty() ? nullptr : &all_logits);
    if (!r.ok()) return fail_eval(r.status());
    logits = r->data();
    pos = static_cast<uint32_t>(tokens.size());
  }
  const auto t_prompt_done = std::chrono::steady_clock::now();
  int generated = 0;
  bool context_full = false;
  while (n_predict < 0 || generated < n_predict) {
    int32_t best = 0;  // greedy: the first index of the maximum
    for (uint64_t v = 1; v < V; ++v) {
      if (logits[v] > logits[best]) best = static_cast<int32_t>(v);
    }
    tokens.push_back(best);
    WriteOut(fmt::format("{}{}", generated == 0 ? "" : ",", best));
    ++generated;
    // The last token is evaluated only when dumping, so the dump covers every position.
    if (generated == n_predict && args.dump_logits.empty()) break;
    if (pos >= dec.n_ctx()) {
      context_full = true;
      break;
    }
    const smallthinker::Token next{best, pos, 0, smallthinker::Output::kLogits};
    if (Status s = dec.Decode(std::span(&next, 1)); !s.ok()) return fail_eval(s);
    ++pos;
    logits = dec.Logits(0).data();
    if (!args.dump_logits.empty()) all_logits.insert(all_logits.end(), logits, logits + V);
  }
  WriteOut("\n");
  if (OutputFailed()) return Fail(kExitIo, fmt::format("writing the token ids failed: {}", OutputError()));
  const auto t_end = std::chrono::steady_clock::now();
  if (context_full) {
    std::fprintf(stderr, "context full: %u tokens (-c); stopped after %d generated tokens\n", dec.n_ctx(), generated);
  }

  if (!args.dump_logits.empty()) {
    Status s = WriteNpyF32(args.dump_logits, all_logits.data(), {all_logits.size() / V, V});
    if (!s.ok()) return Fail(kExitIo, s);
  }
  auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
  RunTimings t;
  t.load_ms = loaded->load_ms;
  t.prompt_n = n_prompt;
  t.prompt_ms = ms(t_prompt_done - t_loaded);
  t.predicted_n = static_cast<uint64_t>(generated);
  t.predicted_ms = ms(t_end - t_prompt_done);
  const double total_ms = loaded->load_ms + ms(t_end - t_loaded);
  const MemoryReport mem = MakeMemoryReport(dec, pos);
  std::fprintf(stderr, "%s%s", FormatTimings(t, total_ms).c_str(), FormatMemoryReport(mem).c_str());
  if (!args.json_path.empty()) {
    nlohmann::json j = {{"mode", "token-ids"},
                        {"model", args.run.model},
                        {"timings", TimingsJson(t)},
                        {"load_ms", t.load_ms},
                        {"total_ms", total_ms},
                        {"tokens", {{"prompt", n_prompt}, {"generated", generated}, {"context_used", pos}}},
                        {"token_ids", {{"prompt", *ids}, {"generated", std::vector<int32_t>(tokens.begin() + n_prompt, tokens.end())}}},
                        {"memory", MemoryReportJson(mem)},
                        {"settings", SettingsJson(run, {{"greedy", true}})},
                        {"stop_reason", context_full ? "context" : "length"}};
    if (Status s = WriteJsonFile(args.json_path, *json_out, j); !s.ok()) return Fail(kExitIo, s);
  }
  return kExitOk;
}

}  // namespace st
