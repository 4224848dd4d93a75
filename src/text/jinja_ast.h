// The syntax tree of a parsed Jinja template: expressions and statements, each with the position
// it starts at (errors name it). Built by jinja_parser.cc, run by jinja_interpreter.cc.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "text/jinja_lexer.h"
#include "text/jinja_value.h"

namespace st::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    kLiteral,   // value
    kName,      // name
    kList,      // [operands...] (also tuples: Python prints them differently, templates do not care)
    kDict,      // {keys[i]: operands[i]}
    kGetAttr,   // operands[0].name
    kGetItem,   // operands[0][operands[1]]
    kSlice,     // operands[0][operands[1]:operands[2]:operands[3]] (null parts are absent)
    kCall,      // operands[0](operands[1:]..., kwargs...)
    kFilter,    // operands[0] | name(operands[1:]..., kwargs...); operands[0] null in {% filter %}
    kTest,      // operands[0] is [not] name(operands[1:]...)
    kUnary,     // name ("-", "+", "not") operands[0]
    kBinary,    // operands[0] name operands[1]: + - * / // % ** ~ and or
    kCompare,   // operands[0] ops[0] operands[1] ops[1] operands[2] ... (== != < <= > >= in notin)
    kCond,      // operands[1] if operands[0] else operands[2] (operands[2] null: undefined)
  };
  Kind kind;
  SourcePos pos;
  Value value;                 // kLiteral
  std::string name;            // kName, kGetAttr, kFilter, kTest, kUnary, kBinary
  std::vector<ExprPtr> operands;
  std::vector<ExprPtr> keys;   // kDict
  std::vector<std::string> ops;                               // kCompare
  std::vector<std::pair<std::string, ExprPtr>> kwargs;        // kCall, kFilter, kTest
  bool negated = false;        // kTest: `is not`
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

// The left side of `set` and of `for`: names, `ns.attr`, or a tuple of names.
struct Target {
  std::vector<std::string> names;  // one name, or several for unpacking
  std::string attr;                // `set ns.attr = ...`: names = {ns}
  bool tuple = false;              // `for a, b in ...`: unpack even one name written with a comma
};

struct MacroParam {
  std::string name;
  ExprPtr default_value;  // null: required
};

struct Stmt {
  enum class Kind {
    kText,         // text
    kOutput,       // {{ expr }}
    kIf,           // branches: (condition or null for else, body)
    kFor,          // for target in expr [if filter] body [else else_body]
    kSet,          // set target = expr
    kSetBlock,     // set target %}body{% endset (filter: applied to the body, may be null)
    kMacro,        // macro name(params) body
    kCallBlock,    // call(params) expr(call) body: `caller` is the body
    kFilterBlock,  // filter (a kFilter chain with a null input) body
    kWith,         // with target = expr, ... body (a new scope)
    kBreak,
    kContinue,
    kScope,        // {% generation %} body: rendered as is
  };
  Kind kind;
  SourcePos pos;
  std::string text;
  ExprPtr expr;
  ExprPtr filter;                                   // kFor: `if` condition; kSetBlock/kFilterBlock: filters
  Target target;
  std::vector<std::pair<ExprPtr, Body>> branches;   // kIf
  std::vector<std::pair<Target, ExprPtr>> assigns;  // kWith
  Body body;
  Body else_body;
  std::string name;                                 // kMacro
  std::vector<MacroParam> params;                   // kMacro, kCallBlock
};

}  // namespace st::jinja
