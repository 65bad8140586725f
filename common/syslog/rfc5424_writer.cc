#include "common/syslog/rfc5424_writer.h"

#include <charconv>
#include <initializer_list>
#include <utility>

namespace trailkeep {
namespace {

bool PrintUsAscii(char c) { return c > 32 && c < 127; }

std::string Fit(std::string_view value, size_t max_bytes, bool (*keep)(char), const char* empty) {
  std::string out;
  out.reserve(value.size() < max_bytes ? value.size() : max_bytes);
  for (char c : value) {
    if (out.size() == max_bytes) break;
    out.push_back(keep(c) ? c : '_');
  }
  if (out.empty()) out = empty;
  return out;
}

}  // namespace

std::string FitHeaderField(std::string_view value, size_t max_bytes) {
  return Fit(
      value, max_bytes, [](char c) { return PrintUsAscii(c) && c != '"'; }, "-");
}

std::string FitSdName(std::string_view name) {
  return Fit(
      name, kMaxSdNameBytes,
      [](char c) { return PrintUsAscii(c) && c != '=' && c != ']' && c != '"'; }, "_");
}

void AppendSdParamValue(std::string_view value, std::string* out) {
  for (char c : value) {
    if (c == '"' || c == '\\' || c == ']') out->push_back('\\');
    out->push_back(c);
  }
}

SdWriter& SdWriter::Element(std::string_view sd_id) {
  Close();
  out_->push_back('[');
  out_->append(FitSdName(sd_id));
  open_ = true;
  written_ = true;
  return *this;
}

SdWriter& SdWriter::Param(std::string_view name, std::string_view value) {
  out_->push_back(' ');
  out_->append(FitSdName(name));
  out_->append("=\"");
  AppendSdParamValue(value, out_);
  out_->push_back('"');
  return *this;
}

SdWriter& SdWriter::Serialized(std::string_view elements) {
  Close();
  out_->append(elements);
  written_ = written_ || !elements.empty();
  return *this;
}

bool SdWriter::Close() {
  if (open_) out_->push_back(']');
  open_ = false;
  return written_;
}

Rfc5424Writer::Rfc5424Writer(std::string* out, const Rfc5424Header& h) : out_(out), sd_(out) {
  char pri[16];
  const auto r = std::to_chars(pri, pri + sizeof pri, h.pri);
  out->push_back('<');
  out->append(pri, r.ptr);
  out->append(">1 ");
  out->append(h.timestamp.empty() ? std::string_view("-") : h.timestamp);
  for (const auto& [field, max] : {std::pair{h.hostname, kMaxHostnameBytes},
                                   {h.app_name, kMaxAppNameBytes},
                                   {h.procid, kMaxProcidBytes},
                                   {h.msgid, kMaxMsgidBytes}}) {
    out->push_back(' ');
    out->append(FitHeaderField(field, max));
  }
  out->push_back(' ');
}

void Rfc5424Writer::Msg(std::string_view msg) {
  End();
  out_->push_back(' ');
  out_->append(msg);
}

void Rfc5424Writer::End() {
  if (!sd_.Close()) out_->push_back('-');
}

}  // namespace trailkeep
