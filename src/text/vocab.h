// Vocab: the tokenizer section of a GGUF file (`tokenizer.ggml.*` and `tokenizer.chat_template`),
// as plain data. The Tokenizer is built from it; model generators and converters write it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "format/gguf_file.h"
#include "format/gguf_writer.h"
#include "smallthinker/status.h"

namespace st {

// tokenizer.ggml.token_type values.
enum class TokenType : int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

struct Vocab {
  std::string model = "gpt2";            // tokenizer.ggml.model
  std::string pre = "qwen2";             // tokenizer.ggml.pre
  std::vector<std::string> tokens;       // id -> token text (byte-level: GPT-2 byte-to-unicode mapped)
  std::vector<int32_t> types;            // id -> TokenType (same length as tokens)
  std::vector<std::string> merges;       // "a b", rank = index
  int32_t bos_id = -1;
  int32_t eos_id = -1;
  int32_t pad_id = -1;
  bool add_bos = false;
  std::string chat_template;             // empty if none

  // Reads the tokenizer keys. Missing tokenizer.ggml.tokens: NotFound. Inconsistent lengths or ids
  // out of range: InvalidFile naming the key.
  static Result<Vocab> FromGguf(const GgufFile& file);
  // Sets the tokenizer keys on a writer.
  void WriteTo(GgufWriter& writer) const;
  // Appends "[PAD<i>]" filler tokens (type user-defined) until there are n tokens.
  void PadTo(size_t n);
};

// The GPT-2 byte-to-unicode mapping: byte b -> the UTF-8 text of the code point that stands for it
// in byte-level BPE vocabularies (printable bytes map to themselves, the rest to U+0100 onwards).
std::string ByteToUnicode(uint8_t b);

}  // namespace st
