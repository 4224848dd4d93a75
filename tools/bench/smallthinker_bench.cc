// smallthinker-bench: decode and prompt-processing speed in llama-bench's form.
//
//   smallthinker-bench -m model.gguf -p 512 -n 128 [-d 0,4096] -r 5 -t 2 [-o md|json]
//
// For every thread count, depth and test (ppN: N random prompt tokens in batches; tgN: N tokens
// decoded one by one, each a random token as in llama-bench, or the previous argmax with
// --tg-greedy) it runs a warm-up and `-r` timed repetitions. As llama-bench's -d, a depth D > 0
// ("tg128 @ d4096") first evaluates D random prompt tokens untimed before every repetition and then
// times the test at positions D.., so it measures attention over a filled KV cache. It reports tokens/s
// (median, mean ± stddev), ms/token, the weight bytes the kernels actually read per token, the
// effective GB/s against the machine's measured read bandwidth, the ReGLU sparsity seen, the LM-head
// rows computed per token, the memory mode and (offloaded) cache figures, and a hash of the final
// logits to catch silent drift.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>
#include <sstream>

#include "bench/bandwidth.h"
#include "cli/exit_codes.h"
#include "common/llama_flags.h"
#include "common/output_check.h"
#include "common/run_options.h"
#include "util/escape.h"
#include "util/thread_pool.h"  // DefaultThreadCount

namespace st {
namespace {

struct Args {
  RunOptions run;
  std::string prompts = "512";
  std::string gens = "128";
  std::string depths = "0";
  std::string parallels = "1";
  bool ctx_given = false;  // -c on the command line; otherwise n_ctx grows to fit depth + test
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

// A comma-separated list of integers in lo..hi ("512", "0,4096"); empty items are skipped.
// Errors name the bad item (InvalidArgument), so "-p 8,x" or "-p 4294967297" is a usage error.
Result<std::vector<int>> ParseList(const std::string& s, int lo, int hi) {
  std::vector<int> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    const char* p = item.c_str();
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(p, &end, 10);
    if (end == p || *end != '\0' || std::isspace(static_cast<unsigned char>(item[0]))) {
      return InvalidArgument(fmt::format("'{}' is not an integer", item));
    }
    if (errno == ERANGE || v < lo || v > hi) return InvalidArgument(fmt::format("{} is outside {}..{}", item, lo, hi));
    out.push_back(static_cast<int>(v));
  }
  return out;
}

// A CLI11 check for a ParseList option, so a bad value is one "error:" line and exit code 2.
CLI::Validator ListOf(int lo, int hi, bool non_empty = false) {
  return CLI::Validator(
      [=](std::string& s) -> std::string {
        auto r = ParseList(s, lo, hi);
        if (!r.ok()) return r.status().message();
        if (non_empty && r->empty()) return "give at least one value";
        return "";
      },
      fmt::format("LIST of {}..{}", lo, hi));
}

constexpr int kMaxTokens = 1 << 24;  // the engine's longest context

struct RepResult {
  double seconds = 0;
  uint64_t tokens = 0;
  smallthinker::ContextStats stats;  // deltas over the repetition
};

struct TestResult {
  std::string test;  // "pp512" / "tg128" / "tg128 @ d4096"
  int threads = 0;
  int n_prompt = 0, n_gen = 0, n_depth = 0, n_par = 1;
  std::vector<RepResult> reps;
  uint64_t logits_hash = 0;
};

int Fail(int code, const std::string& message) {
  std::fprintf(stderr, "error: %s\n", EscapeForDisplay(message).c_str());
  return code;
}

smallthinker::ContextStats Delta(const smallthinker::ContextStats& a, const smallthinker::ContextStats& b) {
  smallthinker::ContextStats d;
  d.tokens = b.tokens - a.tokens;
  d.expert_neurons = b.expert_neurons - a.expert_neurons;
  d.expert_neurons_active = b.expert_neurons_active - a.expert_neurons_active;
  d.lm_head_calls = b.lm_head_calls - a.lm_head_calls;
  d.lm_head_rows = b.lm_head_rows - a.lm_head_rows;
  d.weight_bytes = b.weight_bytes - a.weight_bytes;
  d.kv_bytes = b.kv_bytes - a.kv_bytes;
  d.expert_requests = b.expert_requests - a.expert_requests;
  d.expert_hits = b.expert_hits - a.expert_hits;
  d.expert_reads = b.expert_reads - a.expert_reads;
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

// One repetition of a test; returns the final logits' hash through *hash. With depth > 0, first
// evaluates `depth` random prompt tokens from position 0 (untimed, not counted in the statistics)
// and then runs the test at positions depth...
// n_par > 1 (generation only): n_par sequences, each with its own depth, decode together, one
// batch of n_par tokens per step (llama-batched-bench's -npl); tokens counts all of them.
Result<RepResult> RunRep(smallthinker::Context& d, bool prompt, bool greedy, int n, int depth, uint64_t seed, uint64_t* hash,
                         int n_par = 1) {
  const uint32_t V = d.n_vocab();
  std::mt19937_64 rng(seed);
  const uint32_t P = static_cast<uint32_t>(std::max(1, n_par));
  for (uint32_t q = 0; q < P; ++q) ST_RETURN_IF_ERROR(d.Truncate(q, 0));  // every repetition from empty sequences
  if (depth > 0) {
    for (uint32_t q = 0; q < P; ++q) {
      std::mt19937_64 drng((seed + q) ^ 0x9e3779b97f4a7c15ull);
      std::vector<int32_t> ctx(static_cast<size_t>(depth));
      for (int32_t& t : ctx) t = static_cast<int32_t>(drng() % V);
      ST_RETURN_IF_ERROR(d.Prefill(q, ctx, 0).status());
    }
  }
  const uint32_t pos0 = static_cast<uint32_t>(depth);
  RepResult r;
  const smallthinker::ContextStats s0 = d.stats();
  const auto t0 = std::chrono::steady_clock::now();
  const float* logits = nullptr;
  if (prompt) {
    std::vector<int32_t> toks(n);
    for (int32_t& t : toks) t = static_cast<int32_t>(rng() % V);
    ST_ASSIGN_OR_RETURN(std::span<const float> l, d.Prefill(0, toks, pos0));
    logits = l.data();
  } else {
    std::vector<smallthinker::Token> batch(P);
    for (uint32_t q = 0; q < P; ++q) batch[q] = {static_cast<int32_t>(rng() % V), pos0, q, smallthinker::Output::kLogits};
    for (int i = 0; i < n; ++i) {
      ST_RETURN_IF_ERROR(d.Decode(batch));
      for (uint32_t q = 0; q < P; ++q) {
        const float* lq = d.Logits(q).data();
        batch[q].id = greedy ? static_cast<int32_t>(std::max_element(lq, lq + V) - lq) : static_cast<int32_t>(rng() % V);
        ++batch[q].pos;
      }
      logits = d.Logits(0).data();
    }
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.tokens = static_cast<uint64_t>(n) * (prompt ? 1 : P);
  r.stats = Delta(s0, d.stats());
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
    bytes += r.stats.weight_bytes + r.stats.kv_bytes;
    tokens += r.tokens;
    neurons += r.stats.expert_neurons;
    active += r.stats.expert_neurons_active;
    lm_rows += r.stats.lm_head_rows;
    lm_calls += r.stats.lm_head_calls;
    req += r.stats.expert_requests;
    hits += r.stats.expert_hits;
    read += r.stats.bytes_read;
    stall += r.stats.stall_ns;
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
  // The lists were checked by their validators when parsed.
  std::vector<int> prompts = *ParseList(a.prompts, 0, kMaxTokens), gens = *ParseList(a.gens, 0, kMaxTokens);
  std::vector<int> depths = *ParseList(a.depths, 0, kMaxTokens), parallels = *ParseList(a.parallels, 1, 256);
  if (parallels.empty()) parallels.push_back(1);
  if (depths.empty()) depths.push_back(0);
  {
    // The context must hold the depth plus the longest test (llama-bench sets n_ctx = d + p + n).
    int longest = 0;
    for (int v : prompts) longest = std::max(longest, v);
    for (int v : gens) longest = std::max(longest, v);
    const uint64_t need = static_cast<uint64_t>(*std::max_element(depths.begin(), depths.end())) + longest;
    if (!a.ctx_given) {
      a.run.n_ctx = static_cast<uint32_t>(std::max<uint64_t>(a.run.n_ctx, need));
    } else if (a.run.n_ctx != 0 && a.run.n_ctx < need) {
      std::fprintf(stderr, "error: -c %u is too small for depth + test length %llu\n", a.run.n_ctx,
                   static_cast<unsigned long long>(need));
      return kExitUsage;
    }
  }
  std::vector<int> thread_counts = a.threads.empty() ? std::vector<int>{a.run.n_threads > 0 ? a.run.n_threads : DefaultThreadCount()}
                                                     : *ParseList(a.threads, 1, 1024);
  const int max_threads = *std::max_element(thread_counts.begin(), thread_counts.end());
  double bw = 0;

  std::vector<TestResult> results;
  std::string model_desc, isa, mode, head;
  uint64_t model_bytes = 0;
  for (int threads : thread_counts) {
    RunOptions ro = a.run;
    ro.n_threads = threads;
    ro.n_seq = static_cast<uint32_t>(*std::max_element(parallels.begin(), parallels.end()));
    int code = kExitError;
    auto loaded = LoadForRun(ro, &code);
    if (!loaded.ok()) return Fail(code, loaded.status().message());
    if (a.bandwidth_mib > 0 && bw == 0) {
      // After the first load: a bad model fails at once, not after seconds of measuring.
      auto measured = MeasureReadBandwidth(a.bandwidth_mib << 20, max_threads, 5);
      if (!measured.ok()) return Fail(kExitUsage, "--bandwidth-mib " + std::to_string(a.bandwidth_mib) + ": " +
                                                      measured.status().message());
      bw = *measured;
      std::fprintf(stderr, "memory read bandwidth: %.1f GB/s (%d threads, best of 5 passes over %llu MiB)\n", bw / 1e9,
                   max_threads, static_cast<unsigned long long>(a.bandwidth_mib));
    }
    smallthinker::Context& d = *loaded->context;
    model_desc = EscapeForDisplay(loaded->model->info().name);  // a file's string: no terminal escapes
    model_bytes = loaded->model->info().file_bytes;
    isa = d.kernels_name();
    mode = d.offloaded() ? "offloaded" : "in memory";
    head = d.predicted_head() ? "predicted" : "exact";
    auto run_test = [&](bool prompt, int n, int depth, int n_par) -> int {
      if (n <= 0) return kExitOk;
      TestResult t;
      t.test = fmt::format("{}{}", prompt ? "pp" : "tg", n);
      if (n_par > 1) t.test += fmt::format(" x{}", n_par);
      if (depth > 0) t.test += fmt::format(" @ d{}", depth);
      t.threads = threads;
      t.n_prompt = prompt ? n : 0;
      t.n_gen = prompt ? 0 : n;
      t.n_depth = depth;
      t.n_par = n_par;
      uint64_t hash = 0;
      if (!a.no_warmup) {
        // Warm-up at position 0 (as llama-bench: its warm-up does not fill the depth either).
        auto w = RunRep(d, prompt, a.tg_greedy, std::min(n, prompt ? n : 16), 0, 12345, &hash, n_par);
        if (!w.ok()) {
          return Fail(kExitError, w.status().message());
        }
      }
      for (int r = 0; r < a.reps; ++r) {
        auto rep = RunRep(d, prompt, a.tg_greedy, n, depth, 1000 + r, &hash, n_par);
        if (!rep.ok()) {
          return Fail(kExitError, rep.status().message());
        }
        t.reps.push_back(*rep);
        std::fprintf(stderr, "  %s t=%d rep %d: %.2f tokens/s\n", t.test.c_str(), threads, r + 1, rep->tokens / rep->seconds);
      }
      t.logits_hash = hash;
      results.push_back(std::move(t));
      return kExitOk;
    };
    // llama-bench's order: each prompt test at every depth, then each generation test at every depth.
    for (int n : prompts) {
      for (int depth : depths) {
        if (int c = run_test(true, n, depth, 1); c != kExitOk) return c;
      }
    }
    for (int n : gens) {
      for (int depth : depths) {
        for (int n_par : parallels) {
          if (int c = run_test(false, n, depth, n_par); c != kExitOk) return c;
        }
      }
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
    j["n_ctx"] = a.run.n_ctx;
    for (const TestResult& t : results) {
      const Summary s = Summarize(t);
      nlohmann::json r;
      r["test"] = t.test;
      r["n_prompt"] = t.n_prompt;
      r["n_gen"] = t.n_gen;
      r["n_depth"] = t.n_depth;
      r["n_parallel"] = t.n_par;
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
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
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
  app.add_option("-p,--n-prompt", a.prompts, "prompt lengths to test, comma-separated (0 = none)")
      ->capture_default_str()->check(st::ListOf(0, st::kMaxTokens));
  app.add_option("-n,--n-gen", a.gens, "generation lengths to test, comma-separated (0 = none)")
      ->capture_default_str()->check(st::ListOf(0, st::kMaxTokens));
  app.add_option("-d,--n-depth", a.depths,
                 "KV depths, comma-separated: before each repetition D random tokens are evaluated untimed and the "
                 "test runs at positions D.. (llama-bench's -d; -c grows to fit unless given)")
      ->capture_default_str()->check(st::ListOf(0, st::kMaxTokens));
  app.add_option("--n-parallel", a.parallels,
                 "tgN only: sequences decoding together, comma-separated (llama-batched-bench's -npl); "
                 "t/s counts every sequence's tokens")->capture_default_str()->check(st::ListOf(1, 256));
  app.add_option("--threads-list", a.threads, "thread counts to test, comma-separated (default: -t)")
      ->check(st::ListOf(1, 1024, /*non_empty=*/true));
  app.add_option("-r,--repetitions", a.reps, "timed repetitions per test")->capture_default_str()->check(CLI::Range(1, 1000));
  app.add_option("-o,--output", a.output, "md or json")->check(CLI::IsMember({"md", "json"}))->capture_default_str();
  app.add_flag("--no-warmup", a.no_warmup, "skip the untimed warm-up run");
  app.add_flag("--tg-greedy", a.tg_greedy,
               "tgN feeds back the previous argmax instead of random tokens (a random-weight model then repeats one "
               "token and always routes to the same experts)");
  app.add_flag("--dense-experts", a.dense_experts, "compute every up/down row (the dense baseline)");
  app.add_option("--bandwidth-mib", a.bandwidth_mib,
                 "buffer for the bandwidth measurement, at most half the machine's memory (0 = skip)")
      ->capture_default_str()->check(CLI::Range(uint64_t{0}, uint64_t{1} << 30));
  st::IgnoreSigpipe();
  if (auto code = st::ParseCommandLine(app, argc, argv)) return *code;
  a.ctx_given = app.count("--ctx-size") > 0;
  a.run.dense_experts = a.dense_experts;
  return st::FinishStdout(st::Run(a));
}
