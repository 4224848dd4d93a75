// UTF-8 decoding and the code point classes (\p{L}, \p{N}, \s) used by the pre-tokenizers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace st {

enum CodepointFlag : uint8_t {
  kFlagLetter = 1,      // \p{L}: Lu Ll Lt Lm Lo
  kFlagNumber = 2,      // \p{N}: Nd Nl No
  kFlagWhitespace = 4,  // \s: the White_Space property
};

// The CodepointFlag bits of `cp` (0 for everything else: punctuation, symbols, marks, controls,
// unassigned code points). Thread-safe, no allocation.
uint8_t CodepointFlags(uint32_t cp);

// One decoded unit of input text. An invalid UTF-8 byte (stray continuation byte, overlong form,
// surrogate, truncated sequence, > U+10FFFF) becomes a unit of its own, 1 byte long, with
// cp = kInvalidCodepoint: it classifies like U+FFFD (a symbol) but keeps its original byte.
struct Utf8Unit {
  uint32_t cp;
  size_t offset;  // byte offset of the unit in the text
};

inline constexpr uint32_t kInvalidCodepoint = 0xFFFD;

// Decodes `text` into units; units[i].offset is increasing and a unit ends where the next begins
// (the last ends at text.size()). Never fails.
std::vector<Utf8Unit> DecodeUtf8(std::string_view text);

// The length of the valid UTF-8 sequence starting at s[0], or 0 if it is not one (or is cut off
// by the end of `s`).
size_t ValidUtf8Length(std::string_view s);

// Appends the UTF-8 form of `cp` (REQUIRES: cp <= 0x10FFFF).
void AppendUtf8(uint32_t cp, std::string& out);

// Removes a leading UTF-8 byte-order mark (EF BB BF), which some editors write at the start of a
// text file: left in, it would be part of the first prompt (and hide a JSONL line's '{').
// Returns whether there was one.
inline bool StripUtf8Bom(std::string& text) {
  if (text.compare(0, 3, "\xEF\xBB\xBF") != 0) return false;
  text.erase(0, 3);
  return true;
}

}  // namespace st
