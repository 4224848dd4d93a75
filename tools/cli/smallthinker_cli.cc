// smallthinker-cli: run a SmallThinker GGUF model.
//
// First form: token ids in, greedy token ids out, optionally every position's logits to a .npy.
//   smallthinker-cli -m model.gguf --token-ids 1,2,3 -n 8 --dump-logits logits.npy
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/exit_codes.h"
#include "common/run_options.h"
#include "util/npy.h"

namespace st {
namespace {

struct Args {
  RunOptions run;
  std::string token_ids;
  int n_predict = 16;
  std::string dump_logits;
};

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

int Fail(int code, const Status& s) {
  std::fprintf(stderr, "error: %s\n", s.message().c_str());
  return code;
}

int Run(const Args& a) {
  auto ids = ParseTokenIds(a.token_ids);
  if (!ids.ok()) return Fail(kExitUsage, ids.status());
  int code = kExitError;
  auto loaded = LoadForRun(a.run, &code);
  if (!loaded.ok()) return Fail(code, loaded.status());
  Decoder& dec = *loaded->decoder;
  const uint64_t V = dec.config().n_vocab;
  const auto t_loaded = std::chrono::steady_clock::now();

  std::vector<int32_t> tokens = *ids;
  const size_t n_prompt = tokens.size();
  std::vector<float> all_logits;  // [positions, V] when dumping
  uint32_t pos = 0;
  const float* logits = nullptr;
  auto eval = [&](int32_t token) -> Status {
    auto r = dec.Forward(token, pos);
    if (!r.ok()) return r.status();
    ++pos;
    logits = *r;
    if (!a.dump_logits.empty()) all_logits.insert(all_logits.end(), logits, logits + V);
    return Status::Ok();
  };
  auto fail_eval = [](const Status& s) {
    return Fail(s.code() == StatusCode::kInvalidArgument ? kExitUsage : kExitError, s);
  };
  for (int32_t t : tokens) {
    if (Status s = eval(t); !s.ok()) return fail_eval(s);
  }
  const auto t_prompt_done = std::chrono::steady_clock::now();
  int generated = 0;
  while (generated < a.n_predict) {
    int32_t best = 0;  // greedy: the first index of the maximum
    for (uint64_t v = 1; v < V; ++v) {
      if (logits[v] > logits[best]) best = static_cast<int32_t>(v);
    }
    tokens.push_back(best);
    std::printf("%s%d", generated == 0 ? "" : ",", best);
    std::fflush(stdout);
    ++generated;
    // The last token is evaluated only when dumping, so the dump covers every position.
    if (generated == a.n_predict && a.dump_logits.empty()) break;
    if (Status s = eval(best); !s.ok()) return fail_eval(s);
  }
  std::printf("\n");
  const auto t_end = std::chrono::steady_clock::now();

  if (!a.dump_logits.empty()) {
    Status s = WriteNpyF32(a.dump_logits, all_logits.data(), {all_logits.size() / V, V});
    if (!s.ok()) return Fail(kExitIo, s);
  }
  auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
  const double prompt_ms = ms(t_prompt_done - t_loaded), eval_ms = ms(t_end - t_prompt_done);
  std::fprintf(stderr, "%s", FormatMemoryReport(MakeMemoryReport(dec, pos)).c_str());
  std::fprintf(stderr, "load time = %10.2f ms\n", loaded->load_ms);
  std::fprintf(stderr, "prompt eval time = %10.2f ms / %5zu tokens (%8.2f ms per token, %8.2f tokens per second)\n",
               prompt_ms, n_prompt, prompt_ms / n_prompt, 1000.0 * n_prompt / prompt_ms);
  if (generated > 0) {
    std::fprintf(stderr, "eval time = %10.2f ms / %5d runs   (%8.2f ms per token, %8.2f tokens per second)\n", eval_ms,
                 generated, eval_ms / generated, 1000.0 * generated / eval_ms);
  }
  std::fprintf(stderr, "total time = %10.2f ms\n", loaded->load_ms + ms(t_end - t_loaded));
  return kExitOk;
}

}  // namespace
}  // namespace st

int main(int argc, char** argv) {
  st::Args a;
  CLI::App app{"smallthinker-cli: run a SmallThinker GGUF model on the CPU"};
  app.footer(st::kExitCodesHelp);
  st::AddRunOptions(app, a.run);
  app.add_option("--token-ids", a.token_ids, "prompt as comma-separated token ids, e.g. 1,2,3")->required();
  app.add_option("-n,--predict", a.n_predict, "tokens to generate (greedy)")->capture_default_str();
  app.add_option("--dump-logits", a.dump_logits,
                 "write the logits after every evaluated position to FILE.npy (float32, [positions, vocab])");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? st::kExitOk : st::kExitUsage;
  }
  return st::Run(a);
}
