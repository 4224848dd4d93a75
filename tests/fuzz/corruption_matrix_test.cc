// The corruption matrix, structural half (after llama.cpp's tests/test-gguf.cpp and leveldb's
// db/corruption_test.cc): start from a valid generated model (the tiny preset), derive one file per
// defect by patching bytes located by walking the file (gguf_layout.h), and assert the SPECIFIC
// error: status code plus message fragments naming the key, tensor or offset. Valid files still
// load. Keys, shapes, the vocabulary and random bit flips: corruption_keys_test.cc. Complements
// tests/format/gguf_file_test.cc (hand-built files) and tests/model/model_test.cc (a few rewrites).
#include <fstream>

#include "corruption_fixture.h"

namespace st {
namespace {

using ::testing::HasSubstr;
using testing::CheckError;
using testing::Expect;
using testing::GgufLayout;
using testing::Poke;

class CorruptionMatrixTest : public testing::CorruptionFixture {
 protected:
  // What a file cut to `n` bytes must report. Mirrors the reader's order of checks.
  static Expect ExpectedForTruncation(uint64_t n) {
    const auto I = StatusCode::kInvalidFile;
    const std::string tr = "truncated file: reading ";
    if (n < 4) return {I, {tr + "magic at offset 0"}, {}};
    if (n < 8) return {I, {tr + "version at offset 4"}, {}};
    if (n < 16) return {I, {tr + "tensor count at offset 8"}, {}};
    if (n < 24) return {I, {tr + "metadata key/value count at offset 16"}, {}};
    const uint64_t rem = n - 24;
    const std::string why = "truncated file or corrupt count";
    if (n_kv() > rem / 13) return {I, {fmt::format("metadata key/value count {} is impossible", n_kv()), why}, {}};
    if (n_tensors() > rem / 32) return {I, {fmt::format("tensor count {} is impossible", n_tensors()), why}, {}};
    for (size_t i = 0; i < layout_->kvs.size(); ++i) {
      const testing::KvSpan& kv = layout_->kvs[i];
      if (n >= kv.end) continue;
      if (n < kv.start + 8) return {I, {fmt::format("{}key #{} length at offset {}", tr, i, kv.start)}, {}};
      if (n < kv.key_end) return {I, {fmt::format("key #{}: string length {} at offset {} runs past the end", i, kv.key.size(), kv.start)}, {}};
      if (n < kv.type_end) return {I, {fmt::format("{}type of key '{}' at offset {}", tr, kv.key, kv.key_end)}, {}};
      return {I, {fmt::format("key '{}'", kv.key)}, {"truncated file", "past the end", "left in the file"}};
    }
    for (size_t j = 0; j < layout_->tensors.size(); ++j) {
      const testing::TensorSpan& t = layout_->tensors[j];
      if (n >= t.end) continue;
      const std::string what = "tensor '" + t.name + "'";
      if (n < t.start + 8) return {I, {fmt::format("{}name of tensor #{} length at offset {}", tr, j, t.start)}, {}};
      if (n < t.name_end) return {I, {fmt::format("name of tensor #{}: string length {} at offset {} runs past the end", j, t.name.size(), t.start)}, {}};
      if (n < t.dims_at) return {I, {fmt::format("{}{} n_dims at offset {}", tr, what, t.name_end)}, {}};
      if (n < t.type_at) return {I, {fmt::format("{}{} dims at offset {}", tr, what, t.dims_at + (n - t.dims_at) / 8 * 8)}, {}};
      if (n < t.offset_at) return {I, {fmt::format("{}{} type at offset {}", tr, what, t.type_at)}, {}};
      return {I, {fmt::format("{}{} offset at offset {}", tr, what, t.offset_at)}, {}};
    }
    if (n < data_offset_) {
      return {I, {fmt::format("the data section should start at offset {} (alignment 32), but the file has {} bytes", data_offset_, n)}, {}};
    }
    const uint64_t data_size = n - data_offset_;
    for (const auto& t : *tensors_) {  // directory order: the first tensor that does not fit
      if (t.offset + t.nbytes > data_size) {
        return {I, {fmt::format("tensor '{}': data [{}, {}) lies outside the data section of {} bytes", t.name, t.offset,
                                t.offset + t.nbytes, data_size), "file truncated or offset corrupt"}, {}};
      }
    }
    ADD_FAILURE() << "cut at " << n << " leaves every tensor whole";
    return {I, {}, {}};
  }

};

TEST_F(CorruptionMatrixTest, ValidFilesLoad) {
  auto m = Model::Load(*base_path_);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_TRUE(Load(*bytes_).ok());
  // The layout walk agrees with the reader.
  ASSERT_EQ(n_tensors(), tensors_->size());
  EXPECT_EQ(layout_->tensors.back().name, tensors_->back().name);
  EXPECT_LE(layout_->directory_end, data_offset_);
  EXPECT_LT(data_offset_ - layout_->directory_end, 32u);
  // A rewrite that changes nothing, and one that only reorders keys, still load.
  EXPECT_TRUE(LoadRewritten([](auto&) {}).ok());
  EXPECT_TRUE(LoadRewritten([](auto& g) { std::reverse(g.kv.begin(), g.kv.end()); }).ok());
}

TEST_F(CorruptionMatrixTest, TruncationAtEveryStructuralBoundary) {
  std::vector<uint64_t> cuts;
  for (uint64_t n = 0; n <= GgufLayout::kHeaderEnd; ++n) cuts.push_back(n);
  for (const auto& kv : layout_->kvs) {
    // Inside the key length, inside the key, the type, and the value; and at each end.
    for (uint64_t n : {kv.start, kv.start + 3, kv.start + 8, kv.key_end - 1, kv.key_end, kv.key_end + 2, kv.type_end,
                       kv.type_end + (kv.end - kv.type_end) / 2, kv.end - 1}) {
      cuts.push_back(n);
    }
  }
  for (const auto& t : layout_->tensors) {
    for (uint64_t n : {t.start, t.start + 5, t.start + 8, t.name_end - 1, t.name_end, t.dims_at, t.dims_at + 9, t.type_at,
                       t.type_at + 1, t.offset_at, t.offset_at + 7}) {
      cuts.push_back(n);
    }
  }
  cuts.push_back(layout_->directory_end);  // after the last tensor info, before the padding
  for (uint64_t n : {data_offset_ - 1, data_offset_, data_offset_ + 1}) cuts.push_back(n);
  for (const auto& t : *tensors_) {  // inside and at the end of a sample of tensors' data
    if (t.name == "token_embd.weight" || t.name == "blk.3.ffn_gate_inp.weight" || t.name == "blk.7.ffn_down_exps.weight") {
      cuts.push_back(t.file_offset + t.nbytes / 2);
      cuts.push_back(t.file_offset + t.nbytes - 1);
    }
  }
  cuts.push_back(bytes_->size() - 1);  // the last byte of the last tensor
  int kv_specific = 0, tensor_specific = 0;
  for (uint64_t n : cuts) {
    SCOPED_TRACE(fmt::format("file cut to {} of {} bytes", n, bytes_->size()));
    const Expect e = ExpectedForTruncation(n);
    CheckError(Parse(bytes_->substr(0, n)).status(), e);
    for (const auto& f : e.all) {
      kv_specific += f.find("key '") != std::string::npos || f.find("key #") != std::string::npos;
      tensor_specific += f.find("tensor '") != std::string::npos || f.find("tensor #") != std::string::npos;
    }
  }
  // The walk reached past the count checks into key- and tensor-specific messages.
  EXPECT_GT(kv_specific, 20);
  EXPECT_GT(tensor_specific, 500);
}

TEST_F(CorruptionMatrixTest, TruncatedFileOnDiskNamesThePath) {
  const std::string path = *dir_ + "/truncated.gguf";
  {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes_->data(), static_cast<std::streamsize>(bytes_->size() - 100));
  }
  auto m = Model::Load(path);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidFile);
  EXPECT_THAT(m.status().message(), HasSubstr(path));
  EXPECT_THAT(m.status().message(), HasSubstr("tensor 'blk.7.ffn_down_exps.weight': data ["));
}

TEST_F(CorruptionMatrixTest, BadMagicAndVersion) {
  const auto I = StatusCode::kInvalidFile, U = StatusCode::kUnsupported;
  auto with = [](uint64_t at, uint32_t v) { return [=](std::string& b) { Poke<uint32_t>(b, at, v); }; };
  CheckError(LoadPatched([](std::string& b) { b.replace(0, 4, "GGML"); }), {I, {"not a GGUF file", "\"GGML\"", "expected 0x46554747 (\"GGUF\")"}});
  CheckError(LoadPatched([](std::string& b) { b.replace(0, 4, "gguf"); }), {I, {"magic is 0x66756767"}});
  CheckError(LoadPatched(with(0, 0)), {I, {"magic is 0x00000000"}});
  for (uint32_t v : {1u, 2u}) {
    CheckError(LoadPatched(with(4, v)), {U, {fmt::format("GGUF version {} is not supported; expected version 3", v), "re-convert"}});
  }
  CheckError(LoadPatched(with(4, 0)), {U, {"GGUF version 0 is not supported; expected version 3"}});
  CheckError(LoadPatched(with(4, 4)), {U, {"GGUF version 4 is not supported; expected version 3"}});
  CheckError(LoadPatched(with(4, 0x7fffffffu)), {U, {"GGUF version 2147483647 is not supported"}});
  CheckError(LoadPatched(with(4, 0x03000000u)), {U, {"big-endian GGUF file (version field 0x03000000)"}});
}

TEST_F(CorruptionMatrixTest, ImpossibleAndWrongCounts) {
  const auto I = StatusCode::kInvalidFile;
  auto count = [](uint64_t at, uint64_t v) { return [=](std::string& b) { Poke<uint64_t>(b, at, v); }; };
  CheckError(LoadPatched(count(GgufLayout::kKvCountAt, 1ull << 40)),
             {I, {"metadata key/value count 1099511627776 is impossible", "truncated file or corrupt count"}});
  CheckError(LoadPatched(count(GgufLayout::kKvCountAt, ~0ull)), {I, {"metadata key/value count 18446744073709551615 is impossible"}});
  CheckError(LoadPatched(count(GgufLayout::kTensorCountAt, 1ull << 40)), {I, {"tensor count 1099511627776 is impossible"}});
  // One key too many: the first tensor info is read as a key/value and fails somewhere after it.
  EXPECT_EQ(LoadPatched(count(GgufLayout::kKvCountAt, n_kv() + 1)).code(), I);
  // One key too few: the last key/value is read as a tensor info.
  const testing::KvSpan& last_kv = layout_->kvs.back();
  CheckError(LoadPatched(count(GgufLayout::kKvCountAt, n_kv() - 1)),
             {I, {fmt::format("tensor '{}': n_dims is {}, expected 1..4", last_kv.key, static_cast<uint32_t>(last_kv.type))}});
  // One tensor too many: the padding and data are read as a tensor info.
  EXPECT_EQ(LoadPatched(count(GgufLayout::kTensorCountAt, n_tensors() + 1)).code(), I);
  // One tensor too few: the file parses (the data section is found later), the binding misses it.
  CheckError(LoadPatched(count(GgufLayout::kTensorCountAt, n_tensors() - 1)),
             {StatusCode::kNotFound, {"missing tensor 'blk.7.ffn_down_exps.weight'"}});
}

TEST_F(CorruptionMatrixTest, StringLengthsPastTheEnd) {
  const auto I = StatusCode::kInvalidFile;
  const uint64_t size = bytes_->size();
  const testing::KvSpan& kv = *layout_->Kv("smallthinker.expert_count");
  const size_t kv_index = &kv - layout_->kvs.data();
  CheckError(LoadPatched([&](std::string& b) { Poke<uint64_t>(b, kv.start, size); }),
             {I, {fmt::format("key #{}: string length {} at offset {} runs past the end of the file", kv_index, size, kv.start)}});
  CheckError(LoadPatched([&](std::string& b) { Poke<uint64_t>(b, kv.start, 70000); }),
             {I, {fmt::format("key #{}: string length 70000 exceeds the limit of 65535", kv_index)}});
  const testing::KvSpan& name = *layout_->Kv("general.name");
  CheckError(LoadPatched([&](std::string& b) { Poke<uint64_t>(b, name.type_end, ~0ull); }),
             {I, {fmt::format("key 'general.name': string length 18446744073709551615 at offset {} runs past the end", name.type_end)}});
  const testing::TensorSpan& t = *layout_->Tensor("blk.4.attn_v.weight");
  const size_t t_index = &t - layout_->tensors.data();
  CheckError(LoadPatched([&](std::string& b) { Poke<uint64_t>(b, t.start, size); }),
             {I, {fmt::format("name of tensor #{}: string length {} at offset {} runs past the end", t_index, size, t.start)}});
  CheckError(LoadPatched([&](std::string& b) { Poke<uint64_t>(b, t.start, 300); }),
             {I, {fmt::format("name of tensor #{}: string length 300 exceeds the limit of 256", t_index)}});
  // A token string inside the tokens array: the error names the array's key.
  const testing::KvSpan& tokens = *layout_->Kv("tokenizer.ggml.tokens");
  CheckError(LoadPatched([&](std::string& b) { Poke<uint64_t>(b, tokens.type_end + 12, size); }),
             {I, {"key 'tokenizer.ggml.tokens': string length", fmt::format("at offset {} runs past the end", tokens.type_end + 12)}});
}

TEST_F(CorruptionMatrixTest, ArrayDefects) {
  const auto I = StatusCode::kInvalidFile;
  const testing::KvSpan& tokens = *layout_->Kv("tokenizer.ggml.tokens");
  const uint64_t count_at = tokens.type_end + 4;
  CheckError(LoadPatched([&](std::string& b) { Poke<uint64_t>(b, count_at, 1ull << 62); }),
             {I, {"key 'tokenizer.ggml.tokens': array of 4611686018427387904 string elements",
                  fmt::format("at offset {} needs more than 2^64 bytes", tokens.type_end)}});
  CheckError(LoadPatched([&](std::string& b) { Poke<uint64_t>(b, count_at, 1ull << 59); }),
             {I, {"array of 576460752303423488 string elements", "needs at least 4611686018427387904 bytes", "truncated file or corrupt count"}});
  CheckError(LoadPatched([&](std::string& b) { Poke<uint32_t>(b, tokens.type_end, 13); }),
             {I, {"key 'tokenizer.ggml.tokens': unknown array element type 13 (valid: 0..12)"}});
  // Element type changed to i32: the string bytes are read as numbers, and the binding or the
  // reader fails later; never a crash.
  EXPECT_FALSE(LoadPatched([&](std::string& b) { Poke<uint32_t>(b, tokens.type_end, 5); }).ok());
  // One element too many: the next key is eaten as a token, the rest is misread.
  EXPECT_FALSE(LoadPatched([&](std::string& b) { Poke<uint64_t>(b, count_at, 513); }).ok());
  // An unknown value type on a key.
  const testing::KvSpan& kv = *layout_->Kv("smallthinker.block_count");
  CheckError(LoadPatched([&](std::string& b) { Poke<uint32_t>(b, kv.key_end, 77); }),
             {I, {"key 'smallthinker.block_count': unknown value type 77 (valid: 0..12)"}});
}

TEST_F(CorruptionMatrixTest, DuplicateKeysAndTensorNames) {
  const auto I = StatusCode::kInvalidFile;
  // Any later key with the same length as an earlier one becomes a copy of it.
  const testing::KvSpan* first = nullptr;
  const testing::KvSpan* second = nullptr;
  for (size_t j = 1; j < layout_->kvs.size() && !second; ++j) {
    for (size_t i = 0; i < j && !second; ++i) {
      if (layout_->kvs[i].key.size() == layout_->kvs[j].key.size()) first = &layout_->kvs[i], second = &layout_->kvs[j];
    }
  }
  ASSERT_NE(second, nullptr);
  const size_t second_index = second - layout_->kvs.data();
  CheckError(LoadPatched([&](std::string& b) { b.replace(second->start + 8, first->key.size(), first->key); }),
             {I, {fmt::format("duplicate metadata key '{}' (key #{})", first->key, second_index)}});
  const testing::TensorSpan& q = *layout_->Tensor("blk.1.attn_q.weight");
  const testing::TensorSpan& k = *layout_->Tensor("blk.1.attn_k.weight");
  CheckError(LoadPatched([&](std::string& b) { b.replace(k.start + 8, q.name.size(), q.name); }),
             {I, {fmt::format("duplicate tensor name 'blk.1.attn_q.weight' (tensor #{})", &k - layout_->tensors.data())}});
}

TEST_F(CorruptionMatrixTest, TensorOffsetDefects) {
  const auto I = StatusCode::kInvalidFile;
  const uint64_t data_size = bytes_->size() - data_offset_;
  const testing::TensorSpan& last = layout_->tensors.back();
  const GgufTensorInfo& last_info = TensorInfo(last.name);
  const uint64_t past = (data_size + 31) / 32 * 32;
  CheckError(LoadPatched([&](std::string& b) { Poke<uint64_t>(b, last.offset_at, past); }),
             {I, {fmt::format("tensor '{}': data [{}, {}) lies outside the data section of {} bytes", last.name, past,
                              past + last_info.nbytes, data_size)}});
  CheckError(LoadPatched([&](std::string& b) { Poke<uint64_t>(b, last.offset_at, ~0ull - 31); }),
             {I, {fmt::format("tensor '{}': data [18446744073709551584, overflow)", last.name)}});
  const testing::TensorSpan& mid = *layout_->Tensor("blk.2.attn_output.weight");
  const GgufTensorInfo& mid_info = TensorInfo(mid.name);
  CheckError(LoadPatched([&](std::string& b) { Poke<uint64_t>(b, mid.offset_at, mid_info.offset + 16); }),
             {I, {fmt::format("tensor 'blk.2.attn_output.weight': data offset {} is not a multiple of the alignment 32", mid_info.offset + 16)}});
  // Pointing one tensor at its predecessor's bytes.
  const testing::TensorSpan& next = layout_->tensors[&mid - layout_->tensors.data() + 1];
  CheckError(LoadPatched([&](std::string& b) { Poke<uint64_t>(b, next.offset_at, mid_info.offset); }),
             {I, {"overlaps tensor", "blk.2.attn_output.weight", next.name}});
  // A larger alignment the offsets do not honour.
  const testing::KvSpan& align = *layout_->Kv("general.alignment");
  CheckError(LoadPatched([&](std::string& b) { Poke<uint32_t>(b, align.type_end, 24); }),
             {I, {"key 'general.alignment': u32 24 is not a power of two"}});
  EXPECT_EQ(LoadPatched([&](std::string& b) { Poke<uint32_t>(b, align.type_end, 1u << 20); }).code(), I);
}

TEST_F(CorruptionMatrixTest, TensorShapeAndTypeDefects) {
  const auto I = StatusCode::kInvalidFile;
  const testing::TensorSpan& embd = *layout_->Tensor("token_embd.weight");
  CheckError(LoadPatched([&](std::string& b) {
               Poke<uint64_t>(b, embd.dims_at, 1ull << 32);
               Poke<uint64_t>(b, embd.dims_at + 8, 1ull << 32);
             }),
             {I, {"tensor 'token_embd.weight': shape {4294967296, 4294967296} has more elements than fit in int64"}});
  CheckError(LoadPatched([&](std::string& b) { Poke<uint64_t>(b, embd.dims_at + 8, 1ull << 63); }),
             {I, {"tensor 'token_embd.weight': dimension 1 is 9223372036854775808, which does not fit in int64"}});
  CheckError(LoadPatched([&](std::string& b) { Poke<uint32_t>(b, embd.name_end, 0); }), {I, {"tensor 'token_embd.weight': n_dims is 0, expected 1..4"}});
  CheckError(LoadPatched([&](std::string& b) { Poke<uint32_t>(b, embd.name_end, 5); }), {I, {"tensor 'token_embd.weight': n_dims is 5"}});
  const testing::TensorSpan& q = *layout_->Tensor("blk.0.attn_q.weight");
  for (uint32_t type : {4u, 5u, 31u, 40u, 999u}) {
    CheckError(LoadPatched([&](std::string& b) { Poke<uint32_t>(b, q.type_at, type); }),
               {I, {fmt::format("tensor 'blk.0.attn_q.weight': unknown tensor type {}", type)}});
  }
  // A known type of a smaller size: the file parses, the binding refuses it.
  CheckError(LoadPatched([&](std::string& b) { Poke<uint32_t>(b, q.type_at, 7); }),
             {StatusCode::kUnsupported, {"tensor 'blk.0.attn_q.weight': type q5_1 is not supported"}});
  const testing::TensorSpan& norm = *layout_->Tensor("blk.6.ffn_norm.weight");
  CheckError(LoadPatched([&](std::string& b) { Poke<uint32_t>(b, norm.type_at, 8); }),
             {I, {"tensor 'blk.6.ffn_norm.weight': type q8_0, expected f32 (norm weights are never quantized)"}});
  CheckError(LoadPatched([&](std::string& b) { Poke<uint32_t>(b, norm.type_at, 2); Poke<uint64_t>(b, norm.dims_at, 48); }),
             {I, {"tensor 'blk.6.ffn_norm.weight': first dimension 48 is not a multiple of the q4_0 block size 32"}});
}

}  // namespace
}  // namespace st
