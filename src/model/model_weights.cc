#include "model/model_weights.h"

#include <fmt/format.h>

#include <set>

#include "kernels/quantize.h"

namespace st {
namespace {

std::string Shape(std::initializer_list<uint64_t> ne) {
  std::string s = "{";
  bool first = true;
  for (uint64_t d : ne) {
    s += (first ? "" : ", ") + std::to_string(d);
    first = false;
  }
  return s + "}";
}

bool ShapeIs(const GgufTensorInfo& t, std::initializer_list<uint64_t> ne) {
  if (t.n_dims != ne.size()) return false;
  uint32_t i = 0;
  for (uint64_t d : ne) {
    if (t.ne[i++] != d) return false;
  }
  return true;
}

class Binder {
 public:
  Binder(const GgufFile& f) : f_(f) {}

  Result<const GgufTensorInfo*> Get(const std::string& name, std::initializer_list<uint64_t> ne, bool required = true) {
    const GgufTensorInfo* t = f_.FindTensor(name);
    if (t == nullptr) {
      if (!required) return static_cast<const GgufTensorInfo*>(nullptr);
      return NotFound(fmt::format("missing tensor '{}' (expected shape {})", name, Shape(ne)));
    }
    used_.insert(name);
    if (!ShapeIs(*t, ne)) {
      return InvalidFile(fmt::format("tensor '{}': shape {}, expected {}", name, t->ShapeString(), Shape(ne)));
    }
    return t;
  }

  // A matrix in any type the engine computes with.
  Result<WeightMatrix> Matrix(const std::string& name, uint64_t cols, uint64_t rows) {
    ST_ASSIGN_OR_RETURN(const GgufTensorInfo* t, Get(name, {cols, rows}));
    ST_RETURN_IF_ERROR(CheckComputeType(*t));
    return WeightMatrix{t->type, static_cast<int64_t>(cols), static_cast<int64_t>(rows), RowBytes(t->type, cols),
                        t->data, t->file_offset};
  }

  // A matrix that must stay in a float type (the router: quantizing it scrambles top-k).
  Result<WeightMatrix> FloatMatrix(const std::string& name, uint64_t cols, uint64_t rows) {
    ST_ASSIGN_OR_RETURN(WeightMatrix m, Matrix(name, cols, rows));
    if (m.type != GgmlType::kF32 && m.type != GgmlType::kF16 && m.type != GgmlType::kBF16) {
      return InvalidFile(fmt::format("tensor '{}': type {}, expected f32 (the router must not be quantized; "
                                     "quantizing it changes which experts are chosen)", name, GgmlTypeName(m.type)));
    }
    return m;
  }

  Result<ExpertStack> Experts(const std::string& name, const GgufTensorInfo* t, uint64_t cols, uint64_t rows, uint64_t count) {
    ST_RETURN_IF_ERROR(CheckComputeType(*t));
    return ExpertStack{t->type, static_cast<int64_t>(cols), static_cast<int64_t>(rows), static_cast<int64_t>(count),
                       RowBytes(t->type, cols), t->data, t->file_offset};
  }

  Result<std::vector<float>> Vector(const std::string& name, uint64_t n) {
    ST_ASSIGN_OR_RETURN(const GgufTensorInfo* t, Get(name, {n}));
    if (t->type != GgmlType::kF32 && t->type != GgmlType::kF16 && t->type != GgmlType::kBF16) {
      return InvalidFile(fmt::format("tensor '{}': type {}, expected f32 (norm weights are never quantized)", name,
                                     GgmlTypeName(t->type)));
    }
    std::vector<float> v(n);
    DequantizeRowRef(t->type, t->data, static_cast<int64_t>(n), v.data());
    return v;
  }

  Status CheckComputeType(const GgufTensorInfo& t) {
    if (!IsComputeType(t.type)) {
      return Unsupported(fmt::format("tensor '{}': type {} is not supported "
                                     "(supported: f32, f16, bf16, q8_0, q4_0, q4_k, q5_k, q6_k)",
                                     t.name, GgmlTypeName(t.type)));
    }
    return Status::Ok();
  }

  void Use(const std::string& name) { used_.insert(name); }
  const std::set<std::string>& used() const { return used_; }

 private:
  const GgufFile& f_;
  std::set<std::string> used_;
};

}  // namespace

Result<ModelWeights> BindModelWeights(const GgufFile& f, const ModelConfig& c, std::vector<std::string>* warnings) {
  Binder b(f);
  ModelWeights w;
  const uint64_t E = c.n_embd, V = c.n_vocab, F = c.n_ff_exp, X = c.n_expert;
  ST_ASSIGN_OR_RETURN(w.token_embd, b.Matrix("token_embd.weight", E, V));
  ST_ASSIGN_OR_RETURN(w.output_norm, b.Vector("output_norm.weight", E));
  ST_ASSIGN_OR_RETURN(const GgufTensorInfo* out, b.Get("output.weight", {E, V}, /*required=*/false));
  if (out != nullptr) {
    ST_ASSIGN_OR_RETURN(w.output, b.Matrix("output.weight", E, V));
  } else {
    w.output = w.token_embd;
    w.tied_output = true;
  }

  // lm_head_profiler: {N} or {N, 1} holding W1 (P x E) then W2 (V x P), N = P * (E + V).
  if (const GgufTensorInfo* prof = f.FindTensor("lm_head_profiler.weight")) {
    b.Use(prof->name);
    const bool shape_ok = prof->n_dims == 1 || (prof->n_dims == 2 && prof->ne[1] == 1);
    const uint64_t n = prof->ne[0];
    if (!shape_ok || n % (E + V) != 0) {
      return InvalidFile(fmt::format("tensor 'lm_head_profiler.weight': shape {}, expected {{P * (E + V), 1}} with E + V = {}",
                                     prof->ShapeString(), E + V));
    }
    const uint64_t P = n / (E + V);
    if (P == 0 || P % 32 != 0) {
      return InvalidFile(fmt::format("tensor 'lm_head_profiler.weight': rank P = {} must be a positive multiple of 32", P));
    }
    ST_RETURN_IF_ERROR(b.CheckComputeType(*prof));
    const GgmlTypeTraits& tr = TraitsOf(prof->type);
    if (E % tr.block_size != 0 || P % tr.block_size != 0) {
      return InvalidFile(fmt::format("tensor 'lm_head_profiler.weight': type {} needs E and P to be multiples of {}",
                                     tr.name, tr.block_size));
    }
    LmHeadPredictor p;
    p.w1 = WeightMatrix{prof->type, static_cast<int64_t>(E), static_cast<int64_t>(P), RowBytes(prof->type, E), prof->data,
                        prof->file_offset};
    const uint64_t w1_bytes = p.w1.bytes();
    p.w2 = WeightMatrix{prof->type, static_cast<int64_t>(P), static_cast<int64_t>(V), RowBytes(prof->type, P),
                        prof->data + w1_bytes, prof->file_offset + w1_bytes};
    w.predictor = p;
  }

  w.layers.resize(c.n_layer);
  for (uint32_t il = 0; il < c.n_layer; ++il) {
    LayerWeights& L = w.layers[il];
    const std::string p = fmt::format("blk.{}.", il);
    ST_ASSIGN_OR_RETURN(L.attn_norm, b.Vector(p + "attn_norm.weight", E));
    ST_ASSIGN_OR_RETURN(L.attn_q, b.Matrix(p + "attn_q.weight", E, c.q_dim()));
    ST_ASSIGN_OR_RETURN(L.attn_k, b.Matrix(p + "attn_k.weight", E, c.k_dim()));
    ST_ASSIGN_OR_RETURN(L.attn_v, b.Matrix(p + "attn_v.weight", E, c.v_dim()));
    ST_ASSIGN_OR_RETURN(L.attn_output, b.Matrix(p + "attn_output.weight", c.attn_out_dim(), E));
    ST_ASSIGN_OR_RETURN(L.ffn_norm, b.Vector(p + "ffn_norm.weight", E));
    ST_ASSIGN_OR_RETURN(L.router, b.FloatMatrix(p + "ffn_gate_inp.weight", E, X));
    ST_ASSIGN_OR_RETURN(const GgufTensorInfo* gate, b.Get(p + "ffn_gate_exps.weight", {E, F, X}));
    ST_ASSIGN_OR_RETURN(L.gate_exps, b.Experts(gate->name, gate, E, F, X));
    ST_ASSIGN_OR_RETURN(const GgufTensorInfo* up, b.Get(p + "ffn_up_exps.weight", {E, F, X}));
    ST_ASSIGN_OR_RETURN(L.up_exps, b.Experts(up->name, up, E, F, X));

    // Down: the layout is detected by shape; all layers must agree.
    const std::string down_name = p + "ffn_down_exps.weight";
    const GgufTensorInfo* down = f.FindTensor(down_name);
    if (down == nullptr) return NotFound(fmt::format("missing tensor '{}' (expected shape {} or transposed {})", down_name,
                                                     Shape({F, E, X}), Shape({E, F, X})));
    b.Use(down_name);
    DownLayout layout;
    if (ShapeIs(*down, {F, E, X})) {
      layout = DownLayout::kNormal;  // also taken when E == F, where the shapes cannot tell
    } else if (ShapeIs(*down, {E, F, X})) {
      layout = DownLayout::kTransposed;
    } else {
      return InvalidFile(fmt::format("tensor '{}': shape {}, expected {} (normal) or {} (transposed)", down_name,
                                     down->ShapeString(), Shape({F, E, X}), Shape({E, F, X})));
    }
    if (il == 0) {
      w.down_layout = layout;
    } else if (layout != w.down_layout) {
      return InvalidFile(fmt::format("tensor '{}': {} layout, but blk.0 uses the {} layout", down_name,
                                     layout == DownLayout::kNormal ? "normal" : "transposed",
                                     w.down_layout == DownLayout::kNormal ? "normal" : "transposed"));
    }
    if (layout == DownLayout::kNormal) {
      ST_ASSIGN_OR_RETURN(L.down_exps, b.Experts(down_name, down, F, E, X));
    } else {
      ST_ASSIGN_OR_RETURN(L.down_exps, b.Experts(down_name, down, E, F, X));
    }
  }

  if (warnings != nullptr) {
    for (const auto& t : f.tensors()) {
      if (!b.used().count(t.name)) warnings->push_back(fmt::format("unused tensor '{}' ignored", t.name));
    }
  }
  return w;
}

}  // namespace st
