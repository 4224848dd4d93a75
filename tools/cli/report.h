// The end-of-run report: llama.cpp-style timing lines and the memory report on stderr, and the
// machine-readable JSON summary (--json) with llama-server's timing names.
#pragma once

#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "common/run_options.h"
#include "util/output_file.h"

namespace st {

// Accumulated over a run (all turns of a chat, all lines of a batch).
struct RunTimings {
  double load_ms = 0;
  uint64_t prompt_n = 0;    // prompt tokens evaluated
  double prompt_ms = 0;
  uint64_t predicted_n = 0; // tokens generated (sampled)
  double predicted_ms = 0;

  RunTimings& operator+=(const RunTimings& o) {
    prompt_n += o.prompt_n;
    prompt_ms += o.prompt_ms;
    predicted_n += o.predicted_n;
    predicted_ms += o.predicted_ms;
    return *this;
  }
};

// llama.cpp's lines:
//        load time =  ... ms
// prompt eval time =  ... ms /  N tokens ( ... ms per token, ... tokens per second)
//        eval time =  ... ms /  N runs   ( ... ms per token, ... tokens per second)
//       total time =  ... ms /  N tokens
std::string FormatTimings(const RunTimings& t, double total_ms);

// {"prompt_n", "prompt_ms", "prompt_per_second", "predicted_n", "predicted_ms", "predicted_per_second"}
// (llama-server's names; per_second is 0 when nothing was timed).
nlohmann::json TimingsJson(const RunTimings& t);

// The MemoryReport's fields: mode, hit_rate, mib_read_per_token, stall_ms_per_token,
// prefetch_accuracy, lookahead_issued, evictions, peak_rss_mib, tokens.
nlohmann::json MemoryReportJson(const MemoryReport& r);

// The settings a run used (model, context, threads, memory, sampling).
nlohmann::json SettingsJson(const RunOptions& run, const nlohmann::json& sampling);

// Opens an output (--json, --batch-output) before the model loads, so a bad path fails early:
// a temporary beside the target, renamed over it only by a successful end (OutputFile). ""
// and "-" give a closed OutputFile (nothing to open). Errors: IoError naming `flag`.
Result<OutputFile> OpenOutput(const std::string& path, const char* flag);

// Dumps `j` (one line) to `file` and commits it, or to stderr when path is "-". Bytes that are
// not UTF-8 are replaced. Errors: the file cannot be written (IoError).
Status WriteJsonFile(const std::string& path, OutputFile& file, const nlohmann::json& j);

}  // namespace st
