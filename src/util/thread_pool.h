// ThreadPool: a fixed set of worker threads for data-parallel loops inside one forward pass.
//
// The caller takes part as thread 0. Workers spin briefly between jobs (a decode step dispatches
// hundreds of small loops, and waking a sleeping thread costs more than one of them), then sleep.
// Work is split by contiguous index ranges; which thread runs a range never changes the result of
// that range, so outputs do not depend on the thread count.
//
// Thread-compatible: one caller at a time (the decoder). fn must not throw.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace st {

class ThreadPool {
 public:
  // n_threads >= 1 (including the caller).
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Work smaller than this many bytes (of weights streamed) is not worth waking another thread:
  // callers run it inline (see StreamGrain in runtime/linear.h). Tests set 0 to force splitting.
  // 256 KiB: below it a pool round trip costs about what the second thread saves (measured: the
  // router and the predictor's W1 inline, 4B decode +2-5%, the shipped tiny model +22%).
  static constexpr uint64_t kDefaultMinParallelBytes = 256 * 1024;
  uint64_t min_parallel_bytes() const { return min_parallel_bytes_; }
  void set_min_parallel_bytes(uint64_t b) { min_parallel_bytes_ = b; }

  // Runs fn(thread_index) once on every thread and returns when all have finished.
  void Run(const std::function<void(int)>& fn);

  // Runs fn(begin, end) over [0, n) in chunks of `grain` indices (the last may be shorter), chunks
  // handed out dynamically. With one thread, or n <= grain, it runs inline.
  void ParallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);
  // The same, also passing the index of the thread running the chunk (for per-thread scratch).
  void ParallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t, int)>& fn);

 private:
  void WorkerLoop(int index);

  int n_threads_;
  uint64_t min_parallel_bytes_ = kDefaultMinParallelBytes;
  std::vector<std::thread> workers_;
  const std::function<void(int)>* job_ = nullptr;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<int> sleepers_{0};
};

// The number of threads to use by default: the number of CPUs this process may run on.
int DefaultThreadCount();

}  // namespace st
