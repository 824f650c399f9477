// SPDX-License-Identifier: Apache-2.0
// trace.cpp — the tracer's out-of-line hooks, and the Chrome trace-event JSON writer.
//
// Everything here exists only with SMARM_TRACING (see core/trace.hpp, LOOM.md "Tracing").
#include "core/trace.hpp"

#if defined(SMARM_TRACING)

#include <cpuid.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <smarm/pid.hpp>

#include "core/timer_wheel.hpp"

namespace smarm::detail {

namespace {

constexpr std::size_t kDefaultCapacity = std::size_t{1} << 16;  // 2 MiB per worker
constexpr std::size_t kMinCapacity = 64;
constexpr std::size_t kMaxCapacity = std::size_t{1} << 24;  // 512 MiB per worker
constexpr std::size_t kExternalCapacity = std::size_t{1} << 12;

// ring_capacity is SMARM_TRACE_EVENTS rounded up to a power of two and clamped, or the
// default when it is unset or not a number.
std::size_t ring_capacity() {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): read as a runtime starts; smarm never writes env
  const char* env = std::getenv("SMARM_TRACE_EVENTS");
  if (!env || !*env) return kDefaultCapacity;
  std::size_t n = 0;
  const char* end = env + std::strlen(env);
  auto [p, ec] = std::from_chars(env, end, n);
  if (ec != std::errc{} || p != end) {
    std::fprintf(stderr, "smarm: SMARM_TRACE_EVENTS='%s' is not a number; using %zu\n", env,
                 kDefaultCapacity);
    return kDefaultCapacity;
  }
  n = std::clamp(n, kMinCapacity, kMaxCapacity);
  std::size_t c = kMinCapacity;
  while (c < n) c <<= 1;
  return c;
}

// use_tsc: the TSC is a usable clock only if it is invariant (constant rate in every
// P-state and C-state: CPUID 0x80000007, EDX bit 8). SMARM_TRACE_CLOCK=steady forces
// steady_clock (for machines whose cores' TSCs disagree, and for tests).
bool use_tsc() {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): read as a runtime starts; smarm never writes env
  if (const char* env = std::getenv("SMARM_TRACE_CLOCK"); env && std::strcmp(env, "steady") == 0)
    return false;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(0x80000000u, &eax, &ebx, &ecx, &edx) || eax < 0x80000007u) return false;
  __get_cpuid(0x80000007u, &eax, &ebx, &ecx, &edx);
  return (edx & (1u << 8)) != 0;
}

// calibrate reads the tracer's clock and steady_clock together: (clock, ns). For the TSC,
// the TSC reading is the midpoint of two around the steady_clock read.
std::pair<std::uint64_t, std::int64_t> calibrate(bool tsc) {
  if (!tsc) {
    const std::uint64_t c = trace_clock(false);
    return {c, static_cast<std::int64_t>(c)};
  }
  const std::uint64_t a = trace_clock(true);
  const std::int64_t ns = now_ns();
  const std::uint64_t b = trace_clock(true);
  return {a + (b - a) / 2, ns};
}

// claim_path gives the n-th runtime that writes to `base` in this process its file name:
// base, base.1, base.2, ... Counted per path, so that a program (or a test) that changes
// SMARM_TRACE_FILE starts again at the bare name. Never destroyed: a runtime may end
// during static destruction.
std::string claim_path(const std::string& base) {
  static auto* mu = new std::mutex;
  static auto* counts = new std::unordered_map<std::string, unsigned>;
  unsigned n = 0;
  {
    std::lock_guard lock(*mu);
    n = (*counts)[base]++;
  }
  return n == 0 ? base : base + "." + std::to_string(n);
}

std::uint64_t pack(std::uint32_t index, std::uint32_t generation) noexcept {
  return (std::uint64_t{index} << 32) | generation;
}

// ---------------------------------------------------------------------------------------
// JSON output.

// JsonFile writes JSON text to a FILE*. Numbers are formatted by hand (std::to_chars and
// integer arithmetic): printf's %f follows the C locale of the program, and a program
// that sets one with a decimal comma would get invalid JSON.
class JsonFile {
 public:
  explicit JsonFile(std::FILE* f) : f_(f) {}

  void raw(std::string_view s) { std::fwrite(s.data(), 1, s.size(), f_); }
  void ch(char c) { std::fputc(c, f_); }

  void uint(std::uint64_t v) {
    char buf[24];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
    (void)ec;
    raw(std::string_view(buf, static_cast<std::size_t>(p - buf)));
  }

  // micros writes a nanosecond count as microseconds with three decimals ("12.345").
  void micros(std::int64_t ns) {
    if (ns < 0) ns = 0;
    uint(static_cast<std::uint64_t>(ns) / 1000);
    const auto frac = static_cast<unsigned>(static_cast<std::uint64_t>(ns) % 1000);
    const char digits[5] = {'.', static_cast<char>('0' + frac / 100),
                            static_cast<char>('0' + frac / 10 % 10),
                            static_cast<char>('0' + frac % 10), 0};
    raw(std::string_view(digits, 4));
  }

  // str writes s as a JSON string. Bytes that do not form valid UTF-8 become U+FFFD, so
  // the file stays valid JSON whatever an actor was named.
  void str(std::string_view s) {
    ch('"');
    std::size_t i = 0;
    while (i < s.size()) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c == '"' || c == '\\') {
        ch('\\');
        ch(static_cast<char>(c));
        ++i;
      } else if (c < 0x20) {
        static constexpr char kHex[] = "0123456789abcdef";
        const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
        raw(std::string_view(esc, 6));
        ++i;
      } else if (c < 0x80) {
        ch(static_cast<char>(c));
        ++i;
      } else if (const std::size_t n = utf8_length(s, i)) {
        raw(s.substr(i, n));
        i += n;
      } else {
        raw("\\ufffd");
        ++i;
      }
    }
    ch('"');
  }

  // key writes `"k":` (k needs no escaping: our own literals).
  void key(std::string_view k) {
    ch('"');
    raw(k);
    raw("\":");
  }

 private:
  // utf8_length is the length of the valid UTF-8 sequence starting at s[i], or 0.
  static std::size_t utf8_length(std::string_view s, std::size_t i) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      n = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      n = 3;
      if (b0 == 0xE0) lo = 0xA0;  // no overlong forms
      if (b0 == 0xED) hi = 0x9F;  // no surrogates
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      n = 4;
      if (b0 == 0xF0) lo = 0x90;
      if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
    } else {
      return 0;
    }
    if (i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return 0;
    }
    return n;
  }

  std::FILE* f_;
};

// TraceWriter turns one runtime's rings into the JSON document.
class TraceWriter {
 public:
  TraceWriter(Scheduler& s, std::FILE* f) : s_(s), t_(s.trace), out_(f) {
    if (t_.tsc) {
      const auto [clock1, ns1] = calibrate(true);
      if (clock1 > t_.clock0 && ns1 > t_.ns0)
        ns_per_tick_ = static_cast<double>(ns1 - t_.ns0) / static_cast<double>(clock1 - t_.clock0);
    } else {
      ns_per_tick_ = 1.0;
    }
  }

  void write() {
    const std::uint32_t rid = s_.id();
    // Every worker has stopped and every actor has ended, so nothing records any more;
    // the lock is what guards `external` and `names`, and costs nothing here.
    std::lock_guard lock(t_.mu);
    std::vector<std::vector<TraceEvent>> rings;
    std::uint64_t lost = 0;
    for (auto& w : s_.workers) {
      rings.push_back(w->trace.snapshot());
      lost += w->trace.recorded() - rings.back().size();
    }
    rings.push_back(t_.external.snapshot());
    lost += t_.external.recorded() - rings.back().size();

    // displayTimeUnit first: Perfetto reads it only from the start of the file.
    out_.raw("{\"displayTimeUnit\":\"ns\",\"otherData\":{");
    out_.key("smarm_runtime");
    out_.str(std::to_string(rid));
    out_.raw(",");
    out_.key("clock");
    out_.str(t_.tsc ? "tsc" : "steady_clock");
    out_.raw(",");
    out_.key("events_per_worker");
    out_.str(std::to_string(t_.capacity));
    out_.raw(",");
    out_.key("events_lost");
    out_.str(std::to_string(lost));
    out_.raw("},\n\"traceEvents\":[\n");

    begin_event();
    out_.raw("\"name\":\"process_name\",\"ph\":\"M\",\"pid\":");
    out_.uint(rid);
    out_.raw(",\"args\":{\"name\":");
    out_.str("smarm runtime " + std::to_string(rid));
    out_.raw("}}");
    const std::size_t external_tid = s_.workers.size();
    for (std::size_t tid = 0; tid < rings.size(); ++tid) {
      if (tid == external_tid && rings[tid].empty()) continue;
      begin_event();
      out_.raw("\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":");
      out_.uint(rid);
      out_.raw(",\"tid\":");
      out_.uint(tid);
      out_.raw(",\"args\":{\"name\":");
      out_.str(tid == external_tid ? std::string("other threads")
                                   : "worker " + std::to_string(tid));
      out_.raw("}}");
    }
    for (std::size_t tid = 0; tid < rings.size(); ++tid) write_track(tid, rings[tid]);
    out_.raw("\n]}\n");
  }

 private:
  // Timestamps of one ring, in ns since the runtime started: untimed events take the time
  // of the next timed one (see TraceEvent), and the sequence is made non-decreasing (TSCs
  // of different cores may disagree by a little; a track must not go backwards).
  std::vector<std::int64_t> times(const std::vector<TraceEvent>& ev) const {
    std::vector<std::int64_t> t(ev.size(), -1);
    std::int64_t next = -1;
    for (std::size_t i = ev.size(); i-- > 0;) {
      if (ev[i].ts != 0) next = to_ns(ev[i].ts);
      t[i] = next;
    }
    std::int64_t prev = 0;
    for (auto& v : t) {
      if (v < prev) v = prev;  // also fills trailing untimed events (-1)
      prev = v;
    }
    return t;
  }

  std::int64_t to_ns(std::uint64_t raw) const {
    if (raw <= t_.clock0) return 0;
    return static_cast<std::int64_t>(static_cast<double>(raw - t_.clock0) * ns_per_tick_);
  }

  void write_track(std::size_t tid, const std::vector<TraceEvent>& ev) {
    const std::vector<std::int64_t> t = times(ev);
    std::uint64_t open = 0;  // the actor whose run is open, and since when
    std::int64_t open_since = 0;
    for (std::size_t i = 0; i < ev.size(); ++i) {
      const TraceEvent& e = ev[i];
      if (e.kind == trace::EventKind::Switch) {
        if (open != 0) slice(tid, open, open_since, t[i]);
        open = e.subject;
        open_since = t[i];
      } else {
        instant(tid, e, t[i]);
      }
    }
    if (open != 0 && !ev.empty()) slice(tid, open, open_since, t.back());
  }

  void begin_event() {
    if (!first_) out_.raw(",\n");
    first_ = false;
    out_.ch('{');
  }

  void common(const char* ph, std::size_t tid, std::int64_t ts) {
    out_.raw(",\"ph\":\"");
    out_.raw(ph);
    out_.raw("\",\"pid\":");
    out_.uint(s_.id());
    out_.raw(",\"tid\":");
    out_.uint(tid);
    out_.raw(",\"ts\":");
    out_.micros(ts);
  }

  std::string pid_text(std::uint64_t packed) const {
    return to_string(
        Pid{s_.id(), static_cast<std::uint32_t>(packed >> 32), static_cast<std::uint32_t>(packed)});
  }

  const std::string* name_of(std::uint64_t packed) const {
    auto it = t_.names.find(packed);
    return it == t_.names.end() ? nullptr : &it->second;
  }

  void slice(std::size_t tid, std::uint64_t actor, std::int64_t from, std::int64_t to) {
    begin_event();
    out_.key("name");
    const std::string* name = name_of(actor);
    const std::string pid = pid_text(actor);
    out_.str(name ? *name : pid);
    out_.raw(",\"cat\":\"actor\"");
    common("X", tid, from);
    out_.raw(",\"dur\":");
    out_.micros(to - from);
    out_.raw(",\"args\":{\"actor\":");
    out_.str(pid);
    out_.raw("}}");
  }

  void arg_actor(std::uint64_t packed) {
    out_.key("actor");
    out_.str(pid_text(packed));
  }

  void instant(std::size_t tid, const TraceEvent& e, std::int64_t ts) {
    begin_event();
    out_.key("name");
    if (e.kind == trace::EventKind::User) {
      // NOLINTNEXTLINE(performance-no-int-to-ptr): User events carry their name's address
      out_.str(reinterpret_cast<const char*>(static_cast<std::uintptr_t>(e.subject)));
      out_.raw(",\"cat\":\"user\"");
    } else {
      out_.str(trace::event_name(e.kind));
      out_.raw(",\"cat\":\"scheduler\"");
    }
    common("i", tid, ts);
    out_.raw(",\"s\":\"t\",\"args\":{");
    switch (e.kind) {
      case trace::EventKind::Spawn:
        arg_actor(e.subject);
        if (e.arg != 0) {
          out_.raw(",");
          out_.key("parent");
          out_.str(pid_text(e.arg));
        }
        if (const std::string* name = name_of(e.subject)) {
          out_.raw(",");
          out_.key("name");
          out_.str(*name);
        }
        break;
      case trace::EventKind::Exit:
        arg_actor(e.subject);
        out_.raw(",");
        out_.key("status");
        out_.str(e.aux ? "panicked" : "done");
        break;
      case trace::EventKind::Park:
        arg_actor(e.subject);
        out_.raw(",");
        out_.key("wait");
        out_.str(wait_kind_name(static_cast<WaitKind>(e.aux)));
        break;
      case trace::EventKind::Unpark:
        arg_actor(e.subject);
        out_.raw(",");
        out_.key("was");
        out_.str(e.arg ? "parked" : "running");
        break;
      case trace::EventKind::Steal:
        arg_actor(e.subject);
        out_.raw(",");
        out_.key("victim");
        out_.uint(e.arg);
        break;
      case trace::EventKind::Preempt:
        arg_actor(e.subject);
        out_.raw(",");
        out_.key("reason");
        out_.uint(e.arg);
        break;
      case trace::EventKind::Stall:
        arg_actor(e.subject);
        out_.raw(",");
        out_.key("held_ns");
        out_.uint(e.arg);
        out_.raw(",");
        out_.key("worker");
        out_.uint(e.aux);
        break;
      case trace::EventKind::IoWait:
        arg_actor(e.subject);
        out_.raw(",");
        out_.key("fd");
        out_.uint(e.arg);
        out_.raw(",");
        out_.key("events");
        out_.uint(e.aux);
        break;
      case trace::EventKind::User: {
        out_.key("value");
        const auto v = static_cast<std::int64_t>(e.arg);
        if (v < 0) out_.ch('-');
        out_.uint(v < 0 ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v));
        break;
      }
      case trace::EventKind::Switch:
        break;
    }
    out_.raw("}}");
  }

  Scheduler& s_;
  TraceState& t_;
  JsonFile out_;
  double ns_per_tick_ = 0.0;
  bool first_ = true;
};

}  // namespace

// ---------------------------------------------------------------------------------------
// Hooks (core/trace.hpp).

void trace_runtime_start(Scheduler& s) {
  TraceState& t = s.trace;
  t.capacity = ring_capacity();
  t.tsc = use_tsc();
  // NOLINTNEXTLINE(concurrency-mt-unsafe): read as a runtime starts; smarm never writes env
  if (const char* path = std::getenv("SMARM_TRACE_FILE")) t.path = path;
  t.external.init(kExternalCapacity, t.tsc);
  for (auto& w : s.workers) w->trace.init(t.capacity, t.tsc);
  const auto [clock0, ns0] = calibrate(t.tsc);
  t.clock0 = clock0;
  t.ns0 = ns0;
}

void trace_runtime_end(Scheduler& s) noexcept {
  TraceState& t = s.trace;
  if (t.path.empty()) return;
  std::string path;
  try {
    path = claim_path(t.path);
  } catch (...) {
    std::fprintf(stderr, "smarm: trace not written (out of memory)\n");
    return;
  }
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) {
    const int err = errno;
    char text[64];  // strerror_r: strerror is MT-Unsafe
    std::fprintf(stderr, "smarm: cannot write trace file '%s': %s\n", path.c_str(),
                 strerror_r(err, text, sizeof text));
    return;
  }
  bool ok = true;
  try {
    TraceWriter(s, f).write();
  } catch (...) {
    ok = false;  // out of memory while formatting; the file is incomplete
  }
  const bool write_error = std::ferror(f) != 0;
  int err = write_error ? errno : 0;  // the failed write's
  // fclose flushes the last buffer: its failure (ENOSPC, EIO) sets errno anew.
  const bool close_error = std::fclose(f) != 0;
  if (close_error) err = errno;
  if (write_error || close_error) {
    char text[64];
    std::fprintf(stderr, "smarm: error writing trace file '%s': %s\n", path.c_str(),
                 strerror_r(err, text, sizeof text));
  } else if (!ok) {
    std::fprintf(stderr, "smarm: trace file '%s' is incomplete (out of memory)\n", path.c_str());
  }
}

void trace_spawn(Worker* w, const Actor* child, const Actor* parent) noexcept {
  const std::uint64_t pid = trace_pid(child);
  w->trace.record(trace::EventKind::Spawn, pid, trace_pid(parent), 0, false);
  // has_name was written by this very fiber (create_actor), and the name stays until the
  // child exits, which cannot happen before it first runs.
  if (!child->has_name) return;
  const char* name = child->name.load(std::memory_order_relaxed);
  if (!name) return;
  TraceState& t = w->sched.trace;
  try {
    // The node (and the copy of the name) is allocated here, outside the lock; see mu.
    std::map<std::uint64_t, std::string> one;
    one.emplace(pid, name);
    auto node = one.extract(one.begin());
    decltype(t.names)::insert_return_type result;  // a refused node is freed after unlock
    {
      std::lock_guard lock(t.mu);
      result = t.names.insert(std::move(node));
    }
  } catch (...) {
    // Out of memory: the actor shows up under its pid instead.
  }
}

void trace_exit(const Actor* self, TaskBase::Status status) noexcept {
  current_worker()->trace.record(trace::EventKind::Exit, trace_pid(self), 0,
                                 status == TaskBase::Status::Panicked ? 1 : 0, false);
}

void trace_unpark(const Actor* a, std::uint32_t generation) noexcept {
  const std::uint64_t s = a->state.load(std::memory_order_acquire);
  if (!state::alive(s) || state::generation(s) != generation) return;  // stale: no-op
  const std::uint64_t subject = pack(a->index, generation);
  const std::uint64_t was_parked = (s & state::kParkMask) == state::kParked ? 1 : 0;
  Worker* here = current_worker();
  if (here && &here->sched == a->sched) {
    here->trace.record(trace::EventKind::Unpark, subject, was_parked, 0, true);
    return;
  }
  TraceState& t = a->sched->trace;
  std::lock_guard lock(t.mu);
  t.external.record(trace::EventKind::Unpark, subject, was_parked, 0, true);
}

void trace_stall(Scheduler& s, std::size_t worker, std::uint64_t pid,
                 std::int64_t held_ns) noexcept {
  std::lock_guard lock(s.trace.mu);
  s.trace.external.record(trace::EventKind::Stall, pid, static_cast<std::uint64_t>(held_ns),
                          static_cast<std::uint8_t>(worker < 255 ? worker : 255), true);
}

void trace_user_event(const char* name, std::int64_t value) noexcept {
  Worker* w = current_worker();
  if (!w) return;  // not on a worker: no runtime to attribute it to
  w->trace.record(trace::EventKind::User, reinterpret_cast<std::uintptr_t>(name),
                  static_cast<std::uint64_t>(value), 0, true);
}

}  // namespace smarm::detail

#endif  // SMARM_TRACING
