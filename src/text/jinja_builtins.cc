// Lookup, Python methods, tests and globals. The filters are in jinja_filters.cc.
#include "text/jinja_builtins.h"

#include <algorithm>
#include <cmath>
#include <ctime>

#include <fmt/format.h>

#include "text/jinja_strings.h"

namespace st::jinja {

namespace {

Value Bind(const Value& self, const std::string& name,
           Result<Value> (*method)(const Value& self, const std::string& name, CallArgs& args)) {
  auto f = std::make_shared<Function>();
  f->name = name;
  f->call = [self, name, method](CallArgs& args, void*) { return method(self, name, args); };
  return Value(std::move(f));
}

Result<Value> StrMethod(const Value& self, const std::string& name, CallArgs& a) {
  const std::string& s = self.str();
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    ST_RETURN_IF_ERROR(CheckArgs(a, name, {"chars"}));
    const Value chars = Arg(a, 0, "chars");
    if (!chars.is_undefined() && !chars.is_none() && !chars.is_string()) return TypeError(name, "chars", chars);
    const std::optional<std::string> set = chars.is_string() ? std::optional(chars.str()) : std::nullopt;
    return Value(StripChars(s, set, name != "rstrip", name != "lstrip"));
  }
  if (name == "split" || name == "rsplit") {
    ST_RETURN_IF_ERROR(CheckArgs(a, name, {"sep", "maxsplit"}));
    const Value sep = Arg(a, 0, "sep");
    const Value max = Arg(a, 1, "maxsplit", Value(-1));
    if (!max.is_int()) return TypeError(name, "maxsplit", max);
    if (!sep.is_undefined() && !sep.is_none() && !sep.is_string()) return TypeError(name, "sep", sep);
    if (sep.is_string() && sep.str().empty()) return InvalidArgument("empty separator");
    List parts;
    for (std::string& p : Split(s, sep.is_string() ? std::optional(sep.str()) : std::nullopt, max.as_int(),
                                name == "rsplit")) {
      parts.emplace_back(std::move(p));
    }
    return Value::MakeList(std::move(parts));
  }
  if (name == "splitlines") {
    List parts;
    for (std::string& p : SplitLines(s)) parts.emplace_back(std::move(p));
    return Value::MakeList(std::move(parts));
  }
  if (name == "startswith" || name == "endswith") {
    ST_RETURN_IF_ERROR(CheckArgs(a, name, {"prefix"}));
    const Value p = Arg(a, 0, "prefix");
    std::vector<std::string> options;
    if (p.is_string()) {
      options.push_back(p.str());
    } else if (p.is_list()) {
      for (const Value& o : p.list()) {
        if (!o.is_string()) return TypeError(name, "prefix", o);
        options.push_back(o.str());
      }
    } else {
      return TypeError(name, "prefix", p);
    }
    for (const std::string& o : options) {
      if (name == "startswith" ? s.starts_with(o) : s.ends_with(o)) return Value(true);
    }
    return Value(false);
  }
  if (name == "replace") {
    ST_RETURN_IF_ERROR(CheckArgs(a, name, {"old", "new", "count"}));
    const Value from = Arg(a, 0, "old"), to = Arg(a, 1, "new"), count = Arg(a, 2, "count", Value(-1));
    if (!from.is_string() || !to.is_string() || !count.is_int()) return InvalidArgument("replace(old, new[, count]) takes strings");
    return Value(Replace(s, from.str(), to.str(), count.as_int()));
  }
  if (name == "upper") return Value(AsciiUpper(s));
  if (name == "lower") return Value(AsciiLower(s));
  if (name == "title") return Value(PyTitle(s));
  if (name == "capitalize") return Value(Capitalize(s));
  if (name == "format") return PyFormat(s, a);
  if (name == "find" || name == "rfind" || name == "index" || name == "count") {
    ST_RETURN_IF_ERROR(CheckArgs(a, name, {"sub"}));
    const Value sub = Arg(a, 0, "sub");
    if (!sub.is_string()) return TypeError(name, "sub", sub);
    if (name == "count") return Value(CountOccurrences(s, sub.str()));
    const size_t p = name == "rfind" ? s.rfind(sub.str()) : s.find(sub.str());
    if (p == std::string::npos) {
      if (name == "index") return InvalidArgument("substring not found");
      return Value(-1);
    }
    return Value(static_cast<int64_t>(CodePoints(std::string_view(s).substr(0, p)).size()));
  }
  if (name == "join") {
    ST_RETURN_IF_ERROR(CheckArgs(a, name, {"iterable"}));
    ST_ASSIGN_OR_RETURN(List items, Iterate(Arg(a, 0, "iterable")));
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
      if (!items[i].is_string()) return InvalidArgument(fmt::format("sequence item {}: expected str instance, {} found", i, items[i].TypeName()));
      if (i) out += s;
      out += items[i].str();
    }
    return Value(std::move(out));
  }
  if (name == "isdigit" || name == "isalpha" || name == "isalnum" || name == "isspace" || name == "islower" ||
      name == "isupper") {
    return Value(CharClassTest(s, name));
  }
  return InvalidArgument(fmt::format("'str' object has no method '{}'", name));
}

Result<Value> DictMethod(const Value& self, const std::string& name, CallArgs& a) {
  const Dict& d = self.dict();
  if (name == "get") {
    ST_RETURN_IF_ERROR(CheckArgs(a, name, {"key", "default"}));
    const Value key = Arg(a, 0, "key");
    if (key.is_string()) {
      if (const Value* v = d.Find(key.str())) return *v;
    }
    const Value def = Arg(a, 1, "default");
    return def.is_undefined() ? Value::Null() : def;
  }
  ST_RETURN_IF_ERROR(CheckArgs(a, name, {}));
  List out;
  for (const auto& [k, v] : d.items) {
    if (name == "items") {
      out.push_back(Value::MakeList({Value(k), v}));
    } else if (name == "keys") {
      out.emplace_back(k);
    } else {
      out.push_back(v);
    }
  }
  return Value::MakeList(std::move(out));
}

Result<Value> ListMethod(const Value& self, const std::string& name, CallArgs& a) {
  ST_RETURN_IF_ERROR(CheckArgs(a, name, {"value"}));
  const Value x = Arg(a, 0, "value");
  const List& l = self.list();
  if (name == "count") {
    return Value(static_cast<int64_t>(std::count_if(l.begin(), l.end(), [&](const Value& v) { return Equal(v, x); })));
  }
  for (size_t i = 0; i < l.size(); ++i) {
    if (Equal(l[i], x)) return Value(static_cast<int64_t>(i));
  }
  return InvalidArgument(fmt::format("{} is not in list", x.Repr(200)));
}

bool IsStrMethod(const std::string& n) {
  static const char* kNames[] = {"strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "startswith",
                                 "endswith", "replace", "upper", "lower", "title", "capitalize", "format", "find",
                                 "rfind", "index", "count", "join", "isdigit", "isalpha", "isalnum", "isspace",
                                 "islower", "isupper"};
  return std::find(std::begin(kNames), std::end(kNames), n) != std::end(kNames);
}

Status UndefinedError(const Value& v) {
  return InvalidArgument(v.undefined_name().empty() ? "a value is undefined" : v.undefined_name());
}

Value Missing(const Value& obj, const std::string& name) {
  return Value::Undef(fmt::format("'{} object' has no attribute '{}'", obj.TypeName(), name));
}

}  // namespace

Result<Value> GetAttr(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) return UndefinedError(obj);
  if (!name.empty() && name[0] == '_') return Missing(obj, name);  // the sandbox hides private attributes
  if (obj.is_string() && IsStrMethod(name)) return Bind(obj, name, StrMethod);
  if (obj.is_mapping()) {
    if (!obj.is_namespace() && (name == "items" || name == "keys" || name == "values" || name == "get")) {
      return Bind(obj, name, DictMethod);
    }
    if (const Value* v = obj.dict().Find(name)) return *v;
  }
  if (obj.is_list() && (name == "count" || name == "index")) return Bind(obj, name, ListMethod);
  return Missing(obj, name);
}

Result<Value> GetItem(const Value& obj, const Value& key) {
  if (obj.is_undefined()) return UndefinedError(obj);
  if (obj.is_mapping() && key.is_string()) {
    if (const Value* v = obj.dict().Find(key.str())) return *v;
    return GetAttr(obj, key.str());
  }
  if ((obj.is_list() || obj.is_string()) && (key.is_int() || key.is_bool())) {
    const int64_t n = obj.is_list() ? static_cast<int64_t>(obj.list().size()) : 0;
    int64_t i = key.is_int() ? key.as_int() : key.as_bool();
    if (obj.is_list()) {
      if (i < 0) i += n;
      if (i < 0 || i >= n) return Value::Undef(fmt::format("list index {} out of range", key.Str()));
      return obj.list()[static_cast<size_t>(i)];
    }
    std::vector<std::string_view> cps = CodePoints(obj.str());
    const int64_t m = static_cast<int64_t>(cps.size());
    if (i < 0) i += m;
    if (i < 0 || i >= m) return Value::Undef(fmt::format("string index {} out of range", key.Str()));
    return Value(std::string(cps[static_cast<size_t>(i)]));
  }
  if (key.is_string()) return GetAttr(obj, key.str());
  return Value::Undef(fmt::format("'{} object' has no item {}", obj.TypeName(), key.Repr(100)));
}

Result<Value> Slice(const Value& obj, const Value& start, const Value& stop, const Value& step) {
  if (obj.is_undefined()) return UndefinedError(obj);
  auto part = [](const Value& v, int64_t* out) -> bool {
    if (v.is_undefined() || v.is_none()) return false;
    *out = v.is_bool() ? v.as_bool() : v.as_int();
    return true;
  };
  for (const Value* v : {&start, &stop, &step}) {
    if (!v->is_undefined() && !v->is_none() && !v->is_int() && !v->is_bool()) {
      return InvalidArgument("slice indices must be integers or None");
    }
  }
  int64_t st = 1;
  part(step, &st);
  if (st == 0) return InvalidArgument("slice step cannot be zero");
  std::vector<std::string_view> cps;
  int64_t n;
  if (obj.is_list()) {
    n = static_cast<int64_t>(obj.list().size());
  } else if (obj.is_string()) {
    cps = CodePoints(obj.str());
    n = static_cast<int64_t>(cps.size());
  } else {
    return InvalidArgument(fmt::format("'{}' object is not subscriptable", obj.TypeName()));
  }
  // Python's PySlice_AdjustIndices.
  auto adjust = [&](const Value& v, int64_t def, int64_t lo, int64_t hi) {
    int64_t x;
    if (!part(v, &x)) return def;
    if (x < 0) x += n;
    return std::clamp(x, lo, hi);
  };
  const int64_t b = st > 0 ? adjust(start, 0, 0, n) : adjust(start, n - 1, -1, n - 1);
  const int64_t e = st > 0 ? adjust(stop, n, 0, n) : adjust(stop, -1, -1, n - 1);
  List items;
  std::string s;
  for (int64_t i = b; st > 0 ? i < e : i > e; i += st) {
    if (obj.is_list()) {
      items.push_back(obj.list()[static_cast<size_t>(i)]);
    } else {
      s += cps[static_cast<size_t>(i)];
    }
  }
  return obj.is_list() ? Value::MakeList(std::move(items)) : Value(std::move(s));
}

Result<bool> Contains(const Value& container, const Value& item) {
  if (container.is_string()) {
    if (!item.is_string()) return InvalidArgument(fmt::format("'in <string>' requires string as left operand, not {}", item.TypeName()));
    return container.str().find(item.str()) != std::string::npos;
  }
  if (container.is_mapping()) return item.is_string() && container.dict().Find(item.str()) != nullptr;
  if (container.is_list()) {
    for (const Value& v : container.list()) {
      if (Equal(v, item)) return true;
    }
    return false;
  }
  if (container.is_undefined()) return false;
  return InvalidArgument(fmt::format("argument of type '{}' is not iterable", container.TypeName()));
}

Result<List> Iterate(const Value& value) {
  switch (value.kind()) {
    case Value::Kind::kUndefined: return List{};
    case Value::Kind::kList: return value.list();
    case Value::Kind::kDict: {
      List keys;
      for (const auto& kv : value.dict().items) keys.emplace_back(kv.first);
      return keys;
    }
    case Value::Kind::kString: {
      List chars;
      for (std::string_view c : CodePoints(value.str())) chars.emplace_back(std::string(c));
      return chars;
    }
    default: return InvalidArgument(fmt::format("'{}' object is not iterable", value.TypeName()));
  }
}

Result<bool> ApplyTest(const std::string& name, const Value& v, CallArgs& a) {
  auto arg = [&]() -> Result<Value> {
    if (a.positional.size() != 1 || !a.keyword.empty()) {
      return InvalidArgument(fmt::format("test '{}' takes one argument", name));
    }
    return a.positional[0];
  };
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "boolean") return v.is_bool();
  if (name == "true") return v.is_bool() && v.as_bool();
  if (name == "false") return v.is_bool() && !v.as_bool();
  if (name == "integer") return v.is_int();
  if (name == "float") return v.is_float();
  if (name == "number") return v.is_number();
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.is_mapping() && !v.is_namespace();
  if (name == "iterable") return v.is_list() || v.is_string() || (v.is_mapping() && !v.is_namespace());
  if (name == "sequence") return v.is_list() || v.is_string() || (v.is_mapping() && !v.is_namespace());
  if (name == "callable") return v.is_function();
  if (name == "escaped") return false;
  if (name == "lower" || name == "upper") {
    return v.is_string() && (name == "lower" ? AsciiLower(v.str()) : AsciiUpper(v.str())) == v.str();
  }
  if (name == "odd" || name == "even" || name == "divisibleby") {
    if (!v.is_int() && !v.is_bool()) return InvalidArgument(fmt::format("test '{}' needs an integer, got {}", name, v.TypeName()));
    const int64_t x = v.is_int() ? v.as_int() : v.as_bool();
    if (name == "odd") return x % 2 != 0;
    if (name == "even") return x % 2 == 0;
    ST_ASSIGN_OR_RETURN(Value d, arg());
    if (!d.is_int() || d.as_int() == 0) return InvalidArgument("divisibleby needs a non-zero integer");
    return x % d.as_int() == 0;
  }
  if (name == "in") {
    ST_ASSIGN_OR_RETURN(Value c, arg());
    return Contains(c, v);
  }
  if (name == "sameas") {
    ST_ASSIGN_OR_RETURN(Value o, arg());
    if (v.kind() != o.kind()) return false;
    if (v.is_none() || v.is_bool()) return Equal(v, o);
    if (v.is_list()) return &v.list() == &o.list();
    if (v.is_mapping()) return &v.dict() == &o.dict();
    return Equal(v, o);
  }
  if (name == "eq" || name == "equalto" || name == "==") {
    ST_ASSIGN_OR_RETURN(Value o, arg());
    return Equal(v, o);
  }
  if (name == "ne" || name == "!=") {
    ST_ASSIGN_OR_RETURN(Value o, arg());
    return !Equal(v, o);
  }
  if (name == "lt" || name == "lessthan" || name == "<" || name == "gt" || name == "greaterthan" || name == ">" ||
      name == "le" || name == "<=" || name == "ge" || name == ">=") {
    ST_ASSIGN_OR_RETURN(Value o, arg());
    const bool lt = name == "lt" || name == "lessthan" || name == "<";
    const bool gt = name == "gt" || name == "greaterthan" || name == ">";
    if (lt) return Less(v, o);
    if (gt) return Less(o, v);
    ST_ASSIGN_OR_RETURN(bool strict, name == "le" || name == "<=" ? Less(o, v) : Less(v, o));
    return !strict;
  }
  return InvalidArgument(fmt::format("no test named '{}'", name));
}

Dict Globals() {
  Dict g;
  auto add = [&](const std::string& name, std::function<Result<Value>(CallArgs&, void*)> fn) {
    auto f = std::make_shared<Function>();
    f->name = name;
    f->call = std::move(fn);
    g.Set(name, Value(std::move(f)));
  };
  add("range", [](CallArgs& a, void*) -> Result<Value> {
    if (!a.keyword.empty() || a.positional.empty() || a.positional.size() > 3) {
      return InvalidArgument("range() takes 1 to 3 integer arguments");
    }
    int64_t p[3] = {0, 0, 1};
    for (size_t i = 0; i < a.positional.size(); ++i) {
      const Value& v = a.positional[i];
      if (!v.is_int() && !v.is_bool()) return InvalidArgument(fmt::format("range() needs integers, got {}", v.TypeName()));
      p[a.positional.size() == 1 ? 1 : i] = v.is_int() ? v.as_int() : v.as_bool();
    }
    if (p[2] == 0) return InvalidArgument("range() arg 3 must not be zero");
    const double count = std::ceil((static_cast<double>(p[1]) - static_cast<double>(p[0])) / static_cast<double>(p[2]));
    // Jinja2's sandbox refuses ranges longer than 100000 (MAX_RANGE).
    if (count > 100000) return ResourceExhausted("range() too big: the sandbox allows 100000 items");
    List out;
    for (int64_t i = p[0]; p[2] > 0 ? i < p[1] : i > p[1]; i += p[2]) out.emplace_back(i);
    return Value::MakeList(std::move(out));
  });
  auto make_dict = [](bool ns) {
    return [ns](CallArgs& a, void*) -> Result<Value> {
      Dict d;
      if (a.positional.size() > 1) return InvalidArgument("namespace()/dict() take at most one positional mapping");
      if (a.positional.size() == 1) {
        if (!a.positional[0].is_mapping()) return InvalidArgument("namespace()/dict(): the positional argument must be a mapping");
        d = a.positional[0].dict();
      }
      for (auto& [k, v] : a.keyword) d.Set(k, v);
      return ns ? Value::MakeNamespace(std::move(d)) : Value::MakeDict(std::move(d));
    };
  };
  add("namespace", make_dict(true));
  add("dict", make_dict(false));
  add("raise_exception", [](CallArgs& a, void*) -> Result<Value> {
    std::string msg = a.positional.empty() ? std::string() : a.positional[0].Str(4096);
    return Status(StatusCode::kFailedPrecondition, std::string(kRaisedPrefix) + msg);
  });
  add("strftime_now", [](CallArgs& a, void*) -> Result<Value> {
    if (a.positional.size() != 1 || !a.positional[0].is_string()) return InvalidArgument("strftime_now(format) takes a string");
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    localtime_r(&now, &tm);
    char buf[512];
    const size_t n = std::strftime(buf, sizeof(buf), a.positional[0].str().c_str(), &tm);
    return Value(std::string(buf, n));
  });
  return g;
}

}  // namespace st::jinja
