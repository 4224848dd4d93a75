// GgufFile: valid files round-trip through the writer; every kind of malformed file gives a clear
// error naming what was wrong.
#include "format/gguf_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "format/gguf_writer.h"
#include "raw_gguf.h"
#include "test_util.h"

namespace st {
namespace {

using ::testing::HasSubstr;
using testing::RawGguf;

Result<GgufFile> Parse(const RawGguf& g) { return GgufFile::FromBytes(g.bytes.data(), g.bytes.size(), "test.gguf"); }

// Expects failure with a message containing every fragment.
void ExpectError(const Result<GgufFile>& r, StatusCode code, std::initializer_list<const char*> fragments) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), code) << r.status().ToString();
  for (const char* f : fragments) EXPECT_THAT(r.status().message(), HasSubstr(f));
}

TEST(GgufFileTest, WriterRoundTripsEveryValueType) {
  const std::string dir = testing::ScratchDir("gguf_roundtrip");
  GgufWriter w;
  w.Set("u8", GgufValue::Uint(GgufType::kUint8, 200));
  w.Set("i8", GgufValue::Int(GgufType::kInt8, -100));
  w.Set("u16", GgufValue::Uint(GgufType::kUint16, 60000));
  w.Set("i16", GgufValue::Int(GgufType::kInt16, -30000));
  w.Set("u32", GgufValue::U32(4000000000u));
  w.Set("i32", GgufValue::I32(-2000000000));
  w.Set("f32", GgufValue::F32(1.5f));
  w.Set("bool", GgufValue::Bool(true));
  w.Set("str", GgufValue::Str("héllo"));
  w.Set("u64", GgufValue::U64(1ull << 60));
  w.Set("i64", GgufValue::Int(GgufType::kInt64, -(1ll << 60)));
  w.Set("f64", GgufValue::F64(2.25));
  w.Set("arr", GgufValue::StrArray({"a", "bc", ""}));
  w.Set("nested", GgufValue::Arr(GgufType::kArray, {GgufValue::I32Array({1, 2}), GgufValue::I32Array({3})}));
  w.AddTensor("t0", GgmlType::kF32, {4, 2});
  w.AddTensor("t1", GgmlType::kQ8_0, {32});
  const std::string path = dir + "/rt.gguf";
  ASSERT_TRUE(w.WriteHeader(path).ok());
  std::vector<float> t0 = {1, 2, 3, 4, 5, 6, 7, 8};
  ASSERT_TRUE(w.WriteTensorData(t0.data(), 32).ok());
  std::vector<uint8_t> t1(34, 7);
  ASSERT_TRUE(w.WriteTensorData(t1.data(), 34).ok());
  ASSERT_TRUE(w.Finish().ok());

  auto f = GgufFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(*f->GetUint("u8"), 200u);
  EXPECT_EQ(*f->GetInt("i8"), -100);
  EXPECT_EQ(*f->GetUint("u16"), 60000u);
  EXPECT_EQ(*f->GetInt("i16"), -30000);
  EXPECT_EQ(*f->GetUint("u32"), 4000000000u);
  EXPECT_EQ(*f->GetInt("i32"), -2000000000);
  EXPECT_EQ(*f->GetFloat("f32"), 1.5);
  EXPECT_TRUE(*f->GetBool("bool"));
  EXPECT_EQ(*f->GetString("str"), "héllo");
  EXPECT_EQ(*f->GetUint("u64"), 1ull << 60);
  EXPECT_EQ(*f->GetInt("i64"), -(1ll << 60));
  EXPECT_EQ(*f->GetFloat("f64"), 2.25);
  auto arr = f->GetArray("arr", GgufType::kString);
  ASSERT_TRUE(arr.ok());
  ASSERT_EQ((*arr)->size(), 3u);
  EXPECT_EQ((*arr)->StringAt(1), "bc");
  auto nested = f->GetArray("nested", GgufType::kArray);
  ASSERT_TRUE(nested.ok());
  EXPECT_EQ((*nested)->ArrayAt(1).as_array().IntAt(0), 3);
  ASSERT_EQ(f->tensors().size(), 2u);
  const GgufTensorInfo* t = f->FindTensor("t0");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->ShapeString(), "{4, 2}");
  EXPECT_EQ(t->nbytes, 32u);
  EXPECT_EQ(reinterpret_cast<const float*>(t->data)[5], 6.0f);
  EXPECT_EQ(f->FindTensor("t1")->data[33], 7);
  EXPECT_EQ(f->FindTensor("t1")->offset % 32, 0u);
}

// A writer abandoned half-way (an error in the caller, an exception) leaves the earlier file as it
// was and no temporary behind; the file appears only when Finish succeeds.
TEST(GgufFileTest, WriterReplacesTheFileOnlyOnFinish) {
  const std::string dir = testing::ScratchDir("gguf_writer_atomic");
  const std::string path = dir + "/model.gguf";
  { std::ofstream(path, std::ios::binary) << "earlier model"; }
  auto contents = [&] {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  auto entries = [&] {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
    return n;
  };
  std::vector<float> data(8, 1.0f);
  {
    GgufWriter w;
    w.Set("general.name", GgufValue::Str("abandoned"));
    w.AddTensor("t0", GgmlType::kF32, {4, 2});
    w.AddTensor("t1", GgmlType::kF32, {4, 2});
    ASSERT_TRUE(w.WriteHeader(path).ok());
    ASSERT_TRUE(w.WriteTensorData(data.data(), 32).ok());
    EXPECT_EQ(contents(), "earlier model");  // still: the data goes to a temporary
    Status early = w.Finish();               // one tensor missing: refused
    EXPECT_FALSE(early.ok());
  }
  EXPECT_EQ(contents(), "earlier model");
  EXPECT_EQ(entries(), 1u) << "a temporary was left in " << dir;

  GgufWriter w;
  w.AddTensor("t0", GgmlType::kF32, {4, 2});
  ASSERT_TRUE(w.WriteHeader(path).ok());
  ASSERT_TRUE(w.WriteTensorData(data.data(), 32).ok());
  ASSERT_TRUE(w.Finish().ok());
  EXPECT_EQ(contents().substr(0, 4), "GGUF");
  EXPECT_EQ(entries(), 1u);
  ASSERT_TRUE(GgufFile::Open(path).ok());
}

// Writing to a full device is an error that names the path, from the write or from Finish.
TEST(GgufFileTest, WriterReportsAFullDevice) {
  GgufWriter w;
  w.AddTensor("t0", GgmlType::kF32, {1024, 64});
  std::vector<float> data(1024 * 64, 0.5f);
  Status s = w.WriteHeader("/dev/full");
  if (s.ok()) s = w.WriteTensorData(data.data(), data.size() * sizeof(float));
  if (s.ok()) s = w.Finish();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_THAT(s.message(), HasSubstr("/dev/full"));
}

TEST(GgufFileTest, TypedGettersNameKeyAndTypes) {
  RawGguf g;
  g.Header(0, 2).KvStr("name", "x").KvU32("count", 3);
  auto f = Parse(g);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  auto r = f->GetUint("name");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("key 'name': expected an unsigned integer, got string \"x\""));
  auto s = f->GetString("count");
  EXPECT_THAT(s.status().message(), HasSubstr("key 'count': expected string, got u32 3"));
  auto m = f->GetUint("missing.key");
  EXPECT_EQ(m.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(m.status().message(), HasSubstr("missing required key 'missing.key'"));
  auto opt = f->GetOptionalUint("absent");
  ASSERT_TRUE(opt.ok());
  EXPECT_FALSE(opt->has_value());
  EXPECT_FALSE(f->GetOptionalString("count").ok());
}

TEST(GgufFileTest, BadMagic) {
  RawGguf g;
  g.bytes = {'G', 'G', 'M', 'L', 3, 0, 0, 0};
  g.Put<uint64_t>(0).Put<uint64_t>(0);
  ExpectError(Parse(g), StatusCode::kInvalidFile, {"not a GGUF file", "GGML", "expected"});
}

TEST(GgufFileTest, OldVersionsAreRefused) {
  for (uint32_t v : {1u, 2u}) {
    RawGguf g;
    g.Header(0, 0, v);
    ExpectError(Parse(g), StatusCode::kUnsupported, {"GGUF version", "expected version 3"});
  }
  RawGguf future;
  future.Header(0, 0, 4);
  ExpectError(Parse(future), StatusCode::kUnsupported, {"GGUF version 4"});
}

TEST(GgufFileTest, BigEndianIsRefused) {
  RawGguf g;
  g.bytes = {'G', 'G', 'U', 'F', 0, 0, 0, 3};  // version 3 written big-endian
  g.Zeros(16);
  ExpectError(Parse(g), StatusCode::kUnsupported, {"big-endian"});
}

TEST(GgufFileTest, TruncatedHeader) {
  RawGguf g;
  g.Header(0, 0);
  g.bytes.resize(12);
  ExpectError(Parse(g), StatusCode::kInvalidFile, {"truncated", "tensor count"});
}

TEST(GgufFileTest, ImpossibleCountsAreRejectedBeforeAllocating) {
  RawGguf kv;
  kv.Header(0, 1ull << 62);
  ExpectError(Parse(kv), StatusCode::kInvalidFile, {"key/value count", "impossible"});
  RawGguf tensors;
  tensors.Header(1ull << 40, 0);
  ExpectError(Parse(tensors), StatusCode::kInvalidFile, {"tensor count", "impossible"});
}

TEST(GgufFileTest, StringPastTheEnd) {
  RawGguf g;
  g.Header(0, 1).Put<uint64_t>(1000);
  g.bytes.insert(g.bytes.end(), 20, 'a');
  ExpectError(Parse(g), StatusCode::kInvalidFile, {"string length 1000", "past the end"});
}

TEST(GgufFileTest, ArrayLengthOverflow) {
  RawGguf g;
  g.Header(0, 1).Str("arr").Put<uint32_t>(9).Put<uint32_t>(6).Put<uint64_t>(~0ull >> 1);
  ExpectError(Parse(g), StatusCode::kInvalidFile, {"key 'arr'", "array of", "f32 elements"});
}

TEST(GgufFileTest, DeeplyNestedArrays) {
  RawGguf g;
  g.Header(0, 1).Str("deep").Put<uint32_t>(9);
  for (int i = 0; i < 20; ++i) g.Put<uint32_t>(9).Put<uint64_t>(1);
  g.Put<uint32_t>(4).Put<uint64_t>(0);
  ExpectError(Parse(g), StatusCode::kInvalidFile, {"nested deeper"});
}

TEST(GgufFileTest, UnknownValueType) {
  RawGguf g;
  g.Header(0, 1).Str("k").Put<uint32_t>(13).Put<uint32_t>(0);
  ExpectError(Parse(g), StatusCode::kInvalidFile, {"key 'k'", "unknown value type 13"});
}

TEST(GgufFileTest, BoolMustBeZeroOrOne) {
  RawGguf g;
  g.Header(0, 1).Str("b").Put<uint32_t>(7).Put<uint8_t>(2);
  ExpectError(Parse(g), StatusCode::kInvalidFile, {"key 'b'", "bool"});
}

TEST(GgufFileTest, DuplicateKey) {
  RawGguf g;
  g.Header(0, 2).KvU32("a", 1).KvU32("a", 2);
  ExpectError(Parse(g), StatusCode::kInvalidFile, {"duplicate metadata key 'a'"});
}

TEST(GgufFileTest, BadAlignment) {
  RawGguf g;
  g.Header(0, 1).KvU32("general.alignment", 24);
  ExpectError(Parse(g), StatusCode::kInvalidFile, {"general.alignment", "power of two"});
}

// A valid one-tensor file: f32 {8} at offset 0.
RawGguf OneTensor(std::vector<uint64_t> ne, uint32_t type, uint64_t offset, size_t data_bytes) {
  RawGguf g;
  g.Header(1, 0).TensorInfo("w", std::move(ne), type, offset).PadTo(32).Zeros(data_bytes);
  return g;
}

TEST(GgufFileTest, ValidTensor) {
  auto f = Parse(OneTensor({8}, 0, 0, 32));
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->tensors()[0].nbytes, 32u);
}

TEST(GgufFileTest, TensorOutOfRange) {
  ExpectError(Parse(OneTensor({8}, 0, 0, 16)), StatusCode::kInvalidFile,
              {"tensor 'w'", "outside the data section", "16 bytes"});
  ExpectError(Parse(OneTensor({8}, 0, 64, 64)), StatusCode::kInvalidFile, {"tensor 'w'", "[64, 96)"});
  ExpectError(Parse(OneTensor({8}, 0, ~0ull - 31, 64)), StatusCode::kInvalidFile, {"tensor 'w'", "overflow"});
}

TEST(GgufFileTest, TensorMisaligned) {
  ExpectError(Parse(OneTensor({8}, 0, 4, 64)), StatusCode::kInvalidFile, {"tensor 'w'", "not a multiple of the alignment"});
}

TEST(GgufFileTest, ShapeProductOverflow) {
  ExpectError(Parse(OneTensor({1ull << 32, 1ull << 32}, 0, 0, 64)), StatusCode::kInvalidFile,
              {"tensor 'w'", "more elements than fit"});
  ExpectError(Parse(OneTensor({1ull << 63}, 0, 0, 64)), StatusCode::kInvalidFile, {"tensor 'w'", "does not fit in int64"});
}

TEST(GgufFileTest, UnknownTensorType) {
  ExpectError(Parse(OneTensor({8}, 5, 0, 64)), StatusCode::kInvalidFile, {"tensor 'w'", "unknown tensor type 5"});
  ExpectError(Parse(OneTensor({8}, 999, 0, 64)), StatusCode::kInvalidFile, {"unknown tensor type 999"});
}

TEST(GgufFileTest, BlockSizeMismatch) {
  ExpectError(Parse(OneTensor({40}, 2, 0, 64)), StatusCode::kInvalidFile, {"tensor 'w'", "not a multiple of the q4_0 block size 32"});
}

TEST(GgufFileTest, BadDims) {
  ExpectError(Parse(OneTensor({}, 0, 0, 64)), StatusCode::kInvalidFile, {"tensor 'w'", "n_dims is 0"});
  ExpectError(Parse(OneTensor({1, 1, 1, 1, 1}, 0, 0, 64)), StatusCode::kInvalidFile, {"n_dims is 5"});
}

TEST(GgufFileTest, DuplicateAndOverlappingTensors) {
  RawGguf dup;
  dup.Header(2, 0).TensorInfo("w", {8}, 0, 0).TensorInfo("w", {8}, 0, 32).PadTo(32).Zeros(64);
  ExpectError(Parse(dup), StatusCode::kInvalidFile, {"duplicate tensor name 'w'"});
  RawGguf overlap;
  overlap.Header(2, 0).TensorInfo("a", {16}, 0, 0).TensorInfo("b", {8}, 0, 32).PadTo(32).Zeros(96);
  ExpectError(Parse(overlap), StatusCode::kInvalidFile, {"overlaps"});
}

TEST(GgufFileTest, TruncatedAtEveryByteNeverCrashes) {
  // Write a real file with metadata and tensors, then parse every prefix of it.
  const std::string dir = testing::ScratchDir("gguf_truncate");
  GgufWriter w;
  w.Set("general.architecture", GgufValue::Str("smallthinker"));
  w.Set("list", GgufValue::StrArray({"x", "yy", "zzz"}));
  w.AddTensor("a", GgmlType::kF32, {8});
  w.AddTensor("b", GgmlType::kQ4_0, {32, 2});
  const std::string path = dir + "/t.gguf";
  ASSERT_TRUE(w.WriteHeader(path).ok());
  std::vector<uint8_t> zeros(64);
  ASSERT_TRUE(w.WriteTensorData(zeros.data(), 32).ok());
  ASSERT_TRUE(w.WriteTensorData(zeros.data(), 36).ok());
  ASSERT_TRUE(w.Finish().ok());
  const std::string all = testing::ReadFileOrDie(path);
  ASSERT_TRUE(GgufFile::FromBytes(reinterpret_cast<const uint8_t*>(all.data()), all.size(), "full").ok());
  size_t last_valid_end = 0;
  for (size_t n = 0; n < all.size(); ++n) {
    auto r = GgufFile::FromBytes(reinterpret_cast<const uint8_t*>(all.data()), n, "prefix");
    if (r.ok()) {
      last_valid_end = n;  // only possible once the last tensor's bytes are all present
      continue;
    }
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidFile) << n << ": " << r.status().ToString();
  }
  EXPECT_GE(last_valid_end + 32, all.size());
}

TEST(GgufFileTest, OpenErrorsNameThePath) {
  auto missing = GgufFile::Open("/nonexistent/model.gguf");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("/nonexistent/model.gguf"));
  auto dir = GgufFile::Open(testing::ScratchDir("gguf_dir"));
  EXPECT_EQ(dir.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(dir.status().message(), HasSubstr("is a directory"));
  const std::string empty = testing::ScratchDir("gguf_empty") + "/empty.gguf";
  std::ofstream(empty).close();
  EXPECT_THAT(GgufFile::Open(empty).status().message(), HasSubstr("is empty"));
}

TEST(GgufFileTest, ReadsTheRealGpt2VocabFile) {
  const std::string path = testing::SharedDir() + "/data/tokenizer/llama.cpp-vectors/ggml-vocab-gpt-2.gguf";
  auto f = GgufFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(*f->GetString("tokenizer.ggml.model"), "gpt2");
  auto tokens = f->GetArray("tokenizer.ggml.tokens", GgufType::kString);
  ASSERT_TRUE(tokens.ok());
  EXPECT_EQ((*tokens)->size(), 50257u);
}

}  // namespace
}  // namespace st
