// jinja::Value: the dynamic values a Jinja template computes with, behaving as the Python objects
// Jinja2 would hold (None, bool, int, float, str, list, dict, Undefined, namespace, functions).
//
// Chat templates compare, print and serialize these values, and Hugging Face renders them with
// Python's rules, so the rules here are Python's: str() and repr() of numbers and containers,
// `==` across int/float/bool, truthiness, json.dumps for the tojson filter. Dicts keep insertion
// order (a message's keys print in the order the request gave them). Lists and dicts are shared
// and, apart from namespaces, never modified after they are built (the sandbox forbids it).
#pragma once

#include <cstdint>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "smallthinker/status.h"

namespace st::jinja {

struct Value;
struct Dict;
using List = std::vector<Value>;
using ListPtr = std::shared_ptr<List>;
using DictPtr = std::shared_ptr<Dict>;

// Arguments of a call: positional, then keyword (in the order written).
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};

// A callable: a builtin function, a bound method, a macro or `caller`. The interpreter passes
// itself through `ctx` so that macros can render their bodies.
struct Function {
  std::string name;
  std::function<Result<Value>(CallArgs& args, void* ctx)> call;
};
using FunctionPtr = std::shared_ptr<Function>;

struct Undefined {
  std::string name;  // what was looked up, for "'x' is undefined"
};
struct None {};

struct Value {
  // kNamespace is a Dict whose attributes `{% set ns.x = ... %}` may change.
  enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kNamespace, kFunction };

  Value() : v(Undefined{}) {}
  static Value Undef(std::string name) { return Value(Undefined{std::move(name)}); }
  static Value Null() { return Value(None{}); }
  Value(bool b) : v(b) {}                          // NOLINT
  Value(int64_t i) : v(i) {}                       // NOLINT
  Value(int i) : v(static_cast<int64_t>(i)) {}     // NOLINT
  Value(double f) : v(f) {}                        // NOLINT
  Value(std::string s) : v(std::move(s)) {}        // NOLINT
  Value(const char* s) : v(std::string(s)) {}      // NOLINT
  Value(ListPtr l) : v(std::move(l)) {}            // NOLINT
  Value(FunctionPtr f) : v(std::move(f)) {}        // NOLINT
  static Value MakeList(List items) { return Value(std::make_shared<List>(std::move(items))); }
  static Value MakeDict(Dict d);
  static Value MakeNamespace(Dict d);

  Kind kind() const;
  bool is_undefined() const { return std::holds_alternative<Undefined>(v); }
  bool is_none() const { return std::holds_alternative<None>(v); }
  bool is_bool() const { return std::holds_alternative<bool>(v); }
  bool is_int() const { return std::holds_alternative<int64_t>(v); }
  bool is_float() const { return std::holds_alternative<double>(v); }
  bool is_number() const { return is_int() || is_float() || is_bool(); }
  bool is_string() const { return std::holds_alternative<std::string>(v); }
  bool is_list() const { return std::holds_alternative<ListPtr>(v); }
  bool is_mapping() const { return std::holds_alternative<std::pair<DictPtr, bool>>(v); }  // dict or namespace
  bool is_namespace() const { return is_mapping() && std::get<std::pair<DictPtr, bool>>(v).second; }
  bool is_function() const { return std::holds_alternative<FunctionPtr>(v); }

  bool as_bool() const { return std::get<bool>(v); }
  int64_t as_int() const { return std::get<int64_t>(v); }
  double as_float() const { return std::get<double>(v); }
  const std::string& str() const { return std::get<std::string>(v); }
  const List& list() const { return *std::get<ListPtr>(v); }
  Dict& dict() const { return *std::get<std::pair<DictPtr, bool>>(v).first; }
  const Function& function() const { return *std::get<FunctionPtr>(v); }
  const std::string& undefined_name() const { return std::get<Undefined>(v).name; }
  // int, bool (as 0/1) or float, as a double.
  double number() const;

  // Python's bool(x); Undefined is false.
  bool Truthy() const;
  // Python's str(x) (Undefined prints as nothing) and repr(x). Containers stop growing past
  // `limit` bytes (the caller reports the overflow): shared sub-lists can make a small value
  // print as terabytes.
  std::string Str(size_t limit = SIZE_MAX) const;
  std::string Repr(size_t limit = SIZE_MAX) const;
  // "int", "str", "dict", ... as Python names the type, for error messages.
  std::string TypeName() const;

  std::variant<Undefined, None, bool, int64_t, double, std::string, ListPtr, std::pair<DictPtr, bool>, FunctionPtr> v;
  explicit Value(Undefined u) : v(std::move(u)) {}
  explicit Value(None n) : v(n) {}
  Value(DictPtr d, bool is_namespace) : v(std::make_pair(std::move(d), is_namespace)) {}
};

// An insertion-ordered str -> Value map (Python 3.7+ dicts). Chat template dicts are small:
// lookup is linear.
struct Dict {
  std::vector<std::pair<std::string, Value>> items;
  const Value* Find(std::string_view key) const;
  void Set(const std::string& key, Value value);  // replaces in place, or appends
};

// Python's == (1 == 1.0 == True, containers element-wise; values of unrelated types differ).
bool Equal(const Value& a, const Value& b);
// Python's <: numbers with numbers, strings with strings (code point order), lists
// lexicographically. Other pairs: an error naming both types.
Result<bool> Less(const Value& a, const Value& b);

// Python's repr() of a float: the shortest digits that read back the same, fixed notation for
// exponents -4..15 ("0.0001", "1e-05", "1e+16", "2.0"), "inf", "nan".
std::string FloatRepr(double f);

// json.dumps(value, ensure_ascii, indent, separators, sort_keys), as transformers' tojson calls it.
// indent < 0 means None. Undefined and functions are not serializable (an error).
struct JsonStyle {
  int indent = -1;
  std::optional<std::string> item_separator;  // unset: ", " without indent, "," with
  std::string key_separator = ": ";
  bool sort_keys = false;
  bool ensure_ascii = false;
  size_t max_bytes = SIZE_MAX;  // longer output: an error (see Value::Repr)
};
Result<std::string> ToJson(const Value& value, const JsonStyle& style);

// The template's view of a JSON document (objects keep their key order).
Value FromJson(const nlohmann::ordered_json& j);

// UTF-8 helpers for Python's code-point indexing: the code points of `s` as byte ranges.
std::vector<std::string_view> CodePoints(std::string_view s);

}  // namespace st::jinja
