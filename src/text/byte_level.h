// Byte-level BPE text: every byte is written as one printable code point (GPT-2's
// bytes_to_unicode, see ByteToUnicode in vocab.h), so vocabularies hold only printable text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace st {

// The byte-level form of one byte (precomputed; thread-safe).
const std::string& ByteLevelChar(uint8_t b);

// Appends the byte-level form of `bytes` to `out`.
void ByteLevelEncode(std::string_view bytes, std::string& out);

// Maps byte-level text back to the bytes it stands for. A code point that stands for no byte
// (not produced by ByteLevelEncode; only a malformed vocabulary has one) is kept as its UTF-8.
std::string ByteLevelDecode(std::string_view text);

}  // namespace st
