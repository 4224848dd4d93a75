#include "gguf_rewrite.h"

#include <cstdio>
#include <cstdlib>

namespace st::testing {

void EditableGguf::SetKey(const std::string& key, GgufValue v) {
  for (auto& p : kv) {
    if (p.first == key) {
      p.second = std::move(v);
      return;
    }
  }
  kv.emplace_back(key, std::move(v));
}

void EditableGguf::RemoveKey(const std::string& key) {
  for (auto it = kv.begin(); it != kv.end(); ++it) {
    if (it->first == key) {
      kv.erase(it);
      return;
    }
  }
}

EditableTensor* EditableGguf::Tensor(const std::string& name) {
  for (auto& t : tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

void EditableGguf::RemoveTensor(const std::string& name) {
  for (auto it = tensors.begin(); it != tensors.end(); ++it) {
    if (it->name == name) {
      tensors.erase(it);
      return;
    }
  }
}

void RewriteGguf(const std::string& src, const std::string& dst, const std::function<void(EditableGguf&)>& edit) {
  auto f = GgufFile::Open(src);
  if (!f.ok()) {
    std::fprintf(stderr, "RewriteGguf: %s\n", f.status().ToString().c_str());
    std::abort();
  }
  EditableGguf g;
  for (const auto& [k, v] : f->metadata()) {
    if (k != "general.alignment") g.kv.emplace_back(k, v);
  }
  for (const auto& t : f->tensors()) {
    EditableTensor e{t.name, t.type, std::vector<uint64_t>(t.ne.begin(), t.ne.begin() + t.n_dims),
                     std::vector<uint8_t>(t.data, t.data + t.nbytes)};
    g.tensors.push_back(std::move(e));
  }
  edit(g);
  GgufWriter w;
  for (auto& [k, v] : g.kv) w.Set(k, v);
  for (const auto& t : g.tensors) w.AddTensor(t.name, t.type, t.ne);
  Status s = w.WriteHeader(dst);
  for (size_t i = 0; s.ok() && i < g.tensors.size(); ++i) {
    std::vector<uint8_t> data = g.tensors[i].data;
    data.resize(w.TensorBytes(i), 0);
    s = w.WriteTensorData(data.data(), data.size());
  }
  if (s.ok()) s = w.Finish();
  if (!s.ok()) {
    std::fprintf(stderr, "RewriteGguf: %s\n", s.ToString().c_str());
    std::abort();
  }
}

}  // namespace st::testing
