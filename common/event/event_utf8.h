// The UTF-8 guard of common/event/proto_utf8.h for an Event, through the
// generated accessors: the same result as the reflection walk, several times
// cheaper, which matters because every stored event goes through it twice
// (the seal stage seals what the store will write; the store guards its
// writes). proto_utf8.cc sends every Event here.
//
// It names each string field of Event and of the messages below it. A string
// field added to record.proto and not here is caught by proto_utf8_test
// (EventPathCoversEveryStringField), which poisons every string field the
// descriptors list and checks that none survives.
#pragma once

#include <cstddef>

namespace trailkeep::v1 {
class Event;
}

namespace trailkeep {

// Escapes invalid UTF-8 in every string field of *event; how many it changed.
size_t MakeEventStringsValidUtf8(v1::Event* event);

}  // namespace trailkeep
