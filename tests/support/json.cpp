// SPDX-License-Identifier: Apache-2.0
// json.cpp — the strict JSON parser of json.hpp (recursive descent over the bytes).
#include "support/json.hpp"

#include <charconv>
#include <cstdint>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace smarm::test::json {

const Value* Value::find(std::string_view key) const {
  if (type != Type::Object) return nullptr;
  for (const Member& m : members)
    if (m.key == key) return &m.value;
  return nullptr;
}

namespace {

constexpr int kMaxDepth = 512;

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  Value document() {
    skip_ws();
    Value v = value(0);
    skip_ws();
    if (pos_ != s_.size()) fail("unexpected text after the value");
    return v;
  }

  std::size_t pos() const { return pos_; }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(what + " at byte " + std::to_string(pos_));
  }

  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[pos_]; }

  void expect(char c) {
    if (peek() != c || at_end()) fail(std::string("expected '") + c + "'");
    ++pos_;
  }

  void skip_ws() {
    while (!at_end() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }

  void literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) fail("invalid literal");
    pos_ += word.size();
  }

  Value value(int depth) {
    if (depth > kMaxDepth) fail("nesting too deep");
    if (at_end()) fail("unexpected end of input");
    Value v;
    switch (s_[pos_]) {
      case '{':
        v.type = Value::Type::Object;
        object(v, depth);
        break;
      case '[':
        v.type = Value::Type::Array;
        array(v, depth);
        break;
      case '"':
        v.type = Value::Type::String;
        v.text = string();
        break;
      case 't':
        literal("true");
        v.type = Value::Type::Bool;
        v.boolean = true;
        break;
      case 'f':
        literal("false");
        v.type = Value::Type::Bool;
        break;
      case 'n':
        literal("null");
        break;
      default:
        v.type = Value::Type::Number;
        number(v);
        break;
    }
    return v;
  }

  void object(Value& v, int depth) {
    expect('{');
    skip_ws();
    if (peek() == '}' && !at_end()) {
      ++pos_;
      return;
    }
    for (;;) {
      skip_ws();
      if (peek() != '"' || at_end()) fail("expected a string key");
      std::string key = string();
      for (const Member& m : v.members)
        if (m.key == key) fail("duplicate key \"" + key + "\"");
      skip_ws();
      expect(':');
      skip_ws();
      Value member = value(depth + 1);
      v.members.push_back(Member{std::move(key), std::move(member)});
      skip_ws();
      if (peek() == ',' && !at_end()) {
        ++pos_;
        continue;
      }
      expect('}');
      return;
    }
  }

  void array(Value& v, int depth) {
    expect('[');
    skip_ws();
    if (peek() == ']' && !at_end()) {
      ++pos_;
      return;
    }
    for (;;) {
      skip_ws();
      v.items.push_back(value(depth + 1));
      skip_ws();
      if (peek() == ',' && !at_end()) {
        ++pos_;
        continue;
      }
      expect(']');
      return;
    }
  }

  bool digit() const { return !at_end() && s_[pos_] >= '0' && s_[pos_] <= '9'; }

  void number(Value& v) {
    const std::size_t start = pos_;
    if (peek() == '-') ++pos_;
    if (!digit()) fail("invalid number");
    if (s_[pos_] == '0') {
      ++pos_;
      if (digit()) fail("leading zero in a number");
    } else {
      while (digit()) ++pos_;
    }
    if (peek() == '.' && !at_end()) {
      ++pos_;
      if (!digit()) fail("no digit after the decimal point");
      while (digit()) ++pos_;
    }
    if ((peek() == 'e' || peek() == 'E') && !at_end()) {
      ++pos_;
      if ((peek() == '+' || peek() == '-') && !at_end()) ++pos_;
      if (!digit()) fail("no digit in the exponent");
      while (digit()) ++pos_;
    }
    v.text = std::string(s_.substr(start, pos_ - start));
    auto [p, ec] = std::from_chars(v.text.data(), v.text.data() + v.text.size(), v.number);
    if (ec != std::errc{} || p != v.text.data() + v.text.size()) fail("number out of range");
  }

  unsigned hex4() {
    if (pos_ + 4 > s_.size()) fail("truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<unsigned>(c - 'A' + 10);
      else
        fail("invalid hex digit in a \\u escape");
    }
    return v;
  }

  static void put_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // utf8 copies one valid multi-byte UTF-8 sequence starting at pos_, or fails.
  void utf8(std::string& out) {
    const auto b0 = static_cast<unsigned char>(s_[pos_]);
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      n = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      n = 3;
      if (b0 == 0xE0) lo = 0xA0;
      if (b0 == 0xED) hi = 0x9F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      n = 4;
      if (b0 == 0xF0) lo = 0x90;
      if (b0 == 0xF4) hi = 0x8F;
    } else {
      fail("invalid UTF-8");
    }
    if (pos_ + n > s_.size()) fail("truncated UTF-8");
    for (std::size_t k = 1; k < n; ++k) {
      const auto b = static_cast<unsigned char>(s_[pos_ + k]);
      if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) fail("invalid UTF-8");
    }
    out.append(s_.substr(pos_, n));
    pos_ += n;
  }

  std::string string() {
    expect('"');
    std::string out;
    for (;;) {
      if (at_end()) fail("unterminated string");
      const auto c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c < 0x20) fail("unescaped control character in a string");
      if (c >= 0x80) {
        utf8(out);
        continue;
      }
      ++pos_;
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      if (at_end()) fail("unterminated escape");
      const char e = s_[pos_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out += e;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          std::uint32_t cp = hex4();
          if (cp >= 0xDC00 && cp <= 0xDFFF) fail("lone low surrogate");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (s_.substr(pos_, 2) != "\\u") fail("high surrogate without its pair");
            pos_ += 2;
            const std::uint32_t low = hex4();
            if (low < 0xDC00 || low > 0xDFFF) fail("high surrogate without its pair");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          put_utf8(out, cp);
          break;
        }
        default:
          fail("invalid escape");
      }
    }
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

}  // namespace

ParseResult parse(std::string_view text) {
  ParseResult r;
  Parser p(text);
  try {
    r.value = p.document();
  } catch (const Error& e) {
    r.value = Value{};
    r.error = e.what();
  }
  return r;
}

}  // namespace smarm::test::json
