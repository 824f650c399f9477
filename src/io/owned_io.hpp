// SPDX-License-Identifier: Apache-2.0
// owned_io.hpp (private) — the I/O calls for descriptors smarm owns (OwnedFd: TcpStream,
// TcpListener). They are io.hpp's calls plus the owner's id, which lets the epoll backend
// keep the descriptor registered between operations (backend.hpp, LOOM.md "I/O").
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include <smarm/error.hpp>
#include <smarm/timer.hpp>

namespace smarm::detail::io {

Result<std::size_t> read(int fd, std::uint64_t owner, std::span<std::byte> buf,
                         Deadline deadline) noexcept;
Result<std::size_t> write(int fd, std::uint64_t owner, std::span<const std::byte> buf,
                          Deadline deadline) noexcept;
Result<void> write_all(int fd, std::uint64_t owner, std::span<const std::byte> buf,
                       Deadline deadline, std::size_t* written) noexcept;
Result<int> accept(int listen_fd, std::uint64_t owner, Deadline deadline) noexcept;

}  // namespace smarm::detail::io
