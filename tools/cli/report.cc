#include "cli/report.h"

#include <fmt/format.h>


namespace st {
namespace {

double PerSecond(uint64_t n, double ms) { return ms > 0 ? 1000.0 * static_cast<double>(n) / ms : 0.0; }
double PerToken(uint64_t n, double ms) { return n > 0 ? ms / static_cast<double>(n) : 0.0; }

}  // namespace

std::string FormatTimings(const RunTimings& t, double total_ms) {
  std::string s = fmt::format("       load time = {:10.2f} ms\n", t.load_ms);
  s += fmt::format("prompt eval time = {:10.2f} ms / {:5} tokens ({:8.2f} ms per token, {:8.2f} tokens per second)\n",
                   t.prompt_ms, t.prompt_n, PerToken(t.prompt_n, t.prompt_ms), PerSecond(t.prompt_n, t.prompt_ms));
  s += fmt::format("       eval time = {:10.2f} ms / {:5} runs   ({:8.2f} ms per token, {:8.2f} tokens per second)\n",
                   t.predicted_ms, t.predicted_n, PerToken(t.predicted_n, t.predicted_ms),
                   PerSecond(t.predicted_n, t.predicted_ms));
  s += fmt::format("      total time = {:10.2f} ms / {:5} tokens\n", total_ms, t.prompt_n + t.predicted_n);
  return s;
}

nlohmann::json TimingsJson(const RunTimings& t) {
  return {{"prompt_n", t.prompt_n},
          {"prompt_ms", t.prompt_ms},
          {"prompt_per_token_ms", PerToken(t.prompt_n, t.prompt_ms)},
          {"prompt_per_second", PerSecond(t.prompt_n, t.prompt_ms)},
          {"predicted_n", t.predicted_n},
          {"predicted_ms", t.predicted_ms},
          {"predicted_per_token_ms", PerToken(t.predicted_n, t.predicted_ms)},
          {"predicted_per_second", PerSecond(t.predicted_n, t.predicted_ms)}};
}

nlohmann::json MemoryReportJson(const MemoryReport& r) {
  return {{"mode", r.mode},
          {"hit_rate", r.hit_rate},
          {"mib_read_per_token", r.mib_read_per_token},
          {"stall_ms_per_token", r.stall_ms_per_token},
          {"prefetch_accuracy", r.prefetch_accuracy},
          {"lookahead_issued", r.lookahead_issued},
          {"evictions", r.evictions},
          {"peak_rss_mib", r.peak_rss_mib},
          {"tokens", r.tokens}};
}

nlohmann::json SettingsJson(const RunOptions& run, const nlohmann::json& sampling) {
  return {{"n_ctx", run.n_ctx},
          {"n_threads", run.n_threads},
          {"kv_type", run.kv_type},
          {"memory_limit", run.memory_limit},
          {"expert_cache", run.expert_cache},
          {"cache_policy", run.cache_policy},
          {"io_engine", run.io_engine},
          {"lookahead", !run.no_lookahead},
          {"lm_head", run.lm_head},
          {"ubatch_size", run.batch_size},
          {"router_gating", run.router_gating},
          {"sampling", sampling}};
}

Result<OutputFile> OpenOutput(const std::string& path, const char* flag) {
  if (path.empty() || path == "-") return OutputFile();
  return OutputFile::Open(path, flag);
}

Status WriteJsonFile(const std::string& path, OutputFile& file, const nlohmann::json& j) {
  const std::string text = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  if (path == "-") {
    std::fputs(text.c_str(), stderr);
    return Status::Ok();
  }
  file.Write(text);
  return file.Commit();
}

}  // namespace st
