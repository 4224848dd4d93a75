#include "text/vocab.h"

#include <fmt/format.h>

namespace st {

namespace {

std::string Utf8(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xc0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    s += static_cast<char>(0xe0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    s += static_cast<char>(0x80 | (cp & 0x3f));
  }
  return s;
}

Result<int32_t> OptionalId(const GgufFile& f, const std::string& key, size_t n_tokens) {
  ST_ASSIGN_OR_RETURN(auto id, f.GetOptionalUint(key));
  if (!id) return -1;
  if (*id >= n_tokens) {
    return InvalidFile(fmt::format("key '{}': token id {} is outside the vocabulary of {} tokens", key, *id, n_tokens));
  }
  return static_cast<int32_t>(*id);
}

}  // namespace

std::string ByteToUnicode(uint8_t b) {
  const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
  if (printable) return Utf8(b);
  // Non-printable bytes take code points 256, 257, ... in byte order.
  uint32_t n = 0;
  for (uint32_t c = 0; c < b; ++c) {
    const bool p = (c >= 33 && c <= 126) || (c >= 161 && c <= 172) || (c >= 174);
    if (!p) ++n;
  }
  return Utf8(256 + n);
}

Result<Vocab> Vocab::FromGguf(const GgufFile& f) {
  Vocab v;
  ST_ASSIGN_OR_RETURN(auto model, f.GetOptionalString("tokenizer.ggml.model"));
  if (!model) return NotFound("missing key 'tokenizer.ggml.model': the file has no tokenizer");
  v.model = *model;
  ST_ASSIGN_OR_RETURN(auto pre, f.GetOptionalString("tokenizer.ggml.pre"));
  v.pre = pre.value_or("default");
  ST_ASSIGN_OR_RETURN(const GgufValue::Array* tokens, f.GetArray("tokenizer.ggml.tokens", GgufType::kString));
  v.tokens.reserve(tokens->size());
  for (size_t i = 0; i < tokens->size(); ++i) v.tokens.push_back(tokens->StringAt(i));
  if (f.Has("tokenizer.ggml.token_type")) {
    ST_ASSIGN_OR_RETURN(const GgufValue::Array* types, f.GetArray("tokenizer.ggml.token_type", GgufType::kInt32));
    if (types->size() != v.tokens.size()) {
      return InvalidFile(fmt::format("key 'tokenizer.ggml.token_type': {} entries, expected {} (one per token)",
                                     types->size(), v.tokens.size()));
    }
    v.types.reserve(types->size());
    for (size_t i = 0; i < types->size(); ++i) v.types.push_back(static_cast<int32_t>(types->IntAt(i)));
  } else {
    v.types.assign(v.tokens.size(), static_cast<int32_t>(TokenType::kNormal));
  }
  if (f.Has("tokenizer.ggml.merges")) {
    ST_ASSIGN_OR_RETURN(const GgufValue::Array* merges, f.GetArray("tokenizer.ggml.merges", GgufType::kString));
    v.merges.reserve(merges->size());
    for (size_t i = 0; i < merges->size(); ++i) v.merges.push_back(merges->StringAt(i));
  }
  ST_ASSIGN_OR_RETURN(v.bos_id, OptionalId(f, "tokenizer.ggml.bos_token_id", v.tokens.size()));
  ST_ASSIGN_OR_RETURN(v.eos_id, OptionalId(f, "tokenizer.ggml.eos_token_id", v.tokens.size()));
  ST_ASSIGN_OR_RETURN(v.pad_id, OptionalId(f, "tokenizer.ggml.padding_token_id", v.tokens.size()));
  ST_ASSIGN_OR_RETURN(auto add_bos, f.GetOptionalBool("tokenizer.ggml.add_bos_token"));
  v.add_bos = add_bos.value_or(false);
  ST_ASSIGN_OR_RETURN(auto tmpl, f.GetOptionalString("tokenizer.chat_template"));
  v.chat_template = tmpl.value_or("");
  return v;
}

void Vocab::WriteTo(GgufWriter& w) const {
  w.Set("tokenizer.ggml.model", GgufValue::Str(model));
  w.Set("tokenizer.ggml.pre", GgufValue::Str(pre));
  w.Set("tokenizer.ggml.tokens", GgufValue::StrArray(tokens));
  w.Set("tokenizer.ggml.token_type", GgufValue::I32Array(types));
  w.Set("tokenizer.ggml.merges", GgufValue::StrArray(merges));
  if (bos_id >= 0) w.Set("tokenizer.ggml.bos_token_id", GgufValue::U32(static_cast<uint32_t>(bos_id)));
  if (eos_id >= 0) w.Set("tokenizer.ggml.eos_token_id", GgufValue::U32(static_cast<uint32_t>(eos_id)));
  if (pad_id >= 0) w.Set("tokenizer.ggml.padding_token_id", GgufValue::U32(static_cast<uint32_t>(pad_id)));
  w.Set("tokenizer.ggml.add_bos_token", GgufValue::Bool(add_bos));
  if (!chat_template.empty()) w.Set("tokenizer.chat_template", GgufValue::Str(chat_template));
}

void Vocab::PadTo(size_t n) {
  for (size_t i = tokens.size(); i < n; ++i) {
    tokens.push_back(fmt::format("[PAD{}]", i));
    types.push_back(static_cast<int32_t>(TokenType::kUserDefined));
  }
}

}  // namespace st
