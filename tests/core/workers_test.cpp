// SPDX-License-Identifier: Apache-2.0
// workers_test.cpp — how many workers Config{} takes (src/core/cpu_quota.hpp,
// config.hpp): the cgroup quota parser on fixture trees (v2, v1, hybrid, nested, bad
// files), the rounding rule, SMARM_WORKERS, dump_actors' "workers=N (from: ...)", and the
// worker threads' names.
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include <smarm/smarm.hpp>

#include "core/cpu_quota.hpp"
#include "support/runtime_fixture.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using smarm::Errc;
using smarm::detail::cgroup_cpu_limit;
using smarm::detail::workers_for;
using smarm::test::is_ok;

// Fixture is a fake root: /proc/self/{cgroup,mountinfo} and cgroup files under it.
class Fixture {
 public:
  Fixture()
      : root_(fs::temp_directory_path() /
              ("smarm-cgroup-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++))) {
    fs::create_directories(root_ / "proc/self");
  }
  ~Fixture() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  Fixture(const Fixture&) = delete;
  Fixture& operator=(const Fixture&) = delete;

  void write(const std::string& rel, const std::string& text) {
    const fs::path p = root_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  std::string root() const { return root_.string(); }

 private:
  static inline int counter_ = 0;
  fs::path root_;
};

constexpr const char* kV2Mount = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n";
constexpr const char* kV1CpuMount =
    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n";

TEST(CpuQuotaTest, V2QuotaOfTheProcessesCgroup) {
  Fixture f;
  f.write("proc/self/cgroup", "0::/kubepods/pod1/ctr\n");
  f.write("proc/self/mountinfo", kV2Mount);
  f.write("sys/fs/cgroup/kubepods/pod1/ctr/cpu.max", "150000 100000\n");
  f.write("sys/fs/cgroup/kubepods/pod1/cpu.max", "max 100000\n");
  f.write("sys/fs/cgroup/kubepods/cpu.max", "max 100000\n");
  f.write("sys/fs/cgroup/cpu.max", "max 100000\n");
  auto l = cgroup_cpu_limit(f.root());
  ASSERT_TRUE(l.has_value());
  EXPECT_DOUBLE_EQ(*l, 1.5);
}

TEST(CpuQuotaTest, V2ParentQuotaBindsAChildWithoutOne) {
  Fixture f;
  f.write("proc/self/cgroup", "0::/pod/ctr\n");
  f.write("proc/self/mountinfo", kV2Mount);
  f.write("sys/fs/cgroup/pod/ctr/cpu.max", "max 100000\n");
  f.write("sys/fs/cgroup/pod/cpu.max", "200000 100000\n");
  auto l = cgroup_cpu_limit(f.root());
  ASSERT_TRUE(l.has_value());
  EXPECT_DOUBLE_EQ(*l, 2.0);
}

TEST(CpuQuotaTest, V2NoQuotaIsNone) {
  Fixture f;
  f.write("proc/self/cgroup", "0::/user.slice\n");
  f.write("proc/self/mountinfo", kV2Mount);
  f.write("sys/fs/cgroup/user.slice/cpu.max", "max 100000\n");
  EXPECT_FALSE(cgroup_cpu_limit(f.root()).has_value());
}

TEST(CpuQuotaTest, V2MountedAtTheContainersOwnCgroup) {
  // In a cgroup namespace the mount's root is the container's cgroup and /proc says "/".
  Fixture f;
  f.write("proc/self/cgroup", "0::/\n");
  f.write("proc/self/mountinfo", kV2Mount);
  f.write("sys/fs/cgroup/cpu.max", "50000 100000\n");
  auto l = cgroup_cpu_limit(f.root());
  ASSERT_TRUE(l.has_value());
  EXPECT_DOUBLE_EQ(*l, 0.5);
}

TEST(CpuQuotaTest, V1Quota) {
  Fixture f;
  f.write("proc/self/cgroup", "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n");
  f.write(
      "proc/self/mountinfo",
      std::string(kV1CpuMount) + "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n");
  f.write("sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "300000\n");
  f.write("sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n");
  f.write("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
  f.write("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
  // The hybrid host's v2 hierarchy has no cpu controller (no cpu.max): v1 answers.
  auto l = cgroup_cpu_limit(f.root());
  ASSERT_TRUE(l.has_value());
  EXPECT_DOUBLE_EQ(*l, 3.0);
}

TEST(CpuQuotaTest, V1UnlimitedIsNone) {
  Fixture f;
  f.write("proc/self/cgroup", "1:cpu:/\n");
  f.write("proc/self/mountinfo", "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n");
  f.write("sys/fs/cgroup/cpu/cpu.cfs_quota_us", "-1\n");
  f.write("sys/fs/cgroup/cpu/cpu.cfs_period_us", "100000\n");
  EXPECT_FALSE(cgroup_cpu_limit(f.root()).has_value());
}

TEST(CpuQuotaTest, GarbageAndMissingFilesMeanNoLimit) {
  {
    Fixture f;  // nothing at all
    EXPECT_FALSE(cgroup_cpu_limit(f.root()).has_value());
  }
  {
    Fixture f;
    f.write("proc/self/cgroup", "0::/x\n");
    f.write("proc/self/mountinfo", kV2Mount);
    f.write("sys/fs/cgroup/x/cpu.max", "lots 0\n");
    EXPECT_FALSE(cgroup_cpu_limit(f.root()).has_value());
  }
  {
    Fixture f;
    f.write("proc/self/cgroup", "0::/x\n");
    f.write("proc/self/mountinfo", kV2Mount);
    f.write("sys/fs/cgroup/x/cpu.max", "100000 0\n");  // a zero period
    EXPECT_FALSE(cgroup_cpu_limit(f.root()).has_value());
  }
}

TEST(CpuQuotaTest, ThisMachineParsesWithoutError) {
  // Whatever this host has: the real files either give a positive limit or none.
  auto l = cgroup_cpu_limit();
  if (l) {
    EXPECT_GT(*l, 0.0);
  }
}

TEST(CpuQuotaTest, TheQuotaIsRoundedUpAndNeverTakesBelowTwo) {
  EXPECT_EQ(workers_for(64, std::nullopt), 64u);
  EXPECT_EQ(workers_for(64, 2.0), 2u);
  EXPECT_EQ(workers_for(64, 1.5), 2u);
  EXPECT_EQ(workers_for(64, 0.5), 2u);
  EXPECT_EQ(workers_for(64, 3.2), 4u);
  EXPECT_EQ(workers_for(1, 0.5), 1u);  // never above the mask
  EXPECT_EQ(workers_for(8, 100.0), 8u);
}

// EnvGuard sets SMARM_WORKERS for one test and restores it.
class EnvGuard {
 public:
  explicit EnvGuard(const char* value) {
    if (const char* old = std::getenv("SMARM_WORKERS")) old_ = old;
    if (value)
      ::setenv("SMARM_WORKERS", value, 1);
    else
      ::unsetenv("SMARM_WORKERS");
  }
  ~EnvGuard() {
    if (old_)
      ::setenv("SMARM_WORKERS", old_->c_str(), 1);
    else
      ::unsetenv("SMARM_WORKERS");
  }
  EnvGuard(const EnvGuard&) = delete;
  EnvGuard& operator=(const EnvGuard&) = delete;

 private:
  std::optional<std::string> old_;
};

TEST(WorkersTest, SmarmWorkersReplacesTheDefault) {
  EnvGuard env("3");
  smarm::Config c;
  EXPECT_EQ(c.workers(), 3u);
  EXPECT_EQ(c.workers_source(), smarm::WorkersSource::Environment);
  EXPECT_TRUE(is_ok(c.validate()));
  // workers(n) and exact(n) win.
  EXPECT_EQ(smarm::Config::exact(2).workers(), 2u);
  EXPECT_EQ(smarm::Config::exact(2).workers_source(), smarm::WorkersSource::Config);
  auto r = smarm::runtime::init(smarm::Config{}).run([] { return smarm::debug::dump_actors(); });
  ASSERT_TRUE(is_ok(r));
  EXPECT_NE(r->find("workers=3 (from: SMARM_WORKERS)"), std::string::npos) << *r;
}

TEST(WorkersTest, ABadSmarmWorkersIsInvalidConfigNamingIt) {
  for (const char* bad : {"abc", "0", "1025", "-2", "2x", " 2"}) {
    EnvGuard env(bad);
    smarm::Config c;
    auto v = c.validate();
    ASSERT_FALSE(v) << bad;
    EXPECT_EQ(v.error().code(), Errc::InvalidConfig);
    EXPECT_NE(v.error().message().find("SMARM_WORKERS"), std::string::npos) << v.error().message();
    auto r = smarm::runtime::init(c).run([] { return 1; });
    EXPECT_FALSE(r) << bad;
    // An explicit count does not care.
    EXPECT_TRUE(is_ok(smarm::Config::exact(1).validate())) << bad;
  }
  EnvGuard empty("");  // set but empty: ignored, as Go ignores an empty GOMAXPROCS
  EXPECT_TRUE(is_ok(smarm::Config{}.validate()));
}

TEST(WorkersTest, TheDefaultSaysWhereItCameFrom) {
  EnvGuard env(nullptr);
  smarm::Config c;
  EXPECT_TRUE(c.workers_source() == smarm::WorkersSource::Affinity ||
              c.workers_source() == smarm::WorkersSource::Cgroup);
  EXPECT_GE(c.workers(), 1u);
  auto r =
      smarm::runtime::init(smarm::Config::exact(2)).run([] { return smarm::debug::dump_actors(); });
  ASSERT_TRUE(is_ok(r));
  EXPECT_NE(r->find("workers=2 (from: Config)"), std::string::npos) << *r;
}

// thread_names reads every thread's name from /proc (tid -> comm).
std::map<long, std::string> thread_names() {
  std::map<long, std::string> out;
  for (const auto& entry : fs::directory_iterator("/proc/self/task")) {
    std::ifstream comm(entry.path() / "comm");
    std::string name;
    std::getline(comm, name);
    out[std::stol(entry.path().filename().string())] = name;
  }
  return out;
}

TEST(WorkersTest, WorkerThreadsAreNamed) {
  // Read from /proc while the runtime runs: the run() caller's thread is worker 0 (named
  // smarm-w0 for the run's length), the other worker is smarm-w1, and the hand-off
  // monitor has a name too. Afterwards the caller's thread has its own name back.
  char before[16] = {};
  ASSERT_EQ(::pthread_getname_np(::pthread_self(), before, sizeof before), 0);
  const long caller = ::syscall(SYS_gettid);
  std::map<long, std::string> during;
  std::set<std::string> names;
  auto r = smarm::test::run_on(2, [&] {
    // run() lets no actor run before every runtime thread has set itself up (named
    // itself included): one look suffices.
    during = thread_names();
    for (const auto& [tid, name] : during) names.insert(name);
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(during[caller], "smarm-w0");
  EXPECT_TRUE(names.count("smarm-w1"));
  EXPECT_TRUE(names.count("smarm-monitor"));
  char after[16] = {};
  ASSERT_EQ(::pthread_getname_np(::pthread_self(), after, sizeof after), 0);
  EXPECT_STREQ(after, before) << "run() gives its caller's thread its name back";
}

}  // namespace
