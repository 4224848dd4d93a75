#include "bench/bandwidth.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

#include "util/anon_buffer.h"
#include "util/thread_pool.h"

namespace st {
namespace {

// Sums 64-bit words; the compiler vectorizes it, and the sum keeps the loads from being removed.
uint64_t SumWords(const uint64_t* p, size_t n) {
  uint64_t a = 0, b = 0, c = 0, d = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    a += p[i];
    b += p[i + 1];
    c += p[i + 2];
    d += p[i + 3];
  }
  for (; i < n; ++i) a += p[i];
  return a + b + c + d;
}

}  // namespace

Result<double> MeasureReadBandwidth(uint64_t bytes, int threads, int reps) {
  // Every page is written below: a buffer beyond physical memory would swap or meet the OOM
  // killer even where the reservation itself succeeds.
  const uint64_t total = MachineMemoryBytes();
  if (total > 0 && bytes > total / 2) {
    return ResourceExhausted(fmt::format("a {} buffer ({} bytes) is more than half of the machine's {} (MemTotal)",
                                         HumanBytes(bytes), bytes, HumanBytes(total)));
  }
  ST_ASSIGN_OR_RETURN(AnonymousBuffer buf, AnonymousBuffer::Allocate(bytes));
  std::memset(buf.data(), 1, bytes);  // make every page resident
  const auto* words = reinterpret_cast<const uint64_t*>(buf.data());
  const size_t n = bytes / 8;
  ThreadPool pool(threads);
  double best = 0;
  volatile uint64_t sink = 0;
  for (int r = 0; r < reps; ++r) {
    std::vector<uint64_t> sums(threads, 0);
    const auto t0 = std::chrono::steady_clock::now();
    pool.Run([&](int t) {
      const size_t b = n * t / threads, e = n * (t + 1) / threads;
      sums[t] = SumWords(words + b, e - b);
    });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (uint64_t v : sums) sink = sink + v;
    best = std::max(best, static_cast<double>(bytes) / s);
  }
  (void)sink;
  return best;
}

}  // namespace st
