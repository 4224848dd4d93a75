// IoEngine: asynchronous reads of expert bytes from disk, completed on the engine's own thread.
//
// Two implementations, chosen with --io-engine: io_uring (liburing; one reaper thread, the caller
// submits directly) and a pool of threads calling pread. Both read with O_DIRECT into 4 KiB-aligned
// buffers, so the page cache neither hides the disk nor takes memory from the budget.
//
// Thread-safety: Submit may be called from one thread at a time (the decoder); the completion
// callback runs on an engine thread and must be thread-safe with respect to the caller.
#pragma once

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

// Called once per request, on an engine thread: OK, or an error naming the file, offset and cause.
using IoCallback = std::function<void(uint64_t tag, Status status)>;

class IoEngine {
 public:
  virtual ~IoEngine() = default;
  virtual void Submit(const ReadRequest& r) = 0;
  virtual const char* name() const = 0;
};

struct IoEngineOptions {
  std::string kind = "uring";  // "uring" or "threads"
  unsigned queue_depth = 64;   // io_uring entries
  int threads = 2;             // reader threads for "threads"
  std::string file_name;       // for error messages
  // Test hook: the n-th read (1-based) fails with EIO; 0 = never.
  uint64_t fail_read_number = 0;
};

Result<std::unique_ptr<IoEngine>> MakeIoEngine(const IoEngineOptions& options, IoCallback callback);

}  // namespace st
