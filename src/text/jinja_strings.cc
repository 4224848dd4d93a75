#include "text/jinja_strings.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "text/unicode.h"

namespace st::jinja {

Value Arg(const CallArgs& a, size_t index, std::string_view name, Value def) {
  if (index < a.positional.size()) return a.positional[index];
  for (const auto& [k, v] : a.keyword) {
    if (k == name) return v;
  }
  return def;
}

Status CheckArgs(const CallArgs& a, std::string_view fn, std::initializer_list<std::string_view> names) {
  if (a.positional.size() > names.size()) {
    return InvalidArgument(fmt::format("{}() takes at most {} argument(s) ({} given)", fn, names.size(), a.positional.size()));
  }
  for (const auto& [k, v] : a.keyword) {
    if (std::find(names.begin(), names.end(), k) == names.end()) {
      return InvalidArgument(fmt::format("{}() got an unexpected keyword argument '{}'", fn, k));
    }
  }
  return {};
}

Status TypeError(std::string_view fn, std::string_view arg, const Value& got) {
  return InvalidArgument(fmt::format("{}(): argument '{}' cannot be {}", fn, arg, got.TypeName()));
}

bool IsPySpace(uint32_t cp) {
  return (cp >= 0x1c && cp <= 0x1f) || (CodepointFlags(cp) & kFlagWhitespace) != 0;
}

namespace {

struct Cp {
  uint32_t cp;
  std::string_view bytes;
};

std::vector<Cp> Decode(std::string_view s) {
  std::vector<Utf8Unit> units = DecodeUtf8(s);
  std::vector<Cp> out;
  out.reserve(units.size());
  for (size_t i = 0; i < units.size(); ++i) {
    const size_t end = i + 1 < units.size() ? units[i + 1].offset : s.size();
    out.push_back({units[i].cp, s.substr(units[i].offset, end - units[i].offset)});
  }
  return out;
}

}  // namespace

std::string StripChars(std::string_view s, const std::optional<std::string>& chars, bool left, bool right) {
  const std::vector<Cp> cps = Decode(s);
  std::vector<std::string_view> set;
  if (chars) {
    for (const Cp& c : Decode(*chars)) set.push_back(c.bytes);
  }
  auto strip = [&](const Cp& c) {
    if (!chars) return IsPySpace(c.cp);
    return std::find(set.begin(), set.end(), c.bytes) != set.end();
  };
  size_t b = 0, e = cps.size();
  if (left) {
    while (b < e && strip(cps[b])) ++b;
  }
  if (right) {
    while (e > b && strip(cps[e - 1])) --e;
  }
  std::string out;
  for (size_t i = b; i < e; ++i) out += cps[i].bytes;
  return out;
}

std::vector<std::string> Split(std::string_view s, const std::optional<std::string>& sep, int64_t maxsplit,
                               bool from_right) {
  std::vector<std::string> parts;
  if (sep) {
    if (!from_right) {
      size_t p = 0;
      while (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit) {
        const size_t q = s.find(*sep, p);
        if (q == std::string_view::npos) break;
        parts.emplace_back(s.substr(p, q - p));
        p = q + sep->size();
      }
      parts.emplace_back(s.substr(p));
      return parts;
    }
    size_t end = s.size();
    while (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit) {
      if (end < sep->size()) break;
      const size_t q = s.substr(0, end).rfind(*sep);
      if (q == std::string_view::npos) break;
      parts.emplace_back(s.substr(q + sep->size(), end - q - sep->size()));
      end = q;
    }
    parts.emplace_back(s.substr(0, end));
    std::reverse(parts.begin(), parts.end());
    return parts;
  }
  // Whitespace runs; empty parts dropped; the remainder after maxsplit keeps its inner spacing.
  const std::vector<Cp> cps = Decode(s);
  std::vector<std::pair<size_t, size_t>> words;  // code point ranges
  for (size_t i = 0; i < cps.size();) {
    while (i < cps.size() && IsPySpace(cps[i].cp)) ++i;
    if (i == cps.size()) break;
    size_t j = i;
    while (j < cps.size() && !IsPySpace(cps[j].cp)) ++j;
    words.emplace_back(i, j);
    i = j;
  }
  auto text = [&](size_t b, size_t e) {
    std::string out;
    for (size_t k = b; k < e; ++k) out += cps[k].bytes;
    return out;
  };
  const size_t n = words.size();
  if (maxsplit < 0 || static_cast<size_t>(maxsplit) + 1 >= n) {
    for (auto [b, e] : words) parts.push_back(text(b, e));
    return parts;
  }
  const size_t m = static_cast<size_t>(maxsplit);
  if (!from_right) {
    for (size_t k = 0; k < m; ++k) parts.push_back(text(words[k].first, words[k].second));
    size_t rest = words[m].first;
    size_t end = cps.size();
    while (end > rest && IsPySpace(cps[end - 1].cp)) --end;
    parts.push_back(text(rest, end));
  } else {
    size_t b = 0;
    while (b < cps.size() && IsPySpace(cps[b].cp)) ++b;
    parts.push_back(text(b, words[n - m - 1].second));
    for (size_t k = n - m; k < n; ++k) parts.push_back(text(words[k].first, words[k].second));
  }
  return parts;
}

std::vector<std::string> SplitLines(std::string_view s) {
  std::vector<std::string> lines;
  const std::vector<Cp> cps = Decode(s);
  std::string cur;
  for (size_t i = 0; i < cps.size(); ++i) {
    const uint32_t c = cps[i].cp;
    const bool boundary = c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || (c >= 0x1c && c <= 0x1e) || c == 0x85 ||
                          c == 0x2028 || c == 0x2029;
    if (!boundary) {
      cur += cps[i].bytes;
      continue;
    }
    if (c == '\r' && i + 1 < cps.size() && cps[i + 1].cp == '\n') ++i;
    lines.push_back(std::move(cur));
    cur.clear();
  }
  if (!cur.empty()) lines.push_back(std::move(cur));
  return lines;
}

std::string Replace(std::string_view s, std::string_view from, std::string_view to, int64_t count) {
  std::string out;
  if (from.empty()) {  // Python inserts `to` before every code point and at the end
    int64_t done = 0;
    for (const Cp& c : Decode(s)) {
      if (count < 0 || done < count) {
        out += to;
        ++done;
      }
      out += c.bytes;
    }
    if (count < 0 || done < count) out += to;
    return out;
  }
  size_t p = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    const size_t q = s.find(from, p);
    if (q == std::string_view::npos) break;
    out += s.substr(p, q - p);
    out += to;
    p = q + from.size();
    ++done;
  }
  out += s.substr(p);
  return out;
}

int64_t CountOccurrences(std::string_view s, std::string_view sub) {
  if (sub.empty()) return static_cast<int64_t>(Decode(s).size()) + 1;
  int64_t n = 0;
  for (size_t p = s.find(sub); p != std::string_view::npos; p = s.find(sub, p + sub.size())) ++n;
  return n;
}

std::string AsciiUpper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

namespace {
bool IsCased(uint32_t cp) { return (cp < 0x80 && std::isalpha(static_cast<int>(cp))) || (cp >= 0x80 && (CodepointFlags(cp) & kFlagLetter)); }
}  // namespace

std::string PyTitle(std::string_view s) {
  std::string out;
  bool prev_cased = false;
  for (const Cp& c : Decode(s)) {
    if (c.cp < 0x80) {
      const char ch = static_cast<char>(c.cp);
      out += static_cast<char>(prev_cased ? std::tolower(ch) : std::toupper(ch));
    } else {
      out += c.bytes;
    }
    prev_cased = IsCased(c.cp);
  }
  return out;
}

std::string Capitalize(std::string_view s) {
  std::string out = AsciiLower(s);
  if (!out.empty()) out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  return out;
}

std::string JinjaTitle(std::string_view s) {
  // "".join(w[0].upper() + w[1:].lower() for w in re.split(r"([-\s({\[<]+)", s) if w)
  std::string out;
  bool word_start = true;
  for (const Cp& c : Decode(s)) {
    const bool sep = c.cp == '-' || c.cp == '(' || c.cp == '{' || c.cp == '[' || c.cp == '<' || IsPySpace(c.cp);
    if (sep) {
      out += c.bytes;
      word_start = true;
      continue;
    }
    if (c.cp < 0x80) {
      const char ch = static_cast<char>(c.cp);
      out += static_cast<char>(word_start ? std::toupper(ch) : std::tolower(ch));
    } else {
      out += c.bytes;
    }
    word_start = false;
  }
  return out;
}

bool CharClassTest(std::string_view s, std::string_view method) {
  const std::vector<Cp> cps = Decode(s);
  if (cps.empty()) return false;
  bool any_cased = false;
  for (const Cp& c : cps) {
    const uint8_t f = CodepointFlags(c.cp);
    const bool letter = (f & kFlagLetter) != 0;
    if (method == "isdigit" && !(c.cp < 0x80 ? std::isdigit(static_cast<int>(c.cp)) : (f & kFlagNumber))) return false;
    if (method == "isalpha" && !letter) return false;
    if (method == "isalnum" && !letter && !(f & kFlagNumber)) return false;
    if (method == "isspace" && !IsPySpace(c.cp)) return false;
    if (c.cp < 0x80 && std::isalpha(static_cast<int>(c.cp))) {
      any_cased = true;
      if (method == "islower" && std::isupper(static_cast<int>(c.cp))) return false;
      if (method == "isupper" && std::islower(static_cast<int>(c.cp))) return false;
    }
  }
  if (method == "islower" || method == "isupper") return any_cased;
  return true;
}

Result<Value> PyFormat(std::string_view f, const CallArgs& a) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    const char c = f[i];
    if (c == '}' ) {
      if (i + 1 < f.size() && f[i + 1] == '}') {
        out += '}';
        ++i;
        continue;
      }
      return InvalidArgument("format(): single '}' encountered in format string");
    }
    if (c != '{') {
      out += c;
      continue;
    }
    if (i + 1 < f.size() && f[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    const size_t close = f.find('}', i);
    if (close == std::string_view::npos) return InvalidArgument("format(): single '{' encountered in format string");
    std::string_view field = f.substr(i + 1, close - i - 1);
    if (field.find_first_of(":!") != std::string_view::npos) return InvalidArgument("format(): format specs and conversions are not supported");
    Value v;
    if (field.empty()) {
      if (auto_index >= a.positional.size()) return InvalidArgument("format(): not enough positional arguments");
      v = a.positional[auto_index++];
    } else if (std::all_of(field.begin(), field.end(), [](char d) { return std::isdigit(static_cast<unsigned char>(d)); })) {
      const size_t k = std::stoul(std::string(field));
      if (k >= a.positional.size()) return InvalidArgument(fmt::format("format(): no positional argument {}", k));
      v = a.positional[k];
    } else {
      v = Arg(a, SIZE_MAX, field);
      if (v.is_undefined()) return InvalidArgument(fmt::format("format(): no argument named '{}'", field));
    }
    out += v.Str();
    i = close;
  }
  return Value(std::move(out));
}

Result<Value> PercentFormat(std::string_view f, const Value& args) {
  std::vector<Value> items;
  if (args.is_list()) {
    items = args.list();
  } else {
    items.push_back(args);
  }
  size_t next = 0;
  std::string out;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%') {
      out += f[i];
      continue;
    }
    if (++i >= f.size()) return InvalidArgument("incomplete format: a '%' at the end");
    Value v;
    if (f[i] == '%') {
      out += '%';
      continue;
    }
    if (f[i] == '(') {
      const size_t close = f.find(')', i);
      if (close == std::string_view::npos || !args.is_mapping()) return InvalidArgument("format requires a mapping");
      const Value* found = args.dict().Find(f.substr(i + 1, close - i - 1));
      if (!found) return InvalidArgument(fmt::format("format: no key '{}'", f.substr(i + 1, close - i - 1)));
      v = *found;
      i = close + 1;
      if (i >= f.size()) return InvalidArgument("incomplete format");
    } else {
      if (next >= items.size()) return InvalidArgument("not enough arguments for format string");
      v = items[next++];
    }
    switch (f[i]) {
      case 's': out += v.Str(); break;
      case 'r': out += v.Repr(); break;
      case 'd':
      case 'i':
        if (!v.is_number()) return InvalidArgument(fmt::format("%d format: a real number is required, not {}", v.TypeName()));
        out += std::to_string(v.is_float() ? static_cast<int64_t>(v.as_float()) : v.is_int() ? v.as_int() : v.as_bool());
        break;
      case 'f':
        if (!v.is_number()) return InvalidArgument(fmt::format("%f format: a real number is required, not {}", v.TypeName()));
        out += fmt::format("{:.6f}", v.number());
        break;
      default: return InvalidArgument(fmt::format("unsupported format character '{}'", f[i]));
    }
  }
  if (next < items.size() && !args.is_mapping() && args.is_list()) {
    return InvalidArgument("not all arguments converted during string formatting");
  }
  return Value(std::move(out));
}

std::string Indent(std::string_view s, const std::string& indention, bool first, bool blank) {
  std::string text(s);
  text += '\n';  // Jinja2's quirk: splitlines then drops a trailing empty line
  std::vector<std::string> lines = SplitLines(text);
  std::string rv;
  if (blank) {
    for (size_t i = 0; i < lines.size(); ++i) rv += (i ? "\n" + indention : "") + lines[i];
  } else {
    rv = lines.empty() ? "" : lines[0];
    for (size_t i = 1; i < lines.size(); ++i) rv += "\n" + (lines[i].empty() ? "" : indention) + lines[i];
  }
  if (first) rv = indention + rv;
  return rv;
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace st::jinja
