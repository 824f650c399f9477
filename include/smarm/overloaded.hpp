// SPDX-License-Identifier: Apache-2.0
// overloaded.hpp — smarm::overloaded, a visitor made of several lambdas.
//
//   using Msg = std::variant<Ping, Stop>;
//   mb.recv(smarm::overloaded{
//       [](Ping p) { reply(p); },
//       [](Stop) { done = true; },
//   });
//
// The usual C++17 idiom: the struct inherits every lambda's call operator, so overload
// resolution picks the one whose parameter matches the alternative held. The deduction
// guide lets `overloaded{a, b}` be written without naming the lambdas' types (C++20
// aggregate deduction would cover it for GCC, but Clang 14 still needs the guide).
#pragma once

namespace smarm {

template <class... Fs>
struct overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
overloaded(Fs...) -> overloaded<Fs...>;

}  // namespace smarm
