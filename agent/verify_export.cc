#include "agent/verify_export.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/base64_decode.h"
#include "agent/export_field_check.h"
#include "common/chain/chain_audit.h"
#include "common/wire/hmac_chain.h"
#include "common/wire/key_folder.h"
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

// The exported raw bytes; "" when undecodable (no chain element, so a
// chained event fails).
std::string RawOf(const json& j) {
  std::string raw;
  const auto it = j.find("raw_b64");
  if (!it->is_string() || !Base64Decode(it->get_ref<const std::string&>(), &raw)) raw.clear();
  return raw;
}

// One exported event as the store held it: host, raw bytes, chain fields.
void Rebuild(const json& j, const std::string& raw, v1::Event* e) {
  e->set_host(j["host"].get<std::string>());
  e->set_raw(raw);
  const auto chain = j.find("chain");
  if (chain != j.end() && chain->is_object()) {
    e->set_chain_epoch(ParseU64(chain->value("e", json())));
    e->set_chain_seq(ParseU64(chain->value("s", json())));
    e->set_chain_prev_mac(MacBytes(chain->value("p", json())));
    e->set_chain_mac(MacBytes(chain->value("m", json())));
  }
}

// The enterprise number the collector read the event with; an export from
// before it was exported: the default.
uint32_t EnterpriseNumberOf(const json& j) {
  const uint64_t n = ParseU64(j.value("enterprise_number", json()));
  return n != 0 && n <= UINT32_MAX ? static_cast<uint32_t>(n) : kDefaultEnterpriseNumber;
}

struct HostAudit {
  explicit HostAudit(const std::vector<HostKey>& keys)
      : auditor(keys.empty() ? std::string() : keys.front().key),
        fields(keys.empty() ? std::string() : keys.front().key) {
    for (size_t i = 1; i < keys.size(); ++i) {
      auditor.AddKey(keys[i].key);
      fields.AddKey(keys[i].key);
    }
  }
  ChainAuditor auditor;
  ExportFieldCheck fields;
  std::vector<std::pair<uint64_t, FieldDiff>> diffs;  // with their line
  uint64_t events = 0;
};

// "field_differs host=H epoch=E seq=S line L: msg: export "x", signed message "y""
std::string FormatFieldDiff(const std::string& host, uint64_t line, const FieldDiff& d) {
  return "field_differs host=" + host + " " + d.where + " line " + std::to_string(line) + ": " +
         d.field + ": export " + d.exported + ", " + d.source + " " + d.derived;
}

// What the export shows that the chain does not vouch for, on one line.
std::string FormatUnverified(const FieldCoverage& c, const ChainAuditResult& r) {
  std::string s =
      "unverified (not covered by the chain): ingest_seq, receive_time, peer, transport, "
      "integrity, refs, description, hostname_mismatch, sender_identity, seal";
  if (c.groups != 0) {
    s += ", the audit interpretation (audit.records[].fields, audit.complete, "
         "audit.identity_map, audit.node without node=)";
  }
  auto add = [&s](uint64_t n, const std::string& what) {
    if (n != 0) s += "; " + std::to_string(n) + " " + what;
  };
  add(c.host_unsigned, "events without HOSTNAME (their host is the channel's)");
  add(c.time_inferred, "events whose event_time comes from receive_time");
  add(c.records_unmatched,
      "grouped audit records whose member event is not in the export (no chain, or older)");
  // ChainAuditor counts grouped events as unsigned: they have no chain.
  add(r.unsigned_events - std::min(r.unsigned_events, c.groups),
      "unsigned events (no field of them)");
  if (!c.unknown_keys.empty()) {
    std::string keys;
    for (const auto& k : c.unknown_keys) keys += (keys.empty() ? "" : ", ") + k;
    s += "; keys this verifier does not know: " + keys;
  }
  s += "; compared with the signed bytes: " + std::to_string(c.events) + " chained events";
  if (c.groups != 0) {
    s += ", " + std::to_string(c.groups) + " grouped audit events (" +
         std::to_string(c.records_matched) + " records matched with their members)";
  }
  return s;
}

}  // namespace

int RunVerifyExport(const std::string& file, const std::string& key_file,
                    const std::string& host_filter, const std::string& keys_dir) {
  std::vector<HostKey> given;  // --key
  if (keys_dir.empty()) {
    auto key = LoadHmacKey(key_file);
    if (!key.ok()) {
      std::cerr << "trailkeep verify: " << key.status().message() << "\n";
      return 2;
    }
    given.push_back(
        {KeyId(key.value()), key.value(), std::make_shared<const HmacSha256Key>(key.value())});
  }
  std::map<std::string, std::string> no_keys;  // --keys-dir: hosts without a key, and why
  auto keys_of = [&](const std::string& host) {
    if (keys_dir.empty()) return given;
    HostKeys keys = LoadHostKeys(keys_dir, host);
    for (const auto& p : keys.problems) std::cerr << "trailkeep verify: warning: " << p << "\n";
    if (keys.keys.empty()) no_keys[host] = keys.current_problem;
    return keys.keys;
  };
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
    const std::string raw = RawOf(j);
    Rebuild(j, raw, &event);
    auto& audit = hosts[host];
    if (!audit) audit = std::make_unique<HostAudit>(keys_of(host));
    audit->auditor.SetEnterpriseNumber(EnterpriseNumberOf(j));
    audit->auditor.Add(event);
    std::vector<FieldDiff> diffs;
    audit->fields.Check(j, raw, line_no, &diffs);
    for (auto& d : diffs) audit->diffs.emplace_back(line_no, std::move(d));
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
                << " hosts (" << names << "); name the one "
                << (keys_dir.empty() ? key_file : std::string("to verify")) << " with --host\n";
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
  if (const auto missing = no_keys.find(chosen); missing != no_keys.end()) {
    std::cerr << "trailkeep verify: no key of " << chosen << " in " << keys_dir << ": "
              << missing->second << "\n";
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
  const HostAudit& audit = *hosts[chosen];
  for (const auto& issue : r.issues) std::printf("%s\n", FormatChainIssue(issue).c_str());
  for (const auto& [at, d] : audit.diffs) {
    std::printf("%s\n", FormatFieldDiff(chosen, at, d).c_str());
  }
  std::printf("%s\n", FormatUnverified(audit.fields.coverage(), r).c_str());
  std::string summary = FormatChainSummary(r);
  if (!audit.diffs.empty()) {
    std::set<uint64_t> lines;
    for (const auto& diff : audit.diffs) lines.insert(diff.first);
    const std::string edited = std::to_string(audit.diffs.size()) +
                               (audit.diffs.size() == 1 ? " field differs" : " fields differ") +
                               " from the signed bytes in " + std::to_string(lines.size()) +
                               (lines.size() == 1 ? " event" : " events");
    summary = r.clean() ? "BROKEN: " + edited + "; the MACs and links of all " +
                              std::to_string(r.verified) + " chained events verify"
                        : summary + "; " + edited;
  }
  std::printf("%s\n", summary.c_str());
  std::fflush(stdout);
  return r.clean() && audit.diffs.empty() ? 0 : 1;
}

}  // namespace trailkeep::agent
