// Stored records and UTF-8: the guard every writer of a protobuf record goes
// through, and the repair every reader falls back on.
//
// Protobuf's proto3 `string` fields must hold valid UTF-8: serialising
// invalid bytes succeeds, but parsing them back fails, so a record that
// carried one stray byte from outside (an HTTP path, a certificate subject,
// a syslog HOSTNAME) would make its whole block unreadable for every reader.
// MakeStringsValidUtf8() escapes such bytes (common/base/utf8.h) in every
// string field of a message, nested messages included, before it is stored.
// ParseRepairingUtf8() reads records written before that guard existed.
#pragma once

#include <cstddef>
#include <string_view>

namespace google::protobuf {
class Message;
}

namespace trailkeep {

// Escapes invalid UTF-8 in every string field of *message, recursively.
// Returns how many fields it changed (0 for the common, clean case).
size_t MakeStringsValidUtf8(google::protobuf::Message* message);

enum class ParseOutcome {
  kClean,        // parsed as stored
  kRepaired,     // parsed after escaping invalid UTF-8 in string fields
  kUnparseable,  // not a record of this type, with or without repair
};

// Parses `bytes` into *message. When the plain parse fails, rewrites the
// wire format with every string field's payload escaped as
// MakeStringsValidUtf8 would have, and parses that instead.
ParseOutcome ParseRepairingUtf8(std::string_view bytes, google::protobuf::Message* message);

}  // namespace trailkeep
