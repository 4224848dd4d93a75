// IoEngine: asynchronous reads of expert bytes from disk, completed on the engine's own thread.
//
// Two implementations, chosen with --io-engine: io_uring (liburing; one reaper thread, the caller
// submits directly; uring_engine.cc) and a pool of threads calling pread (io_engine.cc). Both read
// with O_DIRECT into 4 KiB-aligned buffers, so the page cache neither hides the disk nor takes
// memory from the budget.
//
// Failures are values, never hangs: a request is either refused by Submit (the callback is then
// never called for it) or completed exactly once through the callback, with OK or an error naming
// the engine, file, offset, size and errno text. The io_uring engine keeps at most queue_depth - 1
// reads in the ring (one entry is kept for shutdown) and queues the rest in memory, so the ring
// never overruns however many reads the cache starts at once.
//
// Thread-safety: Submit may be called from any thread (it locks); the completion callback runs on
// an engine thread, never inside Submit, and must be thread-safe with respect to the caller.
#pragma once

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "smallthinker/status.h"

namespace st {

inline constexpr uint64_t kDirectIoAlignment = 4096;

struct ReadRequest {
  int fd = -1;
  uint64_t offset = 0;  // REQUIRES: multiple of kDirectIoAlignment
  uint64_t size = 0;    // REQUIRES: multiple of kDirectIoAlignment
  // Bytes that must arrive; the read may end early at end of file once these have (an aligned
  // read of the file's last bytes extends past its end). 0 = all of `size`.
  uint64_t min_size = 0;
  uint8_t* dst = nullptr;  // REQUIRES: aligned to kDirectIoAlignment
  uint64_t tag = 0;     // returned to the callback
};

// Called once per accepted request, on an engine thread: OK, or an error naming the file, offset
// and cause.
using IoCallback = std::function<void(uint64_t tag, Status status)>;

// A fault injected into one read, for tests. Both engines apply it at the same point, so they fail
// the same way: kSubmitError as the submission (io_uring_submit / handing to a reader thread)
// failing with `err`; kShortRead as the file ending after half of the bytes the read needs;
// kCompletionError as the read completing with `err`; kStall as the completion arriving `stall`
// late (the disk hanging). kBrokenRing (io_uring only; the pread pool ignores it) as the ring
// itself failing from this request on: every later wait for completions returns `err`.
struct IoFault {
  enum class Kind { kNone, kSubmitError, kShortRead, kCompletionError, kStall, kBrokenRing };
  Kind kind = Kind::kNone;
  int err = EIO;
  std::chrono::milliseconds stall{0};
};
// Decides the fault of the n-th request submitted (1-based). Called under the engine's lock.
using IoFaultHook = std::function<IoFault(uint64_t n)>;

class IoEngine {
 public:
  virtual ~IoEngine() = default;  // waits for the reads in flight (they write into caller buffers)
  // Starts reading r. An error means the request was not accepted and no callback will come.
  virtual Status Submit(const ReadRequest& r) = 0;
  virtual const char* name() const = 0;
};

struct IoEngineOptions {
  std::string kind = "uring";  // "uring" or "threads"
  unsigned queue_depth = 64;   // io_uring entries (at least 2: one is kept for shutdown)
  int threads = 2;             // reader threads for "threads"
  std::string file_name;       // for error messages
  // Test hooks: the n-th read (1-based) fails with EIO (0 = never); `fault` decides any fault.
  uint64_t fail_read_number = 0;
  IoFaultHook fault;
};

Result<std::unique_ptr<IoEngine>> MakeIoEngine(const IoEngineOptions& options, IoCallback callback);

// ---- shared by the two engines (io_engine.cc) ----
// The fault for the n-th request: options.fault, else fail_read_number's EIO.
IoFault DecideFault(const IoEngineOptions& options, uint64_t n);
// Bytes a kShortRead fault lets through: half of what must arrive, page-aligned, so the read
// reaches end of file before it has its minimum.
uint64_t ShortReadLimit(const ReadRequest& r);
// "<engine> read of <size> bytes at offset <off> of '<file>' failed: <errno text>" (err != 0), or
// the short-read message naming the bytes that did arrive (err == 0).
Status ReadError(const char* engine, const std::string& file, const ReadRequest& r, uint64_t done, int err);
Status SubmitError(const char* engine, const std::string& file, const ReadRequest& r, int err);
Result<std::unique_ptr<IoEngine>> MakeUringEngine(const IoEngineOptions& options, IoCallback callback);

}  // namespace st
