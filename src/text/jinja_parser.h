// The Jinja2 parser: tokens -> syntax tree, with Jinja2's operator precedence (lowest first):
// `x if c else y`, or, and, not, comparisons (== != < <= > >= in, not in), + -, ~, * / // %, **,
// unary - +, then postfix `.attr` `[i]` `[a:b:c]` `(args)` and the filter/test chain `| f` `is t`.
// Statements: if/elif/else, for (with `if` filter, else, loop.*), set (also `ns.x` and block
// form), macro, call, filter, with, break/continue (transformers loads loopcontrols), raw,
// generation (transformers' AssistantTracker tag). include/extends/import are refused: a chat
// template has no other files to read.
#pragma once

#include <vector>

#include "text/jinja_ast.h"

namespace st::jinja {

// Parses the whole template. Errors name the line and column of the offending token. Nesting is
// limited (`max_depth` levels of statements or sub-expressions) so a hostile template cannot
// exhaust the stack.
Result<Body> Parse(const std::vector<Token>& tokens, int max_depth = 200);

}  // namespace st::jinja
