#include "server/report/report.h"

#include <filesystem>
#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/ndcpp/rules.h"
#include "common/syslog/syslog_parser.h"
#include "server/report/report_format.h"
#include "server/store/store.h"
#include "tests/unit/temp_dir.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

using testing::TempDir;

constexpr int64_t kT0 = 1'700'000'000'000'000;

// Real lines, classified by the shipped rules, stored in a real store.
class ReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = OpenRocksDbStore(dir_.path(), StoreMode::kReadWrite);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
    auto rules =
        ndcpp::RuleSet::LoadFile(std::string(TRAILKEEP_SOURCE_DIR) + "/deploy/ndcpp_rules.toml");
    ASSERT_TRUE(rules.ok()) << rules.status().message();
    const char* lines[] = {
        "Mar  3 10:15:01 web01 sshd[1]: Accepted password for alice from 192.0.2.15 port 5 ssh2",
        "Mar  3 10:16:01 web01 sshd[2]: Failed password for invalid user admin from 203.0.113.9 "
        "port 41022 ssh2",
        "Mar  3 10:16:02 web02 sshd[3]: Failed password for root from 2001:db8::9 port 1 ssh2",
        "Mar  3 10:17:01 web01 sshd[1]: pam_unix(sshd:session): session closed for user alice",
        "Mar  3 10:19:01 web02 chronyd[611]: System clock was stepped by 3.141592 seconds",
        "Mar  3 10:21:01 web01 dnf[3000]: Upgraded: openssl-1:3.0.7-24.el9.x86_64",
        "Mar  3 10:22:01 web01 myapp[77]: nothing to see",
    };
    std::vector<v1::Event> events;
    int64_t t = kT0;
    for (const char* line : lines) {
      v1::Event& e = events.emplace_back();
      ParseSyslog(line, t, &e);
      e.set_receive_time_us(t += 1'000'000);
      e.set_host(e.hostname());
      e.set_raw(line);
      rules.value()->Classify(&e);
    }
    ASSERT_TRUE(store_->Commit(&events).ok());
  }

  Report Build(const std::string& name, bool failed = false) {
    ReportOptions o;
    o.name = name;
    o.failed_only = failed;
    auto r = BuildReport(*store_, o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r.value() : Report{};
  }

  static std::map<std::string, std::string> Row(const Report& r, size_t i) {
    std::map<std::string, std::string> m;
    for (size_t c = 0; c < r.columns.size(); ++c) m[r.columns[c]] = r.rows.at(i).at(c);
    return m;
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(ReportTest, AuthAndFailedOnly) {
  const Report all = Build("auth");
  ASSERT_EQ(all.rows.size(), 3u);
  const Report failed = Build("auth", true);
  ASSERT_EQ(failed.rows.size(), 2u);
  auto r0 = Row(failed, 0);
  EXPECT_EQ(r0["host"], "web01");
  EXPECT_EQ(r0["outcome"], "failure");
  EXPECT_EQ(r0["user"], "admin");
  EXPECT_EQ(r0["origin"], "203.0.113.9");
  EXPECT_EQ(Row(failed, 1)["origin"], "2001:db8::9");
  EXPECT_EQ(Row(all, 0)["outcome"], "success");
}

TEST_F(ReportTest, LoginsTimeChangesUpdatesTls) {
  const Report logins = Build("logins");
  ASSERT_EQ(logins.rows.size(), 4u);  // 1 accepted, 2 failed, 1 session end
  int session_ends = 0;
  for (size_t i = 0; i < logins.rows.size(); ++i) {
    auto row = Row(logins, i);
    if (row["refs"] != "FTA_SSL.4") continue;
    ++session_ends;
    EXPECT_EQ(row["user"], "alice");
    EXPECT_EQ(row["host"], "web01");
  }
  EXPECT_EQ(session_ends, 1);
  const Report time = Build("time-changes");
  ASSERT_EQ(time.rows.size(), 1u);
  EXPECT_EQ(Row(time, 0)["host"], "web02");
  EXPECT_EQ(Build("updates").rows.size(), 1u);
  EXPECT_EQ(Build("tls-failures").rows.size(), 0u);
}

TEST_F(ReportTest, NdcppEvidencePerSfrAndTheSfrsWithout) {
  const Report r = Build("ndcpp");
  std::map<std::string, std::map<std::string, std::string>> by_sfr;
  for (size_t i = 0; i < r.rows.size(); ++i) by_sfr[r.rows[i][0]] = Row(r, i);
  EXPECT_EQ(by_sfr["FIA_UIA_EXT.1"]["events"], "3");
  EXPECT_EQ(by_sfr["FIA_UIA_EXT.1"]["hosts"], "2");
  EXPECT_EQ(by_sfr["FPT_STM_EXT.1"]["events"], "1");
  EXPECT_NE(by_sfr["FPT_STM_EXT.1"]["last_seen"], "-");
  EXPECT_EQ(by_sfr["FCS_IPSEC_EXT.1"]["events"], "0");
  EXPECT_NE(std::find(r.without_evidence.begin(), r.without_evidence.end(), "FCS_IPSEC_EXT.1"),
            r.without_evidence.end());
  EXPECT_EQ(std::find(r.without_evidence.begin(), r.without_evidence.end(), "FIA_UIA_EXT.1"),
            r.without_evidence.end());

  const auto j = nlohmann::json::parse(ReportToJson(r));
  EXPECT_EQ(j["report"], "ndcpp");
  EXPECT_TRUE(j["rows"][0]["events"].is_number());
  EXPECT_EQ(j["without_evidence"].size(), r.without_evidence.size());
  const std::string text = ReportToText(r);
  EXPECT_NE(text.find("SFRs without evidence"), std::string::npos);
}

TEST_F(ReportTest, UnknownNameAndTimeWindow) {
  ReportOptions o;
  o.name = "nope";
  EXPECT_FALSE(BuildReport(*store_, o).ok());
  o.name = "auth";
  o.since_us = kT0 + 3'000'000;  // after the first two auth events
  auto r = BuildReport(*store_, o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().rows.size(), 1u);
}

// A caller limited to some hosts sees only their rows, whatever glob it
// asks for: a requested glob is matched against stored hosts, never trusted.
TEST_F(ReportTest, AllowedHostsBindEveryRowAndCount) {
  ReportOptions o;
  o.name = "auth";
  o.host = "*[!1]*";  // passes a text check under "web0[1]" yet selects web02
  o.allowed_hosts = {"web0[1]"};
  auto auth = BuildReport(*store_, o);
  ASSERT_TRUE(auth.ok());
  ASSERT_EQ(auth.value().rows.size(), 2u);
  for (size_t i = 0; i < auth.value().rows.size(); ++i) {
    EXPECT_EQ(Row(auth.value(), i)["host"], "web01");
  }
  o.host.clear();
  o.name = "time-changes";  // web02's only
  EXPECT_TRUE(BuildReport(*store_, o).value().rows.empty());
  o.name = "ndcpp";
  auto ndcpp = BuildReport(*store_, o);
  ASSERT_TRUE(ndcpp.ok());
  for (size_t i = 0; i < ndcpp.value().rows.size(); ++i) {
    auto row = Row(ndcpp.value(), i);
    if (row["sfr"] == "FIA_UIA_EXT.1") {
      EXPECT_EQ(row["events"], "2");
      EXPECT_EQ(row["hosts"], "1");
    }
    if (row["sfr"] == "FPT_STM_EXT.1") {
      EXPECT_EQ(row["events"], "0");
    }
  }
}

}  // namespace
}  // namespace trailkeep
