// Recovery reads the chain head back from the bytes the agent signed: the
// link of a signed event, and nothing from a heartbeat or a plain line.

#include "agent/signed_event_link.h"

#include <string>

#include <gtest/gtest.h>

#include "agent/message_builder.h"

namespace trailkeep::agent {
namespace {

const std::string kKey(32, '\x11');

TEST(SignedEventLinkTest, ReadsTheLinkOfASignedEvent) {
  MessageParts parts;
  parts.time_us = 1767225600000000;
  parts.msg = "hello";
  for (uint32_t pen : {kDefaultEnterpriseNumber, uint32_t{99999}}) {
    const ChainPosition chain{pen, 1767225600000000000, 7, std::string(32, '\x22'), ""};
    std::string mac;
    const std::string signed_event = SignEvent(kKey, parts, "h1", chain, &mac);
    const std::optional<ChainLink> link = SignedEventLink(signed_event, 0);
    ASSERT_TRUE(link.has_value()) << signed_event;
    EXPECT_EQ(link->epoch, chain.epoch);
    EXPECT_EQ(link->seq, 7u);
    EXPECT_EQ(link->prev_mac, chain.prev_mac);
    EXPECT_EQ(link->mac, mac);
  }
}

TEST(SignedEventLinkTest, NothingFromAHeartbeatOrAPlainLine) {
  const std::string hb = SignHeartbeat(kKey, "h1", kDefaultEnterpriseNumber, 5, 3,
                                       std::string(32, '\x33'), 1767225600000000);
  EXPECT_FALSE(SignedEventLink(hb, 0).has_value());
  EXPECT_FALSE(SignedEventLink("<13>1 - h a - - - no chain here", 0).has_value());
  EXPECT_FALSE(SignedEventLink("not syslog at all", 0).has_value());
}

}  // namespace
}  // namespace trailkeep::agent
