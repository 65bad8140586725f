// The chain link an event the agent signed carries: how the spool's
// recovery learns the head (epoch, seq, MAC) of records appended after the
// last checkpoint, from the bytes it spooled. Pure code.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/wire/hmac_chain.h"

namespace trailkeep::agent {

// Parses `message` (RFC 5424, as message_builder.h signs it) and returns the
// link of its first tk@<PEN> element, whatever the PEN; nullopt when that
// element is not a well-formed event chain element (a heartbeat, malformed)
// or there is none. `now_us` is only the parse's receive time.
std::optional<ChainLink> SignedEventLink(std::string_view message, int64_t now_us);

}  // namespace trailkeep::agent
