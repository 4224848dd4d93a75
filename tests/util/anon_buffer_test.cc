// AnonymousBuffer: an allocation the machine cannot give is an error saying how much was asked
// and how much there is, not an abort.
#include "util/anon_buffer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace st {
namespace {

TEST(AnonymousBufferTest, AllocatesZeroedMemory) {
  auto b = AnonymousBuffer::Allocate(1 << 20);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->size(), 1u << 20);
  EXPECT_EQ(b->data()[12345], 0);
  auto empty = AnonymousBuffer::Allocate(0);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->data(), nullptr);
}

TEST(AnonymousBufferTest, TooLargeIsAnError) {
  const size_t huge = size_t{1} << 62;  // 4 EiB: beyond any address space
  auto b = AnonymousBuffer::Allocate(huge);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(b.status().message(), ::testing::HasSubstr("4611686018427387904 bytes"));
  EXPECT_THAT(b.status().message(), ::testing::HasSubstr("4.0 EiB"));
  EXPECT_THAT(b.status().message(), ::testing::HasSubstr("the machine has"));
  EXPECT_THAT(b.status().message(), ::testing::HasSubstr("MemTotal"));
}

TEST(AnonymousBufferTest, FormatsSizes) {
  EXPECT_EQ(HumanBytes(17), "17 bytes");
  EXPECT_EQ(HumanBytes(3 * 1024), "3.0 KiB");
  EXPECT_EQ(HumanBytes(1536ull << 20), "1.5 GiB");
  EXPECT_GT(MachineMemoryBytes(), 0u);
}

}  // namespace
}  // namespace st
