// Fault injection into the expert reader: a refused submission, a short read, an error completion
// and a stalled disk, for both engines (io_uring and the pread pool). Each must surface as a clean
// Status naming the engine, file and offset (through the expert cache and the decoder, naming the
// expert), never hang or crash, and leave the engine working for the next read.
#include <fcntl.h>
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "gen/model_generator.h"
#include "offload/io_engine.h"
#include "offload/offloaded_experts.h"
#include "runtime/decoder.h"
#include "test_util.h"

namespace st {
namespace {

using ::testing::HasSubstr;
using Kind = IoFault::Kind;
using std::chrono::milliseconds;

constexpr uint64_t kReadBytes = 4 * kDirectIoAlignment;
const char* const kEngines[] = {"uring", "threads"};

// A fault for exactly the n-th request.
IoFaultHook FaultOn(uint64_t n, IoFault f) {
  return [n, f](uint64_t i) { return i == n ? f : IoFault{}; };
}

// Collects callbacks and waits for them with a deadline, so a lost completion fails, not hangs.
class Completions {
 public:
  IoCallback Callback() {
    return [this](uint64_t tag, Status s) {
      std::lock_guard<std::mutex> lock(mu_);
      done_.emplace(tag, std::move(s));
      cv_.notify_all();
    };
  }
  // The status of `tag`, or an Internal error if it did not come within 10 s.
  Status Wait(uint64_t tag) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::seconds(10), [&] { return done_.count(tag) != 0; })) {
      return Internal(fmt::format("no completion for tag {}", tag));
    }
    return done_.at(tag);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, Status> done_;
};

// A file of known bytes, and page-aligned buffers to read it into.
class IoEngineFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = testing::ScratchDir(std::string("io_faults_") + ::testing::UnitTest::GetInstance()->current_test_info()->name()) +
            "/data.bin";
    std::ofstream f(path_, std::ios::binary);
    for (uint64_t i = 0; i < kFileBytes; ++i) f.put(static_cast<char>(i * 7 + i / 4096));
    f.close();
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd_, 0);
    void* p = mmap(nullptr, kBufBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(p, MAP_FAILED);
    buf_ = static_cast<uint8_t*>(p);
  }
  void TearDown() override {
    munmap(buf_, kBufBytes);
    ::close(fd_);
  }

  ReadRequest Request(uint64_t i) const {
    return {fd_, (i % 16) * kReadBytes, kReadBytes, 0, buf_ + i * kReadBytes, i};
  }
  bool Matches(uint64_t i) const {
    const ReadRequest r = Request(i);
    for (uint64_t b = 0; b < r.size; ++b) {
      const uint64_t at = r.offset + b;
      if (r.dst[b] != static_cast<uint8_t>(at * 7 + at / 4096)) return false;
    }
    return true;
  }
  Result<std::unique_ptr<IoEngine>> Make(const char* kind, Completions& done, IoFaultHook hook, unsigned depth = 64) {
    IoEngineOptions o;
    o.kind = kind;
    o.queue_depth = depth;
    o.file_name = path_;
    o.fault = std::move(hook);
    return MakeIoEngine(o, done.Callback());
  }

  static constexpr uint64_t kFileBytes = 16 * kReadBytes;
  static constexpr uint64_t kBufBytes = 128 * kReadBytes;
  std::string path_;
  int fd_ = -1;
  uint8_t* buf_ = nullptr;
};

TEST_F(IoEngineFaultTest, RefusedSubmissionIsAnErrorAndTheEngineGoesOn) {
  for (const char* kind : kEngines) {
    Completions done;
    auto e = Make(kind, done, FaultOn(1, {Kind::kSubmitError, ENOMEM, {}}));
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    const Status s = (*e)->Submit(Request(0));
    ASSERT_FALSE(s.ok()) << kind;
    EXPECT_EQ(s.code(), StatusCode::kIoError);
    EXPECT_THAT(s.message(), HasSubstr(fmt::format("{} could not submit the read of 16384 bytes at offset 0", (*e)->name())));
    EXPECT_THAT(s.message(), HasSubstr("Cannot allocate memory"));
    EXPECT_THAT(s.message(), HasSubstr(path_));
    ASSERT_TRUE((*e)->Submit(Request(1)).ok()) << kind;
    EXPECT_TRUE(done.Wait(1).ok()) << kind;
    EXPECT_TRUE(Matches(1)) << kind;
  }
}

TEST_F(IoEngineFaultTest, ShortReadIsAnErrorNamingTheBytesThatArrived) {
  for (const char* kind : kEngines) {
    Completions done;
    auto e = Make(kind, done, FaultOn(1, {Kind::kShortRead, 0, {}}));
    ASSERT_TRUE(e.ok());
    ASSERT_TRUE((*e)->Submit(Request(2)).ok());
    const Status s = done.Wait(2);
    EXPECT_EQ(s.code(), StatusCode::kIoError) << kind << ": " << s.ToString();
    EXPECT_THAT(s.message(), HasSubstr(fmt::format("short read at offset 32768 ({}): got 8192 of 16384 bytes", (*e)->name())));
    ASSERT_TRUE((*e)->Submit(Request(3)).ok());
    EXPECT_TRUE(done.Wait(3).ok()) << kind;
    EXPECT_TRUE(Matches(3));
  }
}

TEST_F(IoEngineFaultTest, CompletionErrorCarriesErrnoText) {
  for (const char* kind : kEngines) {
    Completions done;
    auto e = Make(kind, done, FaultOn(1, {Kind::kCompletionError, ENOSPC, {}}));
    ASSERT_TRUE(e.ok());
    ASSERT_TRUE((*e)->Submit(Request(4)).ok());
    const Status s = done.Wait(4);
    EXPECT_THAT(s.message(), HasSubstr(fmt::format("{} read of 16384 bytes at offset 65536 failed: No space left on device",
                                                   (*e)->name())))
        << kind;
    ASSERT_TRUE((*e)->Submit(Request(5)).ok());
    EXPECT_TRUE(done.Wait(5).ok()) << kind;
  }
}

TEST_F(IoEngineFaultTest, StalledReadArrivesLateAndOthersDoNotWaitForIt) {
  for (const char* kind : kEngines) {
    Completions local;
    IoEngineOptions o;
    o.kind = kind;
    o.file_name = path_;
    o.fault = FaultOn(1, {Kind::kStall, 0, milliseconds(600)});
    auto e = MakeIoEngine(o, local.Callback());
    ASSERT_TRUE(e.ok());
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE((*e)->Submit(Request(6)).ok());
    ASSERT_TRUE((*e)->Submit(Request(7)).ok());
    EXPECT_TRUE(local.Wait(7).ok());
    EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(450)) << kind << ": a stall blocked another read";
    EXPECT_TRUE(local.Wait(6).ok());
    EXPECT_GE(std::chrono::steady_clock::now() - t0, milliseconds(600)) << kind;
    EXPECT_TRUE(Matches(6));
  }
}

// 100 reads at once through a ring of 4 entries: the rest wait in memory, none is lost or torn,
// and faults on queued requests (a refused submission, an error) still reach their callbacks.
TEST_F(IoEngineFaultTest, ManyReadsThroughASmallRingAllComplete) {
  auto hook = [](uint64_t n) {
    if (n == 50) return IoFault{Kind::kSubmitError, EAGAIN, {}};
    if (n == 70) return IoFault{Kind::kCompletionError, EIO, {}};
    if (n == 2) return IoFault{Kind::kStall, 0, milliseconds(50)};
    return IoFault{};
  };
  Completions done;
  auto e = Make("uring", done, hook, /*depth=*/4);
  ASSERT_TRUE(e.ok());
  for (uint64_t i = 0; i < 100; ++i) {
    ASSERT_TRUE((*e)->Submit(Request(i + 10)).ok()) << i;  // 49 is queued behind the stall: refused later
  }
  for (uint64_t i = 0; i < 100; ++i) {
    const Status s = done.Wait(i + 10);
    if (i == 49) {
      EXPECT_THAT(s.message(), HasSubstr("could not submit")) << s.ToString();
    } else if (i == 69) {
      EXPECT_THAT(s.message(), HasSubstr("Input/output error")) << s.ToString();
    } else {
      ASSERT_TRUE(s.ok()) << i << ": " << s.ToString();
      EXPECT_TRUE(Matches(i + 10)) << i;
    }
  }
}

// The ring itself fails (every wait for completions returns EBADF from the first request on):
// queued requests fail with the ring's error, new ones are refused, the reaper backs off instead of
// spinning, and the engine still shuts down. Reads already in the kernel get no callback (they may
// still write their buffers); the expert cache's Acquire deadline turns those into errors.
TEST_F(IoEngineFaultTest, BrokenRingFailsQueuedReadsRefusesNewOnesAndDoesNotSpin) {
  Completions done;
  auto e = Make("uring", done, FaultOn(1, {Kind::kBrokenRing, EBADF, {}}), /*depth=*/4);  // 3 in the ring
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  const char* const kRingError = "io_uring: waiting for completions failed: Bad file descriptor";
  int accepted = 0;
  for (uint64_t i = 0; i < 8; ++i) {
    const Status s = (*e)->Submit(Request(i));
    if (!s.ok()) {  // the reaper has already seen the failure
      EXPECT_THAT(s.message(), HasSubstr(kRingError)) << i;
      continue;
    }
    // Accepted: in the ring (no callback: its read never completes), or queued behind the ring's
    // three entries and then failed by the reaper.
    if (accepted++ >= 3) {
      const Status c = done.Wait(i);
      EXPECT_THAT(c.message(), HasSubstr(kRingError)) << i << ": " << c.ToString();
    }
  }
  EXPECT_GE(accepted, 1);  // request 0 carries the fault: the ring was fine when it came
  // Broken for good: refused from now on.
  std::this_thread::sleep_for(milliseconds(20));
  const Status late = (*e)->Submit(Request(9));
  EXPECT_EQ(late.code(), StatusCode::kIoError);
  EXPECT_THAT(late.message(), HasSubstr(kRingError));
  // The reaper sleeps between failed waits (backing off to 100 ms): half a second costs it little CPU.
  auto cpu_ms = [] {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec * 1000.0 + t.tv_nsec / 1e6;
  };
  const double c0 = cpu_ms();
  std::this_thread::sleep_for(milliseconds(500));
  EXPECT_LT(cpu_ms() - c0, 100.0) << "the reaper spins on the broken ring";
  const auto t0 = std::chrono::steady_clock::now();
  e->reset();  // shutdown returns although three reads never completed
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
}

// ---- through the expert cache and the decoder ----
class ExpertFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dir =
        testing::ScratchDir(std::string("expert_faults_") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    GeneratorSpec s = *PresetSpec("tiny");
    s.weight_type = GgmlType::kQ4_0;
    path_ = dir + "/tiny.gguf";
    ASSERT_TRUE(GenerateModel(s, path_, 2).ok());
    auto m = Model::Load(path_);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    model_ = std::move(*m);
  }

  OffloadOptions Options(const char* engine, IoFaultHook hook) const {
    OffloadOptions o;
    o.cache_bytes = 8 * OffloadedExperts::SlotBytes(ExpertLayout::FromGguf(*model_));
    o.io.kind = engine;
    o.io.fault = std::move(hook);
    o.acquire_timeout = milliseconds(200);
    return o;
  }

  // Loads expert (il, e) and checks its bytes against the mapped model.
  void ExpectLoads(OffloadedExperts& x, uint32_t il, int32_t e) {
    x.Prefetch(il, {e});
    auto w = x.Acquire(il, e);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    InMemoryExperts mapped(*model_);
    const ExpertWeights want = *mapped.Acquire(il, e);
    EXPECT_EQ(std::memcmp(w->gate.data, want.gate.data, want.gate.bytes()), 0);
    EXPECT_EQ(std::memcmp(w->up.data, want.up.data, want.up.bytes()), 0);
    EXPECT_EQ(std::memcmp(w->down.data, want.down.data, want.down.bytes()), 0);
    x.Release(il, e);
  }

  std::string path_;
  std::unique_ptr<Model> model_;
};

// Each fault on the first read of expert 3 of layer 1: Acquire returns the error with the expert
// named, and after Release the same expert loads correctly.
TEST_F(ExpertFaultTest, EveryFaultIsACleanErrorAndTheExpertLoadsAfterwards) {
  struct Case {
    IoFault fault;
    const char* text;
  };
  const Case cases[] = {
      {{Kind::kSubmitError, EBUSY, {}}, "could not submit the read"},
      {{Kind::kShortRead, 0, {}}, "short read at offset"},
      {{Kind::kCompletionError, EIO, {}}, "failed: Input/output error"},
      {{Kind::kStall, 0, milliseconds(600)}, "did not complete within 0.2 s"},
  };
  for (const char* engine : kEngines) {
    for (const Case& c : cases) {
      auto x = OffloadedExperts::Create(*model_, Options(engine, FaultOn(1, c.fault)));
      ASSERT_TRUE(x.ok()) << x.status().ToString();
      (*x)->Prefetch(1, {3});
      const auto t0 = std::chrono::steady_clock::now();
      auto w = (*x)->Acquire(1, 3);
      ASSERT_FALSE(w.ok()) << engine << " " << c.text;
      EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
      EXPECT_EQ(w.status().code(), StatusCode::kIoError);
      EXPECT_THAT(w.status().message(), HasSubstr(c.text)) << engine;
      EXPECT_THAT(w.status().message(), HasSubstr("expert 3 of layer 1")) << engine;
      EXPECT_THAT(w.status().message(), HasSubstr(path_)) << engine;
      EXPECT_THAT(w.status().message(), HasSubstr(engine == std::string("uring") ? "io_uring" : "threads"));
      (*x)->Release(1, 3);
      if (c.fault.kind == Kind::kStall) std::this_thread::sleep_for(milliseconds(600));  // the late read lands
      ExpectLoads(**x, 1, 3);
      ExpectLoads(**x, 0, 5);
    }
  }
}

// The same faults during a decode: Forward returns the error (no hang, no crash) and the decoder is
// destroyed cleanly with reads possibly in flight.
TEST_F(ExpertFaultTest, FaultsStopDecodingCleanly) {
  const IoFault faults[] = {{Kind::kSubmitError, EAGAIN, {}},
                            {Kind::kShortRead, 0, {}},
                            {Kind::kCompletionError, EIO, {}},
                            {Kind::kStall, 0, milliseconds(500)}};
  for (const char* engine : kEngines) {
    for (const IoFault& f : faults) {
      DecoderOptions o;
      o.n_ctx = 64;
      o.expert_cache_experts = 5;
      o.offload = Options(engine, FaultOn(30, f));
      auto d = Decoder::Create(*model_, o);
      ASSERT_TRUE(d.ok()) << d.status().ToString();
      Status last;
      for (uint32_t pos = 0; pos < 40 && last.ok(); ++pos) {
        auto r = (*d)->Forward(static_cast<int32_t>((pos * 37 + 11) % 500), pos);
        last = r.ok() ? Status::Ok() : r.status();
      }
      ASSERT_FALSE(last.ok()) << engine << " fault " << static_cast<int>(f.kind);
      EXPECT_EQ(last.code(), StatusCode::kIoError);
      EXPECT_THAT(last.message(), HasSubstr("loading expert"));
      EXPECT_THAT(last.message(), HasSubstr("tiny.gguf"));
    }
  }
}

}  // namespace
}  // namespace st
