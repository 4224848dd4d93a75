#include "format/gguf_writer.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "format/gguf_file.h"

namespace st {
namespace {

template <typename T>
void Put(std::vector<uint8_t>& out, T v) {
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  out.insert(out.end(), p, p + sizeof(T));
}

void PutString(std::vector<uint8_t>& out, const std::string& s) {
  Put<uint64_t>(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

}  // namespace

GgufWriter::~GgufWriter() = default;

void GgufWriter::Set(const std::string& key, GgufValue value) {
  for (auto& kv : kv_) {
    if (kv.first == key) {
      kv.second = std::move(value);
      return;
    }
  }
  kv_.emplace_back(key, std::move(value));
}

void GgufWriter::Remove(const std::string& key) {
  for (auto it = kv_.begin(); it != kv_.end(); ++it) {
    if (it->first == key) {
      kv_.erase(it);
      return;
    }
  }
}

void GgufWriter::AddTensor(const std::string& name, GgmlType type, std::vector<uint64_t> ne) {
  Tensor t{name, type, std::move(ne), 0};
  uint64_t off = 0;
  if (!tensors_.empty()) {
    const Tensor& prev = tensors_.back();
    off = prev.offset + TensorBytes(tensors_.size() - 1);
    off = (off + alignment_ - 1) / alignment_ * alignment_;
  }
  t.offset = off;
  tensors_.push_back(std::move(t));
}

uint64_t GgufWriter::TensorBytes(size_t index) const {
  const Tensor& t = tensors_[index];
  uint64_t n = 1;
  for (uint64_t d : t.ne) n *= d;
  const GgmlTypeTraits& tr = TraitsOf(t.type);
  return n / tr.block_size * tr.type_size;
}

void GgufWriter::WriteValue(std::vector<uint8_t>& out, const GgufValue& v) const {
  switch (v.type()) {
    case GgufType::kUint8: Put<uint8_t>(out, static_cast<uint8_t>(v.as_uint())); break;
    case GgufType::kUint16: Put<uint16_t>(out, static_cast<uint16_t>(v.as_uint())); break;
    case GgufType::kUint32: Put<uint32_t>(out, static_cast<uint32_t>(v.as_uint())); break;
    case GgufType::kUint64: Put<uint64_t>(out, v.as_uint()); break;
    case GgufType::kInt8: Put<int8_t>(out, static_cast<int8_t>(v.as_int())); break;
    case GgufType::kInt16: Put<int16_t>(out, static_cast<int16_t>(v.as_int())); break;
    case GgufType::kInt32: Put<int32_t>(out, static_cast<int32_t>(v.as_int())); break;
    case GgufType::kInt64: Put<int64_t>(out, v.as_int()); break;
    case GgufType::kFloat32: Put<float>(out, static_cast<float>(v.as_float())); break;
    case GgufType::kFloat64: Put<double>(out, v.as_float()); break;
    case GgufType::kBool: Put<uint8_t>(out, v.as_bool() ? 1 : 0); break;
    case GgufType::kString: PutString(out, v.as_string()); break;
    case GgufType::kArray: {
      const auto& a = v.as_array();
      Put<uint32_t>(out, static_cast<uint32_t>(a.elem_type));
      Put<uint64_t>(out, a.size());
      if (a.elem_type == GgufType::kString) {
        for (size_t i = 0; i < a.size(); ++i) PutString(out, a.StringAt(i));
      } else if (a.elem_type == GgufType::kArray) {
        for (size_t i = 0; i < a.size(); ++i) WriteValue(out, a.ArrayAt(i));
      } else {
        out.insert(out.end(), a.raw().begin(), a.raw().end());  // packed little-endian, as in the file
      }
      break;
    }
  }
}

Status GgufWriter::Write(const void* p, uint64_t n) {
  if (n > 0 && std::fwrite(p, 1, n, out_.file()) != n) {
    return IoError(fmt::format("'{}': write failed after {} bytes: {}", path_, written_, std::strerror(errno)));
  }
  written_ += n;
  return Status::Ok();
}

Status GgufWriter::Pad() {
  static const uint8_t kZeros[4096] = {};
  uint64_t pad = (alignment_ - written_ % alignment_) % alignment_;
  while (pad > 0) {
    const uint64_t n = std::min<uint64_t>(pad, sizeof(kZeros));
    ST_RETURN_IF_ERROR(Write(kZeros, n));
    pad -= n;
  }
  return Status::Ok();
}

Status GgufWriter::WriteHeader(const std::string& path) {
  path_ = path;
  if (out_.is_open()) return Internal("GgufWriter: WriteHeader called twice");
  ST_ASSIGN_OR_RETURN(out_, OutputFile::Open(path, "output"));
  std::vector<uint8_t> out;
  Put<uint32_t>(out, kGgufMagic);
  Put<uint32_t>(out, kGgufVersion);
  Put<uint64_t>(out, tensors_.size());
  Put<uint64_t>(out, kv_.size());
  for (const auto& [key, value] : kv_) {
    PutString(out, key);
    Put<uint32_t>(out, static_cast<uint32_t>(value.type()));
    WriteValue(out, value);
  }
  for (const Tensor& t : tensors_) {
    PutString(out, t.name);
    Put<uint32_t>(out, static_cast<uint32_t>(t.ne.size()));
    for (uint64_t d : t.ne) Put<uint64_t>(out, d);
    Put<uint32_t>(out, static_cast<uint32_t>(t.type));
    Put<uint64_t>(out, t.offset);
  }
  ST_RETURN_IF_ERROR(Write(out.data(), out.size()));
  ST_RETURN_IF_ERROR(Pad());
  data_start_ = written_;
  return Status::Ok();
}

Status GgufWriter::WriteTensorData(const void* data, uint64_t size) {
  if (!out_.is_open()) return Internal("GgufWriter: WriteTensorData before WriteHeader");
  if (next_tensor_ >= tensors_.size()) return Internal("GgufWriter: more tensor data than declared tensors");
  const Tensor& t = tensors_[next_tensor_];
  if (size != TensorBytes(next_tensor_)) {
    return Internal(fmt::format("GgufWriter: tensor '{}' expects {} bytes, got {}", t.name, TensorBytes(next_tensor_), size));
  }
  ST_RETURN_IF_ERROR(Pad());
  if (written_ - data_start_ != t.offset) return Internal("GgufWriter: offset bookkeeping mismatch");
  ST_RETURN_IF_ERROR(Write(data, size));
  ++next_tensor_;
  return Status::Ok();
}

Status GgufWriter::Finish() {
  if (!out_.is_open()) return Internal("GgufWriter: Finish before WriteHeader");
  if (next_tensor_ != tensors_.size()) {
    return Internal(fmt::format("GgufWriter: {} of {} tensors written", next_tensor_, tensors_.size()));
  }
  // Pad the end so the last tensor is followed by alignment padding, as ggml writers do.
  ST_RETURN_IF_ERROR(Pad());
  return out_.Commit();
}

}  // namespace st
