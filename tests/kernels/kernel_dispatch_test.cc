// Table selection: cpuid/OS detection, the ST_KERNELS override, and its errors.
#include <algorithm>
#include <cstdlib>

#include "kernel_test_util.h"
#include "kernels/cpu_features.h"

namespace st::testing {
namespace {

TEST(KernelDispatchTest, AvailableIsasStartWithScalar) {
  const std::vector<Isa> isas = AvailableIsas();
  ASSERT_FALSE(isas.empty());
  EXPECT_EQ(isas.front(), Isa::kScalar);
  for (Isa isa : isas) {
    EXPECT_TRUE(GetCpuFeatures().Supports(isa)) << IsaName(isa);
    EXPECT_TRUE(IsaCompiled(isa)) << IsaName(isa);
    ASSERT_NE(KernelTableFor(isa), nullptr) << IsaName(isa);
  }
#if defined(__aarch64__)
  EXPECT_NE(KernelTableFor(Isa::kNeon), nullptr);  // Advanced SIMD is part of the AArch64 baseline
#endif
#if defined(__x86_64__)
  // AVX-512 implies AVX2 here (the detection requires it).
  if (GetCpuFeatures().avx512) {
    EXPECT_TRUE(GetCpuFeatures().avx2);
  }
#endif
}

// CI states which tables its machine must exercise (tools/ci/neon_check.sh: neon,neon_dotprod), so
// a detection bug cannot silently skip a table.
TEST(KernelDispatchTest, ExpectedIsasAreAvailable) {
  const char* expected = std::getenv("ST_EXPECT_ISAS");
  if (expected == nullptr) GTEST_SKIP() << "ST_EXPECT_ISAS not set";
  std::string list = expected;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t end = std::min(list.find(',', start), list.size());
    const std::string name = list.substr(start, end - start);
    if (!name.empty()) {
      std::string error;
      EXPECT_NE(SelectKernelTable(name.c_str(), &error), nullptr) << name << ": " << error;
    }
    start = end + 1;
  }
}

TEST(KernelDispatchTest, DefaultIsTheBest) {
  std::string error;
  EXPECT_EQ(SelectKernelTable(nullptr, &error), KernelTableFor(AvailableIsas().back()));
  EXPECT_EQ(SelectKernelTable("", &error), KernelTableFor(AvailableIsas().back()));
}

TEST(KernelDispatchTest, ForcingEachAvailableIsaSelectsIt) {
  for (Isa isa : AvailableIsas()) {
    std::string error;
    const KernelTable* t = SelectKernelTable(IsaName(isa), &error);
    ASSERT_NE(t, nullptr) << IsaName(isa) << ": " << error;
    EXPECT_EQ(t->isa, isa);
  }
}

TEST(KernelDispatchTest, UnknownOrUnavailableIsAnError) {
  std::string error;
  EXPECT_EQ(SelectKernelTable("sse9", &error), nullptr);
  EXPECT_NE(error.find("not one of"), std::string::npos) << error;
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni, Isa::kNeon, Isa::kNeonDotprod}) {
    if (KernelTableFor(isa) != nullptr) continue;
    error.clear();
    EXPECT_EQ(SelectKernelTable(IsaName(isa), &error), nullptr);
    EXPECT_NE(error.find("does not support"), std::string::npos) << error;
  }
}

// Kernels() reads ST_KERNELS once; each death-test child is a fresh process ("threadsafe" style
// re-executes the binary), so the variable set inside the statement is what it sees.
TEST(KernelDispatchDeathTest, EnvironmentOverride) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  for (Isa isa : AvailableIsas()) {
    const std::string name = IsaName(isa);
    EXPECT_EXIT(
        {
          setenv("ST_KERNELS", name.c_str(), 1);
          std::fprintf(stderr, "selected=%s\n", IsaName(Kernels().isa));
          std::exit(0);
        },
        ::testing::ExitedWithCode(0), "selected=" + name + "\n");
  }
  EXPECT_EXIT(
      {
        setenv("ST_KERNELS", "bogus", 1);
        (void)Kernels();
      },
      ::testing::ExitedWithCode(2), "ST_KERNELS=bogus is not one of");
}

}  // namespace
}  // namespace st::testing
