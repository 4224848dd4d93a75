#include "cli/interrupt.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "cli/exit_codes.h"

namespace st {
namespace {

volatile sig_atomic_t g_interrupted = 0;
int g_wake_pipe[2] = {-1, -1};  // the handler writes a byte to [1]; LineReader polls [0]

void OnSigint(int) {
  if (g_interrupted) _exit(kExitInterrupted);  // the second Ctrl-C: leave now
  g_interrupted = 1;
  if (g_wake_pipe[1] >= 0) {
    const char c = 1;
    const int saved = errno;
    [[maybe_unused]] ssize_t n = write(g_wake_pipe[1], &c, 1);
    errno = saved;
  }
}

void DrainWakePipe() {
  if (g_wake_pipe[0] < 0) return;
  char buf[64];
  while (read(g_wake_pipe[0], buf, sizeof buf) > 0) {
  }
}

}  // namespace

void InstallInterruptHandler() {
  if (g_wake_pipe[0] < 0 && pipe2(g_wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    g_wake_pipe[0] = g_wake_pipe[1] = -1;  // still works, without waking a blocked read
  }
  struct sigaction sa = {};
  sa.sa_handler = OnSigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocked poll returns EINTR
  sigaction(SIGINT, &sa, nullptr);
}

bool InterruptRequested() { return g_interrupted != 0; }

void ClearInterrupt() {
  g_interrupted = 0;
  DrainWakePipe();
}

LineReader::Result LineReader::ReadLine(std::string* line) {
  while (true) {
    const size_t nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      *line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      if (!line->empty() && line->back() == '\r') line->pop_back();
      return Result::kLine;
    }
    if (eof_) {
      if (buffer_.empty()) return Result::kEof;
      *line = std::move(buffer_);
      buffer_.clear();
      return Result::kLine;
    }
    if (InterruptRequested()) return Result::kInterrupted;
    pollfd fds[2] = {{fd_, POLLIN, 0}, {g_wake_pipe[0], POLLIN, 0}};
    const int nfds = g_wake_pipe[0] >= 0 ? 2 : 1;
    const int r = poll(fds, nfds, -1);
    if (r < 0) {
      if (errno == EINTR) continue;  // the loop checks the flag
      eof_ = true;
      continue;
    }
    if (nfds == 2 && (fds[1].revents & POLLIN)) continue;  // woken by SIGINT: the flag is set
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[4096];
      const ssize_t n = read(fd_, buf, sizeof buf);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) {
        eof_ = true;
        continue;
      }
      buffer_.append(buf, static_cast<size_t>(n));
    }
  }
}

}  // namespace st
