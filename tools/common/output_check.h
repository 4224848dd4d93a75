// What every program does about its standard output: a closed pipe (`| head -c1`) or a full disk
// is a failed write, reported in one "error:" line with exit code 4 (kExitIo), never ignored and
// never a silent death by SIGPIPE (exit 141).
#pragma once

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>

#include "cli/exit_codes.h"

namespace st {

// Called first in main: with SIGPIPE ignored, a write to a closed pipe fails with EPIPE, which
// the checks below report like any other failed write.
inline void IgnoreSigpipe() { std::signal(SIGPIPE, SIG_IGN); }

// Flushes stdout at the end of a run. A failed write (now or earlier: the stream's error flag)
// prints one error line and turns a successful `code` (0 or 1) into kExitIo; another failure's
// code is kept (its error is already printed).
inline int FinishStdout(int code) {
  errno = 0;
  const bool flushed = std::fflush(stdout) == 0;
  const int err = errno;
  if (flushed && !std::ferror(stdout)) return code;
  if (code != kExitOk && code != kExitError) return code;
  std::fprintf(stderr, "error: writing to stdout failed: %s (output is incomplete)\n",
               err != 0 ? std::strerror(err) : "write error");
  return kExitIo;
}

}  // namespace st
