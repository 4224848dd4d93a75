#include "offload/io_engine.h"

#include <fmt/format.h>
#include <liburing.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace st {
namespace {

constexpr uint64_t kShutdownTag = ~0ull;

Status ReadError(const std::string& file, const ReadRequest& r, uint64_t done, int err) {
  if (err == 0) {
    return IoError(fmt::format("'{}': short read at offset {}: got {} of {} bytes (file truncated?)", file, r.offset,
                               done, r.size));
  }
  return IoError(fmt::format("'{}': read of {} bytes at offset {} failed: {}", file, r.size, r.offset, std::strerror(err)));
}

// Counts reads so a test can make the n-th one fail.
class FaultInjector {
 public:
  explicit FaultInjector(uint64_t fail_number) : fail_number_(fail_number) {}
  bool ShouldFail() { return fail_number_ != 0 && ++count_ == fail_number_; }

 private:
  uint64_t fail_number_;
  std::atomic<uint64_t> count_{0};
};

// ---- io_uring: the caller fills SQEs; one thread reaps CQEs and resubmits partial reads ----
class UringEngine final : public IoEngine {
 public:
  UringEngine(const IoEngineOptions& o, IoCallback cb) : opts_(o), cb_(std::move(cb)), faults_(o.fail_read_number) {}
  ~UringEngine() override {
    if (!started_) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      io_uring_sqe* sqe = GetSqeLocked();
      io_uring_prep_nop(sqe);
      io_uring_sqe_set_data64(sqe, kShutdownTag);
      io_uring_submit(&ring_);
    }
    reaper_.join();
    io_uring_queue_exit(&ring_);
  }

  Status Start() {
    const int r = io_uring_queue_init(opts_.queue_depth, &ring_, 0);
    if (r < 0) return IoError(fmt::format("io_uring_queue_init failed: {} (try --io-engine threads)", std::strerror(-r)));
    started_ = true;
    reaper_ = std::thread([this] { Reap(); });
    return Status::Ok();
  }

  void Submit(const ReadRequest& r) override {
    std::lock_guard<std::mutex> lock(mu_);
    const uint64_t id = next_id_++;
    inflight_[id] = Inflight{r, 0};
    if (faults_.ShouldFail()) {
      failed_.push_back(id);
      io_uring_sqe* sqe = GetSqeLocked();
      io_uring_prep_nop(sqe);  // completes at once; the reaper reports the injected error
      io_uring_sqe_set_data64(sqe, id);
    } else {
      PrepLocked(id);
    }
    io_uring_submit(&ring_);
  }

  const char* name() const override { return "io_uring"; }

 private:
  struct Inflight {
    ReadRequest req;
    uint64_t done;
  };

  io_uring_sqe* GetSqeLocked() {
    io_uring_sqe* sqe;
    while ((sqe = io_uring_get_sqe(&ring_)) == nullptr) io_uring_submit(&ring_);  // ring full: flush
    return sqe;
  }

  void PrepLocked(uint64_t id) {
    const Inflight& f = inflight_[id];
    io_uring_sqe* sqe = GetSqeLocked();
    io_uring_prep_read(sqe, f.req.fd, f.req.dst + f.done, static_cast<unsigned>(f.req.size - f.done),
                       f.req.offset + f.done);
    io_uring_sqe_set_data64(sqe, id);
  }

  void Reap() {
    for (;;) {
      io_uring_cqe* cqe = nullptr;
      const int w = io_uring_wait_cqe(&ring_, &cqe);
      if (w == -EINTR) continue;
      if (w < 0) continue;  // cannot happen with a valid ring; keep waiting for shutdown
      const uint64_t id = io_uring_cqe_get_data64(cqe);
      const int res = cqe->res;
      io_uring_cqe_seen(&ring_, cqe);
      if (id == kShutdownTag) {
        shutting_down_ = true;
      }
      if (shutting_down_) {
        // Drain: reads still in flight write into their buffers; return only when none is left.
        std::lock_guard<std::mutex> lock(mu_);
        if (id == kShutdownTag && inflight_.empty()) return;
        if (id == kShutdownTag) continue;
      }
      Status status;
      ReadRequest req;
      bool finished = true;
      {
        std::lock_guard<std::mutex> lock(mu_);
        Inflight& f = inflight_[id];
        req = f.req;
        auto injected = std::find(failed_.begin(), failed_.end(), id);
        if (injected != failed_.end()) {
          failed_.erase(injected);
          status = ReadError(opts_.file_name, req, 0, EIO);
        } else if (res < 0) {
          status = ReadError(opts_.file_name, req, f.done, -res);
        } else if (res == 0) {
          if (req.min_size == 0 || f.done < req.min_size) status = ReadError(opts_.file_name, req, f.done, 0);
        } else {
          f.done += static_cast<uint64_t>(res);
          if (f.done < f.req.size) {  // partial read: continue where it stopped
            PrepLocked(id);
            io_uring_submit(&ring_);
            finished = false;
          }
        }
        if (finished) inflight_.erase(id);
      }
      if (finished) cb_(req.tag, status);
      if (shutting_down_) {
        std::lock_guard<std::mutex> lock(mu_);
        if (inflight_.empty()) return;
      }
    }
  }

  IoEngineOptions opts_;
  IoCallback cb_;
  FaultInjector faults_;
  io_uring ring_{};
  bool started_ = false;
  bool shutting_down_ = false;  // reaper thread only
  std::thread reaper_;
  std::mutex mu_;  // guards the SQ side and inflight_
  uint64_t next_id_ = 0;
  std::unordered_map<uint64_t, Inflight> inflight_;
  std::vector<uint64_t> failed_;
};

// ---- a pool of threads calling pread ----
class ThreadEngine final : public IoEngine {
 public:
  ThreadEngine(const IoEngineOptions& o, IoCallback cb) : opts_(o), cb_(std::move(cb)), faults_(o.fail_read_number) {
    const int n = std::max(1, o.threads);
    for (int i = 0; i < n; ++i) threads_.emplace_back([this] { Loop(); });
  }
  ~ThreadEngine() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }

  void Submit(const ReadRequest& r) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(r);
    }
    cv_.notify_one();
  }

  const char* name() const override { return "threads"; }

 private:
  void Loop() {
    for (;;) {
      ReadRequest r;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stop_ and nothing left
        r = queue_.front();
        queue_.pop_front();
      }
      uint64_t done = 0;
      Status status;
      if (faults_.ShouldFail()) {
        status = ReadError(opts_.file_name, r, 0, EIO);
      } else {
        while (done < r.size) {
          const ssize_t n = pread(r.fd, r.dst + done, r.size - done, static_cast<off_t>(r.offset + done));
          if (n < 0 && errno == EINTR) continue;
          if (n == 0 && r.min_size != 0 && done >= r.min_size) break;  // end of file after what was needed
          if (n <= 0) {
            status = ReadError(opts_.file_name, r, done, n < 0 ? errno : 0);
            break;
          }
          done += static_cast<uint64_t>(n);
        }
      }
      cb_(r.tag, status);
    }
  }

  IoEngineOptions opts_;
  IoCallback cb_;
  FaultInjector faults_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<ReadRequest> queue_;
  bool stop_ = false;
};

}  // namespace

Result<std::unique_ptr<IoEngine>> MakeIoEngine(const IoEngineOptions& options, IoCallback callback) {
  if (options.kind == "uring") {
    auto e = std::make_unique<UringEngine>(options, std::move(callback));
    ST_RETURN_IF_ERROR(e->Start());
    return std::unique_ptr<IoEngine>(std::move(e));
  }
  if (options.kind == "threads") return std::unique_ptr<IoEngine>(std::make_unique<ThreadEngine>(options, std::move(callback)));
  return InvalidArgument(fmt::format("unknown I/O engine '{}' (expected uring or threads)", options.kind));
}

}  // namespace st
