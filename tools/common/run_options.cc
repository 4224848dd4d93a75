#include "common/run_options.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>

#include "cli/exit_codes.h"
#include "offload/expert_file.h"
#include "util/thread_pool.h"

namespace st {

void AddRunOptions(CLI::App& app, RunOptions& o, bool model_required) {
  auto* m = app.add_option("-m,--model", o.model, "GGUF model file");
  if (model_required) m->required();
  app.add_option("-t,--threads", o.n_threads, "compute threads (default: all CPUs available)")->check(CLI::Range(0, 1024));
  app.add_option("-c,--ctx-size", o.n_ctx, "context length (0 = the model's)")->capture_default_str();
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
  DecoderOptions d;
  d.n_ctx = o.n_ctx;
  std::string kv_type = o.kv_type;
  if (!o.cache_type_k.empty() || !o.cache_type_v.empty()) {
    const std::string k = o.cache_type_k.empty() ? o.cache_type_v : o.cache_type_k;
    const std::string v = o.cache_type_v.empty() ? o.cache_type_k : o.cache_type_v;
    if (k != v) {
      *exit_code = kExitUsage;
      return InvalidArgument(fmt::format("-ctk {} and -ctv {}: keys and values must have one type here", k, v));
    }
    kv_type = k;
  }
  auto kv = ParseKvType(kv_type);
  if (!kv.ok()) {
    *exit_code = kExitUsage;
    return kv.status();
  }
  d.kv_type = *kv;
  d.n_seq = o.n_seq;
  d.swa_full = o.swa_full;
  d.n_threads = o.n_threads > 0 ? o.n_threads : DefaultThreadCount();
  if (!o.memory_limit.empty()) {
    auto limit = ParseByteSize(o.memory_limit);
    if (!limit.ok()) {
      *exit_code = kExitUsage;
      return limit.status().WithContext("--memory-limit");
    }
    d.memory_limit = *limit;
  }
  if (!o.expert_cache.empty() && !o.memory_limit.empty()) {
    *exit_code = kExitUsage;
    return InvalidArgument("--expert-cache and --memory-limit conflict: give one of them");
  }
  d.offload.policy = o.cache_policy == "lru" ? CachePolicy::kLru : CachePolicy::kLfu;
  d.offload.io.kind = o.io_engine;
  d.lookahead = !o.no_lookahead;
  d.prefetch = !o.no_prefetch;
  d.exact_lm_head = o.lm_head == "exact";
  d.batch_size = o.batch_size;
  d.dense_experts = o.dense_experts;

  ModelLoadOptions lo;
  lo.gating = o.router_gating == "softmax" ? GatingOverride::kSoftmax
              : o.router_gating == "sigmoid" ? GatingOverride::kSigmoid : GatingOverride::kAuto;
  auto model = Model::Load(o.model, lo);
  if (!model.ok()) {
    *exit_code = ExitCodeForModelError(model.status());
    return model.status();
  }
  out.model = std::move(*model);
  if (o.verbose) std::fprintf(stderr, "%s", out.model->config().Describe().c_str());
  for (const auto& w : out.model->warnings()) std::fprintf(stderr, "warning: %s\n", w.c_str());

  if (!o.expert_file.empty()) {
    d.offload.expert_file = o.expert_file;
    const ExpertLayout layout = ExpertLayout::FromGguf(*out.model);
    auto valid = ValidateExpertFile(*out.model, layout, o.expert_file);
    if (!valid.ok() && valid.status().code() == StatusCode::kNotFound) {
      std::fprintf(stderr, "writing expert file '%s' (one-time)...\n", o.expert_file.c_str());
      if (Status s = WriteExpertFile(*out.model, o.expert_file); !s.ok()) {
        *exit_code = kExitIo;
        return s;
      }
    } else if (!valid.ok()) {
      *exit_code = kExitIo;
      return valid.status();
    }
  }

  if (!o.expert_cache.empty()) {
    const ModelConfig& c = out.model->config();
    const uint64_t total = static_cast<uint64_t>(c.n_layer) * c.n_expert;
    try {
      size_t used = 0;
      const double v = std::stod(o.expert_cache, &used);
      const bool percent = used + 1 == o.expert_cache.size() && o.expert_cache.back() == '%';
      if ((used != o.expert_cache.size() && !percent) || !(v > 0)) throw std::invalid_argument(o.expert_cache);
      d.expert_cache_experts = percent ? static_cast<uint64_t>(total * v / 100.0 + 0.5) : static_cast<uint64_t>(v);
      if (d.expert_cache_experts == 0) throw std::invalid_argument(o.expert_cache);
    } catch (const std::exception&) {
      *exit_code = kExitUsage;
      return InvalidArgument(fmt::format("--expert-cache '{}': expected a number of experts or a percentage like 50%",
                                         o.expert_cache));
    }
  }
  auto dec = Decoder::Create(*out.model, d);
  if (!dec.ok()) {
    *exit_code = dec.status().code() == StatusCode::kResourceExhausted || dec.status().code() == StatusCode::kInvalidArgument
                     ? kExitUsage : kExitError;
    return dec.status();
  }
  out.decoder = std::move(*dec);
  const Decoder& dc = *out.decoder;
  if (o.lm_head == "predicted" && dc.lm_head_mode() != LmHeadMode::kPredicted) {
    *exit_code = kExitUsage;
    return InvalidArgument("--lm-head predicted: the model has no lm_head_profiler tensor");
  }
  std::fprintf(stderr, "%s", dc.memory_plan().Describe().c_str());
  std::fprintf(stderr, "%s\n", dc.experts().Describe().c_str());
  std::fprintf(stderr, "%s; kernels: %s; threads: %d; LM head: %s\n", dc.kv_cache().Describe().c_str(),
               IsaName(dc.kernels().isa), d.n_threads,
               dc.lm_head_mode() == LmHeadMode::kPredicted ? "predicted (lm_head_profiler)" : "exact");
  out.load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

MemoryReport MakeMemoryReport(const Decoder& decoder, uint64_t tokens) {
  MemoryReport r;
  r.tokens = tokens;
  r.peak_rss_mib = PeakRss() / 1048576.0;
  const ExpertSource& ex = decoder.experts();
  if (!ex.offloaded()) {
    r.mode = "in memory";
    return r;
  }
  r.mode = "offloaded";
  const OffloadStats s = ex.stats();
  const double t = tokens > 0 ? static_cast<double>(tokens) : 1.0;
  r.hit_rate = s.requests ? static_cast<double>(s.hits) / s.requests : 0.0;
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
