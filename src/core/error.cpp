// SPDX-License-Identifier: Apache-2.0
// error.cpp — names and the std::error_category of Errc.
#include <smarm/error.hpp>

namespace smarm {

const char* errc_name(Errc code) noexcept {
  switch (code) {
    case Errc::Closed:
      return "Closed";
    case Errc::Full:
      return "Full";
    case Errc::WouldBlock:
      return "WouldBlock";
    case Errc::TimedOut:
      return "TimedOut";
    case Errc::Cancelled:
      return "Cancelled";
    case Errc::StalePid:
      return "StalePid";
    case Errc::Panicked:
      return "Panicked";
    case Errc::InvalidConfig:
      return "InvalidConfig";
    case Errc::InvalidArgument:
      return "InvalidArgument";
    case Errc::NotInActor:
      return "NotInActor";
    case Errc::ResourceExhausted:
      return "ResourceExhausted";
    case Errc::AlreadyJoined:
      return "AlreadyJoined";
    case Errc::RestartIntensity:
      return "RestartIntensity";
    case Errc::BackendUnavailable:
      return "BackendUnavailable";
    case Errc::Eof:
      return "Eof";
    case Errc::ConnectionReset:
      return "ConnectionReset";
    case Errc::BadDescriptor:
      return "BadDescriptor";
    case Errc::Io:
      return "Io";
    case Errc::Forked:
      return "Forked";
  }
  return "Unknown";
}

namespace {
class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "smarm"; }
  std::string message(int v) const override { return errc_name(static_cast<Errc>(v)); }
};
}  // namespace

const std::error_category& error_category() noexcept {
  static const Category kCategory;
  return kCategory;
}

}  // namespace smarm
