// RewriteGguf: copies a GGUF file through an editable in-memory description, so tests can derive a
// broken model from a valid one (drop a key, retype it, reshape or retype a tensor, drop a tensor).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "format/gguf_file.h"
#include "format/gguf_writer.h"

namespace st::testing {

struct EditableTensor {
  std::string name;
  GgmlType type;
  std::vector<uint64_t> ne;
  std::vector<uint8_t> data;  // resized (zero-filled) to fit a changed shape or type on write
};

struct EditableGguf {
  std::vector<std::pair<std::string, GgufValue>> kv;
  std::vector<EditableTensor> tensors;

  void SetKey(const std::string& key, GgufValue v);
  void RemoveKey(const std::string& key);
  EditableTensor* Tensor(const std::string& name);
  void RemoveTensor(const std::string& name);
};

// Reads `src`, applies `edit`, writes `dst`. Aborts the test on I/O failure.
void RewriteGguf(const std::string& src, const std::string& dst, const std::function<void(EditableGguf&)>& edit);

}  // namespace st::testing
