// SPDX-License-Identifier: Apache-2.0
// trace_test.cpp — SMARM_TRACE and the Chrome trace-event file (include/smarm/trace.hpp).
//
// Which tests run depends on the build: without SMARM_TRACING (release, asan, tsan,
// clang-lto presets) the macro must not evaluate its arguments and the file tests skip;
// with it (the dev preset) the file tests run a runtime with SMARM_TRACE_FILE set, read
// the file back with a strict JSON parser and check its structure. The parser's own
// tests run everywhere, so that the structural checks are known to be able to fail.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <smarm/smarm.hpp>
#include <smarm/trace.hpp>

#include "support/json.hpp"
#include "support/runtime_fixture.hpp"

namespace {

namespace json = smarm::test::json;
using namespace std::chrono_literals;
using smarm::test::is_ok;
using smarm::test::run_on;

int g_calls = 0;
[[maybe_unused]] int count_call() { return ++g_calls; }

// ---------------------------------------------------------------------------------------
// The macro.

TEST(TraceMacro, OffDoesNotEvaluateItsArguments) {
#if defined(SMARM_TRACING)
  GTEST_SKIP() << "built with SMARM_TRACING: SMARM_TRACE records (see OnEvaluatesOnce)";
#else
  static_assert(!smarm::trace::enabled);
  g_calls = 0;
  SMARM_TRACE("value", count_call());
  SMARM_TRACE(count_call());  // any expression: not even type-checked
  for (int i = 0; i < 3; ++i) SMARM_TRACE("in a loop", count_call());
  EXPECT_EQ(g_calls, 0);
#endif
}

TEST(TraceMacro, OnEvaluatesItsArgumentsOnce) {
#if !defined(SMARM_TRACING)
  GTEST_SKIP() << "built without SMARM_TRACING";
#else
  static_assert(smarm::trace::enabled);
  g_calls = 0;
  SMARM_TRACE("outside any runtime: dropped", count_call());
  auto r = run_on(1, [] {
    SMARM_TRACE("inside", count_call());
    SMARM_TRACE("no value");
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(g_calls, 2);
#endif
}

// ---------------------------------------------------------------------------------------
// The strict JSON parser the file tests rely on.

TEST(StrictJson, AcceptsValidDocuments) {
  auto r = json::parse(
      " {\"a\": [1, -0.5, 2e3, true, false, null], \"s\": \"x\\u00e9\\ud83d\\ude00\\n\\\"\", "
      "\"o\": {}} ");
  ASSERT_TRUE(r.ok()) << r.error;
  ASSERT_TRUE(r.value.is_object());
  const json::Value* a = r.value.find("a");
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->items.size(), 6u);
  EXPECT_EQ(a->items[1].number, -0.5);
  EXPECT_EQ(a->items[2].number, 2000.0);
  EXPECT_EQ(r.value.find("s")->text, "x\xC3\xA9\xF0\x9F\x98\x80\n\"");
}

TEST(StrictJson, RejectsWhatRfc8259Rejects) {
  const char* bad[] = {
      "",
      "{",
      "[1,]",
      "{\"a\":1,}",
      "[01]",
      "[1.]",
      "[+1]",
      "[.5]",
      "[NaN]",
      "[\"tab\tinside\"]",
      "[\"\\x\"]",
      "[\"\\ud800\"]",
      "[\"\\udc00\"]",
      "[\"\xff\"]",
      "[\"\xc0\xaf\"]",
      "{\"a\":1,\"a\":2}",
      "[1] [2]",
      "{'a':1}",
      "[tru]",
      "// comment\n[]",
  };
  for (const char* text : bad) EXPECT_FALSE(json::parse(text).ok()) << "accepted: " << text;
}

// ---------------------------------------------------------------------------------------
// The trace file.

#if defined(SMARM_TRACING)

// ScopedEnv sets an environment variable for one test and restores it after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old, had_ = true;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (had_)
      setenv(name_, old_.c_str(), 1);
    else
      unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

// A fresh directory per test; removed with whatever the test wrote.
class TraceFile : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("smarm-trace-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  std::filesystem::path dir_;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::string& str(const json::Value& v, const char* key) {
  static const std::string empty;
  const json::Value* m = v.find(key);
  return m && m->is_string() ? m->text : empty;
}

// Trace is what check_structure() found in a file, for the tests' own assertions.
struct Trace {
  json::Value doc;
  std::map<std::int64_t, std::string> thread_names;  // tid -> name
  std::vector<const json::Value*> slices;            // ph X
  std::vector<const json::Value*> instants;          // ph i
  std::size_t process_names = 0;

  std::vector<const json::Value*> instants_named(const std::string& name) const {
    std::vector<const json::Value*> out;
    for (auto* e : instants)
      if (str(*e, "name") == name) out.push_back(e);
    return out;
  }
  std::set<std::string> slice_names() const {
    std::set<std::string> out;
    for (auto* e : slices) out.insert(str(*e, "name"));
    return out;
  }
};

std::string arg(const json::Value& event, const char* key) {
  const json::Value* args = event.find("args");
  return args ? str(*args, key) : std::string();
}

// check_structure parses the file and checks what every trace must satisfy (EXPECTs),
// returning what it found.
Trace check_structure(const std::string& file, std::size_t workers) {
  Trace t;
  std::string text;
  try {
    text = read_file(file);
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what();
    return t;
  }
  auto r = json::parse(text);
  EXPECT_TRUE(r.ok()) << file << ": " << r.error;
  if (!r.ok()) return t;
  t.doc = std::move(r.value);
  EXPECT_TRUE(t.doc.is_object());
  EXPECT_EQ(str(t.doc, "displayTimeUnit"), "ns");
  const json::Value* events = t.doc.find("traceEvents");
  EXPECT_TRUE(events && events->is_array()) << "no traceEvents array";
  if (!events || !events->is_array()) return t;

  std::map<std::int64_t, double> track_end;  // tid -> end of its last X event
  for (const json::Value& e : events->items) {
    EXPECT_TRUE(e.is_object());
    const std::string& ph = str(e, "ph");
    EXPECT_FALSE(str(e, "name").empty()) << "an event without a name";
    const json::Value* pid = e.find("pid");
    EXPECT_TRUE(pid && pid->is_number()) << "an event without a pid";
    if (ph == "M") {
      if (str(e, "name") == "process_name") {
        ++t.process_names;
      } else {
        EXPECT_EQ(str(e, "name"), "thread_name");
        const json::Value* tid = e.find("tid");
        EXPECT_TRUE(tid && tid->is_number());
        if (tid && tid->is_number()) {
          const auto id = static_cast<std::int64_t>(tid->number);
          EXPECT_EQ(t.thread_names.count(id), 0u) << "two names for tid " << id;
          t.thread_names[id] = arg(e, "name");
        }
      }
      continue;
    }
    const json::Value* tid = e.find("tid");
    const json::Value* ts = e.find("ts");
    EXPECT_TRUE(tid && tid->is_number()) << "no tid";
    EXPECT_TRUE(ts && ts->is_number()) << "no ts";
    if (!tid || !ts || !tid->is_number() || !ts->is_number()) continue;
    EXPECT_GE(ts->number, 0.0);
    const auto id = static_cast<std::int64_t>(tid->number);
    EXPECT_EQ(t.thread_names.count(id), 1u) << "an event on tid " << id << " has no named track";
    if (ph == "X") {
      const json::Value* dur = e.find("dur");
      EXPECT_TRUE(dur && dur->is_number()) << "an X event without dur";
      if (!dur || !dur->is_number()) continue;
      EXPECT_GE(dur->number, 0.0);
      // Runs on one worker follow each other: each starts where (or after) the last ended.
      auto it = track_end.find(id);
      if (it != track_end.end()) {
        EXPECT_GE(ts->number, it->second - 1e-6) << "tid " << id;
      }
      track_end[id] = ts->number + dur->number;
      EXPECT_FALSE(arg(e, "actor").empty());
      t.slices.push_back(&e);
    } else if (ph == "i") {
      EXPECT_EQ(str(e, "s"), "t");
      t.instants.push_back(&e);
    } else {
      ADD_FAILURE() << "unexpected phase '" << ph << "'";
    }
  }
  EXPECT_EQ(t.process_names, 1u);
  for (std::size_t w = 0; w < workers; ++w)
    EXPECT_EQ(t.thread_names[static_cast<std::int64_t>(w)], "worker " + std::to_string(w));
  return t;
}

TEST_F(TraceFile, RecordsRunsAndSchedulerEvents) {
  const std::string file = path("trace.json");
  ScopedEnv env("SMARM_TRACE_FILE", file);
  static constexpr int kSleepers = 5;
  static constexpr int kRounds = 100;
  auto r = run_on(2, [] {
    SMARM_TRACE("mark", 42);
    auto [ping_tx, ping_rx] = smarm::channel<int>();
    auto [pong_tx, pong_rx] = smarm::channel<int>();
    auto ponger = smarm::spawn(smarm::SpawnOptions{.stack_size = 0, .name = "ponger"},
                               [rx = std::move(ping_rx), tx = std::move(pong_tx)]() mutable {
                                 while (auto v = rx.recv()) (void)tx.send(*v + 1);
                               });
    auto pinger = smarm::spawn(smarm::SpawnOptions{.stack_size = 0, .name = "pinger"},
                               [tx = std::move(ping_tx), rx = std::move(pong_rx)]() mutable {
                                 int v = 0;
                                 for (int i = 0; i < kRounds; ++i) {
                                   (void)tx.send(v);
                                   v = rx.recv().value();
                                 }
                                 return v;
                               });
    std::vector<smarm::JoinHandle<void>> sleepers;
    for (int i = 0; i < kSleepers; ++i)
      sleepers.push_back(smarm::spawn([] { (void)smarm::sleep_for(1ms); }));
    auto panicker = smarm::spawn([] { throw std::runtime_error("on purpose"); });
    for (auto& h : sleepers) EXPECT_TRUE(is_ok(h.join()));
    EXPECT_EQ(pinger.join().value(), kRounds);
    EXPECT_TRUE(is_ok(ponger.join()));
    EXPECT_FALSE(panicker.join().has_value());
  });
  ASSERT_TRUE(is_ok(r));

  Trace t = check_structure(file, 2);
  const std::size_t actors = 1 + 2 + kSleepers + 1;  // root, ping-pong, sleepers, panicker
  const auto spawns = t.instants_named("spawn");
  const auto exits = t.instants_named("exit");
  EXPECT_EQ(spawns.size(), actors);
  EXPECT_EQ(exits.size(), actors);
  std::set<std::string> spawned, exited;
  for (auto* e : spawns) spawned.insert(arg(*e, "actor"));
  for (auto* e : exits) exited.insert(arg(*e, "actor"));
  EXPECT_EQ(spawned.size(), actors);
  EXPECT_EQ(spawned, exited);
  std::size_t panicked = 0;
  for (auto* e : exits) panicked += arg(*e, "status") == "panicked";
  EXPECT_EQ(panicked, 1u);

  // Each ping-pong round parks one side at least once; the sleepers park on timers.
  EXPECT_GE(t.instants_named("park").size(), static_cast<std::size_t>(kSleepers));
  EXPECT_GE(t.instants_named("unpark").size(), static_cast<std::size_t>(kSleepers));
  std::size_t sleep_parks = 0;
  for (auto* e : t.instants_named("park")) sleep_parks += arg(*e, "wait") == "sleep";
  EXPECT_GE(sleep_parks, static_cast<std::size_t>(kSleepers));

  const auto marks = t.instants_named("mark");
  ASSERT_EQ(marks.size(), 1u);
  EXPECT_EQ(str(*marks[0], "cat"), "user");
  const json::Value* value = marks[0]->find("args")->find("value");
  ASSERT_NE(value, nullptr);
  EXPECT_EQ(value->number, 42.0);

  // One slice per run: named actors appear by name, the others by pid.
  const auto names = t.slice_names();
  EXPECT_EQ(names.count("root"), 1u);
  EXPECT_EQ(names.count("pinger"), 1u);
  EXPECT_EQ(names.count("ponger"), 1u);
  EXPECT_GE(t.slices.size(), actors);
}

TEST_F(TraceFile, EachRuntimeWritesItsOwnFile) {
  const std::string file = path("multi.json");
  ScopedEnv env("SMARM_TRACE_FILE", file);
  for (int i = 0; i < 3; ++i) {
    auto r = run_on(1, [] { smarm::spawn([] {}).join().value(); });
    ASSERT_TRUE(is_ok(r));
  }
  std::set<std::string> runtimes;
  for (const std::string& f : {file, file + ".1", file + ".2"}) {
    ASSERT_TRUE(std::filesystem::exists(f)) << f;
    Trace t = check_structure(f, 1);
    EXPECT_EQ(t.instants_named("spawn").size(), 2u) << f;
    const json::Value* other = t.doc.find("otherData");
    ASSERT_NE(other, nullptr);
    runtimes.insert(str(*other, "smarm_runtime"));
  }
  EXPECT_FALSE(std::filesystem::exists(file + ".3"));
  EXPECT_EQ(runtimes.size(), 3u) << "three runtimes, three different numbers";
}

TEST_F(TraceFile, FullRingKeepsTheNewestEvents) {
  const std::string file = path("small.json");
  ScopedEnv env("SMARM_TRACE_FILE", file);
  ScopedEnv events("SMARM_TRACE_EVENTS", "64");
  auto r = run_on(1, [] {
    auto h = smarm::spawn([] {
      for (int i = 0; i < 500; ++i) (void)smarm::yield_now();
    });
    for (int i = 0; i < 500; ++i) (void)smarm::yield_now();
    h.join().value();
  });
  ASSERT_TRUE(is_ok(r));
  Trace t = check_structure(file, 1);
  EXPECT_LE(t.slices.size() + t.instants.size(), 64u);
  EXPECT_GT(t.slices.size(), 0u);
  const json::Value* other = t.doc.find("otherData");
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(str(*other, "events_per_worker"), "64");
  EXPECT_NE(str(*other, "events_lost"), "0");
  // The oldest events went: the root's spawn, but not its exit, the very last one.
  EXPECT_EQ(t.instants_named("spawn").size(), 0u);
  EXPECT_EQ(t.instants_named("exit").size(), 2u);
}

TEST_F(TraceFile, SteadyClockFallbackWritesTheSameStructure) {
  const std::string file = path("steady.json");
  ScopedEnv env("SMARM_TRACE_FILE", file);
  ScopedEnv clock("SMARM_TRACE_CLOCK", "steady");
  auto r = run_on(2, [] {
    std::vector<smarm::JoinHandle<void>> hs;
    for (int i = 0; i < 4; ++i) hs.push_back(smarm::spawn([] { (void)smarm::sleep_for(1ms); }));
    for (auto& h : hs) h.join().value();
  });
  ASSERT_TRUE(is_ok(r));
  Trace t = check_structure(file, 2);
  EXPECT_EQ(str(*t.doc.find("otherData"), "clock"), "steady_clock");
  EXPECT_EQ(t.instants_named("spawn").size(), 5u);
  EXPECT_EQ(t.instants_named("exit").size(), 5u);
}

TEST_F(TraceFile, WakeUpsFromOtherThreadsGetTheirOwnTrack) {
  const std::string file = path("external.json");
  ScopedEnv env("SMARM_TRACE_FILE", file);
  auto r = run_on(1, [] {
    auto [tx, rx] = smarm::channel<int>();
    auto receiver = smarm::spawn([rx = std::move(rx)]() mutable { return rx.recv().value(); });
    // The receiver is parked once the root is the only actor left running.
    while (smarm::stats().actors_parked == 0) (void)smarm::yield_now();
    std::atomic<bool> sent{false};
    std::thread plain([&, tx = std::move(tx)]() mutable {
      (void)tx.send(7);
      sent.store(true);
    });
    while (!sent.load()) (void)smarm::yield_now();
    plain.join();
    EXPECT_EQ(receiver.join().value(), 7);
  });
  ASSERT_TRUE(is_ok(r));
  Trace t = check_structure(file, 1);
  EXPECT_EQ(t.thread_names[1], "other threads");
  std::size_t external_unparks = 0;
  for (auto* e : t.instants_named("unpark"))
    if (e->find("tid")->number == 1.0 && arg(*e, "was") == "parked") ++external_unparks;
  EXPECT_EQ(external_unparks, 1u);
}

TEST_F(TraceFile, StallsGoToTheOtherThreadsTrackNamingTheWorker) {
  const std::string file = path("stall.json");
  ScopedEnv env("SMARM_TRACE_FILE", file);
  testing::internal::CaptureStderr();  // the detector's report; not checked here
  auto r = smarm::test::run_checked(smarm::Config::exact(1).stall_threshold(20), [] {
    auto spinner = smarm::spawn([] {
      const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(150);
      while (std::chrono::steady_clock::now() < end) asm volatile("" ::: "memory");
    });
    EXPECT_TRUE(is_ok(spinner.join()));
  });
  (void)testing::internal::GetCapturedStderr();
  ASSERT_TRUE(is_ok(r));
  Trace t = check_structure(file, 1);
  EXPECT_EQ(t.thread_names[1], "other threads");
  auto stalls = t.instants_named("stall");
  ASSERT_EQ(stalls.size(), 1u);
  EXPECT_EQ(stalls[0]->find("tid")->number, 1.0);
  EXPECT_FALSE(arg(*stalls[0], "actor").empty());
  const json::Value* worker = stalls[0]->find("args")->find("worker");
  ASSERT_TRUE(worker && worker->is_number());
  EXPECT_EQ(worker->number, 0.0);
}

TEST_F(TraceFile, OddActorNamesStayValidJson) {
  const std::string file = path("names.json");
  ScopedEnv env("SMARM_TRACE_FILE", file);
  const std::string odd = "quote\" back\\ tab\t ctl\x01 bad\xff ok\xc3\xa9";
  auto r = run_on(1, [&] {
    smarm::spawn(smarm::SpawnOptions{.stack_size = 0, .name = odd}, [] {}).join().value();
  });
  ASSERT_TRUE(is_ok(r));
  Trace t = check_structure(file, 1);
  // Invalid UTF-8 becomes U+FFFD; everything else survives the round trip.
  EXPECT_EQ(t.slice_names().count("quote\" back\\ tab\t ctl\x01 bad\xef\xbf\xbd ok\xc3\xa9"), 1u);
}

TEST_F(TraceFile, UnwritablePathIsReportedAndRunSucceeds) {
  ScopedEnv env("SMARM_TRACE_FILE", path("no-such-dir/trace.json"));
  ::testing::internal::CaptureStderr();
  auto r = run_on(1, [] { return 5; });
  const std::string err = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 5);
  EXPECT_NE(err.find("cannot write trace file"), std::string::npos) << err;
}

#else

TEST(TraceFile, SkippedWithoutTracing) {
  GTEST_SKIP() << "built without SMARM_TRACING (configure with -DSMARM_TRACING=ON, or the dev "
                  "preset): no trace file to check";
}

#endif

}  // namespace
