#include "text/unicode.h"

#include <algorithm>
#include <array>

#include "text/unicode_tables.h"

namespace st {

namespace {

// ASCII is most of the text the tokenizer sees: answer it from a 128-entry table.
std::array<uint8_t, 128> MakeAsciiFlags() {
  std::array<uint8_t, 128> t{};
  for (uint32_t c = 0; c < 128; ++c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) t[c] = kFlagLetter;
    if (c >= '0' && c <= '9') t[c] = kFlagNumber;
    if ((c >= 0x09 && c <= 0x0d) || c == ' ') t[c] = kFlagWhitespace;
  }
  return t;
}

const std::array<uint8_t, 128> kAsciiFlags = MakeAsciiFlags();

}  // namespace

uint8_t CodepointFlags(uint32_t cp) {
  if (cp < 128) return kAsciiFlags[cp];
  using unicode_tables::CodepointRange;
  const CodepointRange* begin = unicode_tables::kRanges;
  const CodepointRange* end = begin + unicode_tables::kRangeCount;
  // The first range whose last code point is >= cp.
  const CodepointRange* r =
      std::lower_bound(begin, end, cp, [](const CodepointRange& a, uint32_t v) { return a.last < v; });
  return (r != end && r->first <= cp) ? r->flags : 0;
}

size_t ValidUtf8Length(std::string_view s) {
  if (s.empty()) return 0;
  const auto b = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  const uint8_t c = b(0);
  if (c < 0x80) return 1;
  size_t n;
  uint32_t min;
  if ((c & 0xe0) == 0xc0) {
    n = 2, min = 0x80;
  } else if ((c & 0xf0) == 0xe0) {
    n = 3, min = 0x800;
  } else if ((c & 0xf8) == 0xf0) {
    n = 4, min = 0x10000;
  } else {
    return 0;  // a continuation byte or 0xf8..0xff
  }
  if (s.size() < n) return 0;
  uint32_t cp = c & (0x7f >> n);
  for (size_t i = 1; i < n; ++i) {
    if ((b(i) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b(i) & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

std::vector<Utf8Unit> DecodeUtf8(std::string_view text) {
  std::vector<Utf8Unit> units;
  units.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const uint8_t c = static_cast<uint8_t>(text[i]);
    if (c < 0x80) {
      units.push_back({c, i});
      ++i;
      continue;
    }
    const size_t n = ValidUtf8Length(text.substr(i, 4));
    if (n == 0) {
      units.push_back({kInvalidCodepoint, i});
      ++i;
      continue;
    }
    uint32_t cp = c & (0x7f >> n);
    for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<uint8_t>(text[i + k]) & 0x3f);
    units.push_back({cp, i});
    i += n;
  }
  return units;
}

void AppendUtf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

}  // namespace st
