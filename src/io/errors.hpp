// SPDX-License-Identifier: Apache-2.0
// errors.hpp (private) — errno to smarm errors, one mapping for every backend.
#pragma once

#include <smarm/error.hpp>

namespace smarm::detail::io {

// from_errno turns a failed call's errno into the Errc io.hpp documents, with a message
// naming the operation: EBADF -> BadDescriptor; ECONNRESET, EPIPE, ECONNABORTED ->
// ConnectionReset; EMFILE, ENFILE, ENOBUFS, ENOMEM -> ResourceExhausted; anything else ->
// Io ("read: Connection refused (errno 111)").
Error from_errno(const char* op, int err);

// unavailable is the BackendUnavailable error for a failed setup call:
// "io_uring_queue_init: Operation not permitted (errno 1)".
Error unavailable(const char* call, int err);

// last_errno is errno, read where ThreadSanitizer does not look. errno is per thread, and
// every actor that runs on a worker thread shares it; TSan, told that actors on one
// thread do not synchronise (see sanitizer.hpp), would report two actors' reads and
// writes of it as a race. The I/O code reads errno only through this.
int last_errno() noexcept;

}  // namespace smarm::detail::io
