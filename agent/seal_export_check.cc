#include "agent/seal_export_check.h"

#include <cstdio>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "agent/base64_decode.h"
#include "agent/export_field_check.h"
#include "common/base/bytes.h"
#include "common/base/glob.h"
#include "common/event/event_format.h"
#include "common/event/seal_proof.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep::agent {
namespace {

using json = nlohmann::json;

std::string Show(const json* v) { return ShowExportedValue(v); }

uint64_t U64(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// The seal element as exported; false when a member is missing or malformed.
bool ParseSealElement(const json& seal, v1::SealElement* out) {
  std::string mac;
  if (!seal.is_object() || !ParseLowerHex(Str(seal, "mac"), &mac)) return false;
  out->set_chain(static_cast<uint32_t>(U64(seal, "chain")));
  out->set_period(U64(seal, "period"));
  out->set_seq(U64(seal, "seq"));
  out->set_mac(mac);
  return out->seq() != 0;
}

}  // namespace

SealExportCheck::SealExportCheck(VerificationKey key, std::string host_glob)
    : verifier_(std::move(key)), host_glob_(std::move(host_glob)) {
  verifier_.SetScope(host_glob_);
}

Status SealExportCheck::AddLine(std::string_view line, uint64_t line_no) {
  if (line.find_first_not_of(" \t\r") == std::string_view::npos) return Status::Ok();
  const std::string where = "line " + std::to_string(line_no);
  json given = json::parse(line, nullptr, false);
  if (given.is_discarded() || !given.is_object())
    return Status::InvalidArgument(where + " is not a JSON object");
  if (!given.contains("ingest_seq")) return Status::Ok();  // a page's trailer
  const std::string host = Str(given, "host");
  const bool collector = Str(given, "transport") == "self";
  if (!host_glob_.empty() && !collector && !GlobMatch(host_glob_, host)) return Status::Ok();

  v1::Event event;
  const json* seal = given.contains("seal") ? &given["seal"] : nullptr;
  if (seal == nullptr || seal->is_null()) {
    // Unsealed: only where it stands counts (SealVerifier reports it).
    event.set_host(host);
    event.set_ingest_seq(U64(given, "ingest_seq"));
    verifier_.Add(event);
    return Status::Ok();
  }
  v1::SealElement element;
  std::string proof, raw;
  if (!ParseSealElement(*seal, &element))
    return Status::InvalidArgument(where + ": the seal element is malformed");
  if (!seal->contains("stored_b64"))
    return Status::InvalidArgument(where +
                                   " carries no seal proof: export with seal_proof=true "
                                   "(GET /v1/events?format=ndjson&seal_proof=true)");
  if (!Base64Decode(Str(*seal, "stored_b64"), &proof) ||
      !Base64Decode(Str(given, "raw_b64"), &raw)) {
    field_findings_.push_back({"field_differs", host, element.chain(), element.seq(), 0,
                               U64(given, "ingest_seq"),
                               "raw_b64 or seal.stored_b64 is not base64 (" + where + ")"});
    return Status::Ok();
  }
  Status rebuilt =
      EventFromSealProof(proof, std::move(raw), U64(given, "ingest_seq"), element, &event);
  if (!rebuilt.ok()) {
    field_findings_.push_back({"field_differs", host, element.chain(), element.seq(), 0,
                               U64(given, "ingest_seq"), rebuilt.message() + " (" + where + ")"});
    return Status::Ok();
  }
  verifier_.Add(event);
  // The line must be what the sealed event renders to, member by member.
  const json sealed = json::parse(EventToJson(event, true));
  std::vector<std::string> keys;
  for (const auto& [k, v] : given.items()) keys.push_back(k);
  for (const auto& [k, v] : sealed.items())
    if (!given.contains(k)) keys.push_back(k);
  for (const std::string& k : keys) {
    const json* a = given.contains(k) ? &given[k] : nullptr;
    const json* b = sealed.contains(k) ? &sealed[k] : nullptr;
    if (a != nullptr && b != nullptr && *a == *b) continue;
    std::string name = k;
    if (a != nullptr && b != nullptr && a->is_object() && b->is_object()) {
      // Name the innermost member that differs: "peer/address", not all of peer.
      const json patch = json::diff(*b, *a);
      const json::json_pointer at(patch.empty() ? "" : patch[0].value("path", ""));
      if (!at.empty()) {
        name = k + at.to_string();
        a = a->contains(at) ? &a->at(at) : nullptr;
        b = b->contains(at) ? &b->at(at) : nullptr;
      }
    }
    field_findings_.push_back(
        {"field_differs", event.host(), element.chain(), element.seq(), 0, event.ingest_seq(),
         name + ": export " + Show(a) + ", sealed " + Show(b) + " (" + where + ")"});
  }
  return Status::Ok();
}

SealVerifyResult SealExportCheck::Finish() {
  SealVerifyResult r = verifier_.Finish();
  r.findings.insert(r.findings.end(), field_findings_.begin(), field_findings_.end());
  return r;
}

int PrintSealResult(const SealVerifyResult& r) {
  for (const auto& f : r.findings) std::printf("%s\n", FormatSealFinding(f).c_str());
  std::printf("%s\n", FormatSealSummary(r).c_str());
  if (r.ticks == 0 && r.sealed != 0) {
    std::printf(
        "note: no seal tick in what was checked, so a removed tail cannot show: the "
        "collector's own events must be part of it\n");
  }
  std::fflush(stdout);
  return r.clean() ? 0 : 1;
}

int RunVerifySealExport(const std::string& file, const std::string& key_file,
                        const std::string& host_glob) {
  auto key = ReadVerificationKeyFile(key_file);
  if (!key.ok()) {
    std::cerr << "trailkeep verify: " << key.status().message() << "\n";
    return 2;
  }
  std::ifstream in_file;
  std::istream* in = &std::cin;
  if (file != "-") {
    in_file.open(file);
    if (!in_file) {
      std::cerr << "trailkeep verify: cannot read " << file << "\n";
      return 2;
    }
    in = &in_file;
  }
  SealExportCheck check(key.value(), host_glob);
  std::string line;
  uint64_t line_no = 0;
  while (std::getline(*in, line)) {
    if (Status s = check.AddLine(line, ++line_no); !s.ok()) {
      std::cerr << "trailkeep verify: " << s.message() << "\n";
      return 2;
    }
  }
  return PrintSealResult(check.Finish());
}

}  // namespace trailkeep::agent
