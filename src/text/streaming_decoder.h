// StreamingDecoder: turns generated token ids into text that is safe to print as it comes.
//
// A byte-level BPE token may hold part of a UTF-8 character (an emoji is often 2-3 tokens).
// Push() returns only complete characters and holds back a trailing partial one until the next
// token completes it; Flush() returns whatever is held at the end. Bytes that can never become
// valid UTF-8 (a stray continuation byte, 0xff, an overlong lead) are passed through at once,
// unchanged, rather than held forever.
//
// Not thread-safe (one per generation stream). The tokenizer must outlive it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "text/tokenizer.h"

namespace st {

class StreamingDecoder {
 public:
  // render_special: print control tokens' text (see Tokenizer::TokenToPiece).
  explicit StreamingDecoder(const Tokenizer& tokenizer, bool render_special = true)
      : tokenizer_(&tokenizer), render_special_(render_special) {}

  // The text that became complete with token `id` (possibly empty).
  std::string Push(int32_t id);
  // Raw bytes in, complete characters out: Push for text that does not come from a token.
  std::string PushBytes(std::string_view bytes);
  // Everything still held back (an incomplete character, as raw bytes); resets the decoder.
  std::string Flush();

  size_t pending_bytes() const { return pending_.size(); }

 private:
  const Tokenizer* tokenizer_;
  bool render_special_;
  std::string pending_;  // an incomplete UTF-8 sequence, at most 3 bytes
};

// How many bytes at the end of `s` are the start of a UTF-8 character that more bytes could
// complete (0..3). Exposed for tests.
size_t IncompleteUtf8Suffix(std::string_view s);

}  // namespace st
