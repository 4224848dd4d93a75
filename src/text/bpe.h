// BpeEncoder: the merge step of byte-level BPE. A pre-token word (raw bytes) starts as one token
// per byte; the adjacent pair with the lowest merge rank is merged, leftmost first among equals,
// until no pair has a merge (the Hugging Face `tokenizers` BPE algorithm, O(n log n) per word).
//
// Immutable after Create: thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "smallthinker/status.h"
#include "text/vocab.h"

namespace st {

class BpeEncoder {
 public:
  // Indexes the vocabulary's tokens (by their byte-level text) and merges ("a b", rank = index).
  // Errors: a byte with no single-byte token (InvalidFile), a merge without a space (InvalidFile).
  // Merges whose parts or result are not tokens are ignored, as they can never apply.
  static Result<BpeEncoder> Create(const Vocab& vocab);

  // Words longer than this are merged in pieces of this size.
  static constexpr size_t kMaxWordBytes = size_t{1} << 20;

  // Appends the token ids of `word` (raw bytes, one pre-token) to `out`.
  void EncodeWord(std::string_view word, std::vector<int32_t>& out) const;

  // The id of the token whose vocabulary text is `text`; normal tokens win over others.
  std::optional<int32_t> Find(std::string_view text) const;

  size_t merge_count() const { return merges_.size(); }

 private:
  struct Merge {
    int32_t rank;
    int32_t result;
  };
  static uint64_t PairKey(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }

  std::unordered_map<std::string, int32_t> token_ids_;
  std::array<int32_t, 256> byte_ids_{};
  std::unordered_map<uint64_t, Merge> merges_;  // (left id, right id) -> merge
};

}  // namespace st
