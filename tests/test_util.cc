#include "test_util.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace st::testing {

std::string SourceDir() { return ST_SOURCE_DIR; }
std::string BinaryDir() { return ST_BINARY_DIR; }
std::string SharedDir() { return ST_SHARED_DIR; }

std::string ScratchDir(const std::string& name) {
  const std::filesystem::path p = std::filesystem::path(ST_BINARY_DIR) / "test_scratch" / name;
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    std::abort();
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace st::testing
