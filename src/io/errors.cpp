// SPDX-License-Identifier: Apache-2.0
// errors.cpp — see errors.hpp.
#include "io/errors.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/sanitizer.hpp"

namespace smarm::detail::io {

// strerror_r (GNU: returns the text), not strerror, which glibc documents as MT-Unsafe:
// workers fail I/O calls concurrently.
Error from_errno(const char* op, int err) {
  char text[64];
  char buf[160];
  // The two "out of descriptors" errors are named: which table is full (the process's
  // RLIMIT_NOFILE, or the system's file-max) decides what the operator must raise.
  const char* name = err == EMFILE ? "EMFILE, " : err == ENFILE ? "ENFILE, " : "";
  std::snprintf(buf, sizeof buf, "%s: %s (%serrno %d)", op, strerror_r(err, text, sizeof text),
                name, err);
  switch (err) {
    case EBADF:
      return Error(Errc::BadDescriptor, buf);
    case ECONNRESET:
    case EPIPE:
    case ECONNABORTED:
      return Error(Errc::ConnectionReset, buf);
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
      return Error(Errc::ResourceExhausted, buf);
    default:
      return Error(Errc::Io, buf);
  }
}

Error unavailable(const char* call, int err) {
  char text[64];
  char buf[160];
  std::snprintf(buf, sizeof buf, "%s: %s (errno %d)", call, strerror_r(err, text, sizeof text),
                err);
  return Error(Errc::BackendUnavailable, buf);
}

SMARM_NO_TSAN int last_errno() noexcept { return errno; }

}  // namespace smarm::detail::io
