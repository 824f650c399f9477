// errors.hpp (private) — errno to smarm errors, one mapping for every backend.
#pragma once

#include <smarm/error.hpp>

namespace smarm::detail::io {

// from_errno turns a failed call's errno into the Errc io.hpp documents, with a message
// naming the operation: EBADF -> BadDescriptor; ECONNRESET, EPIPE, ECONNABORTED ->
// ConnectionReset; EMFILE, ENFILE, ENOBUFS, ENOMEM -> ResourceExhausted; anything else ->
// Io ("read: Connection refused (errno 111)").
Error from_errno(const char* op, int err);

}  // namespace smarm::detail::io
