#include "common/run_options.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>

#include "cli/exit_codes.h"
#include "util/escape.h"
#include <unistd.h>

namespace st {

void AddRunOptions(CLI::App& app, RunOptions& o, bool model_required) {
  auto* m = app.add_option("-m,--model", o.model, "GGUF model file");
  if (model_required) m->required();
  app.add_option("-t,--threads", o.n_threads, "compute threads (default: all CPUs available)")->check(CLI::Range(0, 1024));
  app.add_option("-c,--ctx-size", o.n_ctx, "context length (0 = the model's; a warning when above the model's training context)")
      ->capture_default_str()->each([&o](const std::string&) { o.ctx_given = true; });
  app.add_option("--kv-type", o.kv_type, "KV cache storage type: f16, f32 or q8_0 (keys and values)")
      ->check(CLI::IsMember({"f16", "f32", "q8_0"}))->capture_default_str();
  app.add_option("--cache-type-k", o.cache_type_k, "llama.cpp's -ctk: the key type (must equal the value type)")
      ->check(CLI::IsMember({"f16", "f32", "q8_0"}));
  app.add_option("--cache-type-v", o.cache_type_v, "llama.cpp's -ctv: the value type (must equal the key type)")
      ->check(CLI::IsMember({"f16", "f32", "q8_0"}));
  app.add_flag("--swa-full", o.swa_full,
               "sliding-window layers keep the whole context, so any rewind reuses the cache (more memory)");
  app.add_option("--router-gating", o.router_gating,
                 "router gating: auto (the file's expert_gating_func; absent = sigmoid), softmax or sigmoid")
      ->check(CLI::IsMember({"auto", "softmax", "sigmoid"}))->capture_default_str();
  app.add_option("--memory-limit", o.memory_limit,
                 "memory budget, e.g. 1G or 512M: experts that do not fit are read from disk into an expert cache");
  app.add_option("--expert-cache", o.expert_cache,
                 "offload with an expert cache of N experts, or P% of all experts (ablations; excludes --memory-limit)");
  app.add_option("--cache-policy", o.cache_policy, "expert cache eviction: lfu (frequency-aware with aging; fewer disk reads, measured in benchmarks/offload.sh) or lru")
      ->check(CLI::IsMember({"lru", "lfu"}))->capture_default_str();
  app.add_option("--io-engine", o.io_engine, "expert reads: uring (io_uring) or threads (pread pool)")
      ->check(CLI::IsMember({"uring", "threads"}))->capture_default_str();
  app.add_option("--expert-file", o.expert_file,
                 "read experts from this laid-out file (one aligned block per expert); created on first use");
  app.add_flag("--no-lookahead", o.no_lookahead, "offloaded: prefetch only the current layer's experts");
  app.add_flag("--no-prefetch", o.no_prefetch,
               "offloaded: read experts only when needed, after attention (no overlap; for comparison)");
  app.add_option("--lm-head", o.lm_head,
                 "LM head for generated tokens: auto (predicted when the file has lm_head_profiler), exact, predicted")
      ->check(CLI::IsMember({"auto", "exact", "predicted"}))->capture_default_str();
  app.add_option("--ubatch-size", o.batch_size, "prompt tokens evaluated per batch (also -ub)")->capture_default_str()
      ->check(CLI::Range(1, 8192));
  app.add_flag("-v,--verbose", o.verbose, "print the model's configuration");
}

Result<LoadedModel> LoadForRun(const RunOptions& o, int* exit_code) {
  const auto t0 = std::chrono::steady_clock::now();
  LoadedModel out;
  smallthinker::ContextParams p;
  p.n_ctx = o.n_ctx;
  p.kv_type = o.kv_type;
  if (!o.cache_type_k.empty() || !o.cache_type_v.empty()) {
    const std::string k = o.cache_type_k.empty() ? o.cache_type_v : o.cache_type_k;
    const std::string v = o.cache_type_v.empty() ? o.cache_type_k : o.cache_type_v;
    if (k != v) {
      *exit_code = kExitUsage;
      return InvalidArgument(fmt::format("-ctk {} and -ctv {}: keys and values must have one type here", k, v));
    }
    p.kv_type = k;
  }
  p.n_seq = o.n_seq;
  p.swa_full = o.swa_full;
  p.n_threads = o.n_threads;
  if (!o.memory_limit.empty()) {
    auto limit = smallthinker::ParseByteSize(o.memory_limit);
    if (!limit.ok()) {
      *exit_code = kExitUsage;
      return limit.status().WithContext("--memory-limit");
    }
    p.memory_limit = *limit;
  }
  if (!o.expert_cache.empty() && !o.memory_limit.empty()) {
    *exit_code = kExitUsage;
    return InvalidArgument("--expert-cache and --memory-limit conflict: give one of them");
  }
  p.cache_policy = o.cache_policy;
  p.io_engine = o.io_engine;
  p.lookahead = !o.no_lookahead;
  p.prefetch = !o.no_prefetch;
  p.lm_head = o.lm_head;
  p.batch_size = o.batch_size;
  p.dense_experts = o.dense_experts;
  p.max_outputs = o.max_outputs;
  p.caller_logit_rows = o.caller_logit_rows;
  p.expert_file = o.expert_file;

  smallthinker::ModelParams mp;
  mp.router_gating = o.router_gating;
  auto model = smallthinker::Model::Load(o.model, mp);
  if (!model.ok()) {
    *exit_code = ExitCodeForModelError(model.status());
    return model.status();
  }
  out.model = std::move(*model);
  const smallthinker::ModelInfo& info = out.model->info();
  if (o.verbose) std::fprintf(stderr, "%s", out.model->Describe().c_str());
  for (const auto& w : out.model->warnings()) std::fprintf(stderr, "warning: %s\n", EscapeForDisplay(w).c_str());
  // As llama.cpp's n_ctx > n_ctx_train warning: positions past the training context were never
  // seen in training. Only for a -c the user gave: the default is a fixed size, not a choice.
  if (o.ctx_given && info.n_ctx_train > 0 && o.n_ctx > info.n_ctx_train) {
    std::fprintf(stderr, "warning: -c %u is more than the model's training context of %u positions; output past it "
                 "may degrade\n", o.n_ctx, info.n_ctx_train);
  }
  if (!o.expert_file.empty() && access(o.expert_file.c_str(), F_OK) != 0) {
    std::fprintf(stderr, "writing expert file '%s' (one-time)...\n", o.expert_file.c_str());
  }
  if (!o.expert_cache.empty()) {
    const uint64_t total = static_cast<uint64_t>(info.n_layer) * info.n_expert;
    try {
      size_t used = 0;
      const double v = std::stod(o.expert_cache, &used);
      const bool percent = used + 1 == o.expert_cache.size() && o.expert_cache.back() == '%';
      if ((used != o.expert_cache.size() && !percent) || !(v > 0)) throw std::invalid_argument(o.expert_cache);
      p.expert_cache_experts = percent ? static_cast<uint64_t>(total * v / 100.0 + 0.5) : static_cast<uint64_t>(v);
      if (p.expert_cache_experts == 0) throw std::invalid_argument(o.expert_cache);
    } catch (const std::exception&) {
      *exit_code = kExitUsage;
      return InvalidArgument(fmt::format("--expert-cache '{}': expected a number of experts or a percentage like 50%",
                                         o.expert_cache));
    }
  }
  auto ctx = smallthinker::Context::Create(*out.model, p);
  if (!ctx.ok() && ctx.status().message().rfind("cannot reserve", 0) == 0) {
    // AnonymousBuffer's error: the KV cache is the buffer that grows with what the user asked.
    *exit_code = kExitUsage;
    return ctx.status().WithContext(fmt::format("the KV cache for -c {} x {} sequence(s)", p.n_ctx, p.n_seq));
  }
  if (!ctx.ok()) {
    const StatusCode c = ctx.status().code();
    *exit_code = c == StatusCode::kResourceExhausted || c == StatusCode::kInvalidArgument ? kExitUsage
                 : c == StatusCode::kIoError || c == StatusCode::kNotFound                ? kExitIo
                                                                                           : kExitError;
    return ctx.status();
  }
  out.context = std::move(*ctx);
  const smallthinker::Context& cx = *out.context;
  std::fprintf(stderr, "%s", cx.DescribeMemoryPlan().c_str());
  std::fprintf(stderr, "%s\n", cx.DescribeExperts().c_str());
  std::fprintf(stderr, "%s; kernels: %s; threads: %d; LM head: %s\n", cx.DescribeKvCache().c_str(), cx.kernels_name(),
               cx.n_threads(), cx.predicted_head() ? "predicted (lm_head_profiler)" : "exact");
  out.load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

MemoryReport MakeMemoryReport(const smallthinker::Context& ctx, uint64_t tokens) {
  MemoryReport r;
  r.tokens = tokens;
  r.peak_rss_mib = smallthinker::PeakRssBytes() / 1048576.0;
  if (!ctx.offloaded()) {
    r.mode = "in memory";
    return r;
  }
  r.mode = "offloaded";
  const smallthinker::ContextStats s = ctx.stats();
  const double t = tokens > 0 ? static_cast<double>(tokens) : 1.0;
  r.hit_rate = s.expert_requests ? static_cast<double>(s.expert_hits) / s.expert_requests : 0.0;
  r.mib_read_per_token = s.bytes_read / 1048576.0 / t;
  r.stall_ms_per_token = s.stall_ns / 1e6 / t;
  r.prefetch_accuracy = s.lookahead_issued ? static_cast<double>(s.lookahead_used) / s.lookahead_issued : 0.0;
  r.lookahead_issued = s.lookahead_issued;
  r.evictions = s.evictions;
  return r;
}

std::string FormatMemoryReport(const MemoryReport& r) {
  if (r.mode == "in memory") return fmt::format("memory: in memory, peak RSS {:.1f} MiB\n", r.peak_rss_mib);
  return fmt::format(
      "memory: offloaded, expert cache hit rate {:.1f}%, {:.2f} MiB read per token, I/O stall {:.2f} ms per token,\n"
      "        lookahead prefetch accuracy {:.1f}% ({} read), {} evictions, peak RSS {:.1f} MiB\n",
      100.0 * r.hit_rate, r.mib_read_per_token, r.stall_ms_per_token, 100.0 * r.prefetch_accuracy, r.lookahead_issued,
      r.evictions, r.peak_rss_mib);
}

}  // namespace st
