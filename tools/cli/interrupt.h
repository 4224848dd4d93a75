// Ctrl-C (SIGINT) handling and line input that a Ctrl-C can interrupt.
//
// After InstallInterruptHandler(), the first SIGINT only raises a flag that the generation loop
// polls (InterruptRequested) and wakes a LineReader waiting for input; a second SIGINT before
// ClearInterrupt() ends the process at once with exit code 130, as llama.cpp does.
#pragma once

#include <string>

namespace st {

// Installs the handler (idempotent). Not thread-safe; call from main before generating.
void InstallInterruptHandler();
// True once SIGINT arrived since the last ClearInterrupt(). Async-signal-safe to set, cheap to poll.
bool InterruptRequested();
// Forgets a pending interrupt (the next Ctrl-C is again a "first" one).
void ClearInterrupt();

// Reads lines from a file descriptor (stdin) without stdio buffering, so that a Ctrl-C while
// waiting wakes it. Not thread-safe.
class LineReader {
 public:
  enum class Result { kLine, kEof, kInterrupted };

  explicit LineReader(int fd = 0) : fd_(fd) {}

  // The next line, without its "\n" (and a "\r" before it). A last line without "\n" is returned
  // as a line; kEof follows. kInterrupted: a SIGINT arrived (the flag stays raised).
  Result ReadLine(std::string* line);

 private:
  int fd_;
  std::string buffer_;
  bool eof_ = false;
};

}  // namespace st
