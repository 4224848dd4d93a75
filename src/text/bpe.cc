#include "text/bpe.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>

#include "text/byte_level.h"

namespace st {

Result<BpeEncoder> BpeEncoder::Create(const Vocab& vocab) {
  BpeEncoder e;
  e.token_ids_.reserve(vocab.tokens.size());
  // Normal tokens first, so that an added token with the same text never shadows one BPE makes.
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t id = 0; id < vocab.tokens.size(); ++id) {
      const int32_t type = id < vocab.types.size() ? vocab.types[id] : 1;
      const bool normal = type == static_cast<int32_t>(TokenType::kNormal) ||
                          type == static_cast<int32_t>(TokenType::kUndefined);
      if (normal == (pass == 0)) e.token_ids_.emplace(vocab.tokens[id], static_cast<int32_t>(id));
    }
  }
  for (int b = 0; b < 256; ++b) {
    const std::string& text = ByteLevelChar(static_cast<uint8_t>(b));
    auto it = e.token_ids_.find(text);
    if (it == e.token_ids_.end()) {
      return InvalidFile(fmt::format("tokenizer.ggml.tokens: no token for byte 0x{:02x} ('{}'); a byte-level "
                                     "BPE vocabulary needs all 256", b, text));
    }
    e.byte_ids_[b] = it->second;
  }
  e.merges_.reserve(vocab.merges.size());
  for (size_t rank = 0; rank < vocab.merges.size(); ++rank) {
    const std::string& m = vocab.merges[rank];
    const size_t space = m.find(' ', 1);
    if (space == std::string::npos) {
      return InvalidFile(fmt::format("tokenizer.ggml.merges[{}]: '{}' is not two tokens separated by a space", rank, m));
    }
    const std::string_view left(m.data(), space);
    const std::string_view right(m.data() + space + 1, m.size() - space - 1);
    const auto a = e.Find(left);
    const auto b = e.Find(right);
    const auto r = e.Find(std::string(left) + std::string(right));
    if (!a || !b || !r) continue;
    e.merges_.emplace(PairKey(*a, *b), Merge{static_cast<int32_t>(rank), *r});  // first (lowest) rank wins
  }
  return e;
}

std::optional<int32_t> BpeEncoder::Find(std::string_view text) const {
  auto it = token_ids_.find(std::string(text));
  if (it == token_ids_.end()) return std::nullopt;
  return it->second;
}

void BpeEncoder::EncodeWord(std::string_view word, std::vector<int32_t>& out) const {
  if (word.size() > kMaxWordBytes) {
    // Only a pathological text has such a word (a megabyte without a space or punctuation); merge
    // it in pieces to bound memory and keep int indices. The tokens may differ from the reference.
    for (size_t i = 0; i < word.size(); i += kMaxWordBytes) EncodeWord(word.substr(i, kMaxWordBytes), out);
    return;
  }
  const int n = static_cast<int>(word.size());
  if (n == 0) return;
  if (n == 1) {
    out.push_back(byte_ids_[static_cast<uint8_t>(word[0])]);
    return;
  }
  // Symbols form a doubly linked list over the bytes; a merged-away symbol gets id -1.
  struct Symbol {
    int32_t id;
    int prev;
    int next;
  };
  std::vector<Symbol> sym(n);
  for (int i = 0; i < n; ++i) sym[i] = {byte_ids_[static_cast<uint8_t>(word[i])], i - 1, i + 1 < n ? i + 1 : -1};

  // Candidate merges, lowest rank first, then leftmost. A candidate remembers the ids it was made
  // from and is dropped when popped if either side has changed since.
  struct Candidate {
    int32_t rank;
    int left;
    int32_t left_id;
    int32_t right_id;
    int32_t result;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
  };
  std::vector<Candidate> heap;
  const auto push = [&](int left) {
    if (left < 0) return;
    const int right = sym[left].next;
    if (right < 0) return;
    auto it = merges_.find(PairKey(sym[left].id, sym[right].id));
    if (it == merges_.end()) return;
    heap.push_back({it->second.rank, left, sym[left].id, sym[right].id, it->second.result});
    std::push_heap(heap.begin(), heap.end(), std::greater<>());
  };
  for (int i = 0; i + 1 < n; ++i) push(i);

  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<>());
    const Candidate c = heap.back();
    heap.pop_back();
    Symbol& l = sym[c.left];
    if (l.id != c.left_id || l.next < 0) continue;
    Symbol& r = sym[l.next];
    if (r.id != c.right_id) continue;
    l.id = c.result;
    r.id = -1;
    l.next = r.next;
    if (l.next >= 0) sym[l.next].prev = c.left;
    push(l.prev);
    push(c.left);
  }
  for (int i = 0; i >= 0; i = sym[i].next) out.push_back(sym[i].id);
}

}  // namespace st
