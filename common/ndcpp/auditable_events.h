// The NDcPP v2.2e auditable-events table (FAU_GEN.1, Table 2), as the
// collector reports on it: each SFR that has auditable events, with the
// event the table names, plus the ST-specific iterations of the seed
// documents (FAU_GEN.1/Log, /CDR, FIA_UAU.2/VVoIP). SFRs whose row says
// "none" are left out. What it is for: docs/ndcpp.md, 'Reports' (`ndcpp`).
#pragma once

#include <span>
#include <string_view>

namespace trailkeep::ndcpp {

struct AuditableEvent {
  std::string_view sfr;    // canonical (sfr.h)
  std::string_view event;  // what the table asks to be audited
};

std::span<const AuditableEvent> AuditableEvents();

}  // namespace trailkeep::ndcpp
