// TextStream: a generated token sequence as text that is safe to send to a client as it comes,
// with OpenAI's `stop` strings applied.
//
// Two things are held back from the client until more tokens decide them: the end of an
// incomplete UTF-8 character (a token may hold part of one), and a tail that may be the start of a
// stop string ("\n\nUs" while a stop string is "\n\nUser:"). When a stop string appears, the text
// before it is released, the stop string and everything after it are dropped, and stopped() turns
// true: the request ends with finish_reason "stop". Released text concatenated over a request is
// exactly the non-streamed answer, whatever the token boundaries were.
//
// Not thread-safe (one per request).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "text/streaming_decoder.h"
#include "text/tokenizer.h"

namespace st {

class TextStream {
 public:
  // Empty stop strings are ignored. Control tokens are not rendered (as llama-server's default).
  TextStream(const Tokenizer& tokenizer, std::vector<std::string> stops);

  // Adds token `id`; returns the text that became final (possibly empty). After a stop string was
  // found, returns "" for every further token.
  std::string Push(int32_t id);
  // Raw text in (tests; the same rules as a token's bytes).
  std::string PushText(std::string_view text);
  // At the end of generation: everything still held back (a partial stop string is not a stop).
  std::string Finish();

  bool stopped() const { return stopped_; }
  // The stop string that ended the text ("" when none did).
  const std::string& stop_found() const { return stop_found_; }

 private:
  std::string Release();

  StreamingDecoder utf8_;
  std::vector<std::string> stops_;
  std::string held_;   // complete characters not yet released
  bool stopped_ = false;
  std::string stop_found_;
};

// The length of the longest suffix of `text` that is a proper prefix of one of `stops` (what must
// be held back because the next tokens may complete a stop string). Exposed for tests.
size_t PartialStopSuffix(std::string_view text, const std::vector<std::string>& stops);

}  // namespace st
