// Helpers shared by the tests: paths to the source tree, build tree, shared data and a scratch dir.
#pragma once

#include <string>

namespace st::testing {

std::string SourceDir();   // the repository root
std::string BinaryDir();   // the CMake build directory (programs live here)
std::string SharedDir();   // ../shared beside the repository (real data; read-only)
// A fresh empty directory under the build tree for this test (removed at the start, kept after).
std::string ScratchDir(const std::string& name);
// Reads a whole file; aborts the test binary if it cannot.
std::string ReadFileOrDie(const std::string& path);

}  // namespace st::testing
