// SPDX-License-Identifier: Apache-2.0
// error.hpp — the error vocabulary of smarm: Errc, Error and Result<T, E>.
//
// Every fallible call in smarm returns a Result. Errors are values the caller can
// inspect (a code plus a human-readable message); smarm never reports bad input with
// undefined behaviour or an exception, except through Result::value(), which throws
// BadResultAccess when there is no value (like std::expected::value()).
//
// Errc only ever grows: later modules append enumerators, none is renamed or reordered.
#pragma once

#include <cstdint>
#include <exception>
#include <new>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

namespace smarm {

// Errc lists every error smarm reports. Append only.
enum class Errc : std::uint8_t {
  Closed = 1,          // the other side of a channel is gone
  Full,                // a bounded queue has no room (try_send)
  WouldBlock,          // a try_* call found nothing to do without waiting
  TimedOut,            // a deadline passed before the operation could complete
  Cancelled,           // the calling actor was cancelled while (or before) it waited
  StalePid,            // the pid names an actor that has already exited
  Panicked,            // the actor ended with an exception; message is "<type>: <what()>"
  InvalidConfig,       // a Config value is out of range; the message names the field
  InvalidArgument,     // an argument is out of range or the call is not allowed here
  NotInActor,          // a blocking call was made outside any actor
  ResourceExhausted,   // an actor, stack or other resource could not be created
  AlreadyJoined,       // join() called on a handle that was already joined or detached
  RestartIntensity,    // a supervisor's children failed more often than its intensity allows
  BackendUnavailable,  // the I/O backend cannot start here (the message has the errno)
  Eof,                 // the peer closed its side: nothing more will arrive
  ConnectionReset,     // the peer reset the connection (or closed it while we wrote)
  BadDescriptor,       // not an open file descriptor
  Io,                  // any other I/O failure; the message carries the errno
  Forked,              // called in a child forked from a process running a runtime (exec it)
};

// errc_name returns the enumerator's name ("TimedOut"), or "Unknown".
const char* errc_name(Errc code) noexcept;

// error_category is the std::error_category of Errc, so that Errc values can travel in a
// std::error_code (BadResultAccess is a std::system_error).
const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

// Error is a code plus a message saying what went wrong in this instance, and, for
// Panicked, the exception itself.
class Error {
 public:
  Error(Errc code) : code_(code) {}  // NOLINT(google-explicit-constructor): Errc converts.
  Error(Errc code, std::string message) : code_(code), message_(std::move(message)) {}
  Error(Errc code, std::string message, std::exception_ptr exception)
      : code_(code), message_(std::move(message)), exception_(std::move(exception)) {}

  Errc code() const noexcept { return code_; }
  // message() returns the specific message if one was given, else the code's name.
  std::string message() const { return message_.empty() ? errc_name(code_) : message_; }
  // exception() is the exception a Panicked error reports (join(), run(), ask(), a pipe's
  // failure): std::rethrow_exception(e.exception()) throws it again, to catch it by type.
  // Null for every other error, and for a panic whose exception could not be kept.
  const std::exception_ptr& exception() const noexcept { return exception_; }

  friend bool operator==(const Error& e, Errc c) noexcept { return e.code_ == c; }

 private:
  Errc code_;
  std::string message_;
  std::exception_ptr exception_;
};

// BadResultAccess is thrown by Result::value() when the Result holds an error.
class BadResultAccess : public std::system_error {
 public:
  BadResultAccess(Errc code, const std::string& message)
      : std::system_error(make_error_code(code), message), code_(code) {}
  Errc errc() const noexcept { return code_; }

 private:
  Errc code_;
};

namespace detail {
// error_code_of / error_message_of let Result::value() describe any error type that has
// code() and message() (Error, SendError<T>, ...).
template <class E>
Errc error_code_of(const E& e) {
  return e.code();
}
template <class E>
std::string error_message_of(const E& e) {
  return e.message();
}
struct UnexpectTag {};
}  // namespace detail

// Unexpected<E> wraps an error so that Result<T, E> can be built from it even when T and E
// are convertible into each other.
template <class E>
struct Unexpected {
  E error;
};
template <class E>
Unexpected<std::decay_t<E>> unexpected(E&& e) {
  return {std::forward<E>(e)};
}

// Result<T, E> holds a T or an E, with the interface of C++23 std::expected.
template <class T, class E = Error>
class [[nodiscard]] Result {
 public:
  using value_type = T;
  using error_type = E;  // NOLINT(readability-identifier-naming): std::expected's name

  template <class U = T>
  requires std::is_constructible_v<T, U&&> &&(!std::is_same_v<std::remove_cvref_t<U>, Result>)&&(
      std::is_same_v<std::remove_cvref_t<U>, T> ||
      (!std::is_same_v<std::remove_cvref_t<U>, E> && !std::is_same_v<std::remove_cvref_t<U>, Errc>))
      Result(U&& v)   // NOLINT(bugprone-forwarding-reference-overload): constrained, not Result
      : has_(true) {  // NOLINT(google-explicit-constructor)
    new (&value_) T(std::forward<U>(v));
  }
  // An error converts implicitly (`return Errc::Closed;`) unless T itself could be built
  // from it: Result<Errc> made from an Errc holds a value, as std::expected would.
  Result(E e)  // NOLINT(google-explicit-constructor)
      requires(!std::is_constructible_v<T, const E&>)
      : has_(false) {
    new (&error_) E(std::move(e));
  }
  Result(Errc c)  // NOLINT(google-explicit-constructor)
      requires std::is_constructible_v<E, Errc> &&(!std::is_constructible_v<T, Errc>)
      : has_(false) {
    new (&error_) E(c);
  }
  template <class G>
  Result(Unexpected<G> u) : has_(false) {  // NOLINT(google-explicit-constructor)
    new (&error_) E(std::move(u.error));
  }

  Result(
      const Result& o) requires std::is_copy_constructible_v<T> && std::is_copy_constructible_v<E>
      : has_(o.has_) {
    if (has_)
      new (&value_) T(o.value_);
    else
      new (&error_) E(o.error_);
  }
  Result(Result&& o) noexcept(
      std::is_nothrow_move_constructible_v<T>&& std::is_nothrow_move_constructible_v<E>)
      : has_(o.has_) {
    if (has_)
      new (&value_) T(std::move(o.value_));
    else
      new (&error_) E(std::move(o.error_));
  }
  Result& operator=(Result o) noexcept(
      std::is_nothrow_move_constructible_v<T>&& std::is_nothrow_move_constructible_v<E>) {
    if (this != &o) {
      destroy();
      has_ = o.has_;
      if (has_)
        new (&value_) T(std::move(o.value_));
      else
        new (&error_) E(std::move(o.error_));
    }
    return *this;
  }
  ~Result() { destroy(); }

  bool has_value() const noexcept { return has_; }
  explicit operator bool() const noexcept { return has_; }

  T& value() & {
    check();
    return value_;
  }
  const T& value() const& {
    check();
    return value_;
  }
  T&& value() && {
    check();
    return std::move(value_);
  }
  template <class U>
  T value_or(U&& fallback) const& {
    return has_ ? value_ : static_cast<T>(std::forward<U>(fallback));
  }
  template <class U>
  T value_or(U&& fallback) && {
    return has_ ? std::move(value_) : static_cast<T>(std::forward<U>(fallback));
  }

  E& error() & noexcept { return error_; }
  const E& error() const& noexcept { return error_; }
  E&& error() && noexcept { return std::move(error_); }

  T& operator*() & noexcept { return value_; }
  const T& operator*() const& noexcept { return value_; }
  T&& operator*() && noexcept { return std::move(value_); }
  T* operator->() noexcept { return &value_; }
  const T* operator->() const noexcept { return &value_; }

 private:
  void check() const {
    if (!has_)
      throw BadResultAccess(detail::error_code_of(error_), detail::error_message_of(error_));
  }
  void destroy() noexcept {
    if (has_)
      value_.~T();
    else
      error_.~E();
  }

  bool has_;
  // NOLINTBEGIN(readability-identifier-naming): private members of Result, in an anonymous union
  union {
    T value_;
    E error_;
  };
  // NOLINTEND(readability-identifier-naming)
};

// Result<void, E>: success carries nothing.
template <class E>
class [[nodiscard]] Result<void, E> {
 public:
  using value_type = void;
  using error_type = E;  // NOLINT(readability-identifier-naming): std::expected's name

  Result() = default;
  Result(E e) : error_(std::move(e)), has_(false) {}  // NOLINT(google-explicit-constructor)
  Result(Errc c)                                      // NOLINT(google-explicit-constructor)
      requires std::is_constructible_v<E, Errc> : error_(c),
                                                  has_(false) {}
  template <class G>
  Result(Unexpected<G> u) : error_(std::move(u.error)), has_(false) {}  // NOLINT

  bool has_value() const noexcept { return has_; }
  explicit operator bool() const noexcept { return has_; }
  void value() const {
    if (!has_)
      throw BadResultAccess(detail::error_code_of(*error_), detail::error_message_of(*error_));
  }
  void operator*() const noexcept {}

  E& error() & noexcept { return *error_; }
  const E& error() const& noexcept { return *error_; }
  E&& error() && noexcept { return std::move(*error_); }

 private:
  // std::optional keeps E unconstructed on success (E need not be default-constructible).
  struct Box {
    Box() noexcept {}
    // The constraint leaves a Box argument to the copy and move constructors.
    template <class A>
    // NOLINTNEXTLINE(bugprone-forwarding-reference-overload): constrained; the check misses it
    explicit Box(A&& a) requires(!std::is_same_v<std::remove_cvref_t<A>, Box>) : set(true) {
      new (&e) E(std::forward<A>(a));
    }
    Box(Box&& o) noexcept(std::is_nothrow_move_constructible_v<E>) : set(o.set) {
      if (set) new (&e) E(std::move(o.e));
    }
    Box(const Box& o) requires std::is_copy_constructible_v<E> : set(o.set) {
      if (set) new (&e) E(o.e);
    }
    Box& operator=(Box o) noexcept(std::is_nothrow_move_constructible_v<E>) {
      if (this != &o) {
        reset();
        set = o.set;
        if (set) new (&e) E(std::move(o.e));
      }
      return *this;
    }
    ~Box() { reset(); }
    void reset() noexcept {
      if (set) e.~E();
      set = false;
    }
    E& operator*() noexcept { return e; }
    const E& operator*() const noexcept { return e; }
    bool set = false;
    union {
      E e;
    };
  };
  Box error_;
  bool has_ = true;
};

}  // namespace smarm

template <>
struct std::is_error_code_enum<smarm::Errc> : std::true_type {};
