#include "text/jinja_value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "text/unicode.h"

namespace st::jinja {

Value Value::MakeDict(Dict d) { return Value(std::make_shared<Dict>(std::move(d)), false); }
Value Value::MakeNamespace(Dict d) { return Value(std::make_shared<Dict>(std::move(d)), true); }

Value::Kind Value::kind() const {
  switch (v.index()) {
    case 0: return Kind::kUndefined;
    case 1: return Kind::kNone;
    case 2: return Kind::kBool;
    case 3: return Kind::kInt;
    case 4: return Kind::kFloat;
    case 5: return Kind::kString;
    case 6: return Kind::kList;
    case 7: return is_namespace() ? Kind::kNamespace : Kind::kDict;
    default: return Kind::kFunction;
  }
}

double Value::number() const {
  if (is_int()) return static_cast<double>(as_int());
  if (is_bool()) return as_bool() ? 1.0 : 0.0;
  return as_float();
}

bool Value::Truthy() const {
  switch (kind()) {
    case Kind::kUndefined:
    case Kind::kNone: return false;
    case Kind::kBool: return as_bool();
    case Kind::kInt: return as_int() != 0;
    case Kind::kFloat: return as_float() != 0.0;
    case Kind::kString: return !str().empty();
    case Kind::kList: return !list().empty();
    case Kind::kDict: return !dict().items.empty();
    default: return true;
  }
}

std::string Value::TypeName() const {
  switch (kind()) {
    case Kind::kUndefined: return "Undefined";
    case Kind::kNone: return "NoneType";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kFloat: return "float";
    case Kind::kString: return "str";
    case Kind::kList: return "list";
    case Kind::kDict: return "dict";
    case Kind::kNamespace: return "Namespace";
    default: return "function";
  }
}

std::string FloatRepr(double f) {
  if (std::isnan(f)) return "nan";
  if (std::isinf(f)) return f > 0 ? "inf" : "-inf";
  char buf[64];
  // Shortest round-trip digits in scientific form: "-d.ddde+XX".
  auto r = std::to_chars(buf, buf + sizeof(buf), f, std::chars_format::scientific);
  std::string sci(buf, r.ptr);
  const size_t e = sci.find('e');
  const int exp = std::stoi(sci.substr(e + 1));
  std::string mantissa = sci.substr(0, e);
  const bool neg = mantissa[0] == '-';
  if (neg) mantissa.erase(0, 1);
  std::string digits;
  for (char c : mantissa) {
    if (c != '.') digits += c;
  }
  std::string out = neg ? "-" : "";
  if (exp >= -4 && exp < 16) {
    if (exp < 0) {
      out += "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
    } else if (static_cast<size_t>(exp) + 1 >= digits.size()) {
      out += digits + std::string(static_cast<size_t>(exp) + 1 - digits.size(), '0') + ".0";
    } else {
      out += digits.substr(0, static_cast<size_t>(exp) + 1) + "." + digits.substr(static_cast<size_t>(exp) + 1);
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  out += fmt::format("e{}{:02d}", exp < 0 ? '-' : '+', std::abs(exp));
  return out;
}

namespace {

// Python's repr() of a str: single quotes unless the text has ' and no ".
std::string StringRepr(std::string_view s) {
  const bool dq = s.find('\'') != std::string_view::npos && s.find('"') == std::string_view::npos;
  const char q = dq ? '"' : '\'';
  std::string out(1, q);
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\\') {
      out += "\\\\";
    } else if (c == static_cast<unsigned char>(q)) {
      out += '\\';
      out += q;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) <= 0xA0) {
      // U+0080..U+00A0 (C1 controls, no-break space) are not printable in Python.
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(s[++i]));
    } else {
      out += static_cast<char>(c);
    }
  }
  out += q;
  return out;
}

void AppendJsonString(std::string_view s, bool ensure_ascii, std::string& out) {
  out += '"';
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          out += fmt::format("\\u{:04x}", c);
        } else if (c >= 0x80 && ensure_ascii) {
          const size_t n = ValidUtf8Length(s.substr(i));
          if (n == 0) {
            out += "\\ufffd";
            break;
          }
          std::vector<Utf8Unit> u = DecodeUtf8(s.substr(i, n));
          const uint32_t cp = u[0].cp;
          if (cp >= 0x10000) {
            const uint32_t v = cp - 0x10000;
            out += fmt::format("\\u{:04x}\\u{:04x}", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
          } else {
            out += fmt::format("\\u{:04x}", cp);
          }
          i += n - 1;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

Status AppendJson(const Value& v, const JsonStyle& style, int level, std::string& out) {
  if (out.size() > style.max_bytes) {
    return ResourceExhausted(fmt::format("tojson: the output grew past {} bytes", style.max_bytes));
  }
  const std::string& item_sep = *style.item_separator;
  auto newline = [&](int lvl) {
    if (style.indent >= 0) out += '\n' + std::string(static_cast<size_t>(style.indent * lvl), ' ');
  };
  if (level > 256) return InvalidArgument("tojson: the value is nested more than 256 levels deep");
  switch (v.kind()) {
    case Value::Kind::kNone: out += "null"; return {};
    case Value::Kind::kBool: out += v.as_bool() ? "true" : "false"; return {};
    case Value::Kind::kInt: out += std::to_string(v.as_int()); return {};
    case Value::Kind::kFloat: {
      const double f = v.as_float();
      out += std::isnan(f) ? "NaN" : std::isinf(f) ? (f > 0 ? "Infinity" : "-Infinity") : FloatRepr(f);
      return {};
    }
    case Value::Kind::kString: AppendJsonString(v.str(), style.ensure_ascii, out); return {};
    case Value::Kind::kList: {
      const List& l = v.list();
      if (l.empty()) {
        out += "[]";
        return {};
      }
      out += '[';
      for (size_t i = 0; i < l.size(); ++i) {
        if (i > 0) out += item_sep;
        newline(level + 1);
        if (Status s = AppendJson(l[i], style, level + 1, out); !s.ok()) return s;
      }
      newline(level);
      out += ']';
      return {};
    }
    case Value::Kind::kDict:
    case Value::Kind::kNamespace: {
      std::vector<const std::pair<std::string, Value>*> items;
      for (const auto& kv : v.dict().items) items.push_back(&kv);
      if (style.sort_keys) {
        std::stable_sort(items.begin(), items.end(), [](auto* a, auto* b) { return a->first < b->first; });
      }
      if (items.empty()) {
        out += "{}";
        return {};
      }
      out += '{';
      for (size_t i = 0; i < items.size(); ++i) {
        if (i > 0) out += item_sep;
        newline(level + 1);
        AppendJsonString(items[i]->first, style.ensure_ascii, out);
        out += style.key_separator;
        if (Status s = AppendJson(items[i]->second, style, level + 1, out); !s.ok()) return s;
      }
      newline(level);
      out += '}';
      return {};
    }
    default:
      return InvalidArgument(fmt::format("tojson: Object of type {} is not JSON serializable", v.TypeName()));
  }
}

}  // namespace

namespace {

void AppendRepr(const Value& v, size_t limit, std::string& out) {
  if (out.size() > limit) return;
  switch (v.kind()) {
    case Value::Kind::kUndefined: return;
    case Value::Kind::kNone: out += "None"; return;
    case Value::Kind::kBool: out += v.as_bool() ? "True" : "False"; return;
    case Value::Kind::kInt: out += std::to_string(v.as_int()); return;
    case Value::Kind::kFloat: out += FloatRepr(v.as_float()); return;
    case Value::Kind::kString: out += StringRepr(v.str()); return;
    case Value::Kind::kList: {
      out += '[';
      for (size_t i = 0; i < v.list().size() && out.size() <= limit; ++i) {
        if (i) out += ", ";
        AppendRepr(v.list()[i], limit, out);
      }
      out += ']';
      return;
    }
    case Value::Kind::kDict: {
      out += '{';
      bool first = true;
      for (const auto& [k, val] : v.dict().items) {
        if (out.size() > limit) break;
        if (!first) out += ", ";
        out += StringRepr(k) + ": ";
        AppendRepr(val, limit, out);
        first = false;
      }
      out += '}';
      return;
    }
    case Value::Kind::kNamespace: out += "<Namespace>"; return;
    default: out += "<function " + v.function().name + ">"; return;
  }
}

}  // namespace

std::string Value::Str(size_t limit) const {
  if (is_string()) return str();
  return Repr(limit);
}

std::string Value::Repr(size_t limit) const {
  std::string out;
  AppendRepr(*this, limit, out);
  return out;
}

const Value* Dict::Find(std::string_view key) const {
  for (const auto& kv : items) {
    if (kv.first == key) return &kv.second;
  }
  return nullptr;
}

void Dict::Set(const std::string& key, Value value) {
  for (auto& kv : items) {
    if (kv.first == key) {
      kv.second = std::move(value);
      return;
    }
  }
  items.emplace_back(key, std::move(value));
}

bool Equal(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.number() == b.number();
    const int64_t x = a.is_bool() ? a.as_bool() : a.as_int();
    const int64_t y = b.is_bool() ? b.as_bool() : b.as_int();
    return x == y;
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone: return true;
    case Value::Kind::kString: return a.str() == b.str();
    case Value::Kind::kList: {
      if (a.list().size() != b.list().size()) return false;
      for (size_t i = 0; i < a.list().size(); ++i) {
        if (!Equal(a.list()[i], b.list()[i])) return false;
      }
      return true;
    }
    case Value::Kind::kDict: {
      const auto& x = a.dict().items;
      if (x.size() != b.dict().items.size()) return false;
      for (const auto& [k, val] : x) {
        const Value* other = b.dict().Find(k);
        if (!other || !Equal(val, *other)) return false;
      }
      return true;
    }
    case Value::Kind::kNamespace: return &a.dict() == &b.dict();
    case Value::Kind::kFunction: return &a.function() == &b.function();
    default: return false;
  }
}

Result<bool> Less(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) return a.number() < b.number();
  if (a.is_string() && b.is_string()) return a.str() < b.str();  // UTF-8 bytes sort as code points
  if (a.is_list() && b.is_list()) {
    const List& x = a.list();
    const List& y = b.list();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (Equal(x[i], y[i])) continue;
      return Less(x[i], y[i]);
    }
    return x.size() < y.size();
  }
  return InvalidArgument(fmt::format("'<' not supported between instances of '{}' and '{}'", a.TypeName(), b.TypeName()));
}

Result<std::string> ToJson(const Value& value, const JsonStyle& style) {
  JsonStyle s = style;
  if (!s.item_separator) s.item_separator = s.indent >= 0 ? "," : ", ";
  std::string out;
  if (Status st = AppendJson(value, s, 0, out); !st.ok()) return st;
  return out;
}

Value FromJson(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return Value::Null();
    case nlohmann::ordered_json::value_t::boolean: return Value(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return Value(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      const uint64_t u = j.get<uint64_t>();
      return u <= static_cast<uint64_t>(INT64_MAX) ? Value(static_cast<int64_t>(u)) : Value(static_cast<double>(u));
    }
    case nlohmann::ordered_json::value_t::number_float: return Value(j.get<double>());
    case nlohmann::ordered_json::value_t::string: return Value(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      List l;
      l.reserve(j.size());
      for (const auto& e : j) l.push_back(FromJson(e));
      return Value::MakeList(std::move(l));
    }
    case nlohmann::ordered_json::value_t::object: {
      Dict d;
      for (const auto& [k, e] : j.items()) d.Set(k, FromJson(e));
      return Value::MakeDict(std::move(d));
    }
    default: return Value::Null();  // binary, discarded: not produced by the JSON parser
  }
}

std::vector<std::string_view> CodePoints(std::string_view s) {
  std::vector<std::string_view> out;
  std::vector<Utf8Unit> units = DecodeUtf8(s);
  out.reserve(units.size());
  for (size_t i = 0; i < units.size(); ++i) {
    const size_t end = i + 1 < units.size() ? units[i + 1].offset : s.size();
    out.push_back(s.substr(units[i].offset, end - units[i].offset));
  }
  return out;
}

}  // namespace st::jinja
