// SPDX-License-Identifier: Apache-2.0
// echo_server.cpp — a TCP echo server: one actor per connection, graceful stop on signals.
//
//   echo_server --port 7000 --threads 2     serve 127.0.0.1:7000 until SIGINT/SIGTERM
//   echo_server --self-test                 serve on a free port, run clients, exit
//
// The first line on stdout is `listening port=N backend=B` (benchmarks/w6.sh reads it).
// Exit status: 0 after a signal (or a passed self-test), 1 on an error, 77 when the I/O
// backend cannot run here (io_uring disabled, say), 2 on a usage error.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <smarm/smarm.hpp>

namespace io = smarm::io;
using namespace std::chrono_literals;

namespace {

// serve echoes one connection until the client closes its side (or the server stops).
void serve(io::TcpStream conn) {
  (void)conn.set_nodelay();
  std::byte buf[16 * 1024];
  for (;;) {
    auto n = conn.read(buf);
    if (!n) return;  // Eof: the client is done; Cancelled: the server stops
    if (!conn.write_all(std::span(buf, *n))) return;
  }
}

// accept_loop spawns one detached actor per connection until it is cancelled.
void accept_loop(io::TcpListener& listener) {
  // Errors are logged at most once a second: out of descriptors, every accept fails until
  // one is freed (the listener backs off between attempts, tcp.hpp), and a line per
  // failure would flood the log.
  smarm::Deadline next_log{};
  long unlogged = 0;
  for (;;) {
    auto conn = listener.accept();
    if (!conn) {
      if (conn.error().code() == smarm::Errc::Cancelled) return;
      if (const auto now = smarm::Clock::now(); now >= next_log) {
        std::fprintf(stderr, "echo_server: accept: %s (%ld more since the last report)\n",
                     conn.error().message().c_str(), unlogged);
        next_log = now + 1s;
        unlogged = 0;
      } else {
        ++unlogged;
      }
      continue;  // out of descriptors, a connection reset before accept: keep serving
    }
    smarm::spawn([c = std::move(*conn)]() mutable { serve(std::move(c)); }).detach();
  }
}

// self_test connects a few clients to the server and checks their echoes.
bool self_test(std::uint16_t port) {
  std::vector<smarm::JoinHandle<bool>> clients;
  for (int c = 0; c < 8; ++c)
    clients.push_back(smarm::spawn([port, c] {
      auto s = io::TcpStream::connect("127.0.0.1", port, smarm::Clock::now() + 10s);
      if (!s) return false;
      for (int m = 0; m < 100; ++m) {
        const std::string msg = "client " + std::to_string(c) + " says " + std::to_string(m);
        const auto out = std::as_bytes(std::span(msg));
        std::vector<std::byte> back(msg.size());
        if (!s->write_all(out, smarm::Clock::now() + 10s)) return false;
        if (!s->read_exact(back, smarm::Clock::now() + 10s)) return false;
        if (std::memcmp(back.data(), msg.data(), msg.size()) != 0) return false;
      }
      return true;
    }));
  bool ok = true;
  for (auto& c : clients) ok = c.join().value_or(false) && ok;
  return ok;
}

int usage() {
  std::fprintf(stderr, "usage: echo_server [--port P] [--threads T] | --self-test\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  long port = 7000;
  long threads = 0;
  bool test = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--self-test") {
      test = true;
      port = 0;
    } else if ((arg == "--port" || arg == "--threads") && i + 1 < argc) {
      char* end = nullptr;
      const long v = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || v < 0 || v > 65535) return usage();
      (arg == "--port" ? port : threads) = v;
    } else {
      return usage();
    }
  }

  smarm::Config config =
      threads > 0 ? smarm::Config::exact(static_cast<std::size_t>(threads)) : smarm::Config();
  int status = 0;
  auto r = smarm::runtime::init(config).run([&] {
    auto listener = io::TcpListener::bind("127.0.0.1", static_cast<std::uint16_t>(port));
    if (!listener) {
      std::fprintf(stderr, "echo_server: %s\n", listener.error().message().c_str());
      status = 1;
      return;
    }
    auto sigs = io::signals({SIGINT, SIGTERM});
    if (!sigs) {
      std::fprintf(stderr, "echo_server: %s\n", sigs.error().message().c_str());
      status = 1;
      return;
    }
    std::printf("listening port=%u backend=%s\n", listener->port(), io::backend_name());
    std::fflush(stdout);
    auto acceptor = smarm::spawn([&] { accept_loop(*listener); });
    if (test) {
      status = self_test(listener->port()) ? 0 : 1;
      std::printf("self-test %s\n", status == 0 ? "passed" : "FAILED");
    } else {
      auto sig = sigs->recv();
      if (sig) std::fprintf(stderr, "echo_server: %s, stopping\n", strsignal(*sig));
    }
    (void)acceptor.cancel();
    (void)acceptor.join();
    // Returning cancels the connection actors still running; run() waits for them.
  });
  if (!r) {
    std::fprintf(stderr, "echo_server: %s\n", r.error().message().c_str());
    return r.error().code() == smarm::Errc::BackendUnavailable ? 77 : 1;
  }
  return status;
}
