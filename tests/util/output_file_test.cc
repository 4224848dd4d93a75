// OutputFile: the target changes only on Commit, a discarded or failed write leaves it as it was
// and no temporary behind; SameFile sees through hard links and spellings.
#include "util/output_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "test_util.h"

namespace st {
namespace {

namespace fs = std::filesystem;

size_t CountFiles(const std::string& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

TEST(OutputFileTest, CommitReplacesTheTarget) {
  const std::string dir = testing::ScratchDir("output_file_commit");
  const std::string path = dir + "/out.json";
  std::ofstream(path) << "old";
  chmod(path.c_str(), 0640);
  auto f = OutputFile::Open(path, "--json");
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_TRUE(f->Write("new\n"));
  EXPECT_EQ(testing::ReadFileOrDie(path), "old");  // untouched while the run goes on
  ASSERT_TRUE(f->Commit().ok());
  EXPECT_EQ(testing::ReadFileOrDie(path), "new\n");
  EXPECT_EQ(CountFiles(dir), 1u);
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);  // the old file's mode is kept
}

TEST(OutputFileTest, DiscardKeepsTheOldTarget) {
  const std::string dir = testing::ScratchDir("output_file_discard");
  const std::string path = dir + "/results.jsonl";
  std::ofstream(path) << "earlier results";
  {
    auto f = OutputFile::Open(path, "--batch-output");
    ASSERT_TRUE(f.ok());
    f->Write("partial");
    EXPECT_EQ(CountFiles(dir), 2u);  // the temporary beside it
  }  // destroyed without Commit: a failed run
  EXPECT_EQ(testing::ReadFileOrDie(path), "earlier results");
  EXPECT_EQ(CountFiles(dir), 1u);
  const std::string fresh = dir + "/new.jsonl";
  { auto f = OutputFile::Open(fresh, "--batch-output"); }
  EXPECT_FALSE(fs::exists(fresh));  // nothing created before success
}

TEST(OutputFileTest, FollowsSymlinks) {
  const std::string dir = testing::ScratchDir("output_file_link");
  std::ofstream(dir + "/real.json") << "old";
  fs::create_symlink("real.json", dir + "/link.json");
  auto f = OutputFile::Open(dir + "/link.json", "--json");
  ASSERT_TRUE(f.ok());
  f->Write("new");
  ASSERT_TRUE(f->Commit().ok());
  EXPECT_TRUE(fs::is_symlink(dir + "/link.json"));
  EXPECT_EQ(testing::ReadFileOrDie(dir + "/real.json"), "new");
}

TEST(OutputFileTest, Errors) {
  const std::string dir = testing::ScratchDir("output_file_errors");
  EXPECT_THAT(OutputFile::Open(dir, "--json").status().message(), ::testing::HasSubstr("is a directory"));
  const auto missing = OutputFile::Open(dir + "/no/such/dir/x.json", "--json");
  EXPECT_EQ(missing.status().code(), StatusCode::kIoError);
  EXPECT_THAT(missing.status().message(), ::testing::HasSubstr("--json " + dir + "/no/such/dir/x.json: cannot write"));
  // A device is written directly; a full one fails at the latest on Commit.
  auto full = OutputFile::Open("/dev/full", "--json");
  ASSERT_TRUE(full.ok());
  EXPECT_FALSE(full->Write(std::string(1 << 16, 'x')));
  const Status s = full->Commit();
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_THAT(s.message(), ::testing::HasSubstr("No space left on device"));
}

TEST(SameFileTest, ComparesDeviceAndInode) {
  const std::string dir = testing::ScratchDir("same_file");
  std::ofstream(dir + "/a") << "x";
  std::ofstream(dir + "/b") << "x";
  fs::create_hard_link(dir + "/a", dir + "/hard");
  EXPECT_TRUE(SameFile(dir + "/a", dir + "/a"));
  EXPECT_TRUE(SameFile(dir + "/a", dir + "/../" + fs::path(dir).filename().string() + "/a"));
  EXPECT_TRUE(SameFile(dir + "/a", dir + "/hard"));
  EXPECT_FALSE(SameFile(dir + "/a", dir + "/b"));
  EXPECT_FALSE(SameFile(dir + "/a", dir + "/missing"));
  EXPECT_FALSE(SameFile("", dir + "/a"));
}

TEST(CheckOutputsAreNotInputsTest, RefusesAnInputAsOutput) {
  const std::string dir = testing::ScratchDir("outputs_not_inputs");
  std::ofstream(dir + "/model.gguf") << "x";
  std::ofstream(dir + "/prompts.jsonl") << "x";
  const std::vector<NamedPath> inputs = {{"-m", dir + "/model.gguf"}, {"--batch-file", dir + "/prompts.jsonl"}, {"-f", ""}};
  EXPECT_TRUE(CheckOutputsAreNotInputs({{"--json", dir + "/new.json"}, {"--batch-output", "-"}}, inputs).ok());
  const Status s = CheckOutputsAreNotInputs({{"--json", dir + "/./model.gguf"}}, inputs);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), ::testing::HasSubstr("--json " + dir + "/./model.gguf is the same file as -m"));
  EXPECT_THAT(CheckOutputsAreNotInputs({{"--batch-output", dir + "/prompts.jsonl"}}, inputs).message(),
              ::testing::HasSubstr("same file as --batch-file"));
  // Two outputs on one file, existing or not.
  EXPECT_THAT(CheckOutputsAreNotInputs({{"--json", dir + "/r.json"}, {"--batch-output", dir + "/r.json"}}, inputs).message(),
              ::testing::HasSubstr("are the same file"));
}

}  // namespace
}  // namespace st
