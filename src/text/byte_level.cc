#include "text/byte_level.h"

#include <array>
#include <vector>

#include "text/unicode.h"
#include "text/vocab.h"

namespace st {

namespace {

struct Tables {
  std::array<std::string, 256> byte_to_text;
  std::vector<int16_t> cp_to_byte;  // -1 where a code point stands for no byte

  Tables() : cp_to_byte(0x200, -1) {
    for (int b = 0; b < 256; ++b) {
      byte_to_text[b] = ByteToUnicode(static_cast<uint8_t>(b));
      const auto units = DecodeUtf8(byte_to_text[b]);
      cp_to_byte[units[0].cp] = static_cast<int16_t>(b);  // all mapped code points are < 0x144
    }
  }
};

const Tables& GetTables() {
  static const Tables tables;
  return tables;
}

}  // namespace

const std::string& ByteLevelChar(uint8_t b) { return GetTables().byte_to_text[b]; }

void ByteLevelEncode(std::string_view bytes, std::string& out) {
  const Tables& t = GetTables();
  for (char c : bytes) out += t.byte_to_text[static_cast<uint8_t>(c)];
}

std::string ByteLevelDecode(std::string_view text) {
  const Tables& t = GetTables();
  std::string out;
  out.reserve(text.size());
  const auto units = DecodeUtf8(text);
  for (size_t i = 0; i < units.size(); ++i) {
    const uint32_t cp = units[i].cp;
    const size_t begin = units[i].offset;
    const size_t end = i + 1 < units.size() ? units[i + 1].offset : text.size();
    if (cp < t.cp_to_byte.size() && t.cp_to_byte[cp] >= 0) {
      out += static_cast<char>(t.cp_to_byte[cp]);
    } else {
      out.append(text.substr(begin, end - begin));  // keep unknown code points (and bad bytes) as they are
    }
  }
  return out;
}

}  // namespace st
