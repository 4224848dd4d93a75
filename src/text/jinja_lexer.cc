#include "text/jinja_lexer.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>

#include <fmt/format.h>

#include "text/unicode.h"

namespace st::jinja {

std::string DescribePos(const SourcePos& pos) { return fmt::format("line {}, column {}", pos.line, pos.column); }

namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Jinja2 reads its source with universal newlines and, keep_trailing_newline being off, without
// a single trailing newline.
std::string NormalizeSource(std::string_view source) {
  std::string s;
  s.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      s += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      s += source[i];
    }
  }
  if (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

class Lexer {
 public:
  explicit Lexer(std::string src) : src_(std::move(src)) {
    line_starts_.push_back(0);
    for (size_t i = 0; i < src_.size(); ++i) {
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
    }
  }

  Result<std::vector<Token>> Run() {
    size_t p = 0;
    bool line_starting = true;  // Jinja2: the previous match ended with a newline (or none yet)
    while (p < src_.size()) {
      const size_t m = FindTagStart(p);
      std::string text = src_.substr(p, m - p);
      if (m == src_.size()) {
        Emit(Token::Kind::kText, std::move(text), p);
        break;
      }
      const char kind = src_[m + 1];  // '{', '%' or '#'
      const char sign = m + 2 < src_.size() ? src_[m + 2] : '\0';
      if (sign == '-') {
        while (!text.empty() && IsSpace(text.back())) text.pop_back();
      } else if (sign != '+' && kind != '{') {  // lstrip_blocks
        const size_t l_pos = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
        if ((l_pos > 0 || line_starting) && l_pos < text.size() &&
            std::all_of(text.begin() + static_cast<std::ptrdiff_t>(l_pos), text.end(), IsSpace)) {
          text.resize(l_pos);
        }
      }
      Emit(Token::Kind::kText, std::move(text), p);
      size_t q = m + 2 + ((sign == '-' || sign == '+') ? 1 : 0);
      Result<size_t> end = kind == '#' ? SkipComment(m, q) : kind == '%' ? LexBlock(m, q) : LexTag(m, q, false);
      if (!end.ok()) return end.status();
      p = *end;
      line_starting = p > 0 && src_[p - 1] == '\n';
    }
    tokens_.push_back(Token{Token::Kind::kEnd, "", Pos(src_.size())});
    return std::move(tokens_);
  }

 private:
  SourcePos Pos(size_t offset) const {
    const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
    const size_t line = static_cast<size_t>(it - line_starts_.begin());
    return SourcePos{static_cast<int>(line), static_cast<int>(offset - line_starts_[line - 1] + 1)};
  }
  Status Error(size_t offset, const std::string& what) const {
    return InvalidArgument(fmt::format("{}: {}", DescribePos(Pos(offset)), what));
  }
  void Emit(Token::Kind kind, std::string text, size_t offset) {
    if (kind == Token::Kind::kText && text.empty()) return;
    tokens_.push_back(Token{kind, std::move(text), Pos(offset)});
  }

  size_t FindTagStart(size_t p) const {
    for (size_t i = p; i + 1 < src_.size(); ++i) {
      if (src_[i] == '{' && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    }
    return src_.size();
  }

  // After a block or comment end: `-%}` eats all following whitespace, `+%}` nothing, a plain
  // `%}` one newline (trim_blocks).
  size_t AfterBlockEnd(size_t after, char sign) const {
    if (sign == '-') {
      while (after < src_.size() && IsSpace(src_[after])) ++after;
    } else if (sign != '+' && after < src_.size() && src_[after] == '\n') {
      ++after;
    }
    return after;
  }

  Result<size_t> SkipComment(size_t start, size_t q) {
    for (size_t i = q; i + 1 < src_.size(); ++i) {
      if (src_[i] == '#' && src_[i + 1] == '}') {
        const char sign = i > q ? src_[i - 1] : '\0';
        return AfterBlockEnd(i + 2, sign == '-' || sign == '+' ? sign : '\0');
      }
    }
    return Error(start, "unclosed comment: '{#' without '#}'");
  }

  // A `{% ... %}` tag; `{% raw %}` takes everything up to `{% endraw %}` as text.
  Result<size_t> LexBlock(size_t start, size_t q) {
    size_t w = q;
    while (w < src_.size() && IsSpace(src_[w])) ++w;
    if (src_.compare(w, 3, "raw") == 0 && (w + 3 >= src_.size() || !std::isalnum(static_cast<unsigned char>(src_[w + 3])))) {
      size_t e = w + 3;
      while (e < src_.size() && IsSpace(src_[e])) ++e;
      const bool minus = src_.compare(e, 3, "-%}") == 0;
      if (!minus && src_.compare(e, 2, "%}") != 0) return Error(start, "expected '%}' after 'raw'");
      return LexRaw(start, AfterBlockEnd(e + (minus ? 3 : 2), minus ? '-' : '+'));
    }
    return LexTag(start, q, true);
  }

  Result<size_t> LexRaw(size_t start, size_t body) {
    for (size_t i = src_.find("{%", body); i != std::string::npos; i = src_.find("{%", i + 1)) {
      size_t w = i + 2;
      const char sign = w < src_.size() ? src_[w] : '\0';
      if (sign == '-' || sign == '+') ++w;
      while (w < src_.size() && IsSpace(src_[w])) ++w;
      if (src_.compare(w, 6, "endraw") != 0) continue;
      w += 6;
      while (w < src_.size() && IsSpace(src_[w])) ++w;
      char end_sign = '\0';
      if (w < src_.size() && (src_[w] == '-' || src_[w] == '+')) end_sign = src_[w++];
      if (src_.compare(w, 2, "%}") != 0) continue;
      std::string text = src_.substr(body, i - body);
      if (sign == '-') {
        while (!text.empty() && IsSpace(text.back())) text.pop_back();
      } else if (sign != '+') {
        const size_t l_pos = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
        if (l_pos > 0 && l_pos < text.size() &&
            std::all_of(text.begin() + static_cast<std::ptrdiff_t>(l_pos), text.end(), IsSpace)) {
          text.resize(l_pos);
        }
      }
      Emit(Token::Kind::kText, std::move(text), body);
      return AfterBlockEnd(w + 2, end_sign);
    }
    return Error(start, "'{% raw %}' without '{% endraw %}'");
  }

  // The tokens of a `{{ ... }}` or `{% ... %}` tag from q (after the opening delimiter).
  Result<size_t> LexTag(size_t start, size_t q, bool block) {
    Emit(block ? Token::Kind::kBlockBegin : Token::Kind::kVarBegin, block ? "{%" : "{{", start);
    const char close = block ? '%' : '}';
    int depth = 0;  // open brackets: `}}` inside a dict literal's braces does not close the tag
    size_t i = q;
    while (true) {
      while (i < src_.size() && IsSpace(src_[i])) ++i;
      if (i >= src_.size()) return Error(start, block ? "unclosed tag: '{%' without '%}'" : "unclosed '{{' without '}}'");
      // The end delimiter, with its whitespace sign.
      for (const char sign : {'-', '+', '\0'}) {
        const size_t at = i + (sign ? 1 : 0);
        if ((sign && src_[i] != sign) || (sign == '+' && !block)) continue;
        if (at + 1 < src_.size() && src_[at] == close && src_[at + 1] == '}' && (depth == 0 || block)) {
          Emit(block ? Token::Kind::kBlockEnd : Token::Kind::kVarEnd, block ? "%}" : "}}", i);
          if (block) return AfterBlockEnd(at + 2, sign);
          size_t after = at + 2;
          if (sign == '-') {
            while (after < src_.size() && IsSpace(src_[after])) ++after;
          }
          return after;
        }
      }
      const char c = src_[i];
      if (c == '\'' || c == '"') {
        ST_ASSIGN_OR_RETURN(i, LexString(i));
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        ST_ASSIGN_OR_RETURN(i, LexNumber(i));
      } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t e = i;
        while (e < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[e])) || src_[e] == '_')) ++e;
        Emit(Token::Kind::kName, src_.substr(i, e - i), i);
        i = e;
      } else {
        static constexpr std::string_view kTwo[] = {"//", "**", "==", "!=", "<=", ">="};
        std::string op(1, c);
        for (std::string_view two : kTwo) {
          if (src_.compare(i, 2, two) == 0) op = std::string(two);
        }
        if (op.size() == 1 && std::string_view("+-*/%~[](){}<>=.,:|").find(c) == std::string_view::npos) {
          return Error(i, fmt::format("unexpected character '{}' in a tag", c));
        }
        if (op == "(" || op == "[" || op == "{") ++depth;
        if ((op == ")" || op == "]" || op == "}") && depth > 0) --depth;
        Emit(Token::Kind::kOperator, op, i);
        i += op.size();
      }
    }
  }

  // A string literal: Python's unicode-escape rules (\n \t \\ \' \xNN \uNNNN ...), an unknown
  // escape kept as written.
  Result<size_t> LexString(size_t i) {
    const char quote = src_[i];
    std::string out;
    size_t k = i + 1;
    for (; k < src_.size() && src_[k] != quote; ++k) {
      if (src_[k] != '\\' || k + 1 >= src_.size()) {
        out += src_[k];
        continue;
      }
      const char e = src_[++k];
      auto hex = [&](int n) -> bool {
        if (k + static_cast<size_t>(n) >= src_.size()) return false;
        const std::string h = src_.substr(k + 1, static_cast<size_t>(n));
        if (!std::all_of(h.begin(), h.end(), [](char x) { return std::isxdigit(static_cast<unsigned char>(x)); })) return false;
        const uint32_t cp = static_cast<uint32_t>(std::strtoul(h.c_str(), nullptr, 16));
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000)) return false;
        AppendUtf8(cp, out);
        k += static_cast<size_t>(n);
        return true;
      };
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'v': out += '\v'; break;
        case '0': out += '\0'; break;
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case '\n': break;  // a backslash-newline continues the literal
        case 'x':
          if (!hex(2)) return Error(k - 1, "invalid \\x escape in a string literal");
          break;
        case 'u':
          if (!hex(4)) return Error(k - 1, "invalid \\u escape in a string literal");
          break;
        case 'U':
          if (!hex(8)) return Error(k - 1, "invalid \\U escape in a string literal");
          break;
        default:
          out += '\\';
          out += e;
      }
    }
    if (k >= src_.size()) return Error(i, "unterminated string literal");
    Emit(Token::Kind::kString, std::move(out), i);
    return k + 1;
  }

  Result<size_t> LexNumber(size_t i) {
    size_t e = i;
    auto digits = [&] {
      while (e < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[e])) || src_[e] == '_')) ++e;
    };
    digits();
    bool is_float = false;
    if (e + 1 < src_.size() && src_[e] == '.' && std::isdigit(static_cast<unsigned char>(src_[e + 1]))) {
      is_float = true;
      ++e;
      digits();
    }
    if (e < src_.size() && (src_[e] == 'e' || src_[e] == 'E')) {
      size_t x = e + 1;
      if (x < src_.size() && (src_[x] == '+' || src_[x] == '-')) ++x;
      if (x < src_.size() && std::isdigit(static_cast<unsigned char>(src_[x]))) {
        is_float = true;
        e = x;
        digits();
      }
    }
    std::string literal;
    for (size_t k = i; k < e; ++k) {
      if (src_[k] != '_') literal += src_[k];
    }
    Token t{is_float ? Token::Kind::kFloat : Token::Kind::kInt, literal, Pos(i)};
    errno = 0;
    if (is_float) {
      t.float_value = std::strtod(literal.c_str(), nullptr);
    } else {
      t.int_value = std::strtoll(literal.c_str(), nullptr, 10);
      if (errno == ERANGE) return Error(i, fmt::format("integer literal {} is too large", literal));
    }
    tokens_.push_back(std::move(t));
    return e;
  }

  std::string src_;
  std::vector<size_t> line_starts_;
  std::vector<Token> tokens_;
};

}  // namespace

Result<std::vector<Token>> Tokenize(std::string_view source) { return Lexer(NormalizeSource(source)).Run(); }

}  // namespace st::jinja
