#include "text/streaming_decoder.h"

namespace st {

namespace {

// The length of the UTF-8 sequence that `lead` starts (2..4), or 0 if it starts none.
size_t SequenceLength(uint8_t lead) {
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

// Whether `second` may follow `lead` in a valid sequence (rules out overlong forms, surrogates and
// code points past U+10FFFF, as RFC 3629's table does).
bool ValidSecondByte(uint8_t lead, uint8_t second) {
  if ((second & 0xc0) != 0x80) return false;
  switch (lead) {
    case 0xe0: return second >= 0xa0;
    case 0xed: return second <= 0x9f;
    case 0xf0: return second >= 0x90;
    case 0xf4: return second <= 0x8f;
    default: return true;
  }
}

}  // namespace

size_t IncompleteUtf8Suffix(std::string_view s) {
  // The last lead byte within the final 3 bytes, if the bytes after it are its continuation.
  const size_t n = s.size();
  for (size_t k = 1; k <= 3 && k <= n; ++k) {
    const auto lead = static_cast<uint8_t>(s[n - k]);
    if ((lead & 0xc0) == 0x80) continue;  // a continuation byte: look further back
    const size_t need = SequenceLength(lead);
    if (need <= k) return 0;  // ASCII, an invalid lead, or a sequence that is already complete
    if (k >= 2 && !ValidSecondByte(lead, static_cast<uint8_t>(s[n - k + 1]))) return 0;
    for (size_t j = n - k + 2; j < n; ++j) {
      if ((static_cast<uint8_t>(s[j]) & 0xc0) != 0x80) return 0;
    }
    return k;
  }
  return 0;
}

std::string StreamingDecoder::Push(int32_t id) { return PushBytes(tokenizer_->TokenToPiece(id, render_special_)); }

std::string StreamingDecoder::PushBytes(std::string_view bytes) {
  pending_.append(bytes);
  const size_t hold = IncompleteUtf8Suffix(pending_);
  std::string out = pending_.substr(0, pending_.size() - hold);
  pending_.erase(0, pending_.size() - hold);
  return out;
}

std::string StreamingDecoder::Flush() {
  std::string out;
  out.swap(pending_);
  return out;
}

}  // namespace st
