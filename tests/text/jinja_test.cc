// The Jinja engine on its own: what Python's jinja2 renders for the constructs chat templates use
// (expected strings rendered by jinja2 3.1 with trim_blocks and lstrip_blocks), errors that name
// the line and column, and the limits that stop hostile templates.
#include "text/jinja_template.h"

#include <gtest/gtest.h>

#include <string>

namespace st::jinja {
namespace {

Result<std::string> Render(std::string_view text, const Dict& vars = {}, const Limits& limits = {}) {
  auto t = Template::Parse(text, limits);
  if (!t.ok()) return t.status();
  return t->Render(vars);
}

std::string RenderOrDie(std::string_view text, const Dict& vars = {}) {
  auto r = Render(text, vars);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().ToString();
  return r.ok() ? *r : "<error>";
}

TEST(JinjaTest, WhitespaceControlAsTransformersSetsIt) {
  // trim_blocks drops the newline after a block tag; lstrip_blocks the indentation before one.
  EXPECT_EQ(RenderOrDie("{% if true %}\n  a\n  {% endif %}\nb"), "  a\nb");
  EXPECT_EQ(RenderOrDie("x  {%- if true -%}  y  {%- endif -%}  z"), "xyz");
  EXPECT_EQ(RenderOrDie("a {{- 'b' -}} c"), "abc");
  EXPECT_EQ(RenderOrDie("a\n{# comment #}\nb\n"), "a\nb");  // one trailing newline is dropped
  EXPECT_EQ(RenderOrDie("{% raw %}{{ x }}{% endraw %}"), "{{ x }}");
}

TEST(JinjaTest, ExpressionsFiltersAndTests) {
  EXPECT_EQ(RenderOrDie("{{ [1, 2, 3][1:] }}|{{ 'abc'[::-1] }}|{{ 7 // 2 }}|{{ 7 / 2 }}|{{ 2 ** 10 }}"),
            "[2, 3]|cba|3|3.5|1024");
  EXPECT_EQ(RenderOrDie("{{ 'a' in 'cat' }}{{ 3 not in [1] }}{{ none is none }}{{ x is defined }}"),
            "TrueTrueTrueFalse");
  EXPECT_EQ(RenderOrDie("{{ '  hi  '.strip() }}|{{ 'a,b'.split(',') }}|{{ 'x'.upper() ~ 'Y'.lower() }}"),
            "hi|['a', 'b']|Xy");
  EXPECT_EQ(RenderOrDie("{{ {'b': 1, 'a': [1, 'x', none, true]} | tojson }}"), "{\"b\": 1, \"a\": [1, \"x\", null, true]}");
  EXPECT_EQ(RenderOrDie("{{ [3, 1, 2] | sort | join('-') }} {{ 'ab' | length }} {{ x | default('d') }}"), "1-2-3 2 d");
  EXPECT_EQ(RenderOrDie("{{ [{'n': 'a', 'k': 1}, {'n': 'b'}] | selectattr('k', 'defined') | map(attribute='n') | list }}"),
            "['a']");
  EXPECT_EQ(RenderOrDie("{{ 'hello world' | title }} {{ 'x' | capitalize }} {{ '{}-{}'.format(1, 'a') }}"),
            "Hello World X 1-a");
  EXPECT_EQ(RenderOrDie("{{ 'a\nb' | indent(2) }}"), "a\n  b");
  EXPECT_EQ(RenderOrDie("{{ 2.5 | round }} {{ '42' | int + 1 }} {{ 1.0 }} {{ 1e20 }}"), "2.0 43 1.0 1e+20");
}

TEST(JinjaTest, LoopsMacrosNamespacesAndCalls) {
  EXPECT_EQ(RenderOrDie("{% for x in ['a', 'b', 'c'] %}{{ loop.index }}{{ x }}{% if not loop.last %},{% endif %}{% endfor %}"),
            "1a,2b,3c");
  EXPECT_EQ(RenderOrDie("{% for x in [] %}x{% else %}empty{% endfor %}"), "empty");
  EXPECT_EQ(RenderOrDie("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}"), "a=1;b=2;");
  EXPECT_EQ(RenderOrDie("{% for x in range(10) %}{% if x == 3 %}{% break %}{% endif %}{{ x }}{% endfor %}"), "012");
  EXPECT_EQ(RenderOrDie("{% set ns = namespace(n=0) %}{% for x in range(4) %}{% set ns.n = ns.n + x %}{% endfor %}{{ ns.n }}"),
            "6");
  EXPECT_EQ(RenderOrDie("{% macro m(a, b='B') %}[{{ a }}{{ b }}]{% endmacro %}{{ m(1) }}{{ m(2, b=3) }}"), "[1B][23]");
  EXPECT_EQ(RenderOrDie("{% macro w() %}<{{ caller() }}>{% endmacro %}{% call w() %}in{% endcall %}"), "<in>");
  EXPECT_EQ(RenderOrDie("{% filter upper %}abc{% endfilter %}"), "ABC");
  // Inside a loop a plain set is local to the iteration, as in jinja2.
  EXPECT_EQ(RenderOrDie("{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{% endfor %}{{ x }}"), "1");
}

TEST(JinjaTest, TemplateVariables) {
  Dict vars;
  vars.Set("messages", Value::MakeList({Value::MakeDict([] {
             Dict d;
             d.Set("role", Value(std::string("user")));
             d.Set("content", Value(std::string("hé \"q\"")));
             return d;
           }())}));
  EXPECT_EQ(RenderOrDie("{% for m in messages %}{{ m.role }}:{{ m['content'] }}{% endfor %}", vars), "user:hé \"q\"");
  EXPECT_EQ(RenderOrDie("{{ messages | tojson }}", vars), "[{\"role\": \"user\", \"content\": \"hé \\\"q\\\"\"}]");
}

TEST(JinjaTest, ErrorsNameTheLineAndColumn) {
  auto syntax = Render("line one\n{% if x %}\n{{ x + }}\n{% endif %}");
  ASSERT_FALSE(syntax.ok());
  EXPECT_EQ(syntax.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(syntax.status().message().find("line 3, column"), std::string::npos) << syntax.status().message();
  auto unclosed = Render("{% for x in y %}\nno end");
  ASSERT_FALSE(unclosed.ok());
  EXPECT_NE(unclosed.status().message().find("line"), std::string::npos);
  auto runtime = Render("\n\n  {{ none.attr.deeper }}");
  ASSERT_FALSE(runtime.ok());
  EXPECT_NE(runtime.status().message().find("line 3"), std::string::npos) << runtime.status().message();
  auto raised = Render("{{ raise_exception('Conversation roles must alternate') }}");
  ASSERT_FALSE(raised.ok());
  EXPECT_EQ(raised.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(raised.status().message().find("Conversation roles must alternate"), std::string::npos);
  EXPECT_FALSE(Render("{% include 'other.jinja' %}").ok());  // no file system
}

TEST(JinjaTest, LimitsStopHostileTemplates) {
  // A loop nest of 10^15 iterations, a string doubled past memory, unbounded recursion, deep
  // nesting: each ends with an error, quickly.
  auto loops = Render("{% for a in range(100000) %}{% for b in range(100000) %}{% for c in range(100000) %}"
                      "{% endfor %}{% endfor %}{% endfor %}");
  ASSERT_FALSE(loops.ok());
  EXPECT_EQ(loops.status().code(), StatusCode::kResourceExhausted);
  auto big = Render("{% set ns = namespace(s='x') %}{% for i in range(100) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}");
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), StatusCode::kResourceExhausted);
  auto mul = Render("{{ 'x' * 100000000000 }}");
  ASSERT_FALSE(mul.ok());
  EXPECT_EQ(mul.status().code(), StatusCode::kResourceExhausted);
  auto recursion = Render("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}");
  ASSERT_FALSE(recursion.ok());
  EXPECT_EQ(recursion.status().code(), StatusCode::kResourceExhausted);
  std::string deep(5000, '(');
  EXPECT_FALSE(Render("{{ " + deep + "1" + std::string(5000, ')') + " }}").ok());
  std::string nested;
  for (int i = 0; i < 1000; ++i) nested += "{% if true %}";
  EXPECT_FALSE(Render(nested).ok());
  // A namespace holding itself renders (its repr is bounded) and is freed (ASan would tell).
  auto cycle = Render("{% set ns = namespace(a=1) %}{% set ns.self = ns %}{{ ns.a }}");
  ASSERT_TRUE(cycle.ok()) << cycle.status().ToString();
  EXPECT_EQ(*cycle, "1");
}

}  // namespace
}  // namespace st::jinja
