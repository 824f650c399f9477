// SPDX-License-Identifier: Apache-2.0
// echo_server.cpp — the Asio TCP echo servers of W6 (BENCHMARKS.md), asio-echo-server-epoll
// and asio-echo-server-uring: the comparison for smarm's echo servers under the same load
// client (smarm-echo-client).
//
//   asio-echo-server-epoll --port 0 --threads T
//
// Written as Asio's own C++20 coroutine echo example writes it: one io_context
// (concurrency hint T) run by T threads, an acceptor coroutine that co_spawns one coroutine
// per connection, and that coroutine looping on
// `co_await socket.async_read_some(...)` / `co_await async_write(...)` with use_awaitable
// (end-of-file and a reset arrive as exceptions and end the connection). Accepted sockets
// get TCP_NODELAY, like the client's; the smarm servers must do the same.
//
// One source, two programs. CMake builds this file twice: as is (Asio's default reactor
// on Linux, epoll) and with BOOST_ASIO_HAS_IO_URING and BOOST_ASIO_DISABLE_EPOLL, which
// make io_uring Asio's only backend (sockets included), linked with liburing. The uring
// program first opens a ring itself: if the kernel refuses (ENOSYS, EPERM under seccomp,
// io_uring_disabled), it says so and exits 77, which the smoke test and w6.sh report as a
// skip rather than a failure.
//
// Listens on 127.0.0.1 only (port 0: the kernel picks one). The first line on stdout,
// flushed before any connection is served, is `listening port=NNNNN`; scripts read the
// port from it. SIGINT or SIGTERM stops the io_context and exits 0; an accept that fails
// exits 1. Usage errors exit 2.
#include <signal.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/system_error.hpp>

#if defined(BOOST_ASIO_HAS_IO_URING)
#include <liburing.h>
#endif

namespace {

namespace net = boost::asio;
using net::ip::tcp;

#if defined(BOOST_ASIO_HAS_IO_URING)
constexpr const char* kProgram = "asio-echo-server-uring";
#else
constexpr const char* kProgram = "asio-echo-server-epoll";
#endif

constexpr int kSkip = 77;  // ctest's SKIP_RETURN_CODE: the backend cannot run here
constexpr std::uint64_t kMaxThreads = 64;
// The buffer Asio's echo example uses; W6's messages are 64 bytes.
constexpr std::size_t kBufferSize = 1024;

std::atomic<bool> g_failed{false};

// echo serves one connection until the client closes it (end-of-file) or it fails.
net::awaitable<void> echo(tcp::socket socket) {
  try {
    char data[kBufferSize];
    for (;;) {
      const std::size_t n = co_await socket.async_read_some(net::buffer(data), net::use_awaitable);
      co_await net::async_write(socket, net::buffer(data, n), net::use_awaitable);
    }
  } catch (const boost::system::system_error& e) {
    // End-of-file is how a connection ends; a reset is the client's business (and the
    // client reports its own failures). Anything else is worth a line.
    if (e.code() != net::error::eof && e.code() != net::error::connection_reset)
      std::fprintf(stderr, "%s: connection: %s\n", kProgram, e.what());
  }
}

// listener accepts connections for ever and gives each its own echo coroutine.
net::awaitable<void> listener(tcp::acceptor acceptor) {
  for (;;) {
    tcp::socket socket = co_await acceptor.async_accept(net::use_awaitable);
    socket.set_option(tcp::no_delay(true));
    net::co_spawn(acceptor.get_executor(), echo(std::move(socket)), net::detached);
  }
}

bool parse_number(const char* s, std::uint64_t lo, std::uint64_t hi, std::uint64_t& out) {
  if (*s < '0' || *s > '9') return false;
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < lo || v > hi) return false;
  out = v;
  return true;
}

[[noreturn]] void usage_error(const char* why) {
  std::fprintf(stderr, "%s: %s\nusage: %s --port P --threads T   (P = 0: any free port)\n",
               kProgram, why, kProgram);
  std::exit(2);
}

#if defined(BOOST_ASIO_HAS_IO_URING)
// probe_uring exits kSkip, with the reason, when no io_uring instance can be created.
void probe_uring() {
  io_uring ring;
  const int r = io_uring_queue_init(8, &ring, 0);
  if (r < 0) {
    std::fprintf(stderr, "%s: io_uring unavailable: io_uring_queue_init: %s\n", kProgram,
                 std::strerror(-r));
    std::exit(kSkip);
  }
  io_uring_queue_exit(&ring);
}
#endif

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t port = 0;
  std::uint64_t threads = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--port" && i + 1 < argc) {
      if (!parse_number(argv[++i], 0, 65535, port)) usage_error("--port needs 0..65535");
    } else if (arg == "--threads" && i + 1 < argc) {
      if (!parse_number(argv[++i], 1, kMaxThreads, threads)) usage_error("--threads needs 1..64");
    } else {
      usage_error("unknown argument");
    }
  }
#if defined(BOOST_ASIO_HAS_IO_URING)
  probe_uring();
#endif

  try {
    net::io_context ctx(static_cast<int>(threads));
    tcp::acceptor acceptor(
        ctx, tcp::endpoint(net::ip::address_v4::loopback(), static_cast<std::uint16_t>(port)));
    const unsigned bound = acceptor.local_endpoint().port();

    net::signal_set signals(ctx, SIGINT, SIGTERM);
    signals.async_wait([&ctx](const boost::system::error_code&, int) { ctx.stop(); });
    net::co_spawn(ctx, listener(std::move(acceptor)), [&ctx](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        std::fprintf(stderr, "%s: accept failed: %s\n", kProgram, x.what());
      }
      g_failed = true;
      ctx.stop();
    });

    std::printf("listening port=%u\n", bound);
    std::fflush(stdout);

    std::vector<std::thread> others;
    for (std::uint64_t t = 1; t < threads; ++t) others.emplace_back([&ctx] { ctx.run(); });
    ctx.run();
    for (auto& t : others) t.join();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", kProgram, e.what());
    return 1;
  }
  return g_failed ? 1 : 0;
}
