// SPDX-License-Identifier: Apache-2.0
// io.hpp — I/O on file descriptors from actors: every call parks the actor, never the
// worker, and takes a deadline, so a silent peer cannot hang an actor.
//
//   auto n = smarm::io::read(fd, buf, smarm::Clock::now() + 5s);
//   if (!n) return n.error();            // TimedOut, Eof, ConnectionReset, ...
//
// The backend is chosen when smarm is configured (-DSMARM_IO_BACKEND=epoll, the default,
// or io_uring); backend_name() says which this build runs. Both behave alike: the same
// results, the same errors. Deadlines follow the rule of every timeout in smarm: a
// deadline that has passed means "do not wait" (the call still does what it can without
// waiting), and Deadline::max() means "no deadline".
//
// Errors (Errc): Eof (the peer closed its side; a read of 0 bytes), ConnectionReset (the
// peer reset or closed the connection while we wrote), BadDescriptor (not an open fd),
// TimedOut, Cancelled, NotInActor, Io (any other failure; the message carries errno),
// ResourceExhausted (out of file descriptors). Bytes that arrived are always returned:
// a read returns as soon as any data is there, and never loses what it got.
//
// Descriptors: smarm never changes a descriptor's flags. Sockets are driven with
// MSG_DONTWAIT, so blocking-mode sockets work too; other descriptors (pipes, ttys) are
// read only after they report readiness, which is safe unless another reader races you —
// give such descriptors O_NONBLOCK. Regular files (which are always "ready") go to the
// blocking pool (block_on_io.hpp) so that a slow disk never stalls a worker. Writing to a
// pipe whose reader is gone raises SIGPIPE as it would anywhere (sockets do not: smarm
// sends with MSG_NOSIGNAL). Close a descriptor only once no actor waits on it.
//
// read, write and accept are preemption points (preempt.hpp): a connection whose data is
// always there never makes its actor wait, and without the check such a loop would hold
// its worker. TcpStream/TcpListener (tcp.hpp) are faster on the epoll backend than these
// raw-descriptor calls: smarm knows when an owned descriptor closes, so it registers it
// once instead of re-arming it before every wait.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <span>

#include <smarm/error.hpp>
#include <smarm/timer.hpp>

namespace smarm::io {

// backend_name is "epoll" or "io_uring": the backend this build of smarm uses.
const char* backend_name() noexcept;

// wait_readable / wait_writable park until fd is ready, or until the deadline (TimedOut).
Result<void> wait_readable(int fd, Deadline deadline = Deadline::max()) noexcept;
Result<void> wait_writable(int fd, Deadline deadline = Deadline::max()) noexcept;

// read reads at most buf.size() bytes: as soon as any are available it returns how many
// (an empty buf returns 0 at once). Eof when the peer has closed and nothing is left.
Result<std::size_t> read(int fd, std::span<std::byte> buf,
                         Deadline deadline = Deadline::max()) noexcept;
// write writes at most buf.size() bytes and returns how many; a short write is not an
// error (write_all loops).
Result<std::size_t> write(int fd, std::span<const std::byte> buf,
                          Deadline deadline = Deadline::max()) noexcept;
// write_all writes all of buf, or fails; `written` (if given) receives how much went out.
Result<void> write_all(int fd, std::span<const std::byte> buf, Deadline deadline = Deadline::max(),
                       std::size_t* written = nullptr) noexcept;

// accept takes the next connection of a listening socket: a new descriptor, non-blocking
// and close-on-exec, which the caller owns.
Result<int> accept(int listen_fd, Deadline deadline = Deadline::max()) noexcept;
// connect connects socket fd to addr. TimedOut leaves the connection attempt running:
// close the socket to abandon it.
Result<void> connect(int fd, const sockaddr* addr, socklen_t len,
                     Deadline deadline = Deadline::max()) noexcept;

}  // namespace smarm::io
