// Options every program that runs a model shares (llama.cpp spellings), and the code that turns
// them into a loaded Model and a ready Decoder with its memory plan, plus the end-of-run report.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>

#include "smallthinker/context.h"
#include "smallthinker/model.h"
#include "smallthinker/status.h"

namespace st {

struct RunOptions {
  std::string model;
  int n_threads = 0;              // 0 = all CPUs this process may use
  uint32_t n_ctx = 4096;
  bool ctx_given = false;         // -c was on the command line (the training-context warning)
  std::string kv_type = "f16";
  std::string cache_type_k, cache_type_v;  // -ctk / -ctv (llama.cpp); "" = --kv-type
  bool swa_full = false;
  uint32_t n_seq = 1;             // sequences decoded together (the CLI's --parallel)
  std::string router_gating = "auto";
  std::string memory_limit;       // "" = no limit
  std::string expert_cache;       // "" = from the limit; "N" experts or "P%" of all experts
  std::string cache_policy = "lfu";
  std::string io_engine = "uring";
  std::string expert_file;
  bool no_lookahead = false;
  bool no_prefetch = false;
  std::string lm_head = "auto";   // auto (predicted when the file has a profiler), exact, predicted
  uint32_t batch_size = 256;      // prompt tokens per batch (-ub)
  bool dense_experts = false;     // benchmarks: the dense expert baseline
  uint32_t max_outputs = 0;       // ContextParams::max_outputs (set by programs, not a flag)
  uint32_t caller_logit_rows = 0; // ContextParams::caller_logit_rows (likewise)
  bool verbose = false;
};

// Adds -m, -t, -c, --kv-type, --router-gating, --memory-limit, --cache-policy, --io-engine,
// --expert-file, --no-lookahead, -v.
void AddRunOptions(CLI::App& app, RunOptions& o, bool model_required = true);

struct LoadedModel {
  std::unique_ptr<smallthinker::Model> model;
  std::unique_ptr<smallthinker::Context> context;
  double load_ms = 0;
};

// Loads the model and creates its context; prints the memory plan (and, with -v, the config) to
// stderr. Errors carry the exit code to use in `exit_code`.
Result<LoadedModel> LoadForRun(const RunOptions& o, int* exit_code);

// Mode, cache hit rate, MiB read per token, stall per token, lookahead accuracy, peak RSS.
struct MemoryReport {
  std::string mode;          // "in memory" or "offloaded"
  double hit_rate = 1.0;
  double mib_read_per_token = 0;
  double stall_ms_per_token = 0;
  double prefetch_accuracy = 0;  // of lookahead reads, the fraction a layer then used
  uint64_t lookahead_issued = 0;
  uint64_t evictions = 0;
  double peak_rss_mib = 0;
  uint64_t tokens = 0;
};
MemoryReport MakeMemoryReport(const smallthinker::Context& context, uint64_t tokens);
std::string FormatMemoryReport(const MemoryReport& r);

}  // namespace st
