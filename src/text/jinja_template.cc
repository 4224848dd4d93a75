// The Jinja interpreter: walks the syntax tree with a chain of scopes (the template's variables
// and globals at the root; for loops, macros, call blocks and `with` push one each, as Jinja2's
// scoping rules do: a `set` inside a loop does not leak out, hence `namespace()`).
#include "text/jinja_template.h"

#include <cmath>

#include <fmt/format.h>

#include "text/jinja_parser.h"
#include "text/jinja_strings.h"

namespace st::jinja {

namespace {

struct Frame {
  Dict vars;
  std::shared_ptr<Frame> parent;
};
using FramePtr = std::shared_ptr<Frame>;

FramePtr Child(const FramePtr& parent) {
  auto f = std::make_shared<Frame>();
  f->parent = parent;
  return f;
}

// Prefixes "line L, column C: " unless the message already says where.
Status At(const SourcePos& pos, const Status& s) {
  if (s.ok() || s.message().starts_with("line ")) return s;
  return Status(s.code(), fmt::format("{}: {}", DescribePos(pos), s.message()));
}

bool IsIntLike(const Value& v) { return v.is_int() || v.is_bool(); }
int64_t AsInt(const Value& v) { return v.is_int() ? v.as_int() : v.as_bool(); }

Status Unsupported(const std::string& op, const Value& a, const Value& b) {
  if (a.is_undefined()) return InvalidArgument(a.undefined_name());
  if (b.is_undefined()) return InvalidArgument(b.undefined_name());
  return InvalidArgument(fmt::format("unsupported operand type(s) for {}: '{}' and '{}'", op, a.TypeName(), b.TypeName()));
}

// Python's arithmetic on two values; ints are 64-bit and overflow is an error.
Result<Value> Arith(const std::string& op, const Value& a, const Value& b, const Limits& limits) {
  auto too_long = [&](size_t n) { return n > limits.max_output_bytes; };
  if (op == "~") {
    std::string s = a.Str(limits.max_output_bytes) + b.Str(limits.max_output_bytes);
    if (too_long(s.size())) return ResourceExhausted(fmt::format("a string grew past {} bytes", limits.max_output_bytes));
    return Value(std::move(s));
  }
  if (op == "+" && a.is_string() && b.is_string()) {
    if (too_long(a.str().size() + b.str().size())) return ResourceExhausted(fmt::format("a string grew past {} bytes", limits.max_output_bytes));
    return Value(a.str() + b.str());
  }
  if (op == "+" && a.is_list() && b.is_list()) {
    if (a.list().size() + b.list().size() > limits.max_items) return ResourceExhausted(fmt::format("a list grew past {} items", limits.max_items));
    List l = a.list();
    l.insert(l.end(), b.list().begin(), b.list().end());
    return Value::MakeList(std::move(l));
  }
  if (op == "*" && (((a.is_string() || a.is_list()) && IsIntLike(b)) || ((b.is_string() || b.is_list()) && IsIntLike(a)))) {
    const Value& seq = IsIntLike(b) ? a : b;
    const int64_t n = std::max<int64_t>(0, AsInt(IsIntLike(b) ? b : a));
    const size_t unit = seq.is_string() ? seq.str().size() : seq.list().size();
    const size_t cap = seq.is_string() ? limits.max_output_bytes : limits.max_items;
    if (unit > 0 && static_cast<uint64_t>(n) > cap / unit) return ResourceExhausted(fmt::format("'*' would build more than {} {}", cap, seq.is_string() ? "bytes" : "items"));
    if (seq.is_string()) {
      std::string s;
      for (int64_t i = 0; i < n; ++i) s += seq.str();
      return Value(std::move(s));
    }
    List l;
    for (int64_t i = 0; i < n; ++i) l.insert(l.end(), seq.list().begin(), seq.list().end());
    return Value::MakeList(std::move(l));
  }
  if (op == "%" && a.is_string()) return PercentFormat(a.str(), b);
  if (!a.is_number() || !b.is_number()) return Unsupported(op, a, b);
  if (IsIntLike(a) && IsIntLike(b) && op != "/") {
    const int64_t x = AsInt(a), y = AsInt(b);
    int64_t r = 0;
    if (op == "+" && !__builtin_add_overflow(x, y, &r)) return Value(r);
    if (op == "-" && !__builtin_sub_overflow(x, y, &r)) return Value(r);
    if (op == "*" && !__builtin_mul_overflow(x, y, &r)) return Value(r);
    if (op == "//" || op == "%") {
      if (y == 0) return InvalidArgument("integer division or modulo by zero");
      if (x == INT64_MIN && y == -1) return OutOfRange("integer overflow");
      int64_t q = x / y, m = x % y;
      if (m != 0 && ((m < 0) != (y < 0))) {
        --q;
        m += y;
      }
      return Value(op == "//" ? q : m);
    }
    if (op == "**" && y >= 0) {
      int64_t p = 1;
      for (int64_t i = 0; i < y; ++i) {
        if (__builtin_mul_overflow(p, x, &p)) return OutOfRange("integer overflow in '**'");
        if (p == 0 || p == 1 || (p == -1 && i > 64)) break;
      }
      if (p == -1) p = (y % 2 == 0) ? 1 : -1;
      return Value(p);
    }
    if (op != "**") return OutOfRange(fmt::format("integer overflow in '{}'", op));
  }
  const double x = a.number(), y = b.number();
  if (op == "+") return Value(x + y);
  if (op == "-") return Value(x - y);
  if (op == "*") return Value(x * y);
  if (op == "/") {
    if (y == 0) return InvalidArgument("division by zero");
    return Value(x / y);
  }
  if (op == "//" || op == "%") {
    if (y == 0) return InvalidArgument("float divmod by zero");
    const double q = std::floor(x / y);
    return Value(op == "//" ? q : x - q * y);
  }
  if (op == "**") return Value(std::pow(x, y));
  return Unsupported(op, a, b);
}

class Interp {
 public:
  enum class Flow { kNormal, kBreak, kContinue };

  explicit Interp(const Limits& limits) : limits_(limits) {}

  Result<Flow> Exec(const Body& body, const FramePtr& frame, std::string& out) {
    for (const StmtPtr& s : body) {
      ST_ASSIGN_OR_RETURN(Flow f, ExecOne(*s, frame, out));
      if (f != Flow::kNormal) return f;
    }
    return Flow::kNormal;
  }

  Result<Value> Eval(const Expr& e, const FramePtr& frame) {
    ST_RETURN_IF_ERROR(Step(e.pos));
    Result<Value> r = EvalInner(e, frame);
    if (!r.ok()) return At(e.pos, r.status());
    if (r->is_list() && r->list().size() > limits_.max_items) {
      return At(e.pos, ResourceExhausted(fmt::format("a list grew past {} items", limits_.max_items)));
    }
    return r;
  }

 private:
  Status Step(const SourcePos& pos) {
    if (++steps_ > limits_.max_steps) {
      return At(pos, ResourceExhausted(fmt::format("the template ran more than {} steps (a loop that does not end?)",
                                                   limits_.max_steps)));
    }
    return {};
  }
  Status Append(std::string& out, std::string_view s, const SourcePos& pos) {
    if (out.size() + s.size() > limits_.max_output_bytes) {
      return At(pos, ResourceExhausted(fmt::format("the rendered text grew past {} bytes", limits_.max_output_bytes)));
    }
    out += s;
    return {};
  }

  static Value Lookup(const FramePtr& frame, const std::string& name) {
    for (const Frame* f = frame.get(); f; f = f->parent.get()) {
      if (const Value* v = f->vars.Find(name)) return *v;
    }
    return Value::Undef(fmt::format("'{}' is undefined", name));
  }

  Status Assign(const Target& t, const Value& v, const FramePtr& frame) {
    if (!t.attr.empty()) {
      const Value ns = Lookup(frame, t.names[0]);
      if (!ns.is_namespace()) return InvalidArgument(fmt::format("cannot assign attribute '{}' on '{}': not a namespace()", t.attr, t.names[0]));
      ns.dict().Set(t.attr, v);
      return {};
    }
    if (t.names.size() == 1 && !t.tuple) {
      frame->vars.Set(t.names[0], v);
      return {};
    }
    ST_ASSIGN_OR_RETURN(List items, Iterate(v));
    if (items.size() != t.names.size()) {
      return InvalidArgument(fmt::format("cannot unpack {} values into {} names", items.size(), t.names.size()));
    }
    for (size_t i = 0; i < items.size(); ++i) frame->vars.Set(t.names[i], items[i]);
    return {};
  }

  Result<CallArgs> EvalArgs(const Expr& e, size_t first, const FramePtr& frame) {
    CallArgs a;
    for (size_t i = first; i < e.operands.size(); ++i) {
      ST_ASSIGN_OR_RETURN(Value v, Eval(*e.operands[i], frame));
      a.positional.push_back(std::move(v));
    }
    for (const auto& [k, x] : e.kwargs) {
      ST_ASSIGN_OR_RETURN(Value v, Eval(*x, frame));
      a.keyword.emplace_back(k, std::move(v));
    }
    return a;
  }

  // A filter chain whose innermost input is null (`{% filter %}`, `{% set x | f %}`) over `input`.
  Result<Value> ApplyChain(const Expr& f, Value input, const FramePtr& frame) {
    if (f.operands[0]) {
      ST_ASSIGN_OR_RETURN(input, ApplyChain(*f.operands[0], std::move(input), frame));
    }
    ST_ASSIGN_OR_RETURN(CallArgs a, EvalArgs(f, 1, frame));
    Result<Value> r = ApplyFilter(f.name, input, a, limits_);
    if (!r.ok()) return At(f.pos, r.status());
    return r;
  }

  Result<Value> Call(const Value& callee, CallArgs& a) {
    if (callee.is_undefined()) return InvalidArgument(callee.undefined_name());
    if (!callee.is_function()) return InvalidArgument(fmt::format("'{}' object is not callable", callee.TypeName()));
    return callee.function().call(a, this);
  }

  Value MakeMacro(const Stmt& m, const FramePtr& frame, const std::string& name) {
    auto f = std::make_shared<Function>();
    f->name = name;
    const Stmt* stmt = &m;
    std::weak_ptr<Frame> def = frame;
    f->call = [stmt, def](CallArgs& a, void* ctx) { return static_cast<Interp*>(ctx)->CallMacro(*stmt, def, a); };
    return Value(std::move(f));
  }

  // Renders a macro (or a call block's caller) body with its parameters bound.
  Result<Value> CallMacro(const Stmt& m, const std::weak_ptr<Frame>& def, CallArgs& a) {
    if (call_depth_ >= limits_.max_call_depth) {
      return At(m.pos, ResourceExhausted(fmt::format("macro calls nest more than {} deep", limits_.max_call_depth)));
    }
    FramePtr parent = def.lock();
    FramePtr frame = Child(parent ? parent : root_);
    List varargs;
    for (size_t i = 0; i < a.positional.size(); ++i) {
      if (i < m.params.size()) {
        frame->vars.Set(m.params[i].name, a.positional[i]);
      } else {
        varargs.push_back(a.positional[i]);
      }
    }
    Dict kwargs;
    for (auto& [k, v] : a.keyword) {
      const std::string& key = k;  // a structured binding cannot be captured before C++20 (clang 14)
      const bool param = std::any_of(m.params.begin(), m.params.end(), [&](const MacroParam& p) { return p.name == key; });
      if (param || k == "caller") {
        frame->vars.Set(k, v);
      } else {
        kwargs.Set(k, v);
      }
    }
    for (const MacroParam& p : m.params) {
      if (frame->vars.Find(p.name)) continue;
      if (p.default_value) {
        ST_ASSIGN_OR_RETURN(Value v, Eval(*p.default_value, frame));
        frame->vars.Set(p.name, std::move(v));
      } else {
        frame->vars.Set(p.name, Value::Undef(fmt::format("parameter '{}' was not provided", p.name)));
      }
    }
    frame->vars.Set("varargs", Value::MakeList(std::move(varargs)));
    frame->vars.Set("kwargs", Value::MakeDict(std::move(kwargs)));
    ++call_depth_;
    std::string out;
    Result<Flow> r = Exec(m.body, frame, out);
    --call_depth_;
    if (!r.ok()) return r.status();
    return Value(std::move(out));
  }

  Result<Value> EvalInner(const Expr& e, const FramePtr& frame) {
    switch (e.kind) {
      case Expr::Kind::kLiteral: return e.value;
      case Expr::Kind::kName: return Lookup(frame, e.name);
      case Expr::Kind::kList: {
        List l;
        for (const ExprPtr& x : e.operands) {
          ST_ASSIGN_OR_RETURN(Value v, Eval(*x, frame));
          l.push_back(std::move(v));
        }
        return Value::MakeList(std::move(l));
      }
      case Expr::Kind::kDict: {
        Dict d;
        for (size_t i = 0; i < e.keys.size(); ++i) {
          ST_ASSIGN_OR_RETURN(Value k, Eval(*e.keys[i], frame));
          if (!k.is_string()) return InvalidArgument(fmt::format("dict keys must be strings here, not {}", k.TypeName()));
          ST_ASSIGN_OR_RETURN(Value v, Eval(*e.operands[i], frame));
          d.Set(k.str(), std::move(v));
        }
        return Value::MakeDict(std::move(d));
      }
      case Expr::Kind::kGetAttr: {
        ST_ASSIGN_OR_RETURN(Value obj, Eval(*e.operands[0], frame));
        return GetAttr(obj, e.name);
      }
      case Expr::Kind::kGetItem: {
        ST_ASSIGN_OR_RETURN(Value obj, Eval(*e.operands[0], frame));
        ST_ASSIGN_OR_RETURN(Value key, Eval(*e.operands[1], frame));
        return GetItem(obj, key);
      }
      case Expr::Kind::kSlice: {
        ST_ASSIGN_OR_RETURN(Value obj, Eval(*e.operands[0], frame));
        Value parts[3];
        for (int i = 0; i < 3; ++i) {
          if (e.operands[static_cast<size_t>(i) + 1]) {
            ST_ASSIGN_OR_RETURN(parts[i], Eval(*e.operands[static_cast<size_t>(i) + 1], frame));
          }
        }
        return Slice(obj, parts[0], parts[1], parts[2]);
      }
      case Expr::Kind::kCall: {
        ST_ASSIGN_OR_RETURN(Value callee, Eval(*e.operands[0], frame));
        ST_ASSIGN_OR_RETURN(CallArgs a, EvalArgs(e, 1, frame));
        return Call(callee, a);
      }
      case Expr::Kind::kFilter: {
        ST_ASSIGN_OR_RETURN(Value input, Eval(*e.operands[0], frame));
        ST_ASSIGN_OR_RETURN(CallArgs a, EvalArgs(e, 1, frame));
        return ApplyFilter(e.name, input, a, limits_);
      }
      case Expr::Kind::kTest: {
        ST_ASSIGN_OR_RETURN(Value v, Eval(*e.operands[0], frame));
        ST_ASSIGN_OR_RETURN(CallArgs a, EvalArgs(e, 1, frame));
        ST_ASSIGN_OR_RETURN(bool r, ApplyTest(e.name, v, a));
        return Value(r != e.negated);
      }
      case Expr::Kind::kUnary: {
        ST_ASSIGN_OR_RETURN(Value v, Eval(*e.operands[0], frame));
        if (e.name == "not") return Value(!v.Truthy());
        if (v.is_undefined()) return InvalidArgument(v.undefined_name());
        if (!v.is_number()) return InvalidArgument(fmt::format("bad operand type for unary {}: '{}'", e.name, v.TypeName()));
        if (e.name == "+") return v.is_bool() ? Value(AsInt(v)) : v;
        if (v.is_float()) return Value(-v.as_float());
        if (AsInt(v) == INT64_MIN) return OutOfRange("integer overflow");
        return Value(-AsInt(v));
      }
      case Expr::Kind::kBinary: {
        ST_ASSIGN_OR_RETURN(Value a, Eval(*e.operands[0], frame));
        if (e.name == "and" && !a.Truthy()) return a;
        if (e.name == "or" && a.Truthy()) return a;
        ST_ASSIGN_OR_RETURN(Value b, Eval(*e.operands[1], frame));
        if (e.name == "and" || e.name == "or") return b;
        return Arith(e.name, a, b, limits_);
      }
      case Expr::Kind::kCompare: {
        ST_ASSIGN_OR_RETURN(Value left, Eval(*e.operands[0], frame));
        for (size_t i = 0; i < e.ops.size(); ++i) {
          ST_ASSIGN_OR_RETURN(Value right, Eval(*e.operands[i + 1], frame));
          const std::string& op = e.ops[i];
          bool r;
          if (op == "==") {
            r = Equal(left, right);
          } else if (op == "!=") {
            r = !Equal(left, right);
          } else if (op == "in" || op == "notin") {
            ST_ASSIGN_OR_RETURN(r, Contains(right, left));
            if (op == "notin") r = !r;
          } else if (op == "<") {
            ST_ASSIGN_OR_RETURN(r, Less(left, right));
          } else if (op == ">") {
            ST_ASSIGN_OR_RETURN(r, Less(right, left));
          } else if (op == "<=") {
            ST_ASSIGN_OR_RETURN(bool gt, Less(right, left));
            r = !gt;
          } else {
            ST_ASSIGN_OR_RETURN(bool lt, Less(left, right));
            r = !lt;
          }
          if (!r) return Value(false);
          left = std::move(right);
        }
        return Value(true);
      }
      case Expr::Kind::kCond: {
        ST_ASSIGN_OR_RETURN(Value c, Eval(*e.operands[0], frame));
        if (c.Truthy()) return Eval(*e.operands[1], frame);
        if (e.operands[2]) return Eval(*e.operands[2], frame);
        return Value::Undef("the conditional expression has no else branch");
      }
    }
    return Internal("unknown expression kind");
  }

  Result<Flow> ExecFor(const Stmt& s, const FramePtr& frame, std::string& out) {
    ST_ASSIGN_OR_RETURN(Value iterable, Eval(*s.expr, frame));
    Result<List> all = Iterate(iterable);
    if (!all.ok()) return At(s.expr->pos, all.status());
    List items;
    if (s.filter) {
      FramePtr test_frame = Child(frame);
      for (Value& v : *all) {
        ST_RETURN_IF_ERROR(At(s.pos, Assign(s.target, v, test_frame)));
        ST_ASSIGN_OR_RETURN(Value keep, Eval(*s.filter, test_frame));
        if (keep.Truthy()) items.push_back(std::move(v));
      }
    } else {
      items = std::move(*all);
    }
    if (items.empty()) {
      ST_ASSIGN_OR_RETURN(Flow f, Exec(s.else_body, frame, out));
      return f;
    }
    FramePtr loop_frame = Child(frame);
    const int64_t n = static_cast<int64_t>(items.size());
    for (int64_t i = 0; i < n; ++i) {
      ST_RETURN_IF_ERROR(Step(s.pos));
      ST_RETURN_IF_ERROR(At(s.pos, Assign(s.target, items[static_cast<size_t>(i)], loop_frame)));
      Dict loop;
      loop.Set("index", Value(i + 1));
      loop.Set("index0", Value(i));
      loop.Set("revindex", Value(n - i));
      loop.Set("revindex0", Value(n - i - 1));
      loop.Set("first", Value(i == 0));
      loop.Set("last", Value(i == n - 1));
      loop.Set("length", Value(n));
      loop.Set("depth", Value(1));
      loop.Set("depth0", Value(0));
      loop.Set("previtem", i > 0 ? items[static_cast<size_t>(i - 1)] : Value::Undef("there is no previous item"));
      loop.Set("nextitem", i + 1 < n ? items[static_cast<size_t>(i + 1)] : Value::Undef("there is no next item"));
      auto cycle = std::make_shared<Function>();
      cycle->name = "cycle";
      cycle->call = [i](CallArgs& a, void*) -> Result<Value> {
        if (a.positional.empty()) return InvalidArgument("loop.cycle() needs at least one value");
        return a.positional[static_cast<size_t>(i) % a.positional.size()];
      };
      loop.Set("cycle", Value(std::move(cycle)));
      loop_frame->vars.Set("loop", Value::MakeDict(std::move(loop)));
      ST_ASSIGN_OR_RETURN(Flow f, Exec(s.body, loop_frame, out));
      if (f == Flow::kBreak) break;
    }
    return Flow::kNormal;
  }

  Result<Flow> ExecOne(const Stmt& s, const FramePtr& frame, std::string& out) {
    ST_RETURN_IF_ERROR(Step(s.pos));
    switch (s.kind) {
      case Stmt::Kind::kText: ST_RETURN_IF_ERROR(Append(out, s.text, s.pos)); break;
      case Stmt::Kind::kOutput: {
        ST_ASSIGN_OR_RETURN(Value v, Eval(*s.expr, frame));
        ST_RETURN_IF_ERROR(Append(out, v.Str(limits_.max_output_bytes), s.pos));
        break;
      }
      case Stmt::Kind::kIf:
        for (const auto& [cond, body] : s.branches) {
          bool take = true;
          if (cond) {
            ST_ASSIGN_OR_RETURN(Value c, Eval(*cond, frame));
            take = c.Truthy();
          }
          if (take) return Exec(body, frame, out);
        }
        break;
      case Stmt::Kind::kFor: return ExecFor(s, frame, out);
      case Stmt::Kind::kSet: {
        ST_ASSIGN_OR_RETURN(Value v, Eval(*s.expr, frame));
        ST_RETURN_IF_ERROR(At(s.pos, Assign(s.target, v, frame)));
        break;
      }
      case Stmt::Kind::kSetBlock:
      case Stmt::Kind::kFilterBlock: {
        std::string text;
        ST_ASSIGN_OR_RETURN(Flow f, Exec(s.body, Child(frame), text));
        (void)f;
        Value v(std::move(text));
        if (s.filter) {
          ST_ASSIGN_OR_RETURN(v, ApplyChain(*s.filter, std::move(v), frame));
        }
        if (s.kind == Stmt::Kind::kSetBlock) {
          ST_RETURN_IF_ERROR(At(s.pos, Assign(s.target, v, frame)));
        } else {
          ST_RETURN_IF_ERROR(Append(out, v.Str(limits_.max_output_bytes), s.pos));
        }
        break;
      }
      case Stmt::Kind::kMacro: frame->vars.Set(s.name, MakeMacro(s, frame, s.name)); break;
      case Stmt::Kind::kCallBlock: {
        const Expr& call = *s.expr;
        ST_ASSIGN_OR_RETURN(Value callee, Eval(*call.operands[0], frame));
        ST_ASSIGN_OR_RETURN(CallArgs a, EvalArgs(call, 1, frame));
        a.keyword.emplace_back("caller", MakeMacro(s, frame, "caller"));
        Result<Value> r = Call(callee, a);
        if (!r.ok()) return At(call.pos, r.status());
        ST_RETURN_IF_ERROR(Append(out, r->Str(limits_.max_output_bytes), s.pos));
        break;
      }
      case Stmt::Kind::kWith: {
        FramePtr inner = Child(frame);
        for (const auto& [target, expr] : s.assigns) {
          ST_ASSIGN_OR_RETURN(Value v, Eval(*expr, frame));
          ST_RETURN_IF_ERROR(At(s.pos, Assign(target, v, inner)));
        }
        return Exec(s.body, inner, out);
      }
      case Stmt::Kind::kScope: return Exec(s.body, frame, out);
      case Stmt::Kind::kBreak: return Flow::kBreak;
      case Stmt::Kind::kContinue: return Flow::kContinue;
    }
    return Flow::kNormal;
  }

 public:
  FramePtr root_;

 private:
  const Limits& limits_;
  uint64_t steps_ = 0;
  int call_depth_ = 0;
};

}  // namespace

Result<Template> Template::Parse(std::string_view source, const Limits& limits) {
  ST_ASSIGN_OR_RETURN(std::vector<Token> tokens, Tokenize(source));
  ST_ASSIGN_OR_RETURN(Body body, jinja::Parse(tokens, limits.max_parse_depth));
  Template t;
  t.body_ = std::make_shared<const Body>(std::move(body));
  t.limits_ = limits;
  return t;
}

Result<std::string> Template::Render(const Dict& variables) const {
  Interp interp(limits_);
  interp.root_ = std::make_shared<Frame>();
  interp.root_->vars = Globals();
  // namespace() objects are the only values a template can change, so the only way to build a
  // reference cycle ({% set ns.self = ns %}): remember them and empty them at the end.
  std::vector<DictPtr> namespaces;
  {
    auto make = interp.root_->vars.Find("namespace")->function().call;
    auto f = std::make_shared<Function>();
    f->name = "namespace";
    std::vector<DictPtr>* seen = &namespaces;
    f->call = [make, seen](CallArgs& a, void* ctx) -> Result<Value> {
      ST_ASSIGN_OR_RETURN(Value v, make(a, ctx));
      seen->push_back(std::get<std::pair<DictPtr, bool>>(v.v).first);
      return v;
    };
    interp.root_->vars.Set("namespace", Value(std::move(f)));
  }
  for (const auto& [k, v] : variables.items) interp.root_->vars.Set(k, v);
  std::string out;
  Result<Interp::Flow> r = interp.Exec(*body_, interp.root_, out);
  for (const DictPtr& d : namespaces) d->items.clear();
  if (!r.ok()) return r.status();
  return out;
}

}  // namespace st::jinja
