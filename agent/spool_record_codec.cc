#include "agent/spool_record_codec.h"

#include "agent/crc32.h"
#include "trailkeep/v1/spool.pb.h"

namespace trailkeep::agent {
namespace {

void PutBE32(uint32_t v, std::string* out) {
  const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 8), static_cast<char>(v)};
  out->append(b, 4);
}

uint32_t GetBE32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint32_t>(u[0]) << 24 | static_cast<uint32_t>(u[1]) << 16 |
         static_cast<uint32_t>(u[2]) << 8 | static_cast<uint32_t>(u[3]);
}

// The frame at data[pos...]: its state (never kBadPayload: the payload is
// not interpreted here), end and payload.
struct Frame {
  FrameState state = FrameState::kOk;
  size_t end = 0;
  std::string_view payload;
};

Frame FrameAt(std::string_view data, size_t pos) {
  Frame f;
  if (data.size() - pos < kSpoolFrameHeaderBytes) {
    f.state = FrameState::kTruncated;
    return f;
  }
  const uint32_t len = GetBE32(data.data() + pos);
  const uint32_t crc = GetBE32(data.data() + pos + 4);
  if (len == 0 || len > kMaxSpoolRecordBytes) {
    f.state = FrameState::kBadLength;
    return f;
  }
  if (data.size() - pos - kSpoolFrameHeaderBytes < len) {
    f.state = FrameState::kTruncated;
    return f;
  }
  f.payload = data.substr(pos + kSpoolFrameHeaderBytes, len);
  f.end = pos + kSpoolFrameHeaderBytes + len;
  if (Crc32(f.payload) != crc) f.state = FrameState::kBadCrc;
  return f;
}

}  // namespace

void AppendFramedRecord(std::string_view payload, std::string* out) {
  PutBE32(static_cast<uint32_t>(payload.size()), out);
  PutBE32(Crc32(payload), out);
  out->append(payload);
}

void AppendEntryRecords(const std::vector<SpoolEntry>& entries, std::string* out) {
  v1::SpoolRecord rec;
  std::string payload;
  for (const auto& e : entries) {
    rec.set_seq(e.seq);
    rec.set_input(e.input);
    rec.set_file_dev(e.file_dev);
    rec.set_file_ino(e.file_ino);
    rec.set_offset_end(e.offset_end);
    rec.set_message(e.message);
    rec.set_cursor(e.cursor);
    rec.set_key_id(e.key_id);
    payload.clear();
    rec.SerializeToString(&payload);
    AppendFramedRecord(payload, out);
  }
}

const char* DescribeFrameState(FrameState state) {
  switch (state) {
    case FrameState::kOk:
      return "ok";
    case FrameState::kTruncated:
      return "incomplete record";
    case FrameState::kBadLength:
      return "bad record length";
    case FrameState::kBadCrc:
      return "CRC mismatch";
    case FrameState::kBadPayload:
      return "undecodable record";
  }
  return "?";
}

DecodedRecord DecodeRecordAt(std::string_view data, size_t pos) {
  const Frame f = FrameAt(data, pos);
  DecodedRecord d;
  d.state = f.state;
  d.end = f.end;
  if (f.state != FrameState::kOk) return d;
  v1::SpoolRecord rec;
  if (!rec.ParseFromArray(f.payload.data(), static_cast<int>(f.payload.size())) || rec.seq() == 0) {
    d.state = FrameState::kBadPayload;
    return d;
  }
  SpoolEntry& e = d.entry;
  e.seq = rec.seq();
  e.input = std::move(*rec.mutable_input());
  e.file_dev = rec.file_dev();
  e.file_ino = rec.file_ino();
  e.offset_end = rec.offset_end();
  e.message = std::move(*rec.mutable_message());
  e.cursor = std::move(*rec.mutable_cursor());
  e.key_id = std::move(*rec.mutable_key_id());
  return d;
}

std::string EncodeCheckpoint(const SpoolCheckpoint& c) {
  v1::SpoolState st;
  st.set_epoch(c.epoch);
  st.set_last_seq(c.last_seq);
  st.set_head_mac(c.head_mac);
  st.set_key_id(c.key_id);
  st.set_acked_seq(c.acked_seq);
  st.set_generation(c.generation);
  for (const auto& p : c.positions) {
    auto* out = st.add_positions();
    out->set_input(p.input);
    out->set_path(p.path);
    out->set_dev(p.dev);
    out->set_ino(p.ino);
    out->set_offset(p.offset);
    out->set_tail(p.tail);
    if (!p.cursor.empty()) out->set_cursor(p.cursor);
  }
  std::string framed;
  AppendFramedRecord(st.SerializeAsString(), &framed);
  return framed;
}

std::optional<SpoolCheckpoint> DecodeCheckpoint(std::string_view data) {
  if (data.empty()) return std::nullopt;
  const Frame f = FrameAt(data, 0);
  v1::SpoolState st;
  if (f.state != FrameState::kOk ||
      !st.ParseFromArray(f.payload.data(), static_cast<int>(f.payload.size())) || st.epoch() == 0) {
    return std::nullopt;
  }
  SpoolCheckpoint c;
  c.epoch = st.epoch();
  c.last_seq = st.last_seq();
  c.head_mac = st.head_mac();
  c.key_id = st.key_id();
  c.acked_seq = st.acked_seq();
  c.generation = st.generation();
  for (const auto& p : st.positions()) {
    c.positions.push_back(
        {p.input(), p.path(), p.dev(), p.ino(), p.offset(), p.tail(), p.cursor()});
  }
  return c;
}

}  // namespace trailkeep::agent
