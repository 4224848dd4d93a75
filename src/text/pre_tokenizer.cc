#include "text/pre_tokenizer.h"

#include <fmt/format.h>

#include <cstdint>
#include <string>

#include "text/unicode.h"

namespace st {

namespace {

constexpr uint8_t kL = kFlagLetter;
constexpr uint8_t kN = kFlagNumber;
constexpr uint8_t kW = kFlagWhitespace;
constexpr uint32_t kEnd = 0xffffffff;  // code point "past the end"; matches no class

// Code points and flags of the decoded text, with out-of-range reads answering "nothing", so the
// scanners can look ahead without bounds checks.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : units_(DecodeUtf8(text)), text_size_(text.size()) {
    flags_.reserve(units_.size());
    for (const auto& u : units_) flags_.push_back(CodepointFlags(u.cp));
  }
  size_t size() const { return units_.size(); }
  uint32_t cp(size_t i) const { return i < units_.size() ? units_[i].cp : kEnd; }
  uint8_t flags(size_t i) const { return i < units_.size() ? flags_[i] : 0; }
  bool Is(size_t i, uint8_t f) const { return (flags(i) & f) != 0; }
  // [^\s\p{L}\p{N}]: any unit that is not a letter, number or whitespace (not past the end).
  bool IsOther(size_t i) const { return i < units_.size() && (flags_[i] & (kL | kN | kW)) == 0; }
  bool IsNewline(size_t i) const { return cp(i) == '\r' || cp(i) == '\n'; }
  size_t Offset(size_t i) const { return i < units_.size() ? units_[i].offset : text_size_; }
  // The end of the run of units with flag `f` that starts at i.
  size_t RunEnd(size_t i, uint8_t f) const {
    while (Is(i, f)) ++i;
    return i;
  }

 private:
  std::vector<Utf8Unit> units_;
  std::vector<uint8_t> flags_;
  size_t text_size_;
};

uint32_t AsciiLower(uint32_t c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

// 's|'t|'re|'ve|'m|'ll|'d at i: the unit count matched, or 0.
size_t MatchContraction(const Cursor& c, size_t i, bool ignore_case) {
  if (c.cp(i) != '\'') return 0;
  const auto at = [&](size_t k) { return ignore_case ? AsciiLower(c.cp(i + k)) : c.cp(i + k); };
  const uint32_t a = at(1);
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  const uint32_t b = at(2);
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  return 0;
}

// \s+(?!\S)|\s+ at a whitespace unit i: the whole run if it reaches the end of the text, else the
// run less its last unit (which then leads the next word, e.g. " Hello"), else one unit.
size_t MatchWhitespace(const Cursor& c, size_t i) {
  const size_t end = c.RunEnd(i, kW);
  if (end == c.size() || end - i == 1) return end;
  return end - 1;
}

// The end of the qwen2 match at i (i < size).
size_t NextQwen2(const Cursor& c, size_t i) {
  // (?i:'s|'t|'re|'ve|'m|'ll|'d)
  if (size_t n = MatchContraction(c, i, /*ignore_case=*/true)) return i + n;
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (c.Is(i, kL)) return c.RunEnd(i, kL);
  if (!c.IsNewline(i) && !c.Is(i, kL | kN) && c.Is(i + 1, kL)) return c.RunEnd(i + 1, kL);
  // \p{N}
  if (c.Is(i, kN)) return i + 1;
  // ' '?[^\s\p{L}\p{N}]+[\r\n]*
  const size_t s = (c.cp(i) == ' ' && c.IsOther(i + 1)) ? i + 1 : i;
  if (c.IsOther(s)) {
    size_t e = s + 1;
    while (c.IsOther(e)) ++e;
    while (c.IsNewline(e)) ++e;
    return e;
  }
  // Only whitespace is left. \s*[\r\n]+ : greedy \s* backs off to the last newline of the run.
  const size_t run_end = c.RunEnd(i, kW);
  for (size_t k = run_end; k > i; --k) {
    if (c.IsNewline(k - 1)) return k;
  }
  // \s+(?!\S)|\s+
  return MatchWhitespace(c, i);
}

// The end of the gpt-2 match at i (i < size).
size_t NextGpt2(const Cursor& c, size_t i) {
  if (size_t n = MatchContraction(c, i, /*ignore_case=*/false)) return i + n;
  // ' '?\p{L}+ | ' '?\p{N}+ : the optional space binds to the class that follows it.
  const size_t s = c.cp(i) == ' ' ? i + 1 : i;
  if (c.Is(s, kL)) return c.RunEnd(s, kL);
  if (c.Is(s, kN)) return c.RunEnd(s, kN);
  // ' '?[^\s\p{L}\p{N}]+
  if (c.IsOther(s)) {
    size_t e = s + 1;
    while (c.IsOther(e)) ++e;
    return e;
  }
  // \s+(?!\S)|\s+
  return MatchWhitespace(c, i);
}

}  // namespace

Result<PreTokenizerKind> PreTokenizerFromName(std::string_view name) {
  if (name == "qwen2") return PreTokenizerKind::kQwen2;
  if (name == "gpt-2" || name == "gpt2") return PreTokenizerKind::kGpt2;
  return Unsupported(fmt::format("tokenizer.ggml.pre '{}' is not supported (supported: qwen2, gpt-2)", name));
}

void PreTokenize(PreTokenizerKind kind, std::string_view text, std::vector<std::string_view>& words) {
  const Cursor c(text);
  size_t i = 0;
  while (i < c.size()) {
    size_t e = kind == PreTokenizerKind::kQwen2 ? NextQwen2(c, i) : NextGpt2(c, i);
    if (e <= i) e = i + 1;  // every unit belongs to some word; never loop forever
    const size_t b0 = c.Offset(i), b1 = c.Offset(e);
    words.push_back(text.substr(b0, b1 - b0));
    i = e;
  }
}

}  // namespace st
