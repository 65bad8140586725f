// RFC 5424 as the collector reads it: the strict parser, ParseSyslog's choice
// and fallback, and the agent chain element (tk@PEN / tkhb@PEN) read from
// the structured data. Input: one frame, then a receive-time selector
// (syslog_fuzz_common.h).
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/syslog/syslog_parser.h"
#include "common/wire/hmac_chain.h"
#include "tests/fuzz/syslog_fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace trailkeep;
  const auto [receive_us, frame] = fuzz::ReadSyslogInput(data, size);

  v1::Event strict;
  std::string error;
  if (!ParseRfc5424(frame, receive_us, &strict, &error)) FUZZ_CHECK(!error.empty());
  fuzz::CheckEvent(strict);

  v1::Event event;
  ParseSyslog(frame, receive_us, &event);
  const ChainFields chain = ApplyChainElement(kDefaultEnterpriseNumber, &event);
  if (chain.kind != ChainKind::kNone && chain.error.empty()) {
    FUZZ_CHECK(chain.link.mac.size() == kMacBytes);
    (void)VerifyMessageMac(std::string(kHmacKeyBytes, 'k'), frame, chain);
  }
  fuzz::CheckEvent(event);
  return 0;
}
