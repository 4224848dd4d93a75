// jinja::Template: a parsed Jinja2 template, rendered as Python's jinja2 renders it inside Hugging
// Face transformers (ImmutableSandboxedEnvironment with trim_blocks, lstrip_blocks and the
// loopcontrols extension; raise_exception, strftime_now and transformers' tojson).
//
// Errors name the line and column: a syntax error from Parse, a runtime error (an undefined
// variable's attribute, a type mismatch) or a raise_exception() call from Render. Render is
// bounded by Limits: a template that loops forever or builds huge strings stops with
// ResourceExhausted instead of hanging or exhausting memory.
//
// Immutable after Parse: Render may run on several threads at once.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "text/jinja_ast.h"
#include "text/jinja_builtins.h"

namespace st::jinja {

class Template {
 public:
  // Syntax errors: InvalidArgument "line L, column C: ...".
  static Result<Template> Parse(std::string_view source, const Limits& limits = {});

  // Renders with `variables` (messages, add_generation_prompt, bos_token, ...) on top of the
  // globals. Errors: InvalidArgument (a template error at line/column), FailedPrecondition (the
  // template called raise_exception: its message follows kRaisedPrefix), ResourceExhausted (a
  // limit was hit).
  Result<std::string> Render(const Dict& variables) const;

 private:
  std::shared_ptr<const Body> body_;
  Limits limits_;
};

}  // namespace st::jinja
