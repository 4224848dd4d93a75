// Tokenizer: text <-> token ids for byte-level BPE vocabularies (tokenizer.ggml.model = "gpt2"),
// the kind SmallThinker (Qwen2's vocabulary) and GPT-2 use.
//
// Encoding: added tokens are cut out of the text first (leftmost, longest first), then each piece
// in between is split into words by the pre-tokenizer that tokenizer.ggml.pre names
// (pre_tokenizer.h) and each word is merged by BPE (bpe.h). Which added tokens are cut out:
//   - control tokens (type 3: <|im_start|>, <|endoftext|>, ...): only when parse_special is on;
//     otherwise their text is ordinary text ("<|im_end|>" -> "<", "|", "im", ...).
//   - user-defined tokens (type 4: <think>, <tool_call>, ...): always, as llama.cpp and Hugging
//     Face do for added tokens that are not special.
//   - "[PAD<id>]" fillers (user-defined tokens that only fill the embedding rows up to n_vocab):
//     never; they are not real tokens (llama.cpp types them unused). They decode to "".
// Invalid UTF-8 is accepted: each bad byte is kept and encoded as its byte token, so
// Decode(Encode(s)) == s for every byte string s (see pre_tokenizer.h).
//
// Immutable after construction: thread-safe. Encoding a 100 KB text takes milliseconds (BPE results
// are cached per distinct word within one Encode call).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "format/gguf_file.h"
#include "smallthinker/status.h"
#include "text/bpe.h"
#include "text/pre_tokenizer.h"
#include "text/vocab.h"

namespace st {

class Tokenizer {
 public:
  Tokenizer(Tokenizer&&) noexcept = default;
  Tokenizer& operator=(Tokenizer&&) noexcept = default;

  // Errors: a model other than "gpt2" or an unknown pre-tokenizer (Unsupported); token types that
  // do not match the tokens, special ids out of range, missing byte tokens (InvalidFile).
  static Result<Tokenizer> FromVocab(Vocab vocab);
  static Result<Tokenizer> FromGguf(const GgufFile& file);

  // The token ids of `text`. add_bos: put BOS first (when the vocabulary has one); pass add_bos()
  // to do what the vocabulary asks (SmallThinker: no BOS). parse_special: see the file comment.
  std::vector<int32_t> Encode(std::string_view text, bool add_bos, bool parse_special) const;

  // The bytes a token stands for. Control tokens give their text only with render_special (a chat
  // front end hides them, --special shows them). Fillers, unused and out-of-range ids give "".
  // A piece may be part of a UTF-8 character; see StreamingDecoder.
  const std::string& TokenToPiece(int32_t id, bool render_special = true) const;
  // The concatenated pieces.
  std::string Decode(std::span<const int32_t> ids, bool render_special = true) const;

  // True for eos and for every control token whose text is a known end-of-generation token
  // (<|im_end|>, <|endoftext|>, <|eot_id|>, </s>, <|end|>).
  bool IsEndOfGeneration(int32_t id) const;
  const std::vector<int32_t>& end_of_generation_ids() const { return eog_ids_; }

  // The id of the control or user-defined token with exactly this text, if any.
  std::optional<int32_t> FindAddedToken(std::string_view text) const;
  bool IsControl(int32_t id) const;
  // The vocabulary text of a token (byte-level form for normal tokens). REQUIRES: 0 <= id < n_vocab.
  const std::string& TokenText(int32_t id) const { return vocab_.tokens[static_cast<size_t>(id)]; }

  int32_t n_vocab() const { return static_cast<int32_t>(vocab_.tokens.size()); }
  int32_t bos() const { return vocab_.bos_id; }
  int32_t eos() const { return vocab_.eos_id; }
  int32_t pad() const { return vocab_.pad_id; }
  bool add_bos() const { return vocab_.add_bos; }
  // Whether encoding a chat template's `rendered` text should put BOS first: add_bos(), unless the
  // text already begins with BOS's text (a template that writes {{ bos_token }}), which encoding
  // with parse_special turns into BOS itself: never two.
  bool AddBosFor(std::string_view rendered) const;
  const std::string& chat_template() const { return vocab_.chat_template; }
  const Vocab& vocab() const { return vocab_; }

 private:
  Tokenizer(Vocab vocab, PreTokenizerKind pre, BpeEncoder bpe);
  void IndexAddedTokens();
  // The added token that starts at text[i] (longest wins), or -1.
  int32_t MatchAddedToken(std::string_view text, size_t i, bool parse_special) const;

  Vocab vocab_;
  PreTokenizerKind pre_;
  BpeEncoder bpe_;
  std::vector<std::string> pieces_;        // id -> bytes (control tokens: their text)
  std::vector<uint8_t> is_control_;        // id -> 1 for control tokens
  // Added tokens that can be cut out of text, by first byte, longest text first.
  std::array<std::vector<int32_t>, 256> added_by_first_byte_;
  std::vector<int32_t> eog_ids_;
};

}  // namespace st
