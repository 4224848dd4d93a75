#include "offload/memory_plan.h"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace st {

std::string FormatBytes(uint64_t b) {
  if (b >= (1ull << 30)) return fmt::format("{:.2f} GiB", b / 1073741824.0);
  if (b >= (1ull << 20)) return fmt::format("{:.1f} MiB", b / 1048576.0);
  if (b >= (1ull << 10)) return fmt::format("{:.1f} KiB", b / 1024.0);
  return fmt::format("{} B", b);
}

Result<uint64_t> ParseByteSize(const std::string& text) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
  if (i == 0) return InvalidArgument(fmt::format("'{}' is not a size (expected e.g. 1G, 512M, 1048576)", text));
  double v = 0;
  try {
    v = std::stod(text.substr(0, i));
  } catch (...) {
    return InvalidArgument(fmt::format("'{}' is not a size (expected e.g. 1G, 512M, 1048576)", text));
  }
  std::string unit = text.substr(i);
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (unit.size() >= 2 && unit.substr(unit.size() - 2) == "IB") unit.resize(unit.size() - 2);
  else if (!unit.empty() && unit.back() == 'B') unit.pop_back();
  double mult = 1;
  if (unit == "K") mult = 1024.0;
  else if (unit == "M") mult = 1048576.0;
  else if (unit == "G") mult = 1073741824.0;
  else if (unit == "T") mult = 1099511627776.0;
  else if (!unit.empty()) return InvalidArgument(fmt::format("'{}': unknown unit (use K, M, G or T)", text));
  const double bytes = v * mult;
  if (!(bytes >= 1) || bytes > 1.8e19) return InvalidArgument(fmt::format("'{}' is not a usable size", text));
  return static_cast<uint64_t>(bytes);
}

uint64_t ResidentBytes(const MemoryPlanInput& in) {
  return in.baseline + in.margin + in.non_expert_weights + in.kv_cache + in.scratch + in.transient + in.caller;
}

Result<MemoryPlan> PlanMemory(const MemoryPlanInput& in) {
  MemoryPlan p;
  p.input = in;
  p.limit = in.limit;
  p.resident = ResidentBytes(in);
  if (in.limit == 0 || in.limit >= p.resident + in.expert_weights) {
    p.offload = false;
    return p;
  }
  const uint64_t minimum = p.resident + in.min_slots * in.slot_bytes;
  if (in.limit < minimum) {
    return ResourceExhausted(fmt::format(
        "--memory-limit {} is too small for this model: it needs at least {} (non-expert weights {}, KV cache {}, "
        "scratch {}, runtime {}{}, and an expert cache of {} experts: {}); raise the limit or lower -c",
        FormatBytes(in.limit), FormatBytes(minimum), FormatBytes(in.non_expert_weights), FormatBytes(in.kv_cache),
        FormatBytes(in.scratch + in.transient), FormatBytes(in.baseline + in.margin),
        in.caller ? ", the caller's buffers " + FormatBytes(in.caller) : std::string(), in.min_slots, FormatBytes(in.min_slots * in.slot_bytes)));
  }
  p.offload = true;
  p.n_slots = std::min<uint64_t>((in.limit - p.resident) / in.slot_bytes, in.total_experts);
  p.expert_cache_bytes = p.n_slots * in.slot_bytes;
  return p;
}

std::string MemoryPlan::Describe() const {
  const MemoryPlanInput& in = input;
  std::string s;
  if (!offload) {
    s += fmt::format("memory: in memory (all weights resident{}): weights {}, KV cache {}, scratch {}\n",
                     limit ? ", within --memory-limit " + FormatBytes(limit) : "",
                     FormatBytes(in.non_expert_weights + in.expert_weights), FormatBytes(in.kv_cache),
                     FormatBytes(in.scratch + in.transient));
    return s;
  }
  s += fmt::format("memory: offloaded, --memory-limit {}\n", FormatBytes(limit));
  s += fmt::format("  resident: non-expert weights {}, KV cache {}, scratch {} (buffers {} + per-step {}), runtime {} "
                   "(measured {} + margin {}){}\n",
                   FormatBytes(in.non_expert_weights), FormatBytes(in.kv_cache), FormatBytes(in.scratch + in.transient),
                   FormatBytes(in.scratch), FormatBytes(in.transient), FormatBytes(in.baseline + in.margin),
                   FormatBytes(in.baseline), FormatBytes(in.margin),
                   in.caller ? ", caller's buffers " + FormatBytes(in.caller) : std::string());
  s += fmt::format("  expert cache: {} = {} of {} experts ({:.0f}%), {} each\n", FormatBytes(expert_cache_bytes), n_slots,
                   in.total_experts, 100.0 * n_slots / in.total_experts, FormatBytes(in.slot_bytes));
  s += fmt::format("  streamed from disk: the other {} experts ({})\n", in.total_experts - n_slots,
                   FormatBytes(in.expert_weights - std::min(in.expert_weights, n_slots * (in.expert_weights / in.total_experts))));
  return s;
}

namespace {
uint64_t ReadStatusKb(const char* field) {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  char line[256];
  uint64_t kb = 0;
  const size_t n = std::strlen(field);
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    if (std::strncmp(line, field, n) == 0) {
      kb = std::strtoull(line + n, nullptr, 10);
      break;
    }
  }
  std::fclose(f);
  return kb;
}
}  // namespace

uint64_t CurrentRss() { return ReadStatusKb("VmRSS:") * 1024; }
uint64_t PeakRss() { return ReadStatusKb("VmHWM:") * 1024; }

}  // namespace st
