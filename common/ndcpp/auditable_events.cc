#include "common/ndcpp/auditable_events.h"

namespace trailkeep::ndcpp {
namespace {

constexpr AuditableEvent kTable[] = {
    {"FAU_GEN.1", "start-up and shut-down of the audit functions; administrative actions"},
    {"FAU_STG.3/LocSpace", "low storage space for audit events"},
    {"FAU_STG_EXT.2/LocSpace", "audit data dropped or overwritten"},
    {"FCS_HTTPS_EXT.1", "failure to establish an HTTPS session"},
    {"FCS_IPSEC_EXT.1", "failure to establish an IPsec SA"},
    {"FCS_NTP_EXT.1", "NTP server configuration changed"},
    {"FCS_SSHC_EXT.1", "failure to establish an SSH session (client)"},
    {"FCS_SSHS_EXT.1", "failure to establish an SSH session (server)"},
    {"FCS_TLSC_EXT.1", "failure to establish a TLS session (client)"},
    {"FCS_TLSC_EXT.2", "failure to establish a TLS session (client, mutual auth)"},
    {"FCS_TLSS_EXT.1", "failure to establish a TLS session (server)"},
    {"FCS_TLSS_EXT.2", "failure to establish a TLS session (server, mutual auth)"},
    {"FCS_DTLSC_EXT.1", "failure to establish a DTLS session (client)"},
    {"FCS_DTLSS_EXT.1", "failure to establish a DTLS session (server)"},
    {"FIA_AFL.1", "unsuccessful login limit met or exceeded"},
    {"FIA_UIA_EXT.1", "every use of the identification and authentication mechanism"},
    {"FIA_UAU_EXT.2", "every use of the authentication mechanism"},
    {"FIA_X509_EXT.1", "failed certificate validation (any reason)"},
    {"FIA_X509_EXT.1/Rev",
     "failed certificate validation involving revocation; trust anchor changed"},
    {"FMT_MOF.1/ManualUpdate", "any attempt to start a manual update"},
    {"FMT_MOF.1/Functions", "audit transmission or storage behaviour changed"},
    {"FMT_MOF.1/Services", "services started or stopped"},
    {"FMT_MTD.1/CryptoKeys", "cryptographic key management"},
    {"FMT_SMF.1", "all management activities of TSF data"},
    {"FPT_STM_EXT.1", "discontinuous time changes"},
    {"FPT_TUD_EXT.1", "start of an update; its result"},
    {"FTA_SSL_EXT.1", "local session terminated by the locking mechanism"},
    {"FTA_SSL.3", "remote session terminated by the locking mechanism"},
    {"FTA_SSL.4", "termination of an interactive session"},
    {"FTP_ITC.1", "trusted channel initiated, terminated, failed"},
    {"FTP_TRP.1/Admin", "trusted path initiated, terminated, failed"},
    {"FAU_GEN.1/Log", "system status: CPU, memory, disk, NTP (ST iteration, seed 000)"},
    {"FAU_GEN.1/CDR", "call detail records (ST iteration, seed 000)"},
    {"FIA_UAU.2/VVoIP", "VVoIP registrations (ST iteration, seed 000)"},
};

}  // namespace

std::span<const AuditableEvent> AuditableEvents() { return kTable; }

}  // namespace trailkeep::ndcpp
