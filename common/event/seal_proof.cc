#include "common/event/seal_proof.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "trailkeep/v1/record.pb.h"

namespace trailkeep {

std::string SealProofBytes(const v1::Event& stored) {
  v1::Event copy = stored;
  copy.set_ingest_seq(0);
  copy.clear_seal();
  copy.clear_raw();
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    copy.SerializeToCodedStream(&coded);
  }
  return out;
}

Status EventFromSealProof(std::string_view proof, std::string raw, uint64_t ingest_seq,
                          const v1::SealElement& seal, v1::Event* out) {
  out->Clear();
  if (!out->ParseFromArray(proof.data(), static_cast<int>(proof.size()))) {
    return Status::InvalidArgument("stored_b64 does not parse as a stored event");
  }
  // A proof that carries these would let the export's own columns and the
  // proof disagree about what was sealed.
  if (out->has_seal() || !out->raw().empty() || out->ingest_seq() != 0 ||
      !out->GetReflection()->GetUnknownFields(*out).empty()) {
    return Status::InvalidArgument("stored_b64 holds fields a seal proof never carries");
  }
  out->set_raw(std::move(raw));
  out->set_ingest_seq(ingest_seq);
  *out->mutable_seal() = seal;
  return Status::Ok();
}

}  // namespace trailkeep
