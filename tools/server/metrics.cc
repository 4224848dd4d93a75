#include "server/metrics.h"

#include <fmt/format.h>

namespace st {

void HttpCounters::Count(const std::string& route, int status) {
  std::lock_guard lock(mu_);
  ++counts_[{route, status}];
}

std::map<std::pair<std::string, int>, uint64_t> HttpCounters::Snapshot() const {
  std::lock_guard lock(mu_);
  return counts_;
}

std::string PrometheusText(const EngineStats& e, const HttpCounters& http, uint64_t peak_rss_bytes) {
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help, double value) {
    out += fmt::format("# HELP smallthinker_{0} {1}\n# TYPE smallthinker_{0} {2}\nsmallthinker_{0} {3}\n", name, help,
                       type, value);
  };
  out += "# HELP smallthinker_http_requests_total HTTP responses by route and status.\n"
         "# TYPE smallthinker_http_requests_total counter\n";
  for (const auto& [key, n] : http.Snapshot()) {
    out += fmt::format("smallthinker_http_requests_total{{route=\"{}\",status=\"{}\"}} {}\n", key.first, key.second, n);
  }
  metric("requests_started_total", "counter", "Completion requests that got a slot.", e.requests_started);
  metric("requests_finished_total", "counter", "Completion requests that left their slot (any reason).",
         e.requests_finished);
  metric("requests_cancelled_total", "counter", "Completion requests whose client went away.", e.requests_cancelled);
  metric("requests_failed_total", "counter", "Completion requests that failed in the engine.", e.requests_failed);
  metric("requests_rejected_total", "counter", "Completion requests refused because the queue was full.",
         e.requests_rejected);
  metric("prompt_tokens_total", "counter", "Prompt tokens evaluated.", e.prompt_tokens);
  metric("prompt_tokens_cached_total", "counter", "Prompt tokens reused from a slot's cache.", e.cached_tokens);
  metric("tokens_predicted_total", "counter", "Tokens generated.", e.predicted_tokens);
  metric("prompt_seconds_total", "counter", "Seconds of forward passes that held prompt tokens.", e.prompt_seconds);
  metric("decode_seconds_total", "counter", "Seconds of forward passes that held only generated tokens.",
         e.decode_seconds);
  metric("prompt_tokens_seconds", "gauge", "Prompt tokens per second over the run.",
         e.prompt_seconds > 0 ? e.prompt_tokens / e.prompt_seconds : 0.0);
  metric("predicted_tokens_seconds", "gauge", "Generated tokens per second of forward-pass time (all slots together).",
         e.decode_seconds > 0 ? e.predicted_tokens / (e.decode_seconds + e.prompt_seconds) : 0.0);
  metric("forward_passes_total", "counter", "Forward passes (steps of the batch).", e.steps);
  metric("slots_total", "gauge", "Slots (sequences decoded together).", e.slots_total);
  metric("slots_busy", "gauge", "Slots serving a request now.", e.slots_busy);
  metric("requests_queued", "gauge", "Requests waiting for a slot.", e.queued);
  metric("weight_bytes_read_total", "counter", "Weight bytes the kernels read.", e.context.weight_bytes);
  metric("kv_bytes_read_total", "counter", "KV-cache bytes attention read.", e.context.kv_bytes);
  metric("peak_rss_bytes", "gauge", "Peak resident set size of the process.", peak_rss_bytes);
  if (e.offloaded) {
    const auto& c = e.context;
    metric("expert_cache_requests_total", "counter", "Expert lookups in the expert cache.", c.expert_requests);
    metric("expert_cache_hits_total", "counter", "Expert lookups the cache answered.", c.expert_hits);
    metric("expert_cache_hit_ratio", "gauge", "Expert cache hits per lookup.",
           c.expert_requests ? static_cast<double>(c.expert_hits) / c.expert_requests : 0.0);
    metric("expert_bytes_read_total", "counter", "Expert bytes read from disk.", c.bytes_read);
    metric("expert_io_stall_seconds_total", "counter", "Seconds the decoder waited for expert reads.",
           c.stall_ns / 1e9);
  }
  return out;
}

}  // namespace st
