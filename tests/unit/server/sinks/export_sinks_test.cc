// Token file parsing and checks, scope and host rules, CEF escaping, query
// strings of the export API.
#include <gtest/gtest.h>

#include "server/sinks/export_auth.h"
#include "server/sinks/export_format.h"
#include "server/sinks/export_request.h"
#include "server/sinks/prometheus.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

TEST(TokenFile, ParsesEntriesAndComments) {
  const std::string text =
      "# comment\n\n" + TokenFileLine("siem-1", "secret-1", kScopeExport, {"api-*", "db-*"}) +
      "  # trailing comment line\n" + TokenFileLine("ops", "secret-2", kAllScopes, {}) + "\n";
  auto parsed = ParseTokenFile(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed.value().size(), 2u);
  EXPECT_EQ(parsed.value()[0].name, "siem-1");
  EXPECT_EQ(parsed.value()[0].scopes, unsigned{kScopeExport});
  EXPECT_EQ(parsed.value()[0].hosts, (std::vector<std::string>{"api-*", "db-*"}));
  EXPECT_EQ(parsed.value()[0].sha256.size(), 32u);
  EXPECT_TRUE(parsed.value()[1].hosts.empty());  // "*" = every host
}

TEST(TokenFile, ErrorsNameTheLine) {
  const std::string good = TokenFileLine("a", "x", kScopeExport, {}) + "\n";
  auto bad_fields = ParseTokenFile(good + "b 00 export\n");
  ASSERT_FALSE(bad_fields.ok());
  EXPECT_NE(bad_fields.status().message().find("line 2"), std::string::npos);
  auto bad_hash = ParseTokenFile("a zz" + std::string(62, '0') + " export *\n");
  ASSERT_FALSE(bad_hash.ok());
  EXPECT_NE(bad_hash.status().message().find("64 hex"), std::string::npos);
  auto bad_scope = ParseTokenFile("a " + std::string(64, 'a') + " export,root *\n");
  ASSERT_FALSE(bad_scope.ok());
  EXPECT_NE(bad_scope.status().message().find("root"), std::string::npos);
  auto dup = ParseTokenFile(good + good);
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.status().message().find("duplicate"), std::string::npos);
}

TEST(TokenFile, HashIsSha256Hex) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Authenticator, TokenAndCertificate) {
  auto tokens = ParseTokenFile(TokenFileLine("siem", "right", kScopeExport, {"api-*"}));
  ASSERT_TRUE(tokens.ok());
  ApiAuthenticator auth(tokens.value(), {ClientRule{"Dev-Client", kAllScopes, {"*"}}});
  auto p = auth.FromToken("right");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->name, "siem");
  EXPECT_EQ(p->method, "token");
  EXPECT_TRUE(p->Has(kScopeExport));
  EXPECT_FALSE(p->Has(kScopeAdmin));
  EXPECT_TRUE(p->HostPatternAllowed("api-1"));
  EXPECT_TRUE(p->HostPatternAllowed("api-1*"));
  EXPECT_FALSE(p->HostPatternAllowed("db-1"));
  EXPECT_FALSE(p->HostPatternAllowed("*"));
  EXPECT_FALSE(auth.FromToken("wrong").has_value());
  EXPECT_FALSE(auth.FromToken("").has_value());
  auto c = auth.FromCertificate({"dev-client"});
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->method, "mtls");
  EXPECT_FALSE(c->Restricted());
  EXPECT_FALSE(auth.FromCertificate({"other", ""}).has_value());
}

TEST(Cef, Escaping) {
  EXPECT_EQ(CefEscapeHeader("a|b\\c\nd"), "a\\|b\\\\c d");
  EXPECT_EQ(CefEscapeExtension("k=v\\x|y\r\n"), "k\\=v\\\\x|y\\r\\n");
  EXPECT_EQ(CefSeverity(0), 10);
  EXPECT_EQ(CefSeverity(3), 7);
  EXPECT_EQ(CefSeverity(7), 1);
  EXPECT_EQ(CefSeverity(-1), 3);
}

TEST(Cef, MapsEventFields) {
  v1::Event e;
  e.set_ingest_seq(42);
  e.set_receive_time_us(1'700'000'000'123'456);
  e.set_event_time_us(1'700'000'000'000'000);
  e.set_host("api-1");
  e.set_pri(38);  // auth.info
  e.set_app_name("sshd");
  e.set_procid("7");
  e.set_msg("Failed password | for=root\nnext");
  e.set_integrity(v1::INTEGRITY_VERIFIED);
  e.add_ndcpp_refs("FIA_UIA_EXT.1");
  e.mutable_peer()->set_address("10.0.0.5:5514");
  const std::string cef = EventToCef(e);
  EXPECT_EQ(cef.rfind("CEF:0|trailkeep|trailkeepd|1|FIA_UIA_EXT.1|Failed password \\| for=root "
                      "next|2|",
                      0),
            0u)
      << cef;
  for (const char* part :
       {"externalId=42", "rt=1700000000123", "end=1700000000000", "dvchost=api-1", "src=10.0.0.5",
        "dproc=sshd", "dvcpid=7", "deviceFacility=auth", "cs1Label=ndcppRefs", "cs1=FIA_UIA_EXT.1",
        "cs2Label=integrity", "cs2=verified", "msg=Failed password | for\\=root\\nnext"}) {
    EXPECT_NE(cef.find(part), std::string::npos) << part << " in " << cef;
  }
  EXPECT_EQ(cef.find('\n'), std::string::npos);
}

TEST(Cef, CarriesTheHostnameMismatchMark) {
  v1::Event e;
  e.set_host("db-1");
  e.set_hostname_mismatch(true);
  e.set_sender_identity("web-1.example.org");
  const std::string cef = EventToCef(e);
  EXPECT_NE(cef.find("cs4Label=hostnameMismatchSender cs4=web-1.example.org"), std::string::npos)
      << cef;
  e.set_hostname_mismatch(false);
  EXPECT_EQ(EventToCef(e).find("cs4"), std::string::npos);
}

// hostname_mismatch=true|false filters /v1/events, /v1/tail and /v1/report
// through the EventFilter they share.
TEST(EventsRequest, FiltersOnTheHostnameMismatchMark) {
  const auto query = [](const std::string& qs) { return ParseQueryString(qs).value(); };
  auto events = ParseEventsRequest(query("hostname_mismatch=true"), 0, 1000, 10000);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  ASSERT_TRUE(events.value().filter.hostname_mismatch.has_value());
  v1::Event marked;
  marked.set_hostname_mismatch(true);
  const v1::Event plain;
  EXPECT_TRUE(events.value().filter.Matches(marked));
  EXPECT_FALSE(events.value().filter.Matches(plain));
  auto unmarked = ParseEventsRequest(query("hostname_mismatch=false"), 0, 1000, 10000);
  ASSERT_TRUE(unmarked.ok());
  EXPECT_FALSE(unmarked.value().filter.Matches(marked));
  EXPECT_TRUE(unmarked.value().filter.Matches(plain));
  EXPECT_FALSE(ParseEventsRequest(query("hostname_mismatch=yes"), 0, 1000, 10000).ok());

  auto tail = ParseTailRequest(query("hostname_mismatch=true"), 100);
  ASSERT_TRUE(tail.ok()) << tail.status().ToString();
  EXPECT_EQ(tail.value().filter.hostname_mismatch, std::optional<bool>(true));
  EXPECT_FALSE(ParseTailRequest(query("hostname_mismatch=1"), 100).ok());

  auto report = ParseReportRequest("auth", query("hostname_mismatch=false"), 0, 100);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report.value().options.hostname_mismatch, std::optional<bool>(false));
  EXPECT_FALSE(ParseReportRequest("auth", query("hostname_mismatch="), 0, 100).ok());
  EXPECT_EQ(RedactTarget("/v1/events?hostname_mismatch=true"), "/v1/events?hostname_mismatch=true");
}

TEST(ExportFormat, OctetCountedRaw) {
  v1::Event e;
  e.set_raw("<13>1 - h a - - - two\nlines");
  std::string out;
  AppendExportedEvent(ExportFormat::kRfc5424, e, &out);
  EXPECT_EQ(out, "27 <13>1 - h a - - - two\nlines");
}

TEST(QueryString, DecodesAndRefuses) {
  auto q = ParseQueryString("host=api-%2A&q=failed+password&cursor=10&&");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q.value().at("host"), "api-*");
  EXPECT_EQ(q.value().at("q"), "failed password");
  EXPECT_FALSE(ParseQueryString("a=%zz").ok());
  EXPECT_FALSE(ParseQueryString("a=%4").ok());
  EXPECT_FALSE(ParseQueryString("a=1&a=2").ok());
}

TEST(EventsRequest, ValidatesParameters) {
  auto parse = [](const std::string& qs) {
    auto q = ParseQueryString(qs);
    EXPECT_TRUE(q.ok());
    return ParseEventsRequest(q.value(), 1'700'000'000'000'000, 1000, 10000);
  };
  auto r = parse("cursor=5&limit=10&format=cef&since=2023-11-14T00:00:00Z");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r.value().cursor, 5u);
  EXPECT_EQ(r.value().limit, 10u);
  EXPECT_EQ(r.value().format, ExportFormat::kCef);
  EXPECT_EQ(parse("").value().limit, 1000u);
  EXPECT_FALSE(parse("cursor=-1").ok());
  EXPECT_FALSE(parse("cursor=abc").ok());
  EXPECT_FALSE(parse("cursor=99999999999999999999999").ok());
  EXPECT_FALSE(parse("limit=0").ok());
  EXPECT_FALSE(parse("limit=10001").ok());
  EXPECT_FALSE(parse("since=tomorrowish").ok());
  // Times that do not exist: no day 30 in February, no offset of 25 hours.
  EXPECT_FALSE(parse("since=2026-02-30T00:00:00%2B25:00").ok());
  EXPECT_FALSE(parse("since=2026-02-30T00:00:00Z").ok());
  EXPECT_FALSE(parse("until=2026-01-01T00:00:00-24:00").ok());
  EXPECT_FALSE(parse("format=xml").ok());
  EXPECT_FALSE(parse("colour=red").ok());
}

TEST(IntegrityRequest, ValidatesParameters) {
  constexpr int64_t kNow = 1'700'000'000'000'000;
  auto parse = [](const std::string& qs) {
    auto q = ParseQueryString(qs);
    EXPECT_TRUE(q.ok());
    return ParseIntegrityRequest(q.value(), kNow, 1000, 10000);
  };
  auto r = parse("since=2h&host=api-*&kind=gap&limit=5&format=ndjson");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r.value().since_us, kNow - 7'200'000'000);
  EXPECT_EQ(r.value().until_us, INT64_MAX);
  EXPECT_EQ(r.value().host, "api-*");
  EXPECT_EQ(r.value().kind, "gap");
  EXPECT_EQ(r.value().limit, 5u);
  EXPECT_TRUE(r.value().ndjson);
  EXPECT_FALSE(parse("since=1h").value().ndjson);
  EXPECT_EQ(parse("").status().message(),
            "since is required (RFC 3339 or a duration like 24h, 7d)");
  EXPECT_FALSE(parse("since=soon").ok());
  EXPECT_FALSE(parse("since=1h&limit=0").ok());
  EXPECT_FALSE(parse("since=1h&limit=10001").ok());
  EXPECT_FALSE(parse("since=1h&format=cef").ok());
  EXPECT_FALSE(parse("since=1h&cursor=3").ok());
}

TEST(VerifyRequest, OneHostByName) {
  auto parse = [](const std::string& qs) {
    return ParseVerifyRequest(ParseQueryString(qs).value());
  };
  EXPECT_EQ(parse("host=web-1.example").value(), "web-1.example");
  EXPECT_FALSE(parse("").ok());
  EXPECT_FALSE(parse("host=").ok());
  EXPECT_FALSE(parse("host=web-*").ok());
  EXPECT_FALSE(parse("host=web-1&since=1h").ok());
}

TEST(Prometheus, HelpOncePerNameAndEscapedLabels) {
  const std::string text = PrometheusText({
      {"source_events_total", "events per host", "counter", 3, PrometheusLabel("host", "a")},
      {"source_events_total", "events per host", "counter", 4, PrometheusLabel("host", "b\"c\\")},
      {"commit_seconds_total", "time", "counter", 0.25},
  });
  EXPECT_EQ(text,
            "# HELP trailkeep_source_events_total events per host\n"
            "# TYPE trailkeep_source_events_total counter\n"
            "trailkeep_source_events_total{host=\"a\"} 3\n"
            "trailkeep_source_events_total{host=\"b\\\"c\\\\\"} 4\n"
            "# HELP trailkeep_commit_seconds_total time\n"
            "# TYPE trailkeep_commit_seconds_total counter\n"
            "trailkeep_commit_seconds_total 0.25\n");
}

TEST(Prometheus, HistogramSamplesShareOneFamilyHeader) {
  const std::string text = PrometheusText({
      {"commit_duration_seconds_bucket", "durations", "histogram", 2,
       PrometheusLabel("le", "0.001")},
      {"commit_duration_seconds_bucket", "durations", "histogram", 3,
       PrometheusLabel("le", "+Inf")},
      {"commit_duration_seconds_sum", "durations", "histogram", 0.5},
      {"commit_duration_seconds_count", "durations", "histogram", 3},
      {"events_count", "not a histogram", "counter", 1},
  });
  EXPECT_EQ(text,
            "# HELP trailkeep_commit_duration_seconds durations\n"
            "# TYPE trailkeep_commit_duration_seconds histogram\n"
            "trailkeep_commit_duration_seconds_bucket{le=\"0.001\"} 2\n"
            "trailkeep_commit_duration_seconds_bucket{le=\"+Inf\"} 3\n"
            "trailkeep_commit_duration_seconds_sum 0.5\n"
            "trailkeep_commit_duration_seconds_count 3\n"
            "# HELP trailkeep_events_count not a histogram\n"
            "# TYPE trailkeep_events_count counter\n"
            "trailkeep_events_count 1\n");
}

TEST(Authorization, BearerSchemeIsCaseInsensitive) {
  for (const char* v : {"Bearer tk_abc", "bearer tk_abc", "BEARER tk_abc", "Bearer   tk_abc  "}) {
    SCOPED_TRACE(v);
    auto t = BearerToken(v);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t.value(), "tk_abc");
  }
  EXPECT_EQ(BearerToken("Bearer a-b.c_d~e+f/g==").value(), "a-b.c_d~e+f/g==");
  for (const char* v : {"", "Bearer", "Bearer ", "Bearer  ", "Bearertk_abc",
                        "Basic dXNlcg==", "Bearer tk abc", "Bearer tk\"abc", "Bearer\ttk_abc"}) {
    SCOPED_TRACE(v);
    EXPECT_FALSE(BearerToken(v).ok());
  }
}

TEST(Authorization, RowsAreFilteredByStoredHost) {
  ApiPrincipal p{"web", "token", kAllScopes, {"*-web-*"}};
  // The requested glob passes as text, yet selects other hosts: rows decide.
  EXPECT_TRUE(p.HostPatternAllowed("*[!-web-]*"));
  EXPECT_TRUE(p.MaySee("a-web-1"));
  EXPECT_FALSE(p.MaySee("db-1"));
  EXPECT_FALSE(p.MaySee("secret-1"));
  ApiPrincipal q{"webq", "token", kAllScopes, {"web-?"}};
  EXPECT_TRUE(q.HostPatternAllowed("web-*"));
  EXPECT_TRUE(q.MaySee("web-1"));
  for (const char* h : {"web-10", "web-secret", "web-5.evil"}) EXPECT_FALSE(q.MaySee(h)) << h;
  EXPECT_TRUE((ApiPrincipal{"all", "token", kAllScopes, {}}.MaySee("anything")));
}

TEST(RedactTarget, KeepsKnownParametersOnly) {
  EXPECT_EQ(RedactTarget("/v1/events"), "/v1/events");
  EXPECT_EQ(RedactTarget("/v1/events?host=web-1&cursor=5"), "/v1/events?host=web-1&cursor=5");
  EXPECT_EQ(RedactTarget("/v1/events?access_token=s3cret&host=web-1"),
            "/v1/events?access_token=REDACTED&host=web-1");
  EXPECT_EQ(RedactTarget("/v1/hosts?tk_s3cret"), "/v1/hosts?REDACTED");
  EXPECT_EQ(RedactTarget("/v1/hosts?tk_s3cret=1&Token=x"), "/v1/hosts?REDACTED&REDACTED");
  EXPECT_EQ(RedactTarget("/v1/tail?q=%zz&password=hunter2"), "/v1/tail?q=%zz&password=REDACTED");
  EXPECT_EQ(RedactTarget("/metrics?"), "/metrics?");
  EXPECT_EQ(RedactTarget("/v1/events?host=a&&key=k"), "/v1/events?host=a&&key=REDACTED");
}

TEST(Prometheus, RestrictedCallersSeeTheirHostsSamplesOnly) {
  std::vector<Metric> all = {
      {"events_committed_total", "fleet", "counter", 9},
      {"integrity_events_total", "fleet", "counter", 3, PrometheusLabel("kind", "bad_mac")},
      {"source_events_total", "per host", "counter", 1, PrometheusLabel("host", "web-1"), "web-1"},
      {"source_events_total", "per host", "counter", 2, PrometheusLabel("host", "db-1"), "db-1"},
      {"tunnel_up", "per tunnel", "gauge", 1, PrometheusLabel("tunnel", "secret-vault-7"),
       "secret-vault-7"},
      {"tunnel_up", "per tunnel", "gauge", 0, PrometheusLabel("tunnel", "web-7"), "web-7"},
  };
  ApiPrincipal web{"web", "token", kScopeAdmin, {"web-?"}};
  const auto may_see = [&](const std::string& h) { return web.MaySee(h); };
  const std::string text = PrometheusText(VisibleMetrics(all, true, may_see));
  EXPECT_EQ(text,
            "# HELP trailkeep_source_events_total per host\n"
            "# TYPE trailkeep_source_events_total counter\n"
            "trailkeep_source_events_total{host=\"web-1\"} 1\n"
            "# HELP trailkeep_tunnel_up per tunnel\n"
            "# TYPE trailkeep_tunnel_up gauge\n"
            "trailkeep_tunnel_up{tunnel=\"web-7\"} 0\n");
  EXPECT_EQ(VisibleMetrics(all, false, may_see).size(), all.size());
}

}  // namespace
}  // namespace trailkeep
