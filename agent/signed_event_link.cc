#include "agent/signed_event_link.h"

#include <cstdlib>
#include <string>

#include "common/syslog/syslog_parser.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep::agent {

std::optional<ChainLink> SignedEventLink(std::string_view message, int64_t now_us) {
  v1::Event e;
  ParseSyslog(message, now_us, &e);
  for (const auto& el : e.structured_data()) {
    const std::string& id = el.id();
    if (id.rfind("tk@", 0) != 0) continue;
    const uint32_t pen = static_cast<uint32_t>(std::strtoul(id.c_str() + 3, nullptr, 10));
    ChainFields f = ExtractChain(e, pen);
    if (f.kind != ChainKind::kEvent || !f.error.empty()) return std::nullopt;
    return std::move(f.link);
  }
  return std::nullopt;
}

}  // namespace trailkeep::agent
