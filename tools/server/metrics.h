// The server's counters and their Prometheus text exposition (GET /metrics).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "server/engine.h"

namespace st {

// HTTP responses by route and status (routes are the server's own paths; anything else is "other",
// so a scanner cannot grow the table).
class HttpCounters {
 public:
  void Count(const std::string& route, int status);
  std::map<std::pair<std::string, int>, uint64_t> Snapshot() const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> counts_;
};

// Every metric, "smallthinker_" first, with HELP and TYPE lines.
std::string PrometheusText(const EngineStats& e, const HttpCounters& http, uint64_t peak_rss_bytes);

}  // namespace st
