// SignedChain: chain members signed the way the agent signs them, parsed
// and filled in as the collector stores them (tests of the chain audit and
// of what the store keeps of a chain).
#pragma once

#include <string>
#include <vector>

#include "common/syslog/syslog_parser.h"
#include "common/wire/hmac_chain.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {

// Signs `count` chain members of `epoch` under `key`, the way the agent
// does, and returns them parsed with their chain fields filled in, as the
// collector stores them.
// With `announce`, the first one names its key (a key switch).
inline std::vector<v1::Event> SignedChain(const std::string& key, uint64_t epoch, uint64_t count,
                                          uint64_t first_seq = 1, std::string prev = {},
                                          bool announce = false) {
  if (prev.empty()) prev.assign(kMacBytes, '\0');
  std::vector<v1::Event> out;
  for (uint64_t s = first_seq; s < first_seq + count; ++s) {
    const std::string named =
        announce && s == first_seq ? FormatKeyElement(kDefaultEnterpriseNumber, KeyId(key)) : "";
    const std::string unsigned_msg = "<134>1 2026-01-02T03:04:05.000006Z web01.test app 42 - " +
                                     FormatChainElement(kDefaultEnterpriseNumber, epoch, s, prev) +
                                     named + " event number " + std::to_string(s);
    std::string mac;
    const std::string raw = SignMessage(key, unsigned_msg, &mac);
    v1::Event e;
    ParseSyslog(raw, 1'000'000, &e);
    e.set_raw(raw);
    e.set_host("web01.test");
    e.set_chain_epoch(epoch);
    e.set_chain_seq(s);
    e.set_chain_prev_mac(prev);
    e.set_chain_mac(mac);
    out.push_back(e);
    prev = mac;
  }
  return out;
}

}  // namespace trailkeep
