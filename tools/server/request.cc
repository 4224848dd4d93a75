#include "server/request.h"

namespace st {

const char* FinishReasonName(FinishReason r) {
  switch (r) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kCancelled: return "cancelled";
    case FinishReason::kError: return "error";
  }
  return "error";
}

bool Request::Wait(std::vector<CompletionEvent>* out, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (final_taken_) return false;
  cv_.wait_for(lock, timeout, [&] { return !events_.empty(); });
  while (!events_.empty()) {
    if (events_.front().final) final_taken_ = true;
    out->push_back(std::move(events_.front()));
    events_.pop_front();
  }
  return true;
}

void Request::Push(CompletionEvent event) {
  {
    std::lock_guard lock(mu_);
    if (final_pushed_) return;
    if (event.final) final_pushed_ = true;
    events_.push_back(std::move(event));
  }
  cv_.notify_all();
}

bool Request::finished() const {
  std::lock_guard lock(mu_);
  return final_pushed_;
}

}  // namespace st
