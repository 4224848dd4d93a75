#include "runtime/kv_cache.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace st {

const char* KvTypeName(KvType t) {
  switch (t) {
    case KvType::kF16: return "f16";
    case KvType::kF32: return "f32";
    case KvType::kQ8_0: return "q8_0";
  }
  return "?";
}

Result<KvType> ParseKvType(const std::string& name) {
  if (name == "f16") return KvType::kF16;
  if (name == "f32") return KvType::kF32;
  if (name == "q8_0") return KvType::kQ8_0;
  return InvalidArgument(fmt::format("KV cache type '{}' is not one of f16, f32, q8_0", name));
}

GgmlType KvCache::storage_type() const {
  switch (type_) {
    case KvType::kF16: return GgmlType::kF16;
    case KvType::kF32: return GgmlType::kF32;
    case KvType::kQ8_0: return GgmlType::kQ8_0;
  }
  return GgmlType::kF16;
}

Result<KvCache> KvCache::Create(const ModelConfig& c, const KvCacheOptions& o, const KernelTable& kernels) {
  if (o.n_seq < 1 || o.n_seq > 256) return InvalidArgument(fmt::format("sequence count {} is outside 1..256", o.n_seq));
  if (o.batch_size < 1) return InvalidArgument("KV cache: batch size must be at least 1");
  if (o.type == KvType::kQ8_0 && (c.head_dim % 32 != 0 || c.value_dim % 32 != 0)) {
    return InvalidArgument(fmt::format(
        "--kv-type q8_0 needs key and value head sizes that are multiples of 32 (Q8_0 blocks); this model has {} "
        "and {}: use f16 or f32", c.head_dim, c.value_dim));
  }
  KvCache kv;
  kv.kernels_ = &kernels;
  kv.n_ctx_ = o.n_ctx;
  kv.n_seq_ = o.n_seq;
  kv.type_ = o.type;
  kv.n_head_kv_ = c.n_head_kv;
  kv.head_dim_ = c.head_dim;
  kv.value_dim_ = c.value_dim;
  const GgmlType st = kv.storage_type();
  kv.key_stride_ = RowBytes(st, c.head_dim);
  kv.value_stride_ = RowBytes(st, c.value_dim);
  kv.window_ = c.sliding_window;
  // Ring: the window plus room for one batch, so a batch stores all its keys before attending.
  const uint64_t ring = static_cast<uint64_t>(c.sliding_window) + o.batch_size - 1;
  kv.ring_capacity_ = o.swa_full ? o.n_ctx : static_cast<uint32_t>(std::min<uint64_t>(ring, o.n_ctx));
  kv.layers_.resize(c.n_layer);
  for (uint32_t il = 0; il < c.n_layer; ++il) {
    Layer& L = kv.layers_[il];
    L.masked = c.IsSlidingLayer(il);
    L.sliding = L.masked && kv.ring_capacity_ < o.n_ctx;
    kv.has_sliding_ |= L.sliding;
    const uint64_t slots = static_cast<uint64_t>(o.n_seq) * c.n_head_kv * (L.sliding ? kv.ring_capacity_ : o.n_ctx);
    ST_ASSIGN_OR_RETURN(L.k, AnonymousBuffer::Allocate(slots * kv.key_stride_));
    ST_ASSIGN_OR_RETURN(L.v, AnonymousBuffer::Allocate(slots * kv.value_stride_));
  }
  kv.seqs_.resize(o.n_seq);
  if (kv.has_sliding_) {
    for (Seq& s : kv.seqs_) s.ring_pos.assign(kv.ring_capacity_, -1);
  }
  return kv;
}

uint32_t KvCache::FirstVisible(uint32_t il, uint32_t pos) const {
  // The mask is the model's window, whatever the ring holds (swa_full keeps more, not shows more).
  if (!layers_[il].masked) return 0;
  return pos + 1 >= window_ ? pos + 1 - window_ : 0;
}

bool KvCache::HoldsWindowBefore(const Seq& s, uint32_t n) const {
  if (!has_sliding_ || n == 0) return true;
  const uint32_t first = n >= window_ ? n - window_ + 1 : 0;
  for (uint32_t p = first; p < n; ++p) {
    if (s.ring_pos[p % ring_capacity_] != static_cast<int64_t>(p)) return false;
  }
  return true;
}

uint32_t KvCache::KeepablePrefix(uint32_t seq, uint32_t n) const {
  const Seq& s = seqs_[seq];
  n = std::min(n, s.length);
  return HoldsWindowBefore(s, n) ? n : 0;
}

Status KvCache::Truncate(uint32_t seq, uint32_t n) {
  Seq& s = seqs_[seq];
  if (n > s.length) {
    return InvalidArgument(fmt::format("sequence {} holds {} positions: cannot keep {}", seq, s.length, n));
  }
  if (n == s.length) return Status::Ok();
  if (!HoldsWindowBefore(s, n)) {
    return FailedPrecondition(fmt::format(
        "cannot rewind sequence {} from {} to {} positions: its sliding-window layers keep only the last {} "
        "positions, and the keys of positions {}..{} are gone; re-evaluate the prefix (or run with --swa-full)",
        seq, s.length, n, ring_capacity_, n >= window_ ? n - window_ + 1 : 0, n - 1));
  }
  if (has_sliding_) {
    for (int64_t& p : s.ring_pos) {
      if (p >= static_cast<int64_t>(n)) p = -1;  // a later position of the discarded tokens
    }
  }
  s.length = n;
  return Status::Ok();
}

void KvCache::BeginWrite(uint32_t seq, uint32_t p0, uint32_t count) {
  Seq& s = seqs_[seq];
  ST_CHECK(p0 == s.length && p0 + count <= n_ctx_);
  if (has_sliding_) {
    ST_CHECK(count + window_ <= ring_capacity_ + 1 || ring_capacity_ == n_ctx_);
    for (uint32_t p = p0; p < p0 + count; ++p) s.ring_pos[p % ring_capacity_] = p;
  }
  s.length = p0 + count;
}

void KvCache::AbortWrite(uint32_t seq, uint32_t p0, uint32_t count) {
  Seq& s = seqs_[seq];
  if (has_sliding_) {
    for (uint32_t p = p0; p < p0 + count; ++p) s.ring_pos[p % ring_capacity_] = -1;
  }
  s.length = std::min(s.length, p0);
}

void KvCache::Store(uint32_t il, uint32_t seq, uint32_t pos, const float* k, const float* v) {
  const uint32_t slot = Slot(il, pos);
  for (uint32_t h = 0; h < n_head_kv_; ++h) {
    auto* kd = const_cast<uint8_t*>(KeyAt(il, seq, h, slot));
    auto* vd = const_cast<uint8_t*>(ValueAt(il, seq, h, slot));
    const float* kh = k + static_cast<uint64_t>(h) * head_dim_;
    const float* vh = v + static_cast<uint64_t>(h) * value_dim_;
    switch (type_) {
      case KvType::kF32:
        std::memcpy(kd, kh, head_dim_ * sizeof(float));
        std::memcpy(vd, vh, value_dim_ * sizeof(float));
        break;
      case KvType::kF16:
        kernels_->f32_to_f16(kh, head_dim_, kd);
        kernels_->f32_to_f16(vh, value_dim_, vd);
        break;
      case KvType::kQ8_0:  // blocks of 32 along each head, as the activations
        kernels_->quantize_q8_0(kh, head_dim_, kd);
        kernels_->quantize_q8_0(vh, value_dim_, vd);
        break;
    }
  }
}

int KvCache::Runs(uint32_t il, uint32_t first, uint32_t last, SlotRun runs[2]) const {
  const uint32_t n = last - first + 1;
  const uint32_t cap = Capacity(il);
  const uint32_t s0 = Slot(il, first);
  if (s0 + n <= cap) {
    runs[0] = {s0, n};
    return 1;
  }
  runs[0] = {s0, cap - s0};
  runs[1] = {0, n - (cap - s0)};
  return 2;
}

uint64_t KvCache::bytes() const {
  uint64_t n = 0;
  for (const Layer& L : layers_) n += L.k.size() + L.v.size();
  return n;
}

std::string KvCache::Describe() const {
  uint32_t n_global = 0, n_sliding = 0;
  for (const Layer& L : layers_) (L.sliding ? n_sliding : n_global)++;
  std::string s = fmt::format("KV cache: {:.1f} MiB ({}; {} global layers x {} positions", bytes() / 1048576.0,
                              KvTypeName(type_), n_global, n_ctx_);
  if (n_sliding > 0) s += fmt::format(", {} sliding layers x {} (window {} + batch)", n_sliding, ring_capacity_, window_);
  if (n_seq_ > 1) s += fmt::format("; {} sequences", n_seq_);
  return s + ")";
}

}  // namespace st
