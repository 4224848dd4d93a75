#include "text/jinja_parser.h"

#include <algorithm>
#include <initializer_list>

#include <fmt/format.h>

namespace st::jinja {

namespace {

using K = Token::Kind;

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, int max_depth) : t_(tokens), max_depth_(max_depth) {}

  Result<Body> Run() {
    Body body;
    std::string end;
    ST_RETURN_IF_ERROR(ParseBody({}, body, end));
    return body;
  }

 private:
  // ---- token stream ----
  const Token& Cur() const { return t_[i_]; }
  const Token& Peek(size_t k = 1) const { return t_[std::min(i_ + k, t_.size() - 1)]; }
  void Next() {
    if (i_ + 1 < t_.size()) ++i_;
  }
  bool IsOp(std::string_view op) const { return Cur().kind == K::kOperator && Cur().text == op; }
  bool IsName(std::string_view n) const { return Cur().kind == K::kName && Cur().text == n; }
  bool SkipOp(std::string_view op) {
    if (!IsOp(op)) return false;
    Next();
    return true;
  }
  bool SkipName(std::string_view n) {
    if (!IsName(n)) return false;
    Next();
    return true;
  }
  static std::string Describe(const Token& t) {
    switch (t.kind) {
      case K::kText: return "template text";
      case K::kVarBegin: return "'{{'";
      case K::kVarEnd: return "'}}'";
      case K::kBlockBegin: return "'{%'";
      case K::kBlockEnd: return "'%}'";
      case K::kString: return "a string";
      case K::kInt:
      case K::kFloat: return "number " + t.text;
      case K::kEnd: return "the end of the template";
      default: return "'" + t.text + "'";
    }
  }
  Status Error(const Token& at, const std::string& what) const {
    return InvalidArgument(fmt::format("{}: {}", DescribePos(at.pos), what));
  }
  Status Expect(std::string_view op) {
    if (SkipOp(op)) return {};
    return Error(Cur(), fmt::format("expected '{}', found {}", op, Describe(Cur())));
  }
  Status ExpectBlockEnd(std::string_view tag) {
    if (Cur().kind == K::kBlockEnd) {
      Next();
      return {};
    }
    return Error(Cur(), fmt::format("expected '%}}' to end the '{}' tag, found {}", tag, Describe(Cur())));
  }
  Result<std::string> ExpectName(std::string_view what) {
    if (Cur().kind != K::kName) return Error(Cur(), fmt::format("expected {}, found {}", what, Describe(Cur())));
    std::string n = Cur().text;
    Next();
    return n;
  }
  // Depth guard for recursion: statements and sub-expressions.
  struct DepthGuard {
    explicit DepthGuard(Parser* p) : p(p) { ++p->depth_; }
    ~DepthGuard() { --p->depth_; }
    Parser* p;
  };
  Status CheckDepth() const {
    if (depth_ > max_depth_) return Error(Cur(), fmt::format("the template nests more than {} levels deep", max_depth_));
    return {};
  }

  ExprPtr Make(Expr::Kind kind, SourcePos pos) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->pos = pos;
    return e;
  }

  // ---- statements ----

  // Parses until `{% <one of ends> ` (consumed, name in `end`) or, with no ends, the template's end.
  Status ParseBody(std::initializer_list<std::string_view> ends, Body& body, std::string& end) {
    DepthGuard g(this);
    ST_RETURN_IF_ERROR(CheckDepth());
    const Token& opener = Cur();
    while (true) {
      const Token& tok = Cur();
      if (tok.kind == K::kEnd) {
        if (ends.size() == 0) return {};
        return Error(opener, fmt::format("unexpected end of the template: expected '{{% {} %}}'", *ends.begin()));
      }
      if (tok.kind == K::kText) {
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::kText;
        s->pos = tok.pos;
        s->text = tok.text;
        body.push_back(std::move(s));
        Next();
      } else if (tok.kind == K::kVarBegin) {
        Next();
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::kOutput;
        s->pos = tok.pos;
        ST_ASSIGN_OR_RETURN(s->expr, ParseTuple(true));
        if (Cur().kind != K::kVarEnd) return Error(Cur(), fmt::format("expected '}}}}', found {}", Describe(Cur())));
        Next();
        body.push_back(std::move(s));
      } else if (tok.kind == K::kBlockBegin) {
        const Token& name = Peek();
        if (name.kind != K::kName) return Error(name, fmt::format("expected a statement name, found {}", Describe(name)));
        if (std::find(ends.begin(), ends.end(), name.text) != ends.end()) {
          end = name.text;
          Next();
          Next();
          return {};
        }
        Next();
        ST_ASSIGN_OR_RETURN(StmtPtr s, ParseStatement(ends));
        body.push_back(std::move(s));
      } else {
        return Error(tok, fmt::format("unexpected {}", Describe(tok)));
      }
    }
  }

  Result<StmtPtr> ParseStatement(std::initializer_list<std::string_view> ends) {
    const Token& tok = Cur();
    auto s = std::make_unique<Stmt>();
    s->pos = tok.pos;
    const std::string name = tok.text;
    Next();
    std::string end;
    if (name == "if") {
      s->kind = Stmt::Kind::kIf;
      ExprPtr cond;
      ST_ASSIGN_OR_RETURN(cond, ParseTuple(false));
      while (true) {
        ST_RETURN_IF_ERROR(ExpectBlockEnd("if"));
        Body b;
        ST_RETURN_IF_ERROR(ParseBody({"elif", "else", "endif"}, b, end));
        s->branches.emplace_back(std::move(cond), std::move(b));
        if (end == "elif") {
          ST_ASSIGN_OR_RETURN(cond, ParseTuple(false));
          continue;
        }
        if (end == "else") {
          ST_RETURN_IF_ERROR(ExpectBlockEnd("else"));
          Body e;
          ST_RETURN_IF_ERROR(ParseBody({"endif"}, e, end));
          s->branches.emplace_back(nullptr, std::move(e));
        }
        break;
      }
      ST_RETURN_IF_ERROR(ExpectBlockEnd("endif"));
    } else if (name == "for") {
      s->kind = Stmt::Kind::kFor;
      ST_ASSIGN_OR_RETURN(s->target, ParseTarget(false));
      if (!SkipName("in")) return Error(Cur(), fmt::format("expected 'in' in the for loop, found {}", Describe(Cur())));
      ST_ASSIGN_OR_RETURN(s->expr, ParseTuple(false));
      if (SkipName("if")) {
        ST_ASSIGN_OR_RETURN(s->filter, ParseExpression(true));
      }
      if (IsName("recursive")) return Error(Cur(), "recursive for loops are not supported");
      ST_RETURN_IF_ERROR(ExpectBlockEnd("for"));
      ST_RETURN_IF_ERROR(ParseBody({"else", "endfor"}, s->body, end));
      if (end == "else") {
        ST_RETURN_IF_ERROR(ExpectBlockEnd("else"));
        ST_RETURN_IF_ERROR(ParseBody({"endfor"}, s->else_body, end));
      }
      ST_RETURN_IF_ERROR(ExpectBlockEnd("endfor"));
    } else if (name == "set") {
      ST_ASSIGN_OR_RETURN(s->target, ParseTarget(true));
      if (SkipOp("=")) {
        s->kind = Stmt::Kind::kSet;
        ST_ASSIGN_OR_RETURN(s->expr, ParseTuple(true));
        ST_RETURN_IF_ERROR(ExpectBlockEnd("set"));
      } else {
        s->kind = Stmt::Kind::kSetBlock;
        if (s->target.names.size() != 1 || !s->target.attr.empty()) return Error(tok, "a block set takes one name");
        if (IsOp("|")) {
          ST_ASSIGN_OR_RETURN(s->filter, ParseFilterChain(nullptr));
        }
        ST_RETURN_IF_ERROR(ExpectBlockEnd("set"));
        ST_RETURN_IF_ERROR(ParseBody({"endset"}, s->body, end));
        ST_RETURN_IF_ERROR(ExpectBlockEnd("endset"));
      }
    } else if (name == "macro") {
      s->kind = Stmt::Kind::kMacro;
      ST_ASSIGN_OR_RETURN(s->name, ExpectName("a macro name"));
      ST_RETURN_IF_ERROR(ParseParams(s->params));
      ST_RETURN_IF_ERROR(ExpectBlockEnd("macro"));
      ST_RETURN_IF_ERROR(ParseBody({"endmacro"}, s->body, end));
      ST_RETURN_IF_ERROR(ExpectBlockEnd("endmacro"));
    } else if (name == "call") {
      s->kind = Stmt::Kind::kCallBlock;
      if (IsOp("(")) ST_RETURN_IF_ERROR(ParseParams(s->params));
      ST_ASSIGN_OR_RETURN(s->expr, ParseExpression(true));
      if (s->expr->kind != Expr::Kind::kCall) return Error(tok, "'call' needs a macro call: {% call m(...) %}");
      ST_RETURN_IF_ERROR(ExpectBlockEnd("call"));
      ST_RETURN_IF_ERROR(ParseBody({"endcall"}, s->body, end));
      ST_RETURN_IF_ERROR(ExpectBlockEnd("endcall"));
    } else if (name == "filter") {
      s->kind = Stmt::Kind::kFilterBlock;
      ST_ASSIGN_OR_RETURN(s->filter, ParseFilterChain(nullptr, /*first_bar=*/false));
      ST_RETURN_IF_ERROR(ExpectBlockEnd("filter"));
      ST_RETURN_IF_ERROR(ParseBody({"endfilter"}, s->body, end));
      ST_RETURN_IF_ERROR(ExpectBlockEnd("endfilter"));
    } else if (name == "with") {
      s->kind = Stmt::Kind::kWith;
      while (Cur().kind != K::kBlockEnd) {
        if (!s->assigns.empty()) ST_RETURN_IF_ERROR(Expect(","));
        ST_ASSIGN_OR_RETURN(Target t, ParseTarget(false));
        ST_RETURN_IF_ERROR(Expect("="));
        ST_ASSIGN_OR_RETURN(ExprPtr v, ParseExpression(true));
        s->assigns.emplace_back(std::move(t), std::move(v));
      }
      ST_RETURN_IF_ERROR(ExpectBlockEnd("with"));
      ST_RETURN_IF_ERROR(ParseBody({"endwith"}, s->body, end));
      ST_RETURN_IF_ERROR(ExpectBlockEnd("endwith"));
    } else if (name == "generation") {
      s->kind = Stmt::Kind::kScope;
      ST_RETURN_IF_ERROR(ExpectBlockEnd("generation"));
      ST_RETURN_IF_ERROR(ParseBody({"endgeneration"}, s->body, end));
      ST_RETURN_IF_ERROR(ExpectBlockEnd("endgeneration"));
    } else if (name == "break" || name == "continue") {
      s->kind = name == "break" ? Stmt::Kind::kBreak : Stmt::Kind::kContinue;
      ST_RETURN_IF_ERROR(ExpectBlockEnd(name));
    } else if (name == "include" || name == "extends" || name == "import" || name == "from" || name == "block") {
      return Error(tok, fmt::format("'{}' is not supported: a chat template cannot use other templates", name));
    } else {
      std::string hint;
      if (ends.size() > 0) hint = fmt::format(" (the innermost open block ends with '{}')", *ends.begin());
      return Error(tok, fmt::format("unknown tag '{}'{}", name, hint));
    }
    return s;
  }

  // `name`, `a, b`, or (with allow_attr) `ns.attr`.
  Result<Target> ParseTarget(bool allow_attr) {
    Target t;
    ST_ASSIGN_OR_RETURN(std::string first, ExpectName("a variable name"));
    t.names.push_back(first);
    if (allow_attr && SkipOp(".")) {
      ST_ASSIGN_OR_RETURN(t.attr, ExpectName("an attribute name"));
      return t;
    }
    while (SkipOp(",")) {
      t.tuple = true;
      if (Cur().kind != K::kName) break;  // a trailing comma
      t.names.push_back(Cur().text);
      Next();
    }
    for (const std::string& n : t.names) {
      if (n == "true" || n == "false" || n == "none" || n == "True" || n == "False" || n == "None") {
        return Error(Cur(), fmt::format("cannot assign to '{}'", n));
      }
    }
    return t;
  }

  Status ParseParams(std::vector<MacroParam>& params) {
    ST_RETURN_IF_ERROR(Expect("("));
    while (!SkipOp(")")) {
      if (!params.empty()) ST_RETURN_IF_ERROR(Expect(","));
      if (SkipOp(")")) break;
      MacroParam p;
      ST_ASSIGN_OR_RETURN(p.name, ExpectName("a parameter name"));
      if (SkipOp("=")) {
        ST_ASSIGN_OR_RETURN(p.default_value, ParseExpression(true));
      }
      params.push_back(std::move(p));
    }
    return {};
  }

  // ---- expressions ----

  // Expressions separated by commas: several make a tuple (a list here).
  Result<ExprPtr> ParseTuple(bool with_condexpr) {
    const SourcePos pos = Cur().pos;
    ST_ASSIGN_OR_RETURN(ExprPtr first, ParseExpression(with_condexpr));
    if (!IsOp(",")) return first;
    ExprPtr tuple = Make(Expr::Kind::kList, pos);
    tuple->operands.push_back(std::move(first));
    while (SkipOp(",")) {
      if (Cur().kind == K::kVarEnd || Cur().kind == K::kBlockEnd || IsOp(")")) break;
      ST_ASSIGN_OR_RETURN(ExprPtr e, ParseExpression(with_condexpr));
      tuple->operands.push_back(std::move(e));
    }
    return tuple;
  }

  Result<ExprPtr> ParseExpression(bool with_condexpr) {
    DepthGuard g(this);
    ST_RETURN_IF_ERROR(CheckDepth());
    return with_condexpr ? ParseCondExpr() : ParseOr();
  }

  Result<ExprPtr> ParseCondExpr() {
    const SourcePos pos = Cur().pos;
    ST_ASSIGN_OR_RETURN(ExprPtr e, ParseOr());
    while (SkipName("if")) {
      ExprPtr c = Make(Expr::Kind::kCond, pos);
      ST_ASSIGN_OR_RETURN(ExprPtr cond, ParseOr());
      c->operands.push_back(std::move(cond));
      c->operands.push_back(std::move(e));
      if (SkipName("else")) {
        ST_ASSIGN_OR_RETURN(ExprPtr other, ParseExpression(true));
        c->operands.push_back(std::move(other));
      } else {
        c->operands.push_back(nullptr);
      }
      e = std::move(c);
    }
    return e;
  }

  ExprPtr Binary(const std::string& op, SourcePos pos, ExprPtr a, ExprPtr b) {
    ExprPtr e = Make(Expr::Kind::kBinary, pos);
    e->name = op;
    e->operands.push_back(std::move(a));
    e->operands.push_back(std::move(b));
    return e;
  }

  Result<ExprPtr> ParseOr() {
    ST_ASSIGN_OR_RETURN(ExprPtr e, ParseAnd());
    while (IsName("or")) {
      const SourcePos pos = Cur().pos;
      Next();
      ST_ASSIGN_OR_RETURN(ExprPtr r, ParseAnd());
      e = Binary("or", pos, std::move(e), std::move(r));
    }
    return e;
  }
  Result<ExprPtr> ParseAnd() {
    ST_ASSIGN_OR_RETURN(ExprPtr e, ParseNot());
    while (IsName("and")) {
      const SourcePos pos = Cur().pos;
      Next();
      ST_ASSIGN_OR_RETURN(ExprPtr r, ParseNot());
      e = Binary("and", pos, std::move(e), std::move(r));
    }
    return e;
  }
  Result<ExprPtr> ParseNot() {
    if (IsName("not")) {
      ExprPtr e = Make(Expr::Kind::kUnary, Cur().pos);
      e->name = "not";
      Next();
      DepthGuard g(this);
      ST_RETURN_IF_ERROR(CheckDepth());
      ST_ASSIGN_OR_RETURN(ExprPtr operand, ParseNot());
      e->operands.push_back(std::move(operand));
      return e;
    }
    return ParseCompare();
  }
  Result<ExprPtr> ParseCompare() {
    const SourcePos pos = Cur().pos;
    ST_ASSIGN_OR_RETURN(ExprPtr first, ParseMath1());
    ExprPtr cmp;
    while (true) {
      std::string op;
      if (Cur().kind == K::kOperator &&
          (Cur().text == "==" || Cur().text == "!=" || Cur().text == "<" || Cur().text == "<=" || Cur().text == ">" ||
           Cur().text == ">=")) {
        op = Cur().text;
        Next();
      } else if (IsName("in")) {
        op = "in";
        Next();
      } else if (IsName("not") && Peek().kind == K::kName && Peek().text == "in") {
        op = "notin";
        Next();
        Next();
      } else {
        break;
      }
      if (!cmp) {
        cmp = Make(Expr::Kind::kCompare, pos);
        cmp->operands.push_back(std::move(first));
      }
      ST_ASSIGN_OR_RETURN(ExprPtr r, ParseMath1());
      cmp->ops.push_back(op);
      cmp->operands.push_back(std::move(r));
    }
    return cmp ? std::move(cmp) : std::move(first);
  }
  Result<ExprPtr> ParseMath1() {
    ST_ASSIGN_OR_RETURN(ExprPtr e, ParseConcat());
    while (IsOp("+") || IsOp("-")) {
      const std::string op = Cur().text;
      const SourcePos pos = Cur().pos;
      Next();
      ST_ASSIGN_OR_RETURN(ExprPtr r, ParseConcat());
      e = Binary(op, pos, std::move(e), std::move(r));
    }
    return e;
  }
  Result<ExprPtr> ParseConcat() {
    ST_ASSIGN_OR_RETURN(ExprPtr e, ParseMath2());
    while (IsOp("~")) {
      const SourcePos pos = Cur().pos;
      Next();
      ST_ASSIGN_OR_RETURN(ExprPtr r, ParseMath2());
      e = Binary("~", pos, std::move(e), std::move(r));
    }
    return e;
  }
  Result<ExprPtr> ParseMath2() {
    ST_ASSIGN_OR_RETURN(ExprPtr e, ParsePow());
    while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%")) {
      const std::string op = Cur().text;
      const SourcePos pos = Cur().pos;
      Next();
      ST_ASSIGN_OR_RETURN(ExprPtr r, ParsePow());
      e = Binary(op, pos, std::move(e), std::move(r));
    }
    return e;
  }
  Result<ExprPtr> ParsePow() {
    ST_ASSIGN_OR_RETURN(ExprPtr e, ParseUnary(true));
    while (IsOp("**")) {
      const SourcePos pos = Cur().pos;
      Next();
      ST_ASSIGN_OR_RETURN(ExprPtr r, ParseUnary(true));
      e = Binary("**", pos, std::move(e), std::move(r));
    }
    return e;
  }
  Result<ExprPtr> ParseUnary(bool with_filter) {
    DepthGuard g(this);
    ST_RETURN_IF_ERROR(CheckDepth());
    ExprPtr e;
    if (IsOp("-") || IsOp("+")) {
      e = Make(Expr::Kind::kUnary, Cur().pos);
      e->name = Cur().text;
      Next();
      ST_ASSIGN_OR_RETURN(ExprPtr operand, ParseUnary(false));
      e->operands.push_back(std::move(operand));
    } else {
      ST_ASSIGN_OR_RETURN(e, ParsePrimary());
    }
    ST_ASSIGN_OR_RETURN(e, ParsePostfix(std::move(e)));
    if (with_filter) {
      ST_ASSIGN_OR_RETURN(e, ParseFilterExpr(std::move(e)));
    }
    return e;
  }

  Result<ExprPtr> ParsePrimary() {
    const Token& tok = Cur();
    ExprPtr e;
    switch (tok.kind) {
      case K::kName: {
        e = Make(Expr::Kind::kLiteral, tok.pos);
        if (tok.text == "true" || tok.text == "True") {
          e->value = Value(true);
        } else if (tok.text == "false" || tok.text == "False") {
          e->value = Value(false);
        } else if (tok.text == "none" || tok.text == "None") {
          e->value = Value::Null();
        } else {
          e->kind = Expr::Kind::kName;
          e->name = tok.text;
        }
        Next();
        return e;
      }
      case K::kString: {
        e = Make(Expr::Kind::kLiteral, tok.pos);
        std::string s;
        while (Cur().kind == K::kString) {  // adjacent literals concatenate, as in Python
          s += Cur().text;
          Next();
        }
        e->value = Value(std::move(s));
        return e;
      }
      case K::kInt:
      case K::kFloat:
        e = Make(Expr::Kind::kLiteral, tok.pos);
        e->value = tok.kind == K::kInt ? Value(tok.int_value) : Value(tok.float_value);
        Next();
        return e;
      default: break;
    }
    if (SkipOp("(")) {
      if (SkipOp(")")) {
        e = Make(Expr::Kind::kList, tok.pos);  // the empty tuple
        return e;
      }
      ST_ASSIGN_OR_RETURN(e, ParseTuple(true));
      ST_RETURN_IF_ERROR(Expect(")"));
      return e;
    }
    if (SkipOp("[")) {
      e = Make(Expr::Kind::kList, tok.pos);
      while (!SkipOp("]")) {
        if (!e->operands.empty()) ST_RETURN_IF_ERROR(Expect(","));
        if (SkipOp("]")) break;
        ST_ASSIGN_OR_RETURN(ExprPtr item, ParseExpression(true));
        e->operands.push_back(std::move(item));
      }
      return e;
    }
    if (SkipOp("{")) {
      e = Make(Expr::Kind::kDict, tok.pos);
      while (!SkipOp("}")) {
        if (!e->keys.empty()) ST_RETURN_IF_ERROR(Expect(","));
        if (SkipOp("}")) break;
        ST_ASSIGN_OR_RETURN(ExprPtr k, ParseExpression(true));
        ST_RETURN_IF_ERROR(Expect(":"));
        ST_ASSIGN_OR_RETURN(ExprPtr v, ParseExpression(true));
        e->keys.push_back(std::move(k));
        e->operands.push_back(std::move(v));
      }
      return e;
    }
    return Error(tok, fmt::format("unexpected {} in an expression", Describe(tok)));
  }

  Result<ExprPtr> ParsePostfix(ExprPtr e) {
    while (true) {
      const SourcePos pos = Cur().pos;
      if (SkipOp(".")) {
        if (Cur().kind == K::kInt) {  // foo.0 is foo[0]
          ExprPtr item = Make(Expr::Kind::kGetItem, pos);
          item->operands.push_back(std::move(e));
          ExprPtr idx = Make(Expr::Kind::kLiteral, Cur().pos);
          idx->value = Value(Cur().int_value);
          item->operands.push_back(std::move(idx));
          Next();
          e = std::move(item);
          continue;
        }
        ExprPtr a = Make(Expr::Kind::kGetAttr, pos);
        ST_ASSIGN_OR_RETURN(a->name, ExpectName("an attribute name after '.'"));
        a->operands.push_back(std::move(e));
        e = std::move(a);
      } else if (SkipOp("[")) {
        ST_ASSIGN_OR_RETURN(e, ParseSubscript(std::move(e), pos));
      } else if (IsOp("(")) {
        ST_ASSIGN_OR_RETURN(e, ParseCall(std::move(e)));
      } else {
        return e;
      }
    }
  }

  // After `[`: an index or a slice a:b:c.
  Result<ExprPtr> ParseSubscript(ExprPtr target, SourcePos pos) {
    ExprPtr parts[3];
    int n = 0;
    bool slice = false;
    while (true) {
      if (IsOp(":")) {
        slice = true;
        if (++n > 2) return Error(Cur(), "a slice has at most three parts");
        Next();
        continue;
      }
      if (IsOp("]")) break;
      if (parts[n]) return Error(Cur(), fmt::format("expected ':' or ']', found {}", Describe(Cur())));
      ST_ASSIGN_OR_RETURN(parts[n], ParseExpression(true));
    }
    Next();  // ]
    ExprPtr e = Make(slice ? Expr::Kind::kSlice : Expr::Kind::kGetItem, pos);
    e->operands.push_back(std::move(target));
    if (!slice) {
      if (!parts[0]) return Error(Cur(), "empty subscript '[]'");
      e->operands.push_back(std::move(parts[0]));
      return e;
    }
    for (ExprPtr& p : parts) e->operands.push_back(std::move(p));
    return e;
  }

  // `(args, name=value)` into e's operands/kwargs (a call node wraps `callee` when given).
  Status ParseArgs(Expr& e) {
    ST_RETURN_IF_ERROR(Expect("("));
    bool first = true;
    while (!SkipOp(")")) {
      if (!first) ST_RETURN_IF_ERROR(Expect(","));
      first = false;
      if (SkipOp(")")) break;
      if (IsOp("*") || IsOp("**")) return Error(Cur(), "*args and **kwargs in calls are not supported");
      if (Cur().kind == K::kName && Peek().kind == K::kOperator && Peek().text == "=") {
        std::string key = Cur().text;
        Next();
        Next();
        ST_ASSIGN_OR_RETURN(ExprPtr v, ParseExpression(true));
        e.kwargs.emplace_back(std::move(key), std::move(v));
      } else {
        if (!e.kwargs.empty()) return Error(Cur(), "a positional argument follows a keyword argument");
        ST_ASSIGN_OR_RETURN(ExprPtr v, ParseExpression(true));
        e.operands.push_back(std::move(v));
      }
    }
    return {};
  }

  Result<ExprPtr> ParseCall(ExprPtr callee) {
    ExprPtr c = Make(Expr::Kind::kCall, callee->pos);
    c->operands.push_back(std::move(callee));
    ST_RETURN_IF_ERROR(ParseArgs(*c));
    return c;
  }

  // `| f(args) | g` applied to `input` (null in {% filter %} and {% set x | f %}).
  Result<ExprPtr> ParseFilterChain(ExprPtr input, bool first_bar = true) {
    bool first = true;
    while ((first && !first_bar) || IsOp("|")) {
      if (!(first && !first_bar)) Next();
      first = false;
      ExprPtr f = Make(Expr::Kind::kFilter, Cur().pos);
      ST_ASSIGN_OR_RETURN(f->name, ExpectName("a filter name"));
      while (IsOp(".")) {  // dotted filter names
        Next();
        ST_ASSIGN_OR_RETURN(std::string part, ExpectName("a filter name"));
        f->name += "." + part;
      }
      f->operands.push_back(std::move(input));
      if (IsOp("(")) ST_RETURN_IF_ERROR(ParseArgs(*f));
      input = std::move(f);
    }
    return input;
  }

  Result<ExprPtr> ParseFilterExpr(ExprPtr e) {
    while (true) {
      if (IsOp("|")) {
        ST_ASSIGN_OR_RETURN(e, ParseFilterChain(std::move(e)));
      } else if (IsName("is")) {
        ExprPtr t = Make(Expr::Kind::kTest, Cur().pos);
        Next();
        if (SkipName("not")) t->negated = true;
        ST_ASSIGN_OR_RETURN(t->name, ExpectName("a test name after 'is'"));
        t->operands.push_back(std::move(e));
        if (IsOp("(")) {
          ST_RETURN_IF_ERROR(ParseArgs(*t));
        } else if ((Cur().kind == K::kName && Cur().text != "else" && Cur().text != "or" && Cur().text != "and" &&
                    Cur().text != "if" && Cur().text != "in" && Cur().text != "not" && Cur().text != "is") ||
                   Cur().kind == K::kString || Cur().kind == K::kInt || Cur().kind == K::kFloat || IsOp("[") ||
                   IsOp("{")) {
          ST_ASSIGN_OR_RETURN(ExprPtr arg, ParsePrimary());
          ST_ASSIGN_OR_RETURN(arg, ParsePostfix(std::move(arg)));
          t->operands.push_back(std::move(arg));
        }
        e = std::move(t);
      } else if (IsOp("(")) {
        ST_ASSIGN_OR_RETURN(e, ParseCall(std::move(e)));
      } else {
        return e;
      }
    }
  }

  const std::vector<Token>& t_;
  size_t i_ = 0;
  int depth_ = 0;
  int max_depth_;
};

}  // namespace

Result<Body> Parse(const std::vector<Token>& tokens, int max_depth) { return Parser(tokens, max_depth).Run(); }

}  // namespace st::jinja
