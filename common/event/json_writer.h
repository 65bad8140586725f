// Appends compact JSON text to a std::string, byte for byte as
// nlohmann::json::dump(-1, ' ', false, error_handler_t::replace) writes it,
// without building a value tree: the export path formats hundreds of thousands
// of events a second (docs/performance.md, "The HTTPS API").
//
// Strings are escaped per RFC 8259 the way nlohmann does it: `"` `\` and the
// short forms \b \t \n \f \r, other bytes < 0x20 as \u00xx (lower-case hex),
// everything else as is (DEL and U+2028 included). Bytes that are not
// well-formed UTF-8 become U+FFFD, one per invalid lead byte or per cut-short
// sequence (its first byte up to the one that breaks it, which is then read
// again), as nlohmann's decoder replaces them.
//
// JsonWriter places commas; it does not check nesting: callers pair
// Begin/End and write a Key before each object member.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace trailkeep {

// Appends `s` as a JSON string, quotes included.
void AppendJsonString(std::string_view s, std::string* out);

class JsonWriter {
 public:
  explicit JsonWriter(std::string* out) : out_(out) {}

  void BeginObject() { Open('{'); }
  void EndObject() { Close('}'); }
  void BeginArray() { Open('['); }
  void EndArray() { Close(']'); }
  // A member name, written as it is: `key` must need no escaping (printable
  // ASCII without '"' or '\\'; every caller passes a literal). Escaping the
  // fifty names of an event cost a fifth of its formatting.
  void Key(std::string_view key);

  void String(std::string_view s);
  void Uint(uint64_t v);
  void Int(int64_t v);
  void Bool(bool v);
  void Null();

 private:
  void Separate() {
    if (need_comma_) out_->push_back(',');
    need_comma_ = true;
  }
  void Open(char c) {
    Separate();
    out_->push_back(c);
    need_comma_ = false;
  }
  void Close(char c) {
    out_->push_back(c);
    need_comma_ = true;
  }

  std::string* out_;
  bool need_comma_ = false;  // a value or member was written at this level
};

}  // namespace trailkeep
