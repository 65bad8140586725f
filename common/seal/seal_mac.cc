#include "common/seal/seal_mac.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "common/base/hmac_sha256.h"
#include "common/seal/seal_key.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {

namespace {

void PutBE(std::string* out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

}  // namespace

std::string SealInput(const v1::Event& event, uint32_t chain, uint64_t period, uint64_t seq,
                      std::string_view prev_mac) {
  std::string out;
  out.reserve(64 + event.host().size() + event.ByteSizeLong());
  out.append("trailkeep-seal-v1", 17);
  out.push_back('\0');
  PutBE(&out, chain, 4);
  PutBE(&out, period, 8);
  PutBE(&out, seq, 8);
  PutBE(&out, event.host().size(), 4);
  out.append(event.host());
  std::string prev(prev_mac.substr(0, kSealMacBytes));
  prev.resize(kSealMacBytes, '\0');
  out.append(prev);
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    event.SerializeToCodedStream(&coded);
  }
  return out;
}

std::string SealMac(std::string_view key, std::string_view input) {
  return HmacSha256Key(key).Mac(input);
}

std::string StoredSealMac(std::string_view key, const v1::Event& stored,
                          std::string_view prev_mac) {
  v1::Event copy = stored;
  copy.set_ingest_seq(0);
  copy.clear_seal();
  const v1::SealElement& s = stored.seal();
  return SealMac(key, SealInput(copy, s.chain(), s.period(), s.seq(), prev_mac));
}

}  // namespace trailkeep
