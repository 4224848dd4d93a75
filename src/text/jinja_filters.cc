// Jinja2's built-in filters (the ones chat templates use), with transformers' tojson.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "text/jinja_builtins.h"
#include "text/jinja_strings.h"

namespace st::jinja {

namespace {

// Jinja2's make_attrgetter: "a.b.0" looks up a, then b, then item 0.
Result<Value> GetPath(const Value& v, const Value& path) {
  if (path.is_int()) return GetItem(v, path);
  if (!path.is_string()) return InvalidArgument("attribute must be a string or an integer");
  Value cur = v;
  size_t p = 0;
  const std::string& s = path.str();
  while (true) {
    const size_t dot = s.find('.', p);
    const std::string part = s.substr(p, dot == std::string::npos ? std::string::npos : dot - p);
    const bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    ST_ASSIGN_OR_RETURN(cur, numeric ? GetItem(cur, Value(static_cast<int64_t>(std::stoll(part)))) : GetItem(cur, Value(part)));
    if (dot == std::string::npos) return cur;
    p = dot + 1;
  }
}

// Sort key: strings compare case-insensitively unless case_sensitive (Jinja2's ignore_case).
Value SortKey(const Value& v, bool case_sensitive) {
  return (!case_sensitive && v.is_string()) ? Value(AsciiLower(v.str())) : v;
}

Status StableSort(List& items, bool reverse, const std::function<Result<Value>(const Value&)>& key) {
  std::vector<std::pair<Value, Value>> keyed;
  for (Value& v : items) {
    ST_ASSIGN_OR_RETURN(Value k, key(v));
    keyed.emplace_back(std::move(k), std::move(v));
  }
  Status err;
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
    auto lt = reverse ? Less(b.first, a.first) : Less(a.first, b.first);
    if (!lt.ok()) {
      if (err.ok()) err = lt.status();
      return false;
    }
    return *lt;
  });
  if (!err.ok()) return err;
  items.clear();
  for (auto& kv : keyed) items.push_back(std::move(kv.second));
  return {};
}

// select/reject/selectattr/rejectattr: args after the attribute are the test and its arguments.
Result<Value> SelectFilter(const std::string& name, const Value& value, CallArgs& a) {
  const bool by_attr = name.ends_with("attr");
  const bool keep = name.starts_with("select");
  size_t k = 0;
  Value attr;
  if (by_attr) {
    if (a.positional.empty()) return InvalidArgument(fmt::format("{}() needs an attribute name", name));
    attr = a.positional[k++];
  }
  std::string test;
  if (k < a.positional.size()) {
    if (!a.positional[k].is_string()) return InvalidArgument(fmt::format("{}(): the test name must be a string", name));
    test = a.positional[k++].str();
  }
  CallArgs test_args;
  test_args.positional.assign(a.positional.begin() + static_cast<std::ptrdiff_t>(k), a.positional.end());
  // Jinja2 iterates only a truthy value: none (tools when there are none) selects nothing.
  List items;
  if (value.Truthy()) {
    ST_ASSIGN_OR_RETURN(items, Iterate(value));
  }
  List out;
  for (const Value& item : items) {
    Value v = item;
    if (by_attr) {
      ST_ASSIGN_OR_RETURN(v, GetPath(item, attr));
    }
    bool ok;
    if (test.empty()) {
      ok = v.Truthy();
    } else {
      ST_ASSIGN_OR_RETURN(ok, ApplyTest(test, v, test_args));
    }
    if (ok == keep) out.push_back(item);
  }
  return Value::MakeList(std::move(out));
}

Result<Value> MapFilter(const Value& value, CallArgs& a, const Limits& limits) {
  List items;  // as select: a falsy value maps to nothing
  if (value.Truthy()) {
    ST_ASSIGN_OR_RETURN(items, Iterate(value));
  }
  List out;
  const Value attr = Arg(a, SIZE_MAX, "attribute");
  if (!attr.is_undefined()) {
    const Value def = Arg(a, SIZE_MAX, "default");
    for (const Value& item : items) {
      ST_ASSIGN_OR_RETURN(Value v, GetPath(item, attr));
      out.push_back(v.is_undefined() && !def.is_undefined() ? def : v);
    }
    return Value::MakeList(std::move(out));
  }
  if (a.positional.empty() || !a.positional[0].is_string()) return InvalidArgument("map() needs a filter name or attribute=");
  const std::string filter = a.positional[0].str();
  CallArgs rest;
  rest.positional.assign(a.positional.begin() + 1, a.positional.end());
  rest.keyword = a.keyword;
  for (const Value& item : items) {
    CallArgs copy = rest;
    ST_ASSIGN_OR_RETURN(Value v, ApplyFilter(filter, item, copy, limits));
    out.push_back(std::move(v));
  }
  return Value::MakeList(std::move(out));
}

Result<Value> ToJsonFilter(const Value& value, CallArgs& a, const Limits& limits) {
  // transformers: tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)
  ST_RETURN_IF_ERROR(CheckArgs(a, "tojson", {"ensure_ascii", "indent", "separators", "sort_keys"}));
  JsonStyle style;
  style.max_bytes = limits.max_output_bytes;
  style.ensure_ascii = Arg(a, 0, "ensure_ascii", Value(false)).Truthy();
  const Value indent = Arg(a, 1, "indent", Value::Null());
  if (indent.is_int()) {
    style.indent = static_cast<int>(std::clamp<int64_t>(indent.as_int(), 0, 64));
  } else if (!indent.is_none()) {
    return InvalidArgument("tojson: indent must be an integer or none");
  }
  const Value sep = Arg(a, 2, "separators", Value::Null());
  if (sep.is_list() && sep.list().size() == 2 && sep.list()[0].is_string() && sep.list()[1].is_string()) {
    style.item_separator = sep.list()[0].str();
    style.key_separator = sep.list()[1].str();
  } else if (!sep.is_none()) {
    return InvalidArgument("tojson: separators must be a pair of strings");
  }
  style.sort_keys = Arg(a, 3, "sort_keys", Value(false)).Truthy();
  ST_ASSIGN_OR_RETURN(std::string s, ToJson(value, style));
  return Value(std::move(s));
}

Result<int64_t> ToInt(const Value& v, bool* ok) {
  *ok = true;
  if (v.is_int()) return v.as_int();
  if (v.is_bool()) return static_cast<int64_t>(v.as_bool());
  if (v.is_float() && std::isfinite(v.as_float()) && std::fabs(v.as_float()) < 9e18) {
    return static_cast<int64_t>(v.as_float());
  }
  if (v.is_string()) {
    const std::string s = StripChars(v.str(), std::nullopt, true, true);
    char* end = nullptr;
    errno = 0;
    const long long i = std::strtoll(s.c_str(), &end, 10);
    if (!s.empty() && *end == '\0' && errno == 0) return static_cast<int64_t>(i);
    const double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && *end == '\0' && std::isfinite(d) && std::fabs(d) < 9e18) return static_cast<int64_t>(d);
  }
  *ok = false;
  return int64_t{0};
}

}  // namespace

Result<Value> ApplyFilter(const std::string& name, const Value& value, CallArgs& a, const Limits& limits) {
  if (name == "safe" || name == "string") {
    if (name == "safe") return value;
    std::string s = value.Str(limits.max_output_bytes);
    return Value(std::move(s));
  }
  if (name == "tojson") return ToJsonFilter(value, a, limits);
  if (name == "default" || name == "d") {
    ST_RETURN_IF_ERROR(CheckArgs(a, name, {"default_value", "boolean"}));
    const bool boolean = Arg(a, 1, "boolean", Value(false)).Truthy();
    if (value.is_undefined() || (boolean && !value.Truthy())) return Arg(a, 0, "default_value", Value(""));
    return value;
  }
  if (name == "length" || name == "count") {
    if (value.is_string()) return Value(static_cast<int64_t>(CodePoints(value.str()).size()));
    if (value.is_list()) return Value(static_cast<int64_t>(value.list().size()));
    if (value.is_mapping()) return Value(static_cast<int64_t>(value.dict().items.size()));
    if (value.is_undefined()) return Value(0);
    return InvalidArgument(fmt::format("object of type '{}' has no len()", value.TypeName()));
  }
  if (name == "trim") {
    ST_RETURN_IF_ERROR(CheckArgs(a, name, {"chars"}));
    const Value chars = Arg(a, 0, "chars");
    return Value(StripChars(value.Str(limits.max_output_bytes), chars.is_string() ? std::optional(chars.str()) : std::nullopt, true, true));
  }
  if (name == "upper") return Value(AsciiUpper(value.Str(limits.max_output_bytes)));
  if (name == "lower") return Value(AsciiLower(value.Str(limits.max_output_bytes)));
  if (name == "capitalize") return Value(Capitalize(value.Str(limits.max_output_bytes)));
  if (name == "title") return Value(JinjaTitle(value.Str(limits.max_output_bytes)));
  if (name == "e" || name == "escape") return Value(HtmlEscape(value.Str(limits.max_output_bytes)));
  if (name == "replace") {
    ST_RETURN_IF_ERROR(CheckArgs(a, name, {"old", "new", "count"}));
    const Value from = Arg(a, 0, "old"), to = Arg(a, 1, "new"), count = Arg(a, 2, "count", Value::Null());
    if (!to.is_string() && !to.is_number()) return InvalidArgument("replace(old, new[, count])");
    return Value(Replace(value.Str(limits.max_output_bytes), from.Str(), to.Str(), count.is_int() ? count.as_int() : -1));
  }
  if (name == "indent") {
    ST_RETURN_IF_ERROR(CheckArgs(a, name, {"width", "first", "blank"}));
    const Value width = Arg(a, 0, "width", Value(4));
    std::string ind;
    if (width.is_string()) {
      ind = width.str();
    } else if (width.is_int()) {
      ind = std::string(static_cast<size_t>(std::clamp<int64_t>(width.as_int(), 0, 256)), ' ');
    } else {
      return InvalidArgument("indent: width must be an integer or a string");
    }
    return Value(Indent(value.Str(limits.max_output_bytes), ind, Arg(a, 1, "first", Value(false)).Truthy(),
                        Arg(a, 2, "blank", Value(false)).Truthy()));
  }
  if (name == "join") {
    ST_RETURN_IF_ERROR(CheckArgs(a, name, {"d", "attribute"}));
    const std::string sep = Arg(a, 0, "d", Value("")).Str();
    const Value attr = Arg(a, 1, "attribute");
    ST_ASSIGN_OR_RETURN(List items, Iterate(value));
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
      Value v = items[i];
      if (!attr.is_undefined()) {
        ST_ASSIGN_OR_RETURN(v, GetPath(v, attr));
      }
      if (i) out += sep;
      out += v.Str(limits.max_output_bytes);
      if (out.size() > limits.max_output_bytes) return ResourceExhausted(fmt::format("join: the result grew past {} bytes", limits.max_output_bytes));
    }
    return Value(std::move(out));
  }
  if (name == "first" || name == "last") {
    ST_ASSIGN_OR_RETURN(List items, Iterate(value));
    if (items.empty()) return Value::Undef(fmt::format("{}(): the sequence is empty", name));
    return name == "first" ? items.front() : items.back();
  }
  if (name == "list") {
    ST_ASSIGN_OR_RETURN(List items, Iterate(value));
    return Value::MakeList(std::move(items));
  }
  if (name == "reverse") {
    if (value.is_string()) {
      std::vector<std::string_view> cps = CodePoints(value.str());
      std::string out;
      for (size_t i = cps.size(); i-- > 0;) out += cps[i];
      return Value(std::move(out));
    }
    ST_ASSIGN_OR_RETURN(List items, Iterate(value));
    std::reverse(items.begin(), items.end());
    return Value::MakeList(std::move(items));
  }
  if (name == "items") {
    if (value.is_undefined()) return Value::MakeList({});
    if (!value.is_mapping()) return InvalidArgument(fmt::format("items: expected a mapping, got {}", value.TypeName()));
    List out;
    for (const auto& [k, v] : value.dict().items) out.push_back(Value::MakeList({Value(k), v}));
    return Value::MakeList(std::move(out));
  }
  if (name == "dictsort") {
    ST_RETURN_IF_ERROR(CheckArgs(a, name, {"case_sensitive", "by", "reverse"}));
    if (!value.is_mapping()) return InvalidArgument("dictsort: expected a mapping");
    const bool cs = Arg(a, 0, "case_sensitive", Value(false)).Truthy();
    const bool by_value = Arg(a, 1, "by", Value("key")).Str() == "value";
    List out;
    for (const auto& [k, v] : value.dict().items) out.push_back(Value::MakeList({Value(k), v}));
    ST_RETURN_IF_ERROR(StableSort(out, Arg(a, 2, "reverse", Value(false)).Truthy(), [&](const Value& kv) -> Result<Value> {
      return SortKey(kv.list()[by_value ? 1 : 0], cs);
    }));
    return Value::MakeList(std::move(out));
  }
  if (name == "sort") {
    ST_RETURN_IF_ERROR(CheckArgs(a, name, {"reverse", "case_sensitive", "attribute"}));
    ST_ASSIGN_OR_RETURN(List items, Iterate(value));
    const bool cs = Arg(a, 1, "case_sensitive", Value(false)).Truthy();
    const Value attr = Arg(a, 2, "attribute");
    ST_RETURN_IF_ERROR(StableSort(items, Arg(a, 0, "reverse", Value(false)).Truthy(), [&](const Value& v) -> Result<Value> {
      if (attr.is_undefined()) return SortKey(v, cs);
      ST_ASSIGN_OR_RETURN(Value k, GetPath(v, attr));
      return SortKey(k, cs);
    }));
    return Value::MakeList(std::move(items));
  }
  if (name == "unique") {
    ST_RETURN_IF_ERROR(CheckArgs(a, name, {"case_sensitive", "attribute"}));
    const bool cs = Arg(a, 0, "case_sensitive", Value(false)).Truthy();
    const Value attr = Arg(a, 1, "attribute");
    ST_ASSIGN_OR_RETURN(List items, Iterate(value));
    List out, seen;
    for (const Value& v : items) {
      Value k = v;
      if (!attr.is_undefined()) {
        ST_ASSIGN_OR_RETURN(k, GetPath(v, attr));
      }
      k = SortKey(k, cs);
      if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return Equal(s, k); })) {
        seen.push_back(k);
        out.push_back(v);
      }
    }
    return Value::MakeList(std::move(out));
  }
  if (name == "min" || name == "max") {
    ST_RETURN_IF_ERROR(CheckArgs(a, name, {"case_sensitive", "attribute"}));
    const bool cs = Arg(a, 0, "case_sensitive", Value(false)).Truthy();
    const Value attr = Arg(a, 1, "attribute");
    ST_ASSIGN_OR_RETURN(List items, Iterate(value));
    if (items.empty()) return Value::Undef(fmt::format("{}(): no items", name));
    ST_RETURN_IF_ERROR(StableSort(items, false, [&](const Value& v) -> Result<Value> {
      if (attr.is_undefined()) return SortKey(v, cs);
      ST_ASSIGN_OR_RETURN(Value k, GetPath(v, attr));
      return SortKey(k, cs);
    }));
    return name == "min" ? items.front() : items.back();
  }
  if (name == "sum") {
    ST_RETURN_IF_ERROR(CheckArgs(a, name, {"attribute", "start"}));
    const Value attr = Arg(a, 0, "attribute");
    Value total = Arg(a, 1, "start", Value(0));
    ST_ASSIGN_OR_RETURN(List items, Iterate(value));
    for (const Value& item : items) {
      Value v = item;
      if (!attr.is_undefined()) {
        ST_ASSIGN_OR_RETURN(v, GetPath(item, attr));
      }
      if (!v.is_number() || !total.is_number()) return InvalidArgument("sum: the items must be numbers");
      if (v.is_float() || total.is_float()) {
        total = Value(total.number() + v.number());
      } else {
        int64_t r;
        const int64_t x = total.is_int() ? total.as_int() : total.as_bool(), y = v.is_int() ? v.as_int() : v.as_bool();
        if (__builtin_add_overflow(x, y, &r)) return OutOfRange("sum: integer overflow");
        total = Value(r);
      }
    }
    return total;
  }
  if (name == "abs") {
    if (value.is_float()) return Value(std::fabs(value.as_float()));
    if (value.is_int() && value.as_int() != INT64_MIN) return Value(value.as_int() < 0 ? -value.as_int() : value.as_int());
    if (value.is_bool()) return Value(static_cast<int64_t>(value.as_bool()));
    return InvalidArgument(fmt::format("bad operand type for abs(): '{}'", value.TypeName()));
  }
  if (name == "round") {
    ST_RETURN_IF_ERROR(CheckArgs(a, name, {"precision", "method"}));
    if (!value.is_number()) return InvalidArgument("round: expected a number");
    const Value prec = Arg(a, 0, "precision", Value(0));
    const std::string method = Arg(a, 1, "method", Value("common")).Str();
    const double p = std::pow(10.0, static_cast<double>(prec.is_int() ? std::clamp<int64_t>(prec.as_int(), -300, 300) : 0));
    double x = value.number() * p;
    // Python's round() (method "common") rounds half to even.
    x = method == "floor" ? std::floor(x) : method == "ceil" ? std::ceil(x) : std::nearbyint(x);
    return Value(x / p);
  }
  if (name == "int") {
    ST_RETURN_IF_ERROR(CheckArgs(a, name, {"default", "base"}));
    bool ok;
    ST_ASSIGN_OR_RETURN(int64_t i, ToInt(value, &ok));
    if (!ok) return Arg(a, 0, "default", Value(0));
    return Value(i);
  }
  if (name == "float") {
    ST_RETURN_IF_ERROR(CheckArgs(a, name, {"default"}));
    if (value.is_number()) return Value(value.number());
    if (value.is_string()) {
      const std::string s = StripChars(value.str(), std::nullopt, true, true);
      char* end = nullptr;
      const double d = std::strtod(s.c_str(), &end);
      if (!s.empty() && *end == '\0') return Value(d);
    }
    return Arg(a, 0, "default", Value(0.0));
  }
  if (name == "wordcount") {
    return Value(static_cast<int64_t>(Split(value.Str(limits.max_output_bytes), std::nullopt, -1, false).size()));
  }
  if (name == "format") return PercentFormat(value.Str(limits.max_output_bytes), Value::MakeList(a.positional));
  if (name == "attr") {
    if (a.positional.size() != 1 || !a.positional[0].is_string()) return InvalidArgument("attr(name) takes a string");
    return GetAttr(value, a.positional[0].str());
  }
  if (name == "map") return MapFilter(value, a, limits);
  if (name == "select" || name == "reject" || name == "selectattr" || name == "rejectattr") {
    return SelectFilter(name, value, a);
  }
  return InvalidArgument(fmt::format("no filter named '{}'", name));
}

}  // namespace st::jinja
