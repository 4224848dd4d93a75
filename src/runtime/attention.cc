// Decoder::Attention: GQA self-attention with NeoX RoPE on RoPE layers (none on NoPE layers) and
// the sliding-window mask on sliding layers (spec §4.2.4), for every token of the batch.
//
// The query heads that share a KV head are scored together: per (sequence, KV head, chunk of up
// to kAttnChunk tokens) one GEMM of the chunk's group x tokens queries against the cached keys and
// one axpy_multi over the cached values, so each key and value row is read once for all of them
// (the 4B has 6 query heads per KV head, the 21B 7). Each query row is masked to the positions its
// token sees, scaled and softmaxed in position order (the kernel table's softmax: a polynomial exp,
// 16-lane sums); keys outside its window get probability 0,
// which axpy_multi skips. The kernels give every query the bits of a lone gemv / axpy over its
// visible rows, so a token's output does not depend on the chunk it was scored in.
#include <cmath>
#include <cstring>

#include "runtime/batch.h"
#include "runtime/decoder.h"
#include "runtime/linear.h"
#include "runtime/ops.h"

namespace st {

void Decoder::RotateQK(uint32_t il, uint32_t pos, float* q, float* k) const {
  if (!config_.UsesRope(il)) return;  // NoPE layers
  const int64_t Dh = config_.head_dim;
  float cos_t[512], sin_t[512];  // Dh/2 <= 2048 is checked at load; 512 covers every real model
  std::vector<float> big_cos, big_sin;
  float* c = cos_t;
  float* s = sin_t;
  if (Dh / 2 > 512) {
    big_cos.resize(Dh / 2);
    big_sin.resize(Dh / 2);
    c = big_cos.data();
    s = big_sin.data();
  }
  RopeAngles(pos, Dh, config_.rope_freq_base, c, s);
  for (uint32_t h = 0; h < config_.n_head; ++h) RopeNeox(q + h * Dh, Dh, c, s);
  for (uint32_t h = 0; h < config_.n_head_kv; ++h) RopeNeox(k + h * Dh, Dh, c, s);
}

void Decoder::Attention(uint32_t il) {
  Batch& b = *b_;
  const LayerWeights& L = w_.layers[il];
  const ModelConfig& c = config_;
  const int64_t E = c.n_embd, H = c.q_dim(), K = c.k_dim(), Hv = c.attn_out_dim();
  const int64_t QKV = H + K + c.v_dim();
  const int64_t T = b.T;

  // h_t = RMSNorm(x_t) * attn_norm; [q k v]_t = [Wq; Wk; Wv] · h_t             [T][H + K + Kv]
  ForEachToken(pool_.get(), T, [&](int64_t t) {
    RmsNorm(b.x.data() + t * E, L.attn_norm.data(), E, c.rms_eps, b.xn.data() + t * E);
  });
  {
    BatchActivation h(kernels_, b.xn.data(), E, T);
    MatMulStacked(kernels_, pool_.get(), {&L.attn_q, &L.attn_k, &L.attn_v}, h, b.qkv.data());
  }
  stats_.weight_bytes += L.attn_q.bytes() + L.attn_k.bytes() + L.attn_v.bytes() + L.attn_output.bytes();

  // RoPE, then every token's key and value into its sequence's cache (slots of a batch are distinct).
  ForEachToken(pool_.get(), T, [&](int64_t t) {
    float* q = b.qkv.data() + t * QKV;
    RotateQK(il, b.tokens[t].pos, q, q + H);
    kv_.Store(il, b.tokens[t].seq, b.tokens[t].pos, q + H, q + H + K);
  });

  // Tasks: (sequence group, KV head, chunk of the group's tokens).
  const int64_t Dh = c.head_dim, Dv = c.value_dim, group = c.n_head / c.n_head_kv, n_kv = c.n_head_kv;
  struct Task {
    int64_t g, h, i0, i1;  // group, KV head, token range [i0, i1) of seq_token
  };
  std::vector<Task> tasks;
  uint64_t kv_read = 0;
  const uint64_t head_bytes = kv_.key_stride() + kv_.value_stride();  // one head's key + value of a position
  int64_t keys_max = 0;
  for (size_t g = 0; g < b.seq_id.size(); ++g) {
    for (int64_t i0 = b.seq_start[g]; i0 < b.seq_start[g + 1]; i0 += kAttnChunk) {
      const int64_t i1 = std::min(b.seq_start[g + 1], i0 + kAttnChunk);
      const uint32_t p_first = b.tokens[b.seq_token[i0]].pos, p_last = b.tokens[b.seq_token[i1 - 1]].pos;
      const int64_t n_keys = p_last - kv_.FirstVisible(il, p_first) + 1;
      keys_max = std::max(keys_max, n_keys);
      kv_read += n_keys * head_bytes * n_kv;
      for (int64_t h = 0; h < n_kv; ++h) tasks.push_back({static_cast<int64_t>(g), h, i0, i1});
    }
  }
  stats_.kv_bytes += kv_read;
  const WeightKernels& kvk = kernels_.weights[static_cast<int>(kv_.storage_type())];
  const GgmlType act_type = kvk.act_type;
  const uint64_t q_stride = ActivationBytes(act_type, Dh);
  const int64_t n_out_max = kAttnChunk * group;
  const int n_threads = pool_->size();
  b.att_q.resize(static_cast<size_t>(n_threads) * n_out_max * (Dh + q_stride / sizeof(float) + 1));
  b.att_scores.resize(static_cast<size_t>(n_threads) * n_out_max * keys_max);
  const float scale = 1.0f / std::sqrt(static_cast<float>(Dh));
  const int64_t n_tasks = static_cast<int64_t>(tasks.size());
  // Small caches are not worth waking the other thread for.
  const int64_t grain = kv_read * group >= pool_->min_parallel_bytes() ? 1 : n_tasks;

  pool_->ParallelFor(n_tasks, grain, [&](int64_t tb, int64_t te, int thread) {
    float* qf = b.att_q.data() + static_cast<size_t>(thread) * n_out_max * (Dh + q_stride / sizeof(float) + 1);
    uint8_t* qa = reinterpret_cast<uint8_t*>(qf + n_out_max * Dh);  // queries in the kernels' act_type
    float* s = b.att_scores.data() + static_cast<size_t>(thread) * n_out_max * keys_max;
    std::vector<float*> y(n_out_max);
    for (int64_t ti = tb; ti < te; ++ti) {
      const Task& task = tasks[ti];
      const uint32_t seq = b.seq_id[task.g];
      const uint32_t p_first = b.tokens[b.seq_token[task.i0]].pos;
      const uint32_t p_last = b.tokens[b.seq_token[task.i1 - 1]].pos;
      const uint32_t first = kv_.FirstVisible(il, p_first);
      const int64_t n_keys = p_last - first + 1;
      const int64_t n_out = (task.i1 - task.i0) * group;
      // Output o = (token i0 + o / group, query head h * group + o % group).
      for (int64_t o = 0; o < n_out; ++o) {
        const int64_t t = b.seq_token[task.i0 + o / group], head = task.h * group + o % group;
        const float* q = b.qkv.data() + t * QKV + head * Dh;
        if (act_type == GgmlType::kF32) {
          std::memcpy(qa + o * q_stride, q, Dh * sizeof(float));
        } else {
          QuantizeActivation(kernels_, act_type, q, Dh, qa + o * q_stride);
        }
        y[o] = b.attn.data() + t * Hv + head * Dv;
        std::memset(y[o], 0, Dv * sizeof(float));
      }
      KvCache::SlotRun runs[2];
      const int n_runs = kv_.Runs(il, first, p_last, runs);
      // s[o][i] = q_o · k_{first + i} for the chunk's key span: one GEMM per run of slots.
      int64_t off = 0;
      for (int r = 0; r < n_runs; ++r) {
        kvk.gemm(kv_.KeyAt(il, seq, static_cast<uint32_t>(task.h), runs[r].first_slot), kv_.key_stride(),
                 runs[r].count, Dh, qa, q_stride, n_out, s + off, n_keys);
        off += runs[r].count;
      }
      // Each row over the positions its token sees: [FirstVisible(pos), pos].
      for (int64_t o = 0; o < n_out; ++o) {
        const uint32_t pos = b.tokens[b.seq_token[task.i0 + o / group]].pos;
        const int64_t lo = kv_.FirstVisible(il, pos) - first, hi = pos - first + 1;
        float* so = s + o * n_keys;
        kernels_.softmax_f32(so + lo, hi - lo, scale);
        std::fill(so, so + lo, 0.0f);
        std::fill(so + hi, so + n_keys, 0.0f);
      }
      // y_o = sum_i a[o][i] * v_{first + i}, in position order.
      off = 0;
      for (int r = 0; r < n_runs; ++r) {
        kvk.axpy_multi(kv_.ValueAt(il, seq, static_cast<uint32_t>(task.h), runs[r].first_slot), kv_.value_stride(),
                       nullptr, runs[r].count, s + off, n_keys, n_out, Dv, y.data());
        off += runs[r].count;
      }
    }
  });

  // x_t += Wo · attn_t                                                          [T][E]
  BatchActivation o(kernels_, b.attn.data(), Hv, T);
  MatMul(kernels_, pool_.get(), L.attn_output, o, b.proj.data());
  ForEachToken(pool_.get(), T, [&](int64_t t) {
    float* x = b.x.data() + t * E;
    const float* p = b.proj.data() + t * E;
    for (int64_t i = 0; i < E; ++i) x[i] += p[i];
  });
}

}  // namespace st
