// smallthinker-bench: decode and prompt-processing speed in llama-bench's form.
//
//   smallthinker-bench -m model.gguf -p 512 -n 128 -r 5 -t 2 [-o md|json]
//
// For every thread count and test (ppN: N random prompt tokens in batches; tgN: N tokens decoded one
// by one from position 0, each a random token as in llama-bench, or the previous argmax with
// --tg-greedy) it runs a warm-up and `-r` timed repetitions and reports tokens/s
// (median, mean ± stddev), ms/token, the weight bytes the kernels actually read per token, the
// effective GB/s against the machine's measured read bandwidth, the ReGLU sparsity seen, the LM-head
// rows computed per token, the memory mode and (offloaded) cache figures, and a hash of the final
// logits to catch silent drift.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>
#include <sstream>

#include "bench/bandwidth.h"
#include "cli/exit_codes.h"
#include "common/llama_flags.h"
#include "common/run_options.h"

namespace st {
namespace {

struct Args {
  RunOptions run;
  std::string prompts = "512";
  std::string gens = "128";
  std::string threads;  // "" = the run options' thread count
  int reps = 5;
  std::string output = "md";
  bool no_warmup = false;
  bool dense_experts = false;
  // Greedy feedback makes a random-weight model repeat one token, so every step routes to the same
  // experts: an expert cache would look perfect. Random tokens (llama-bench's choice) follow the
  // model's routing statistics instead.
  bool tg_greedy = false;
  uint64_t bandwidth_mib = 1024;
};

std::vector<int> ParseList(const std::string& s) {
  std::vector<int> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(std::stoi(item));
  }
  return out;
}

struct RepResult {
  double seconds = 0;
  uint64_t tokens = 0;
  DecoderStats stats;  // deltas over the repetition
  OffloadStats offload;
};

struct TestResult {
  std::string test;  // "pp512" / "tg128"
  int threads = 0;
  std::vector<RepResult> reps;
  uint64_t logits_hash = 0;
};

DecoderStats Delta(const DecoderStats& a, const DecoderStats& b) {
  DecoderStats d;
  d.tokens = b.tokens - a.tokens;
  d.expert_neurons = b.expert_neurons - a.expert_neurons;
  d.expert_neurons_active = b.expert_neurons_active - a.expert_neurons_active;
  d.lm_head_calls = b.lm_head_calls - a.lm_head_calls;
  d.lm_head_rows = b.lm_head_rows - a.lm_head_rows;
  d.weight_bytes = b.weight_bytes - a.weight_bytes;
  return d;
}

OffloadStats Delta(const OffloadStats& a, const OffloadStats& b) {
  OffloadStats d;
  d.requests = b.requests - a.requests;
  d.hits = b.hits - a.hits;
  d.reads = b.reads - a.reads;
  d.bytes_read = b.bytes_read - a.bytes_read;
  d.evictions = b.evictions - a.evictions;
  d.stall_ns = b.stall_ns - a.stall_ns;
  d.lookahead_issued = b.lookahead_issued - a.lookahead_issued;
  d.lookahead_used = b.lookahead_used - a.lookahead_used;
  return d;
}

uint64_t HashLogits(const float* p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  const auto* b = reinterpret_cast<const uint8_t*>(p);
  for (size_t i = 0; i < n * sizeof(float); ++i) h = (h ^ b[i]) * 1099511628211ull;
  return h;
}

// One repetition of a test; returns the final logits' hash through *hash.
Result<RepResult> RunRep(Decoder& d, bool prompt, bool greedy, int n, uint64_t seed, uint64_t* hash) {
  const uint32_t V = d.config().n_vocab;
  std::mt19937_64 rng(seed);
  RepResult r;
  const DecoderStats s0 = d.stats();
  const OffloadStats o0 = d.experts().stats();
  const auto t0 = std::chrono::steady_clock::now();
  const float* logits = nullptr;
  if (prompt) {
    std::vector<int32_t> toks(n);
    for (int32_t& t : toks) t = static_cast<int32_t>(rng() % V);
    ST_ASSIGN_OR_RETURN(logits, d.Prefill(toks, 0));
  } else {
    int32_t tok = static_cast<int32_t>(rng() % V);
    for (int i = 0; i < n; ++i) {
      ST_ASSIGN_OR_RETURN(logits, d.Forward(tok, static_cast<uint32_t>(i)));
      tok = greedy ? static_cast<int32_t>(std::max_element(logits, logits + V) - logits)
                   : static_cast<int32_t>(rng() % V);
    }
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.tokens = static_cast<uint64_t>(n);
  r.stats = Delta(s0, d.stats());
  r.offload = Delta(o0, d.experts().stats());
  *hash = HashLogits(logits, V);
  return r;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct Summary {
  double tps_median, tps_mean, tps_sd, ms_per_token, bytes_per_token, gbps, sparsity, lm_rows_per_token;
  double hit_rate, mib_read_per_token, stall_ms_per_token;
};

Summary Summarize(const TestResult& t) {
  Summary s{};
  std::vector<double> tps;
  double bytes = 0, tokens = 0, neurons = 0, active = 0, lm_rows = 0, lm_calls = 0, req = 0, hits = 0, read = 0,
         stall = 0;
  for (const RepResult& r : t.reps) {
    tps.push_back(r.tokens / r.seconds);
    bytes += r.stats.weight_bytes;
    tokens += r.tokens;
    neurons += r.stats.expert_neurons;
    active += r.stats.expert_neurons_active;
    lm_rows += r.stats.lm_head_rows;
    lm_calls += r.stats.lm_head_calls;
    req += r.offload.requests;
    hits += r.offload.hits;
    read += r.offload.bytes_read;
    stall += r.offload.stall_ns;
  }
  s.tps_median = Median(tps);
  s.tps_mean = std::accumulate(tps.begin(), tps.end(), 0.0) / tps.size();
  double var = 0;
  for (double v : tps) var += (v - s.tps_mean) * (v - s.tps_mean);
  s.tps_sd = tps.size() > 1 ? std::sqrt(var / (tps.size() - 1)) : 0.0;
  s.ms_per_token = 1000.0 / s.tps_median;
  s.bytes_per_token = bytes / tokens;
  s.gbps = s.bytes_per_token * s.tps_median / 1e9;
  s.sparsity = neurons > 0 ? 1.0 - active / neurons : 0.0;
  s.lm_rows_per_token = lm_calls > 0 ? lm_rows / lm_calls : 0.0;
  s.hit_rate = req > 0 ? hits / req : 1.0;
  s.mib_read_per_token = read / 1048576.0 / tokens;
  s.stall_ms_per_token = stall / 1e6 / tokens;
  return s;
}

int Run(Args a) {
  std::vector<int> prompts = ParseList(a.prompts), gens = ParseList(a.gens);
  std::vector<int> thread_counts = a.threads.empty() ? std::vector<int>{a.run.n_threads > 0 ? a.run.n_threads : DefaultThreadCount()}
                                                     : ParseList(a.threads);
  const int max_threads = *std::max_element(thread_counts.begin(), thread_counts.end());
  const double bw = a.bandwidth_mib > 0 ? MeasureReadBandwidth(a.bandwidth_mib << 20, max_threads, 5) : 0.0;
  if (bw > 0) std::fprintf(stderr, "memory read bandwidth: %.1f GB/s (%d threads, best of 5 passes over %llu MiB)\n", bw / 1e9,
                           max_threads, static_cast<unsigned long long>(a.bandwidth_mib));

  std::vector<TestResult> results;
  std::string model_desc, isa, mode, head;
  uint64_t model_bytes = 0;
  for (int threads : thread_counts) {
    RunOptions ro = a.run;
    ro.n_threads = threads;
    int code = kExitError;
    auto loaded = LoadForRun(ro, &code);
    if (!loaded.ok()) {
      std::fprintf(stderr, "error: %s\n", loaded.status().message().c_str());
      return code;
    }
    Decoder& d = *loaded->decoder;
    model_desc = loaded->model->config().name;
    model_bytes = loaded->model->file().file_size();
    isa = IsaName(d.kernels().isa);
    mode = d.experts().offloaded() ? "offloaded" : "in memory";
    head = d.lm_head_mode() == LmHeadMode::kPredicted ? "predicted" : "exact";
    auto run_test = [&](bool prompt, int n) -> int {
      if (n <= 0) return kExitOk;
      TestResult t;
      t.test = fmt::format("{}{}", prompt ? "pp" : "tg", n);
      t.threads = threads;
      uint64_t hash = 0;
      if (!a.no_warmup) {
        auto w = RunRep(d, prompt, a.tg_greedy, std::min(n, prompt ? n : 16), 12345, &hash);
        if (!w.ok()) {
          std::fprintf(stderr, "error: %s\n", w.status().message().c_str());
          return kExitError;
        }
      }
      for (int r = 0; r < a.reps; ++r) {
        auto rep = RunRep(d, prompt, a.tg_greedy, n, 1000 + r, &hash);
        if (!rep.ok()) {
          std::fprintf(stderr, "error: %s\n", rep.status().message().c_str());
          return kExitError;
        }
        t.reps.push_back(*rep);
        std::fprintf(stderr, "  %s t=%d rep %d: %.2f tokens/s\n", t.test.c_str(), threads, r + 1, rep->tokens / rep->seconds);
      }
      t.logits_hash = hash;
      results.push_back(std::move(t));
      return kExitOk;
    };
    for (int n : prompts) {
      if (int c = run_test(true, n); c != kExitOk) return c;
    }
    for (int n : gens) {
      if (int c = run_test(false, n); c != kExitOk) return c;
    }
    std::fprintf(stderr, "%s", FormatMemoryReport(MakeMemoryReport(d, d.stats().tokens)).c_str());
  }

  if (a.output == "json") {
    nlohmann::json j;
    j["model"] = a.run.model;
    j["model_name"] = model_desc;
    j["model_bytes"] = model_bytes;
    j["kernels"] = isa;
    j["memory_mode"] = mode;
    j["lm_head"] = head;
    j["memory_limit"] = a.run.memory_limit;
    j["read_bandwidth_gbps"] = bw / 1e9;
    for (const TestResult& t : results) {
      const Summary s = Summarize(t);
      nlohmann::json r;
      r["test"] = t.test;
      r["threads"] = t.threads;
      r["repetitions"] = t.reps.size();
      r["tokens_per_second_median"] = s.tps_median;
      r["tokens_per_second_mean"] = s.tps_mean;
      r["tokens_per_second_stddev"] = s.tps_sd;
      r["ms_per_token"] = s.ms_per_token;
      r["weight_bytes_per_token"] = s.bytes_per_token;
      r["effective_gbps"] = s.gbps;
      r["bandwidth_fraction"] = bw > 0 ? s.gbps * 1e9 / bw : 0.0;
      r["reglu_sparsity"] = s.sparsity;
      r["lm_head_rows_per_token"] = s.lm_rows_per_token;
      r["cache_hit_rate"] = s.hit_rate;
      r["mib_read_per_token"] = s.mib_read_per_token;
      r["stall_ms_per_token"] = s.stall_ms_per_token;
      r["logits_hash"] = fmt::format("{:016x}", t.logits_hash);
      std::vector<double> samples;
      for (const RepResult& rep : t.reps) samples.push_back(rep.tokens / rep.seconds);
      r["samples_tokens_per_second"] = samples;
      j["results"].push_back(r);
    }
    std::printf("%s\n", j.dump(2).c_str());
    return kExitOk;
  }
  if (bw > 0) std::printf("\nmemory read bandwidth: %.1f GB/s (%d threads)\n\n", bw / 1e9, max_threads);
  std::printf("| model | size | kernels | mode | head | threads | test | t/s (median) | t/s (mean ± sd) | ms/tok | "
              "MB/tok | GB/s | %% of BW | sparsity | LM rows/tok | hit %% | disk MiB/tok | stall ms/tok | logits hash |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const TestResult& t : results) {
    const Summary s = Summarize(t);
    std::printf("| %s | %.2f GiB | %s | %s | %s | %d | %s | %.2f | %.2f ± %.2f | %.2f | %.1f | %.2f | %.0f%% | %.1f%% | %.0f | "
                "%s | %s | %s | %016llx |\n",
                model_desc.c_str(), model_bytes / 1073741824.0, isa.c_str(), mode.c_str(), head.c_str(), t.threads,
                t.test.c_str(), s.tps_median, s.tps_mean, s.tps_sd, s.ms_per_token, s.bytes_per_token / 1e6, s.gbps,
                bw > 0 ? 100.0 * s.gbps * 1e9 / bw : 0.0, 100.0 * s.sparsity, s.lm_rows_per_token,
                mode == "offloaded" ? fmt::format("{:.1f}", 100.0 * s.hit_rate).c_str() : "-",
                mode == "offloaded" ? fmt::format("{:.2f}", s.mib_read_per_token).c_str() : "-",
                mode == "offloaded" ? fmt::format("{:.2f}", s.stall_ms_per_token).c_str() : "-",
                static_cast<unsigned long long>(t.logits_hash));
  }
  return kExitOk;
}

}  // namespace
}  // namespace st

int main(int argc, char** argv) {
  st::Args a;
  CLI::App app{"smallthinker-bench: prompt (ppN) and generation (tgN) speed, llama-bench style"};
  app.footer(st::kExitCodesHelp);
  st::AddRunOptions(app, a.run);
  app.add_option("-p,--n-prompt", a.prompts, "prompt lengths to test, comma-separated (0 = none)")->capture_default_str();
  app.add_option("-n,--n-gen", a.gens, "generation lengths to test, comma-separated (0 = none)")->capture_default_str();
  app.add_option("--threads-list", a.threads, "thread counts to test, comma-separated (default: -t)");
  app.add_option("-r,--repetitions", a.reps, "timed repetitions per test")->capture_default_str()->check(CLI::Range(1, 1000));
  app.add_option("-o,--output", a.output, "md or json")->check(CLI::IsMember({"md", "json"}))->capture_default_str();
  app.add_flag("--no-warmup", a.no_warmup, "skip the untimed warm-up run");
  app.add_flag("--tg-greedy", a.tg_greedy,
               "tgN feeds back the previous argmax instead of random tokens (a random-weight model then repeats one "
               "token and always routes to the same experts)");
  app.add_flag("--dense-experts", a.dense_experts, "compute every up/down row (the dense baseline)");
  app.add_option("--bandwidth-mib", a.bandwidth_mib, "buffer for the bandwidth measurement (0 = skip)")->capture_default_str();
  if (auto code = st::ParseCommandLine(app, argc, argv)) return *code;
  a.run.dense_experts = a.dense_experts;
  return st::Run(a);
}
