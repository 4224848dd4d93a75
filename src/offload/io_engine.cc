#include "offload/io_engine.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace st {

IoFault DecideFault(const IoEngineOptions& o, uint64_t n) {
  if (o.fault) return o.fault(n);
  IoFault f;
  if (o.fail_read_number != 0 && n == o.fail_read_number) f.kind = IoFault::Kind::kCompletionError;
  return f;
}

uint64_t ShortReadLimit(const ReadRequest& r) {
  const uint64_t need = r.min_size != 0 ? r.min_size : r.size;
  return need / 2 / kDirectIoAlignment * kDirectIoAlignment;
}

Status ReadError(const char* engine, const std::string& file, const ReadRequest& r, uint64_t done, int err) {
  if (err == 0) {
    return IoError(fmt::format("'{}': short read at offset {} ({}): got {} of {} bytes (file truncated?)", file,
                               r.offset, engine, done, r.min_size != 0 ? r.min_size : r.size));
  }
  return IoError(fmt::format("'{}': {} read of {} bytes at offset {} failed: {}", file, engine, r.size, r.offset,
                             std::strerror(err)));
}

Status SubmitError(const char* engine, const std::string& file, const ReadRequest& r, int err) {
  return IoError(fmt::format("'{}': {} could not submit the read of {} bytes at offset {}: {}", file, engine, r.size,
                             r.offset, std::strerror(err)));
}

namespace {

// ---- a pool of threads calling pread ----
class ThreadEngine final : public IoEngine {
 public:
  ThreadEngine(const IoEngineOptions& o, IoCallback cb) : opts_(o), cb_(std::move(cb)) {
    const int n = std::max(1, o.threads);
    for (int i = 0; i < n; ++i) threads_.emplace_back([this] { Loop(); });
  }
  ~ThreadEngine() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();  // the queue is drained first: its reads target caller buffers
  }

  Status Submit(const ReadRequest& r) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      const IoFault f = DecideFault(opts_, ++count_);
      if (f.kind == IoFault::Kind::kSubmitError) return SubmitError(name(), opts_.file_name, r, f.err);
      queue_.push_back({r, f});
    }
    cv_.notify_one();
    return Status::Ok();
  }

  const char* name() const override { return "threads"; }

 private:
  struct Job {
    ReadRequest req;
    IoFault fault;
  };

  void Loop() {
    for (;;) {
      Job job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stop_ and nothing left
        job = queue_.front();
        queue_.pop_front();
      }
      if (job.fault.kind == IoFault::Kind::kStall) std::this_thread::sleep_for(job.fault.stall);
      const Status status = Read(job);
      cb_(job.req.tag, status);
    }
  }

  Status Read(const Job& job) const {
    const ReadRequest& r = job.req;
    const uint64_t limit = job.fault.kind == IoFault::Kind::kShortRead ? ShortReadLimit(r) : r.size;
    uint64_t done = 0;
    while (done < r.size) {
      ssize_t n = done < limit ? pread(r.fd, r.dst + done, r.size - done, static_cast<off_t>(r.offset + done)) : 0;
      if (n < 0 && errno == EINTR) continue;
      const int err = n < 0 ? errno : 0;
      if (n > 0) n = static_cast<ssize_t>(std::min<uint64_t>(static_cast<uint64_t>(n), limit - done));
      if (job.fault.kind == IoFault::Kind::kCompletionError) return ReadError(name(), opts_.file_name, r, done, job.fault.err);
      if (n == 0 && r.min_size != 0 && done >= r.min_size) break;  // end of file after what was needed
      if (n <= 0) return ReadError(name(), opts_.file_name, r, done, err);
      done += static_cast<uint64_t>(n);
    }
    return Status::Ok();
  }

  IoEngineOptions opts_;
  IoCallback cb_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  uint64_t count_ = 0;
  bool stop_ = false;
};

}  // namespace

Result<std::unique_ptr<IoEngine>> MakeIoEngine(const IoEngineOptions& options, IoCallback callback) {
  if (options.kind == "uring") return MakeUringEngine(options, std::move(callback));
  if (options.kind == "threads") return std::unique_ptr<IoEngine>(std::make_unique<ThreadEngine>(options, std::move(callback)));
  return InvalidArgument(fmt::format("unknown I/O engine '{}' (expected uring or threads)", options.kind));
}

}  // namespace st
