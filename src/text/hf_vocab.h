// Builds a SmallThinker vocabulary (GGUF tokenizer keys) from a Hugging Face tokenizer.json and
// tokenizer_config.json, the form Qwen2/Qwen3 and SmallThinker checkpoints ship.
//
// Layout (as the SmallThinker GGUF files have it):
//   - ids 0..: the regular tokens of model.vocab (byte-level text), type normal;
//   - the added tokens at their own ids (tokenizer.json "added_tokens", and tokenizer_config.json
//     "added_tokens_decoder" for any it lacks): special ones type control, the others
//     user-defined. (llama.cpp's converter also makes "<|...|>" look-alikes control; we follow the
//     files' own "special" flag.)
//   - "[PAD<id>]" user-defined fillers for every id left, up to n_vocab;
//   - merges from model.merges, "a b" strings or [a, b] pairs, rank = order;
//   - bos = eos = pad = <|endoftext|> (the config's eos_token when there is no <|endoftext|>);
//     add_bos from the config's add_bos_token (default false); chat_template from the config (a
//     string, or the "default" entry of a list of named templates);
//   - pre "qwen2" (tokenizer.json's Split regex must be Qwen2's, or absent), or "gpt-2" for a plain
//     ByteLevel pre-tokenizer; any other pre-tokenizer is refused (Unsupported). The NFC
//     normalizer Qwen's file names is not applied (llama.cpp does not either).
#pragma once

#include <cstdint>
#include <string>

#include "smallthinker/status.h"
#include "text/vocab.h"

namespace st {

inline constexpr size_t kSmallThinkerVocabSize = 151936;

// From the two files' text. Errors (InvalidFile, naming the file and the field): malformed JSON,
// a model type other than BPE, an unknown pre-tokenizer (Unsupported), ids that collide or are not below n_vocab, gaps among the regular
// ids, more tokens than n_vocab.
Result<Vocab> VocabFromHfJson(const std::string& tokenizer_json, const std::string& tokenizer_config_json,
                              size_t n_vocab = kSmallThinkerVocabSize);

// Reads the files, then VocabFromHfJson. tokenizer_config_path may be empty (no config).
// A file that cannot be read: NotFound / IoError naming it.
Result<Vocab> LoadHfVocab(const std::string& tokenizer_json_path, const std::string& tokenizer_config_path,
                          size_t n_vocab = kSmallThinkerVocabSize);

// Writes a vocabulary-only GGUF: general.architecture = "smallthinker", the tokenizer keys, no
// tensors.
Status WriteVocabGguf(const Vocab& vocab, const std::string& path);

}  // namespace st
