// Every syslog example line of the seed documents, classified with the shipped
// rules (deploy/ndcpp_rules.toml) as tests/testdata/ndcpp_seed_examples.tsv says.
#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/ndcpp/rules.h"
#include "common/ndcpp/sfr.h"
#include "common/syslog/syslog_parser.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep::ndcpp {
namespace {

constexpr int64_t kReceiveTimeUs = 1795410000000000;  // 2026-11-23T05:00:00Z

struct Row {
  int file_line;
  std::string source, seed_refs, expected, note, line;
};

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  if (!s.empty() && s.back() == sep) out.push_back("");
  return out;
}

std::set<std::string> RefSet(const std::string& list) {
  std::set<std::string> out;
  if (list == "-" || list.empty()) return out;
  for (const std::string& r : Split(list, ',')) out.insert(r);
  return out;
}

std::vector<Row> ReadRows() {
  std::ifstream in(TRAILKEEP_SOURCE_DIR "/tests/testdata/ndcpp_seed_examples.tsv");
  EXPECT_TRUE(in.good());
  std::vector<Row> rows;
  std::string l;
  int n = 0;
  while (std::getline(in, l)) {
    ++n;
    if (l.empty() || l[0] == '#') continue;
    auto f = Split(l, '\t');
    EXPECT_EQ(f.size(), 5u) << "ndcpp_seed_examples.tsv:" << n;
    if (f.size() != 5) continue;
    rows.push_back({n, f[0], f[1], f[2], f[3], f[4]});
  }
  return rows;
}

std::shared_ptr<const RuleSet> ShippedRules() {
  std::vector<std::string> errors;
  auto rs = RuleSet::LoadFile(TRAILKEEP_SOURCE_DIR "/deploy/ndcpp_rules.toml", &errors);
  EXPECT_TRUE(rs.ok()) << rs.status().message();
  return rs.ok() ? rs.value() : nullptr;
}

TEST(SeedClassification, ShippedRulesLoad) { ASSERT_NE(ShippedRules(), nullptr); }

TEST(SeedClassification, EveryRowClassifiedAsExpected) {
  auto rules = ShippedRules();
  ASSERT_NE(rules, nullptr);
  const auto rows = ReadRows();
  ASSERT_GT(rows.size(), 100u);
  for (const Row& r : rows) {
    v1::Event e;
    ParseSyslog(r.line, kReceiveTimeUs, &e);
    rules->Classify(&e);
    const std::set<std::string> got(e.ndcpp_refs().begin(), e.ndcpp_refs().end());
    EXPECT_EQ(got, RefSet(r.expected))
        << "ndcpp_seed_examples.tsv:" << r.file_line << " (" << r.source << ")\n  " << r.line;
    EXPECT_EQ(got.size(), static_cast<size_t>(e.ndcpp_refs_size())) << "duplicate refs";
    EXPECT_EQ(got.empty(), e.description().empty()) << "ndcpp_seed_examples.tsv:" << r.file_line;
  }
}

// What the seed says for a line is included in what we produce, unless the
// row explains why not.
TEST(SeedClassification, SeedRefsHonouredOrDeviationExplained) {
  const auto rows = ReadRows();
  int as_seed = 0, deviations = 0;
  for (const Row& r : rows) {
    if (r.source == "negative") {
      EXPECT_EQ(r.expected, "-") << "ndcpp_seed_examples.tsv:" << r.file_line;
      continue;
    }
    const auto expected = RefSet(r.expected);
    bool all = true;
    for (const std::string& s : RefSet(r.seed_refs)) {
      auto canonical = CanonicalSfr(s);
      ASSERT_TRUE(canonical.has_value())
          << "unknown seed ref '" << s << "' at line " << r.file_line;
      all = all && expected.count(*canonical) > 0;
    }
    if (all) {
      ++as_seed;
      EXPECT_EQ(r.note.rfind("deviation:", 0), std::string::npos)
          << "ndcpp_seed_examples.tsv:" << r.file_line << ": deviation note but no deviation";
    } else {
      ++deviations;
      EXPECT_EQ(r.note.rfind("deviation:", 0), 0u)
          << "ndcpp_seed_examples.tsv:" << r.file_line << ": seed refs " << r.seed_refs
          << " not all produced and no deviation note";
    }
  }
  std::cout << "[ seed rows ] as the seed says: " << as_seed << ", deviations: " << deviations
            << "\n";
}

// Every line of the extracted seed syslog lines is listed in the TSV.
TEST(SeedClassification, EverySeedLineListed) {
  std::set<std::string> listed;
  for (const Row& r : ReadRows()) listed.insert(r.line);
  std::ifstream in(TRAILKEEP_SOURCE_DIR "/tests/testdata/seed_syslog_lines.txt");
  ASSERT_TRUE(in.good());
  std::string l;
  int n = 0, count = 0;
  while (std::getline(in, l)) {
    ++n;
    if (l.empty() || l[0] == '#') continue;
    ++count;
    const std::string line = l.substr(0, l.find('\t'));
    EXPECT_EQ(listed.count(line), 1u) << "seed_syslog_lines.txt:" << n << " not in the TSV";
  }
  EXPECT_GT(count, 100);
}

}  // namespace
}  // namespace trailkeep::ndcpp
