// The canonical names of NDcPP security functional requirements (SFRs).
//
// Naming rule (docs/ndcpp.md has the long form):
//
//   * A reference names a *component*, spelled exactly as the collaborative
//     Protection Profile for Network Devices v2.2e (and the PP-Modules and
//     Security Targets the seed documents quote) spells it:
//     CLASS_FAMILY[_EXT].N, optionally followed by "/Iteration" with the
//     iteration's own capitalisation: "FIA_UIA_EXT.1", "FTP_TRP.1/Admin",
//     "FIA_X509_EXT.1/Rev", "FAU_STG.3/LocSpace", "FMT_MOF.1/ManualUpdate".
//   * Element numbers are not components: "FAU_GEN.1.1" is FAU_GEN.1 and
//     "FAU_GEN.1.1/Log" is FAU_GEN.1/Log.
//   * Older or vendor spellings are aliases that map to one canonical name:
//     "FAU_STG_EXT.3/LocSpace" (NDcPP v2.1) is FAU_STG.3/LocSpace.
//   * The bare "FIA_X509_EXT.1" (pre-v2.2 tables, Juniper's) is a name of its own:
//     a certificate failed validation; FIA_X509_EXT.1/Rev is kept for failures
//     where revocation is involved (docs/ndcpp.md, issue 15).
//   * Lookup ignores white space (PDF extraction splits "FCS_HTTP S_EXT.1") and
//     ASCII case; the result is always the canonical spelling.
//
// Everything else is unknown: CanonicalSfr returns nullopt, and the rules
// loader reports it as an error.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace trailkeep::ndcpp {

// The canonical name for `name` (itself, an alias target, or a normalised
// spelling), or nullopt when `name` is not a known SFR.
std::optional<std::string> CanonicalSfr(std::string_view name);

// Every canonical name, in the order of the NDcPP SFR classes.
std::span<const std::string_view> AllSfrs();

// True when `name` is spelled canonically (no alias, no normalisation).
bool IsCanonicalSfr(std::string_view name);

}  // namespace trailkeep::ndcpp
