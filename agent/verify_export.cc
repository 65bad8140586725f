#include "agent/verify_export.h"

#include <charconv>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/base64_decode.h"
#include "common/wire/chain_audit.h"
#include "common/wire/hmac_chain.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep::agent {
namespace {

using json = nlohmann::json;

constexpr uint64_t kProgressEvery = 100'000;

uint64_t ParseU64(const json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (!v.is_string()) return 0;
  const std::string& s = v.get_ref<const std::string&>();
  uint64_t out = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size() ? out : 0;
}

// Raw MAC bytes of an exported hex value; an unreadable value is kept as it
// is, so that it differs from the message's and the event fails as bad_mac.
std::string MacBytes(const json& v) {
  if (!v.is_string()) return {};
  const std::string& hex = v.get_ref<const std::string&>();
  std::string out;
  return ParseLowerHex(hex, &out) ? out : hex;
}

// One exported event as the store held it: host, raw bytes, chain fields.
void Rebuild(const json& j, v1::Event* e) {
  e->set_host(j["host"].get<std::string>());
  std::string raw;
  if (!j["raw_b64"].is_string() ||
      !Base64Decode(j["raw_b64"].get_ref<const std::string&>(), &raw)) {
    raw.clear();  // undecodable: no chain element, so a chained event fails
  }
  e->set_raw(std::move(raw));
  const auto chain = j.find("chain");
  if (chain != j.end() && chain->is_object()) {
    e->set_chain_epoch(ParseU64(chain->value("e", json())));
    e->set_chain_seq(ParseU64(chain->value("s", json())));
    e->set_chain_prev_mac(MacBytes(chain->value("p", json())));
    e->set_chain_mac(MacBytes(chain->value("m", json())));
  }
}

struct HostAudit {
  explicit HostAudit(const std::string& key) : auditor(key) {}
  ChainAuditor auditor;
  uint64_t events = 0;
};

}  // namespace

int RunVerifyExport(const std::string& file, const std::string& key_file,
                    const std::string& host_filter) {
  auto key = LoadHmacKey(key_file);
  if (!key.ok()) {
    std::cerr << "trailkeep verify: " << key.status().message() << "\n";
    return 2;
  }
  std::istream* in = &std::cin;
  std::ifstream f;
  if (file != "-") {
    f.open(file, std::ios::binary);
    if (!f) {
      std::cerr << "trailkeep verify: cannot open " << file << "\n";
      return 2;
    }
    in = &f;
  }

  std::map<std::string, std::unique_ptr<HostAudit>> hosts;
  std::string line;
  uint64_t line_no = 0, events = 0, skipped = 0;
  v1::Event event;
  while (std::getline(*in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
      std::cerr << "trailkeep verify: " << file << ":" << line_no << ": not a JSON object\n";
      return 2;
    }
    if (!j.contains("raw_b64")) {
      if (j.contains("next_cursor")) continue;  // the API's final line of a page
      std::cerr << "trailkeep verify: " << file << ":" << line_no
                << ": not an event of docs/event-schema.md (no raw_b64)\n";
      return 2;
    }
    if (!j.contains("host") || !j["host"].is_string()) {
      std::cerr << "trailkeep verify: " << file << ":" << line_no << ": event without a host\n";
      return 2;
    }
    const std::string& host = j["host"].get_ref<const std::string&>();
    if (!host_filter.empty() && host != host_filter) {
      ++skipped;
      continue;
    }
    event.Clear();
    Rebuild(j, &event);
    auto& audit = hosts[host];
    if (!audit) audit = std::make_unique<HostAudit>(key.value());
    audit->auditor.Add(event);
    ++audit->events;
    if (++events % kProgressEvery == 0) {
      std::fprintf(stderr, "trailkeep verify: %llu events checked\n",
                   static_cast<unsigned long long>(events));
    }
  }
  if (in->bad()) {
    std::cerr << "trailkeep verify: error reading " << file << "\n";
    return 2;
  }

  std::map<std::string, ChainAuditResult> results;
  for (auto& [host, audit] : hosts) results.emplace(host, audit->auditor.Finish());
  std::string chosen = host_filter;
  if (chosen.empty()) {
    std::vector<std::string> chained;
    for (const auto& [host, r] : results) {
      if (r.chained != 0) chained.push_back(host);
    }
    if (chained.size() > 1) {
      std::string names;
      for (const auto& h : chained) names += (names.empty() ? "" : ", ") + h;
      std::cerr << "trailkeep verify: " << file << " holds chained events of " << chained.size()
                << " hosts (" << names << "); name the one " << key_file
                << " belongs to with --host\n";
      return 2;
    }
    if (chained.empty()) {
      std::cerr << "trailkeep verify: " << file << " holds no chained events (" << events
                << " unsigned events)\n";
      return 2;
    }
    chosen = chained.front();
  }
  const auto it = results.find(chosen);
  if (it == results.end()) {
    std::cerr << "trailkeep verify: no events of host '" << chosen << "' in " << file << "\n";
    return 2;
  }
  const ChainAuditResult& r = it->second;
  uint64_t others = skipped;
  for (const auto& [host, audit] : hosts) {
    if (host != chosen) others += audit->events;
  }
  std::cerr << "trailkeep verify: host " << chosen;
  if (others != 0) std::cerr << " (" << others << " events of other hosts skipped)";
  std::cerr << "\n";
  if (r.chained == 0) {
    std::cerr << "trailkeep verify: warning: " << chosen
              << " has no chained events in the export: nothing was verified\n";
  }
  for (const auto& issue : r.issues) std::printf("%s\n", FormatChainIssue(issue).c_str());
  std::printf("%s\n", FormatChainSummary(r).c_str());
  std::fflush(stdout);
  return r.clean() ? 0 : 1;
}

}  // namespace trailkeep::agent
