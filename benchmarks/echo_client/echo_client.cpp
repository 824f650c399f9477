// SPDX-License-Identifier: Apache-2.0
// echo_client.cpp — smarm-echo-client, the load generator of W6 (BENCHMARKS.md): the one
// client every echo server is measured with, so that the servers are the only variable.
//
//   smarm-echo-client --port P [--host 127.0.0.1] [--connections 64] [--messages 20000]
//                     [--size 64] [--timeout-s 60]
//
// It opens `connections` TCP connections to the server and, on each, sends a `size`-byte
// message and waits for its whole echo before sending the next, `messages` times. Every
// echoed byte is compared with what was sent; the bytes of message m on connection c
// come from a generator seeded with (c, m), so an echo that went to the wrong
// connection, came back out of order or repeated an old message is caught, not just a
// corrupted byte. After its last echo a connection shuts down its sending side and must
// then read end-of-file: a server that sends more than it got, or never closes, fails.
//
// Deliberately plain: one thread, non-blocking I/O (MSG_DONTWAIT), level-triggered epoll,
// TCP_NODELAY, no smarm and no Asio. Partial reads and writes are normal (EPOLLOUT is armed only
// while a message is half written). Loopback only: --host must be an IPv4 address in 127.0.0.0/8,
// since this is a load generator and must not be pointed at another machine by mistake.
//
// Output (stdout, one line, on success):
//
//   result=ok round_trips=1280000 elapsed_s=1.234567 rtt_per_s=1036859.2 client_cpu=87.5
//   connections=64 messages=20000 size=64
//
// (one line; wrapped here). The clock starts once every connection is established and
// stops when the last echo has been checked; client_cpu is this process's user+system CPU
// time over that interval (getrusage) as a percentage of one core's wall time: on a
// 2-core machine, the share of the machine the client took from the server.
//
// Exit status: 0 on success; 1 on a failure (connection refused, a mismatched byte, a
// reset, an early close, the timeout), explained on stderr in one line starting with
// "smarm-echo-client: FAIL:"; 2 on a usage error. Bounded: the timeout (default 60 s)
// covers the whole run, connecting and closing included.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr const char* kProgram = "smarm-echo-client";

// Limits on the options: enough for any sensible load, small enough that a typo cannot
// ask for an effectively unbounded run or exhaust memory.
constexpr std::uint64_t kMaxConnections = 10'000;
constexpr std::uint64_t kMaxMessages = 1'000'000'000;
constexpr std::uint64_t kMaxSize = 1 << 20;
constexpr std::uint64_t kMaxTimeoutS = 3'600;

struct Options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::size_t connections = 64;
  std::uint64_t messages = 20'000;
  std::size_t size = 64;
  std::uint64_t timeout_s = 60;
};

using Clock = std::chrono::steady_clock;

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "%s: FAIL: %s\n", kProgram, why.c_str());
  std::exit(1);
}

std::string errno_text(int err) { return std::strerror(err); }

void usage(std::FILE* out) {
  std::fprintf(out,
               "usage: %s --port P [--host 127.0.0.1] [--connections 64] [--messages 20000]\n"
               "       [--size 64] [--timeout-s 60]\n"
               "  TCP echo load (W6): every connection sends a SIZE-byte message and waits\n"
               "  for its echo, MESSAGES times; every byte is checked. Loopback only.\n",
               kProgram);
}

// parse_number parses a decimal integer in [lo, hi]; false on anything else.
bool parse_number(const char* s, std::uint64_t lo, std::uint64_t hi, std::uint64_t& out) {
  if (*s < '0' || *s > '9') return false;  // strtoull would accept "-1" and " 1"
  errno = 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < lo || v > hi) return false;
  out = v;
  return true;
}

// parse_options fills `o` from the command line; exits 2 (usage) or 0 (--help).
Options parse_options(int argc, char** argv) {
  Options o;
  bool have_port = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      usage(stdout);
      std::exit(0);
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s: unknown option or missing value: '%s'\n", kProgram, argv[i]);
      usage(stderr);
      std::exit(2);
    }
    const char* value = argv[++i];
    std::uint64_t v = 0;
    bool ok = true;
    if (arg == "--host") {
      o.host = value;
    } else if (arg == "--port") {
      ok = parse_number(value, 1, 65535, v);
      o.port = static_cast<std::uint16_t>(v);
      have_port = true;
    } else if (arg == "--connections") {
      ok = parse_number(value, 1, kMaxConnections, v);
      o.connections = static_cast<std::size_t>(v);
    } else if (arg == "--messages") {
      ok = parse_number(value, 1, kMaxMessages, v);
      o.messages = v;
    } else if (arg == "--size") {
      ok = parse_number(value, 1, kMaxSize, v);
      o.size = static_cast<std::size_t>(v);
    } else if (arg == "--timeout-s") {
      ok = parse_number(value, 1, kMaxTimeoutS, v);
      o.timeout_s = v;
    } else {
      std::fprintf(stderr, "%s: unknown option '%s'\n", kProgram, argv[i - 1]);
      usage(stderr);
      std::exit(2);
    }
    if (!ok) {
      std::fprintf(stderr, "%s: bad value '%s' for %s\n", kProgram, value, argv[i - 1]);
      std::exit(2);
    }
  }
  if (!have_port) {
    std::fprintf(stderr, "%s: --port is required\n", kProgram);
    usage(stderr);
    std::exit(2);
  }
  return o;
}

// loopback_address parses `host` and accepts only IPv4 127.0.0.0/8; exits 2 otherwise.
in_addr loopback_address(const std::string& host) {
  in_addr a{};
  if (inet_pton(AF_INET, host.c_str(), &a) != 1) {
    std::fprintf(stderr, "%s: --host '%s' is not an IPv4 address\n", kProgram, host.c_str());
    std::exit(2);
  }
  if ((ntohl(a.s_addr) >> 24) != 127) {
    std::fprintf(stderr, "%s: refusing --host %s: only loopback (127.x.x.x) is allowed\n", kProgram,
                 host.c_str());
    std::exit(2);
  }
  return a;
}

// splitmix64 is a small, well-mixed generator step (Steele, Lea, Flood 2014).
std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// fill_message writes the content of message `m` of connection `c`: no two (c, m) pairs
// share a prefix, except by a 2^-64 accident.
void fill_message(std::uint64_t c, std::uint64_t m, unsigned char* out, std::size_t size) {
  std::uint64_t state = (c << 40) ^ m;
  for (std::size_t i = 0; i < size; i += 8) {
    const std::uint64_t word = splitmix64(state);
    const std::size_t n = size - i < 8 ? size - i : 8;
    std::memcpy(out + i, &word, n);
  }
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  const auto secs = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
  };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

// Conn is one connection's progress. Invariant: received <= size and sent <= size for
// the message in flight; `message == messages` means every round trip is done.
struct Conn {
  int fd = -1;
  std::uint64_t message = 0;  // index of the message in flight
  std::size_t sent = 0;       // bytes of it written so far
  std::size_t received = 0;   // bytes of its echo read and checked so far
  bool out_armed = false;     // EPOLLOUT is in the interest set
  bool closed = false;        // read end-of-file after the last echo, fd closed
  std::vector<unsigned char> expected;
};

class Client {
 public:
  explicit Client(const Options& o) : o_(o), scratch_(o.size) {}

  int run() {
    const auto deadline = Clock::now() + std::chrono::seconds(o_.timeout_s);
    const in_addr addr = loopback_address(o_.host);
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0) fail("epoll_create1: " + errno_text(errno));
    conns_.resize(o_.connections);
    for (std::size_t c = 0; c < conns_.size(); ++c) connect_one(c, addr, deadline);

    const double cpu0 = cpu_seconds();
    const auto t0 = Clock::now();
    for (std::size_t c = 0; c < conns_.size(); ++c) start_message(c);
    const std::uint64_t total = static_cast<std::uint64_t>(o_.connections) * o_.messages;
    while (done_ < total) wait_events(deadline);
    const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
    const double cpu = cpu_seconds() - cpu0;
    while (closed_ < conns_.size()) wait_events(deadline);  // every server side closes

    std::printf(
        "result=ok round_trips=%llu elapsed_s=%.6f rtt_per_s=%.1f client_cpu=%.1f "
        "connections=%zu messages=%llu size=%zu\n",
        static_cast<unsigned long long>(done_), elapsed, static_cast<double>(done_) / elapsed,
        100.0 * cpu / elapsed, o_.connections, static_cast<unsigned long long>(o_.messages),
        o_.size);
    std::fflush(stdout);
    close(epoll_);
    return 0;
  }

 private:
  // connect_one opens connection c. The connect itself blocks (bounded by the deadline
  // through SO_SNDTIMEO); loopback answers at once unless the server's backlog is full.
  void connect_one(std::size_t c, const in_addr& addr, Clock::time_point deadline) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fail("socket: " + errno_text(errno) + " (connection " + std::to_string(c) + ")");
    const auto left =
        std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now());
    if (left.count() <= 0) fail(timeout_text());
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(left.count() / 1'000'000);
    tv.tv_usec = static_cast<suseconds_t>(left.count() % 1'000'000);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(o_.port);
    sa.sin_addr = addr;
    while (connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      if (err == EINPROGRESS || err == EAGAIN) fail(timeout_text());
      fail("connect to " + o_.host + ":" + std::to_string(o_.port) + " (connection " +
           std::to_string(c) + "): " + errno_text(err) +
           (err == ECONNREFUSED ? " (is the server listening on that port?)" : ""));
    }
    const int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
      fail("setsockopt(TCP_NODELAY): " + errno_text(errno));
    // From here on every send and recv passes MSG_DONTWAIT, so the socket itself can stay
    // blocking (SOCK_NONBLOCK at socket() would make the connect above asynchronous).
    const timeval none{};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof none);
    Conn& k = conns_[c];
    k.fd = fd;
    k.expected.resize(o_.size);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = c;
    if (epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev) != 0)
      fail("epoll_ctl(ADD): " + errno_text(errno));
  }

  // wait_events handles one batch of readiness, or fails at the deadline.
  void wait_events(Clock::time_point deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) fail(timeout_text());
    epoll_event events[128];
    const int n = epoll_wait(epoll_, events, 128, static_cast<int>(left));
    if (n < 0) {
      if (errno == EINTR) return;
      fail("epoll_wait: " + errno_text(errno));
    }
    for (int i = 0; i < n; ++i) {
      const std::size_t c = static_cast<std::size_t>(events[i].data.u64);
      const std::uint32_t e = events[i].events;
      if (conns_[c].closed) continue;
      if (e & EPOLLERR) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(conns_[c].fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) fail(where(c) + ": socket error: " + errno_text(err));
      }
      if (e & EPOLLOUT) on_writable(c);
      if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) on_readable(c);
    }
  }

  // start_message fills the next message of connection c and writes as much as fits.
  void start_message(std::size_t c) {
    Conn& k = conns_[c];
    fill_message(c, k.message, k.expected.data(), o_.size);
    k.sent = 0;
    k.received = 0;
    on_writable(c);
  }

  void on_writable(std::size_t c) {
    Conn& k = conns_[c];
    while (k.sent < o_.size) {
      const ssize_t n =
          send(k.fd, k.expected.data() + k.sent, o_.size - k.sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        k.sent += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        set_out(c, true);
        return;
      }
      fail(where(c) + ": send: " + errno_text(errno));
    }
    set_out(c, false);
  }

  void on_readable(std::size_t c) {
    Conn& k = conns_[c];
    for (;;) {
      // After the last echo only end-of-file may come; read one byte to see any excess.
      const std::size_t want = k.message < o_.messages ? o_.size - k.received : 1;
      const ssize_t n = recv(k.fd, scratch_.data(), want, MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        fail(where(c) + ": recv: " + errno_text(errno) +
             (errno == ECONNRESET ? " (connection reset by the server)" : ""));
      }
      if (n == 0) {
        if (k.message < o_.messages) fail(where(c) + ": the server closed the connection");
        close(k.fd);  // also removes it from the epoll set
        k.fd = -1;
        k.closed = true;
        ++closed_;
        return;
      }
      if (k.message >= o_.messages)
        fail(where(c) + ": " + std::to_string(n) + " byte(s) more than were sent");
      check(c, static_cast<std::size_t>(n));
      k.received += static_cast<std::size_t>(n);
      if (k.received > k.sent)
        fail(where(c) + ": echo of bytes not sent yet (" + std::to_string(k.received) +
             " received, " + std::to_string(k.sent) + " sent)");
      if (k.received < o_.size) {
        if (static_cast<std::size_t>(n) < want) return;  // drained; epoll says when more comes
        continue;
      }
      ++done_;
      if (++k.message < o_.messages) {
        start_message(c);
        return;  // its echo cannot be there yet
      }
      // Last echo checked: half-close, then expect the server to close its side.
      if (shutdown(k.fd, SHUT_WR) != 0) fail(where(c) + ": shutdown: " + errno_text(errno));
    }
  }

  // check compares the n bytes just read into scratch_ with what was sent.
  void check(std::size_t c, std::size_t n) {
    const Conn& k = conns_[c];
    const unsigned char* want = k.expected.data() + k.received;
    if (std::memcmp(scratch_.data(), want, n) == 0) return;
    std::size_t i = 0;
    while (scratch_[i] == want[i]) ++i;
    char buf[160];
    std::snprintf(buf, sizeof buf, ": echoed byte %zu is 0x%02x, sent 0x%02x", k.received + i,
                  scratch_[i], want[i]);
    fail(where(c) + buf);
  }

  void set_out(std::size_t c, bool on) {
    Conn& k = conns_[c];
    if (k.out_armed == on) return;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0u);
    ev.data.u64 = c;
    if (epoll_ctl(epoll_, EPOLL_CTL_MOD, k.fd, &ev) != 0)
      fail("epoll_ctl(MOD): " + errno_text(errno));
    k.out_armed = on;
  }

  std::string where(std::size_t c) const {
    const Conn& k = conns_[c];
    return "connection " + std::to_string(c) + ", message " + std::to_string(k.message) + " of " +
           std::to_string(o_.messages);
  }

  std::string timeout_text() const {
    std::string s = "timeout after " + std::to_string(o_.timeout_s) +
                    " s: " + std::to_string(done_) + " of " +
                    std::to_string(static_cast<std::uint64_t>(o_.connections) * o_.messages) +
                    " round trips done";
    for (std::size_t c = 0; c < conns_.size(); ++c) {
      const Conn& k = conns_[c];
      if (k.fd < 0 && !k.closed) return s + "; connection " + std::to_string(c) + " not open";
      if (k.message < o_.messages)
        return s + "; " + where(c) + " waits (" + std::to_string(k.sent) + " sent, " +
               std::to_string(k.received) + " echoed)";
    }
    return s + "; " + std::to_string(conns_.size() - closed_) +
           " connection(s) never closed by the server after the last echo";
  }

  const Options& o_;
  int epoll_ = -1;
  std::vector<Conn> conns_;
  std::vector<unsigned char> scratch_;
  std::uint64_t done_ = 0;  // round trips completed and checked
  std::size_t closed_ = 0;  // connections that reached end-of-file
};

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_options(argc, argv);
  Client client(o);
  return client.run();
}
