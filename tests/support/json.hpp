// SPDX-License-Identifier: Apache-2.0
// json.hpp — a small strict JSON parser for tests that read files the runtime wrote.
//
//   auto r = smarm::test::json::parse(text);
//   if (!r.ok()) FAIL() << r.error;
//   const json::Value* events = r.value.find("traceEvents");
//
// Strict means RFC 8259 and nothing more: no comments, no trailing commas, no NaN, no
// leading zeros or '+', no unescaped control characters, escapes and UTF-8 checked
// (lone surrogates rejected), exactly one value with only whitespace around it. Duplicate
// object keys are rejected too (RFC 8259 only says they SHOULD be unique, but a file we
// write must never have them). Nesting is limited to 512 levels.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace smarm::test::json {

struct Member;

struct Value {
  enum class Type { Null, Bool, Number, String, Array, Object };
  Type type = Type::Null;
  bool boolean = false;
  double number = 0.0;
  std::string text;             // a String's value, or a Number's source text
  std::vector<Value> items;     // Array
  std::vector<Member> members;  // Object, in file order

  bool is_null() const { return type == Type::Null; }
  bool is_bool() const { return type == Type::Bool; }
  bool is_number() const { return type == Type::Number; }
  bool is_string() const { return type == Type::String; }
  bool is_array() const { return type == Type::Array; }
  bool is_object() const { return type == Type::Object; }

  // find(key) is the member named key of an object, or null (also for non-objects).
  const Value* find(std::string_view key) const;
};

struct Member {
  std::string key;
  Value value;
};

struct ParseResult {
  Value value;
  std::string error;  // empty on success; else what was wrong and at which byte offset
  bool ok() const { return error.empty(); }
};

ParseResult parse(std::string_view text);

}  // namespace smarm::test::json
