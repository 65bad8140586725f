// The seal proof of an exported event (docs/formats/seal.md, "Exports"): what
// a verifier away from the store needs, beside the export's own raw_b64,
// ingest_seq and seal element, to rebuild exactly the Event the collector
// sealed and check its MAC with the verification key.
//
// SealProofBytes: the stored Event's deterministic protobuf serialization with
// ingest_seq 0 and `seal` and `raw` unset (raw travels as raw_b64 already).
// EventFromSealProof reverses it. Pure code. Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/base/status.h"

namespace trailkeep::v1 {
class Event;
class SealElement;
}  // namespace trailkeep::v1

namespace trailkeep {

std::string SealProofBytes(const v1::Event& stored);

// The stored event again: the proof's fields, then `raw`, `ingest_seq` and
// `seal` as the export gives them. InvalidArgument when the bytes do not parse
// as an Event or carry fields the proof never holds (seal, raw, ingest_seq).
Status EventFromSealProof(std::string_view proof, std::string raw, uint64_t ingest_seq,
                          const v1::SealElement& seal, v1::Event* out);

}  // namespace trailkeep
