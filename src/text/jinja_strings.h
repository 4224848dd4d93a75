// Python's str operations as chat templates use them (strip, split, title, format, % ...), and
// the argument binding shared by methods, filters and globals. Case mapping is ASCII only:
// Python would also change the case of other letters (é -> É), which no template we know of
// relies on for message text.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "text/jinja_value.h"

namespace st::jinja {

// The argument at position `index`, else the keyword `name`, else `def`.
Value Arg(const CallArgs& a, size_t index, std::string_view name, Value def = Value());
// At most names.size() positional arguments, and keywords only from `names`.
Status CheckArgs(const CallArgs& a, std::string_view fn, std::initializer_list<std::string_view> names);
Status TypeError(std::string_view fn, std::string_view arg, const Value& got);

// Python's whitespace (str.isspace) for one code point.
bool IsPySpace(uint32_t cp);
// str.strip/lstrip/rstrip: `chars` unset strips whitespace, else any of its code points.
std::string StripChars(std::string_view s, const std::optional<std::string>& chars, bool left, bool right);
// str.split / str.rsplit (sep unset: runs of whitespace, empty parts dropped).
std::vector<std::string> Split(std::string_view s, const std::optional<std::string>& sep, int64_t maxsplit, bool from_right);
// str.splitlines() (\n, \r\n, \r and the other line boundaries).
std::vector<std::string> SplitLines(std::string_view s);
// str.replace(old, new, count); count < 0: all.
std::string Replace(std::string_view s, std::string_view from, std::string_view to, int64_t count);
int64_t CountOccurrences(std::string_view s, std::string_view sub);
std::string AsciiUpper(std::string_view s);
std::string AsciiLower(std::string_view s);
std::string PyTitle(std::string_view s);      // str.title()
std::string Capitalize(std::string_view s);   // str.capitalize()
std::string JinjaTitle(std::string_view s);   // the title filter (words start after - space ( { [ <)
bool CharClassTest(std::string_view s, std::string_view method);  // isdigit, isalpha, ...
// str.format(*args, **kwargs): {} {0} {name} {{ }}; a format spec is refused.
Result<Value> PyFormat(std::string_view fmt, const CallArgs& a);
// fmt % args (printf style: %s %r %d %i %f %% and %(name)s with a dict).
Result<Value> PercentFormat(std::string_view fmt, const Value& args);
// The indent filter (Jinja2 3.x): indent lines after the first by `width`.
std::string Indent(std::string_view s, const std::string& indention, bool first, bool blank);
// The escape filter: & < > " ' as HTML entities.
std::string HtmlEscape(std::string_view s);

}  // namespace st::jinja
