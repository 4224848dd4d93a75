// The io_uring engine: the caller's thread fills and submits SQEs; one reaper thread takes CQEs,
// continues partial reads and moves queued requests into the ring as entries free up.
//
// Every io_uring_submit result is checked. An SQE the kernel did not take is rewritten into a no-op
// before the lock is dropped (the next submission carries it harmlessly), so a read reported as
// failed can never later land in a buffer the cache has reused.
#include <fmt/format.h>
#include <liburing.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "offload/io_engine.h"

namespace st {
namespace {

constexpr uint64_t kShutdownTag = ~0ull;
constexpr uint64_t kStaleTag = ~0ull - 1;  // a no-op standing in for an SQE whose submission failed
constexpr int kMaxRetries = 3;             // for EINTR/EAGAIN/EBUSY, from the kernel or on a completion

class UringEngine final : public IoEngine {
 public:
  UringEngine(const IoEngineOptions& o, IoCallback cb) : opts_(o), cb_(std::move(cb)) {}

  ~UringEngine() override {
    if (!started_) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      // The reserved entry: reads never take the last one. If even this fails, the reaper's timed
      // wait still sees stop_.
      if (io_uring_sqe* sqe = io_uring_get_sqe(&ring_)) {
        io_uring_prep_nop(sqe);
        io_uring_sqe_set_data64(sqe, kShutdownTag);
        SubmitLocked(0);
      }
    }
    reaper_.join();
    io_uring_queue_exit(&ring_);
  }

  Status Start() {
    if (opts_.queue_depth < 2) {
      return InvalidArgument(fmt::format("io_uring queue depth {} is below 2 (one entry is kept for shutdown)",
                                         opts_.queue_depth));
    }
    const int r = io_uring_queue_init(opts_.queue_depth, &ring_, 0);
    if (r < 0) return IoError(fmt::format("io_uring_queue_init failed: {} (try --io-engine threads)", std::strerror(-r)));
    capacity_ = opts_.queue_depth - 1;
    timed_wait_ = (ring_.features & IORING_FEAT_EXT_ARG) != 0;
    started_ = true;
    reaper_ = std::thread([this] { Reap(); });
    return Status::Ok();
  }

  Status Submit(const ReadRequest& r) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!broken_.ok()) return SubmitError(name(), opts_.file_name, r, EIO).WithContext(broken_.message());
    const uint64_t id = next_id_++;
    Request& q = reqs_[id];
    q.req = r;
    q.fault = DecideFault(opts_, ++count_);
    q.limit = q.fault.kind == IoFault::Kind::kShortRead ? ShortReadLimit(r) : r.size;
    if (q.fault.kind == IoFault::Kind::kBrokenRing) broken_wait_err_ = q.fault.err;
    if (in_ring_ >= capacity_ || !waiting_.empty()) {  // the ring is full: wait for a free entry
      waiting_.push_back(id);
      return Status::Ok();
    }
    Status s = DispatchLocked(id);
    if (!s.ok()) reqs_.erase(id);
    return s;
  }

  const char* name() const override { return "io_uring"; }

 private:
  struct Request {
    ReadRequest req;
    IoFault fault;
    uint64_t limit = 0;      // bytes the read may deliver (less than size under a short-read fault)
    uint64_t done = 0;
    bool timer = false;      // its stall timer, not its read, is in the ring
    bool stalled = false;    // the stall timer has fired
    int retries = 0;
    __kernel_timespec ts{};  // read by the kernel at submission
  };
  using Finished = std::vector<std::pair<uint64_t, Status>>;  // (tag, status), for callbacks

  // Submits what is prepared. Returns 0 once the kernel has taken every SQE, else the errno.
  // REQUIRES: mu_ held.
  int SubmitLocked(int injected_err) {
    for (int attempt = 0;; ++attempt) {
      const int r = injected_err != 0 ? -injected_err : io_uring_submit(&ring_);
      if (io_uring_sq_ready(&ring_) == 0) return 0;
      const int err = r < 0 ? -r : EAGAIN;  // r >= 0 with entries left: the kernel took only part
      if (injected_err == 0 && attempt < kMaxRetries && (err == EINTR || err == EAGAIN || err == EBUSY)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        continue;
      }
      return err;
    }
  }

  // Puts request id's next operation (its stall timer, or a read of the bytes still missing) into
  // the ring and submits it. On error nothing of it is in flight; the caller fails the request.
  // REQUIRES: mu_ held; id in reqs_.
  Status DispatchLocked(uint64_t id) {
    Request& q = reqs_.at(id);
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) return SubmitError(name(), opts_.file_name, q.req, EBUSY);  // in_ring_ bounds this away
    if (q.fault.kind == IoFault::Kind::kStall && !q.stalled) {
      q.ts.tv_sec = q.fault.stall.count() / 1000;
      q.ts.tv_nsec = (q.fault.stall.count() % 1000) * 1000000;
      io_uring_prep_timeout(sqe, &q.ts, 0, 0);
      q.timer = true;
    } else {
      io_uring_prep_read(sqe, q.req.fd, q.req.dst + q.done, static_cast<unsigned>(q.req.size - q.done),
                         q.req.offset + q.done);
    }
    io_uring_sqe_set_data64(sqe, id);
    ++in_ring_;
    const int err = SubmitLocked(q.fault.kind == IoFault::Kind::kSubmitError ? q.fault.err : 0);
    if (err == 0) return Status::Ok();
    io_uring_prep_nop(sqe);  // not taken by the kernel: make it harmless (still counted in in_ring_)
    io_uring_sqe_set_data64(sqe, kStaleTag);
    q.timer = false;
    return SubmitError(name(), opts_.file_name, q.req, err);
  }

  // Moves waiting requests into the ring while it has room. REQUIRES: mu_ held.
  void FillLocked(Finished* finished) {
    while (!waiting_.empty() && in_ring_ < capacity_) {
      const uint64_t id = waiting_.front();
      waiting_.pop_front();
      Status s = DispatchLocked(id);
      if (!s.ok()) {
        finished->emplace_back(reqs_.at(id).req.tag, std::move(s));
        reqs_.erase(id);
      }
    }
  }

  // One CQE. REQUIRES: mu_ held.
  void CompleteLocked(uint64_t id, int res, Finished* finished) {
    if (id == kShutdownTag) return;  // the reserved entry, never counted
    --in_ring_;
    auto it = reqs_.find(id);
    if (it == reqs_.end()) return;  // kStaleTag
    Request& q = it->second;
    Status status;
    bool again = false;
    if (q.timer) {  // the stall is over: now the read
      q.timer = false;
      q.stalled = true;
      again = true;
    } else {
      if (q.fault.kind == IoFault::Kind::kCompletionError) res = -q.fault.err;
      if (res > 0) res = static_cast<int>(std::min<uint64_t>(static_cast<uint64_t>(res), q.limit - q.done));
      if ((res == -EAGAIN || res == -EINTR) && q.retries < kMaxRetries) {
        ++q.retries;
        again = true;
      } else if (res < 0) {
        status = ReadError(name(), opts_.file_name, q.req, q.done, -res);
      } else if (res == 0) {  // end of file
        if (q.req.min_size == 0 || q.done < q.req.min_size) status = ReadError(name(), opts_.file_name, q.req, q.done, 0);
      } else {
        q.done += static_cast<uint64_t>(res);
        again = q.done < q.req.size;  // partial read: continue where it stopped
      }
    }
    if (again) status = DispatchLocked(id);
    if (again && status.ok()) return;
    finished->emplace_back(q.req.tag, std::move(status));
    reqs_.erase(it);
  }

  void Reap() {
    int backoff_ms = 1;
    for (;;) {
      io_uring_cqe* cqe = nullptr;
      __kernel_timespec ts{0, 100 * 1000000};  // wake now and then to see stop_ even without the no-op
      int w = timed_wait_ ? io_uring_wait_cqe_timeout(&ring_, &cqe, &ts) : io_uring_wait_cqe(&ring_, &cqe);
      if (w == -EINTR) continue;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (broken_wait_err_ != 0) w = -broken_wait_err_;  // a kBrokenRing fault: as if the wait failed
      }
      Finished finished;
      bool exit = false;
      if (w == -ETIME) {
        std::lock_guard<std::mutex> lock(mu_);
        if (stop_ && (reqs_.empty() || !broken_.ok())) return;
        continue;
      }
      if (w < 0) {
        // The ring itself failed, so nothing more will complete: refuse new requests and fail the
        // queued ones now. Reads in flight may still write their buffers, so they are not reported
        // done; the cache's Acquire deadline turns them into errors. Back off instead of spinning.
        {
          std::lock_guard<std::mutex> lock(mu_);
          if (broken_.ok()) broken_ = IoError(fmt::format("io_uring: waiting for completions failed: {}", std::strerror(-w)));
          for (uint64_t id : waiting_) {
            finished.emplace_back(reqs_.at(id).req.tag, broken_);
            reqs_.erase(id);
          }
          waiting_.clear();
          exit = stop_;
        }
        for (auto& [tag, s] : finished) cb_(tag, s);
        if (exit) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
        backoff_ms = std::min(backoff_ms * 2, 100);
        continue;
      }
      backoff_ms = 1;
      const uint64_t id = io_uring_cqe_get_data64(cqe);
      const int res = cqe->res;
      io_uring_cqe_seen(&ring_, cqe);
      {
        std::lock_guard<std::mutex> lock(mu_);
        CompleteLocked(id, res, &finished);
        FillLocked(&finished);
        exit = stop_ && reqs_.empty();
      }
      for (auto& [tag, s] : finished) cb_(tag, s);
      if (exit) return;
    }
  }

  IoEngineOptions opts_;
  IoCallback cb_;
  io_uring ring_{};
  bool started_ = false;
  bool timed_wait_ = false;
  std::thread reaper_;
  std::mutex mu_;  // guards everything below, and the SQ side of ring_
  bool stop_ = false;
  Status broken_;        // set once the ring has failed
  int broken_wait_err_ = 0;  // test hook (IoFault::kBrokenRing): the errno every wait returns
  unsigned capacity_ = 0;  // entries reads may use: queue_depth - 1
  unsigned in_ring_ = 0;   // entries in use: reads, stall timers, stale no-ops
  uint64_t next_id_ = 0;
  uint64_t count_ = 0;     // requests submitted, for the fault hook
  std::unordered_map<uint64_t, Request> reqs_;  // accepted and not finished (in the ring or waiting)
  std::deque<uint64_t> waiting_;                // accepted, not yet in the ring
};

}  // namespace

Result<std::unique_ptr<IoEngine>> MakeUringEngine(const IoEngineOptions& options, IoCallback callback) {
  auto e = std::make_unique<UringEngine>(options, std::move(callback));
  ST_RETURN_IF_ERROR(e->Start());
  return std::unique_ptr<IoEngine>(std::move(e));
}

}  // namespace st
