// The Jinja2 lexer: template text -> a flat token stream, with Jinja2's whitespace control applied
// as Hugging Face configures it (trim_blocks and lstrip_blocks on, keep_trailing_newline off).
//
// What the rules do to the text between tags, in Jinja2's own order:
//   - the source's newlines are normalised to "\n" and one trailing newline is dropped;
//   - `{%-`, `{{-`, `{#-` strip all whitespace before the tag; `-%}`, `-}}`, `-#}` all after it;
//   - trim_blocks: the first newline after a block or comment tag (`%}`, `#}`) is removed, unless
//     the tag ends with `+%}`;
//   - lstrip_blocks: spaces and tabs between the start of a line and a block or comment tag are
//     removed, unless the tag starts with `{%+`.
// `{# comments #}` produce no token; `{% raw %}...{% endraw %}` is one text token.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "smallthinker/status.h"

namespace st::jinja {

// Where a token or node starts in the template (1-based; the column counts bytes).
struct SourcePos {
  int line = 1;
  int column = 1;
};

struct Token {
  enum class Kind {
    kText,        // literal template text (after whitespace control)
    kVarBegin,    // {{
    kVarEnd,      // }}
    kBlockBegin,  // {%
    kBlockEnd,    // %}
    kName,        // identifier or keyword (if, for, and, not, true, ...)
    kString,      // a string literal, unescaped
    kInt,
    kFloat,
    kOperator,    // + - * / // % ** ~ == != < <= > >= = ( ) [ ] { } . , : |
    kEnd,         // end of the template
  };
  Kind kind;
  std::string text;  // kText, kName, kString, kOperator; the literal's source for numbers
  SourcePos pos;
  int64_t int_value = 0;
  double float_value = 0;
};

// Tokenizes `source`. Errors (an unclosed tag, comment or string, a character that is not part of
// Jinja's syntax) are InvalidArgument naming the line and column.
Result<std::vector<Token>> Tokenize(std::string_view source);

// "line 3, column 14" — how every template error says where.
std::string DescribePos(const SourcePos& pos);

}  // namespace st::jinja
