#include "common/ndcpp/sfr.h"

#include <cctype>

namespace trailkeep::ndcpp {
namespace {

// NDcPP v2.2e SFRs (base PP, optional and selection-based), then the
// PP-Module and ST-specific iterations that the seed documents cite.
constexpr std::string_view kSfrs[] = {
    // Security audit
    "FAU_GEN.1",
    "FAU_GEN.2",
    "FAU_STG_EXT.1",
    "FAU_STG_EXT.2/LocSpace",
    "FAU_STG.3/LocSpace",
    // Cryptographic support
    "FCS_CKM.1",
    "FCS_CKM.2",
    "FCS_CKM.4",
    "FCS_COP.1/DataEncryption",
    "FCS_COP.1/SigGen",
    "FCS_COP.1/Hash",
    "FCS_COP.1/KeyedHash",
    "FCS_RBG_EXT.1",
    "FCS_DTLSC_EXT.1",
    "FCS_DTLSC_EXT.2",
    "FCS_DTLSS_EXT.1",
    "FCS_DTLSS_EXT.2",
    "FCS_HTTPS_EXT.1",
    "FCS_IPSEC_EXT.1",
    "FCS_NTP_EXT.1",
    "FCS_SSHC_EXT.1",
    "FCS_SSHS_EXT.1",
    "FCS_TLSC_EXT.1",
    "FCS_TLSC_EXT.2",
    "FCS_TLSS_EXT.1",
    "FCS_TLSS_EXT.2",
    // User data protection
    "FDP_RIP.2",
    // Identification and authentication
    "FIA_AFL.1",
    "FIA_PMG_EXT.1",
    "FIA_PSK_EXT.1",
    "FIA_UAU.7",
    "FIA_UAU_EXT.2",
    "FIA_UIA_EXT.1",
    "FIA_X509_EXT.1",  // validation failed, any reason (pre-v2.2 component name, issue 15)
    "FIA_X509_EXT.1/Rev",
    "FIA_X509_EXT.1/ITT",
    "FIA_X509_EXT.2",
    "FIA_X509_EXT.3",
    // Security management
    "FMT_MOF.1/Functions",
    "FMT_MOF.1/ManualUpdate",
    "FMT_MOF.1/Services",
    "FMT_MTD.1/CoreData",
    "FMT_MTD.1/CryptoKeys",
    "FMT_SMF.1",
    "FMT_SMR.2",
    // Protection of the TSF
    "FPT_APW_EXT.1",
    "FPT_ITT.1",
    "FPT_SKP_EXT.1",
    "FPT_STM_EXT.1",
    "FPT_TST_EXT.1",
    "FPT_TST_EXT.2",
    "FPT_TUD_EXT.1",
    "FPT_TUD_EXT.2",
    // TOE access
    "FTA_SSL.3",
    "FTA_SSL.4",
    "FTA_SSL_EXT.1",
    "FTA_TAB.1",
    // Trusted path/channels
    "FTP_ITC.1",
    "FTP_TRP.1/Admin",
    "FTP_TRP.1/Join",
    // Distributed TOE (v2.2e appendix B)
    "FCO_CPC_EXT.1",
    "FIA_UAU.2/TC",
    // PP-Module for Stateful Traffic Filter Firewalls (seed 003)
    "FFW_RUL_EXT.1",
    "FFW_RUL_EXT.2",
    "FMT_SMF.1/FFW",
    // PP-Module for VPN Gateways (seed 003)
    "FPF_RUL_EXT.1",
    "FMT_SMF.1/VPN",
    // PP-Module for Intrusion Prevention Systems (seed 003)
    "FMT_SMF.1/IPS",
    "FMT_SMF.1/ND",
    // ST-specific iterations of the seed documents (000: Cellcrypt)
    "FAU_GEN.1/CDR",
    "FAU_GEN.1/Log",
    "FIA_UAU.2/VVoIP",
};

struct Alias {
  std::string_view from;
  std::string_view to;
};

// Older spellings (normalised: upper case, no white space) -> canonical.
constexpr Alias kAliases[] = {
    {"FAU_STG_EXT.3/LOCSPACE", "FAU_STG.3/LocSpace"},  // NDcPP v2.1
    {"FMT_MTD.1", "FMT_MTD.1/CoreData"},               // NDcPP v1.0
    {"FTP_TRP.1", "FTP_TRP.1/Admin"},                  // NDcPP v1.0
};

std::string Normalise(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return out;
}

std::optional<std::string> Lookup(const std::string& normalised) {
  for (std::string_view s : kSfrs) {
    if (Normalise(s) == normalised) return std::string(s);
  }
  for (const Alias& a : kAliases) {
    if (a.from == normalised) return std::string(a.to);
  }
  return std::nullopt;
}

// "FAU_GEN.1.1/LOG" -> "FAU_GEN.1/LOG": drop an element number.
std::optional<std::string> DropElement(const std::string& normalised) {
  const size_t slash = normalised.find('/');
  const std::string head = normalised.substr(0, slash);
  const std::string tail = slash == std::string::npos ? "" : normalised.substr(slash);
  const size_t last_dot = head.rfind('.');
  if (last_dot == std::string::npos || last_dot + 1 == head.size()) return std::nullopt;
  if (head.find('.') == last_dot) return std::nullopt;  // only one number: no element
  for (size_t i = last_dot + 1; i < head.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(head[i]))) return std::nullopt;
  }
  return head.substr(0, last_dot) + tail;
}

}  // namespace

std::optional<std::string> CanonicalSfr(std::string_view name) {
  const std::string n = Normalise(name);
  if (n.empty()) return std::nullopt;
  if (auto c = Lookup(n)) return c;
  if (auto without = DropElement(n)) return Lookup(*without);
  return std::nullopt;
}

std::span<const std::string_view> AllSfrs() { return kSfrs; }

bool IsCanonicalSfr(std::string_view name) {
  for (std::string_view s : kSfrs) {
    if (s == name) return true;
  }
  return false;
}

}  // namespace trailkeep::ndcpp
