// MessageBuilder: turns what an input read into the RFC 5424 message the
// agent signs, spools and sends. Pure code: no I/O, no clock, no logging.
//
// An event message is
//   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [tk@PEN e= s= p= m=][tkin@PEN name=]<orig SD>
//   MSG
// where the chain element (common/wire/hmac_chain.h) always comes first, so
// its `m=""` is the first one in the message and SignMessage() fills in that
// one; header fields never contain a double quote. For a syslog line:
// PRI is the line's own, else the input's facility/severity; TIMESTAMP the
// parsed event time (UTC, microseconds; the read time when the line has
// none); HOSTNAME the agent's host; APP-NAME/PROCID/MSGID the parsed values
// ("-" when empty) made to fit RFC 5424's lengths and printable-ASCII
// charset; the line's own SD elements follow ours (an element reusing one of
// our SD-IDs is renamed "orig-<id>"); MSG is the parsed body, without BOM.
// For an audit record: APP-NAME "auditd", MSGID the record's type=,
// TIMESTAMP the record's audit(SECONDS.MILLIS:SERIAL) time, MSG the whole
// record line.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "agent/agent_config.h"

namespace trailkeep::agent {

// The parts of an event message, before the chain is known.
struct MessageParts {
  int pri = 13;
  int64_t time_us = 0;
  std::string app_name = "-", procid = "-", msgid = "-";
  std::string input_name;  // "" = no tkin element (the agent's own events)
  std::string extra_sd;    // serialized SD elements of the original line
  std::string msg;         // "" = no MSG
};

struct LineSource {
  std::string_view input_name;
  InputKind kind = InputKind::kSyslog;
  int facility = 1;
  int severity = 5;
};

// Parses one line (no LF; a trailing CR is dropped) read at `read_time_us`.
MessageParts PartsFromLine(std::string_view line, const LineSource& source, int64_t read_time_us);

// The agent's KEY_ROTATED event: APP-NAME "trailkeep", severity notice, MSG
// naming the new key's id and the previous one's.
MessageParts KeyRotatedParts(std::string_view new_key_id, std::string_view old_key_id,
                             int64_t now_us);

// The inventory event: APP-NAME "trailkeep", MSGID "INVENTORY", MSG =
// {"users":{"0":"root",...},"groups":{"0":"root",...}}.
MessageParts InventoryParts(const std::map<uint64_t, std::string>& users,
                            const std::map<uint64_t, std::string>& groups, int64_t now_us);
// Reads /etc/passwd- and /etc/group-format text: id -> name (first wins).
std::map<uint64_t, std::string> ParseIdFile(std::string_view text);

struct ChainPosition {
  uint32_t enterprise_number = 32473;
  uint64_t epoch = 0;
  uint64_t seq = 0;      // this event's seq
  std::string prev_mac;  // raw 32 bytes
  // Non-empty: the event announces the key it is signed with, as
  // [tkkey@PEN id="..."] right after the chain element (the first event of
  // a spool, and the first after a key change: docs/formats/hmac_chain.md).
  std::string key_id;
};

// The unsigned message (m="") for `parts` as event `chain.seq`.
std::string FormatEventMessage(const MessageParts& parts, std::string_view hostname,
                               const ChainPosition& chain);
// Signs it: returns the message as sent and the raw MAC in *mac.
std::string SignEvent(std::string_view key, const MessageParts& parts, std::string_view hostname,
                      const ChainPosition& chain, std::string* mac);
// The heartbeat carrying the chain head (e, head_seq, head_mac), signed.
std::string SignHeartbeat(std::string_view key, std::string_view hostname,
                          uint32_t enterprise_number, uint64_t epoch, uint64_t head_seq,
                          std::string_view head_mac, int64_t now_us);

}  // namespace trailkeep::agent
