#include "agent/journal_loss.h"

#include <charconv>

#include "common/base/time_format.h"
#include "common/syslog/rfc5424_writer.h"

namespace trailkeep::agent {
namespace {

bool Hex(std::string_view text, uint64_t* out) {
  auto r = std::from_chars(text.data(), text.data() + text.size(), *out, 16);
  return r.ec == std::errc() && r.ptr == text.data() + text.size();
}

}  // namespace

bool ParseJournalCursor(std::string_view text, JournalCursor* out) {
  *out = {};
  bool has_id = false;
  while (!text.empty()) {
    const size_t semi = text.find(';');
    const std::string_view item = text.substr(0, semi);
    text = semi == std::string_view::npos ? std::string_view() : text.substr(semi + 1);
    if (item.size() < 2 || item[1] != '=') continue;
    const std::string_view value = item.substr(2);
    switch (item[0]) {
      case 's':
        out->seqnum_id = std::string(value);
        has_id = !value.empty();
        break;
      case 'i':
        out->has_seqnum = Hex(value, &out->seqnum);
        break;
      case 't':
        out->has_realtime = Hex(value, &out->realtime_us);
        break;
      default:
        break;
    }
  }
  out->has_seqnum = out->has_seqnum && has_id;
  return out->has_seqnum || out->has_realtime;
}

std::optional<JournalLoss> AssessJournalLoss(std::string_view input, std::string_view saved,
                                             std::optional<std::string_view> next) {
  JournalCursor s, n;
  const bool saved_ok = ParseJournalCursor(saved, &s);
  const bool next_ok = next && ParseJournalCursor(*next, &n);
  JournalLoss loss;
  loss.input = std::string(input);
  loss.saved_cursor = std::string(saved);
  loss.next_cursor = next ? std::string(*next) : "";
  loss.from_realtime_us = s.realtime_us;
  loss.to_realtime_us = next_ok ? n.realtime_us : 0;
  if (saved_ok && next_ok && s.has_seqnum && n.has_seqnum && s.seqnum_id == n.seqnum_id &&
      n.seqnum > s.seqnum) {
    if (n.seqnum == s.seqnum + 1) return std::nullopt;
    loss.entries = static_cast<int64_t>(n.seqnum - s.seqnum - 1);
    loss.first_seqnum = s.seqnum + 1;
    loss.last_seqnum = n.seqnum - 1;
  }
  return loss;
}

MessageParts JournalLossParts(const JournalLoss& loss, uint32_t enterprise_number, int64_t now_us) {
  MessageParts parts;
  parts.pri = 5 * 8 + 4;  // syslog.warning
  parts.time_us = now_us;
  parts.app_name = "trailkeep";
  parts.msgid = "JOURNAL_LOSS";
  const std::string count = loss.entries < 0 ? "unknown" : std::to_string(loss.entries);
  const std::string from =
      loss.from_realtime_us ? FormatRfc3339Micros(static_cast<int64_t>(loss.from_realtime_us)) : "";
  const std::string to =
      loss.to_realtime_us ? FormatRfc3339Micros(static_cast<int64_t>(loss.to_realtime_us)) : "";
  SdWriter sd(&parts.extra_sd);
  sd.Element("tkloss@" + std::to_string(enterprise_number))
      .Param("input", loss.input)
      .Param("entries", count)
      .Param("from", from)
      .Param("to", to)
      .Param("saved_cursor", loss.saved_cursor)
      .Param("next_cursor", loss.next_cursor);
  if (loss.entries > 0) {
    sd.Param("first_seqnum", std::to_string(loss.first_seqnum))
        .Param("last_seqnum", std::to_string(loss.last_seqnum));
  }
  sd.Close();
  parts.msg =
      "journal input '" + loss.input + "': " +
      (loss.entries < 0 ? std::string("an unknown number of") : std::to_string(loss.entries)) +
      " journal entries after the last forwarded one (" + from +
      ") were rotated or vacuumed away before the agent read them" +
      (to.empty() ? "; the journal holds no entry after it"
                  : "; reading resumes at the entry of " + to);
  return parts;
}

}  // namespace trailkeep::agent
