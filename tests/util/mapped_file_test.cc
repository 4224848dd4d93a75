// MappedFile: mapping errors name the path; a file truncated under a live mapping stops the
// process with one clear line and exit code 4 instead of a crash.
#include "util/mapped_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "test_util.h"

namespace st {
namespace {

TEST(MappedFileTest, MapsAndNamesErrors) {
  const std::string dir = testing::ScratchDir("mapped_file");
  const std::string path = dir + "/data.bin";
  std::ofstream(path) << "hello";
  auto m = MappedFile::Open(path);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->size(), 5u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(m->data()), 5), "hello");
  EXPECT_THAT(MappedFile::Open(dir + "/nope").status().message(), ::testing::HasSubstr("no such file"));
}

TEST(MappedFileDeathTest, TruncatedWhileMappedIsAClearError) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const std::string dir = testing::ScratchDir("mapped_file_truncate");
  const std::string path = dir + "/model.gguf";
  {
    std::ofstream out(path, std::ios::binary);
    std::string block(1 << 20, 'x');
    out << block;
  }
  EXPECT_EXIT(
      {
        auto m = MappedFile::Open(path);
        if (!m.ok()) std::exit(99);
        std::filesystem::resize_file(path, 4096);  // another process shrinks the model file
        volatile uint8_t b = m->data()[512 * 1024];  // a page past the new end
        (void)b;
        std::exit(0);
      },
      ::testing::ExitedWithCode(4), "model.gguf' was truncated or replaced while in use \\(read past its end at offset 524288\\)");
}

}  // namespace
}  // namespace st
