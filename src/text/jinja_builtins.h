// What a Jinja template can call: Jinja2's filters and tests, the Python methods of str, dict and
// list that chat templates use (message.content.strip(), messages[0].get('x'), ...), attribute
// and item lookup with Jinja2's rules, and the globals Hugging Face provides (range, namespace,
// dict, raise_exception, strftime_now).
//
// Errors carry no position: the interpreter prefixes the line and column of the expression.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "text/jinja_value.h"

namespace st::jinja {

// Bounds on one rendering, so that a hostile template cannot hang or exhaust memory.
struct Limits {
  size_t max_output_bytes = 8u << 20;  // the rendered text, and any one string or JSON value
  size_t max_items = 1u << 20;         // any one list
  uint64_t max_steps = 20'000'000;     // statements and expressions evaluated
  int max_call_depth = 64;             // nested macro calls
  int max_parse_depth = 200;           // nesting of statements and expressions in the source
};

// `obj.name`: a method for str/dict/list (bound), else a dict/namespace key; Undefined when
// missing. Undefined `obj` is an error ("'x' is undefined"), as in Jinja2.
Result<Value> GetAttr(const Value& obj, const std::string& name);
// `obj[key]`: a dict key, a list or str index (negative from the end), else as GetAttr.
Result<Value> GetItem(const Value& obj, const Value& key);
// `obj[start:stop:step]` on a list or str, Python's slice rules; absent parts are Undefined.
Result<Value> Slice(const Value& obj, const Value& start, const Value& stop, const Value& step);

// `value | name(args)`.
Result<Value> ApplyFilter(const std::string& name, const Value& value, CallArgs& args, const Limits& limits);
// `value is name(args)`.
Result<bool> ApplyTest(const std::string& name, const Value& value, CallArgs& args);
// `item in container`.
Result<bool> Contains(const Value& container, const Value& item);
// The items `for x in value` visits: a list's elements, a dict's keys, a str's characters;
// Undefined visits nothing.
Result<List> Iterate(const Value& value);

// range, namespace, dict, raise_exception, strftime_now.
Dict Globals();

// The message a raise_exception() call carries, recognised by its status code and prefix.
inline constexpr std::string_view kRaisedPrefix = "the template raised an error: ";

}  // namespace st::jinja
