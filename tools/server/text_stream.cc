#include "server/text_stream.h"

#include <algorithm>

namespace st {

size_t PartialStopSuffix(std::string_view text, const std::vector<std::string>& stops) {
  size_t best = 0;
  for (const std::string& s : stops) {
    // Longest k < |s| with text ending in s[0, k).
    for (size_t k = std::min(text.size(), s.size() - 1); k > best; --k) {
      if (text.compare(text.size() - k, k, s, 0, k) == 0) {
        best = k;
        break;
      }
    }
  }
  return best;
}

TextStream::TextStream(const Tokenizer& tokenizer, std::vector<std::string> stops)
    : utf8_(tokenizer, /*render_special=*/false) {
  for (std::string& s : stops) {
    if (!s.empty()) stops_.push_back(std::move(s));
  }
}

std::string TextStream::Push(int32_t id) {
  if (stopped_) return {};
  held_ += utf8_.Push(id);
  return Release();
}

std::string TextStream::PushText(std::string_view text) {
  if (stopped_) return {};
  held_ += utf8_.PushBytes(text);
  return Release();
}

std::string TextStream::Release() {
  // The earliest stop string wins (OpenAI: the returned text never contains one).
  size_t first = std::string::npos;
  for (const std::string& s : stops_) {
    const size_t at = held_.find(s);
    if (at < first) {
      first = at;
      stop_found_ = s;
    }
  }
  if (first != std::string::npos) {
    stopped_ = true;
    std::string out = held_.substr(0, first);
    held_.clear();
    (void)utf8_.Flush();
    return out;
  }
  const size_t hold = PartialStopSuffix(held_, stops_);
  std::string out = held_.substr(0, held_.size() - hold);
  held_.erase(0, held_.size() - hold);
  return out;
}

std::string TextStream::Finish() {
  if (stopped_) return {};
  std::string out = held_ + utf8_.Flush();
  held_.clear();
  return out;
}

}  // namespace st
