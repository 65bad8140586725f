// auditd records as agents and port-60 peers deliver them: the record
// parser, the field walker, the grouper and the interpretation the stored
// event carries (BuildAuditEvent). Input: LF-separated lines; a first line
// starting with '{' is an agent's inventory (identity map) for the host.
// Invariants: every view points into its line, groups keep records
// byte-exact, and the built event, as stored, survives the round trip.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/audit/audit_event.h"
#include "common/audit/audit_grouper.h"
#include "common/audit/audit_record.h"
#include "common/audit/identity_map.h"
#include "common/audit/interpret.h"
#include "common/event/event_format.h"
#include "common/event/proto_utf8.h"
#include "tests/fuzz/fuzz_check.h"
#include "trailkeep/v1/record.pb.h"

namespace {

using namespace trailkeep::audit;

bool Within(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

// Record lines are raw bytes, and BuildAuditEvent copies them (types, node,
// field values) into string fields as they are: the store escapes every
// event it commits (MakeStringsValidUtf8), so the check is on the event as
// stored, and on its JSON.
void CheckAsStored(trailkeep::v1::Event event) {
  trailkeep::MakeStringsValidUtf8(&event);
  std::string bytes;
  FUZZ_CHECK(event.SerializeToString(&bytes));
  trailkeep::v1::Event copy;
  FUZZ_CHECK(copy.ParseFromString(bytes));
  FUZZ_CHECK(nlohmann::json::accept(trailkeep::EventToJson(event)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> lines;
  while (!input.empty()) {
    const size_t lf = input.find('\n');
    lines.push_back(input.substr(0, lf));
    input = lf == std::string_view::npos ? std::string_view() : input.substr(lf + 1);
  }
  std::optional<IdentityMap> ids;
  if (!lines.empty() && lines.front().starts_with('{')) {
    if (auto m = IdentityMap::FromInventoryJson(lines.front()); m.ok()) ids = std::move(m.value());
    lines.erase(lines.begin());
  }

  AuditGrouper grouper(AuditGrouperOptions{.timeout_us = 1000, .max_open = 4});
  std::vector<AuditGroup> closed;
  int64_t now = 0;
  for (std::string_view line : lines) {
    AuditRecord record;
    if (!ParseAuditRecord(line, &record)) continue;
    FUZZ_CHECK(Within(record.node, line) && Within(record.type, line) &&
               Within(record.time, line) && Within(record.body, line));
    ForEachAuditField(record.body, [&](const AuditFieldView& f) {
      FUZZ_CHECK(Within(f.key, line) && Within(f.value, line));
    });
    trailkeep::v1::AuditRecord interpreted;
    InterpretRecord(record, ids ? &*ids : nullptr, &interpreted);
    now += 400;
    // The grouper keeps its own copy; parse again from it as the pipeline does.
    GroupMember member{std::string(line), static_cast<uint64_t>(now)};
    AuditRecord own;
    FUZZ_CHECK(ParseAuditRecord(member.text, &own));
    grouper.Add("host-1", own, std::move(member), now, &closed);
    grouper.Expire(now, &closed);
  }
  grouper.Flush(&closed);
  FUZZ_CHECK(grouper.open() == 0);
  for (const AuditGroup& group : closed) {
    FUZZ_CHECK(!group.records.empty());
    trailkeep::v1::Event event;
    BuildAuditEvent(group, ids ? &*ids : nullptr, "node-a", &event);
    CheckAsStored(std::move(event));
  }
  return 0;
}
