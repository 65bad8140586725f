// RouteRequest: the HTTPS API's method + target -> endpoint, scope and
// parameters, and the refusals decided before any authentication.
#include "server/sinks/api_router.h"

#include <gtest/gtest.h>

namespace trailkeep {
namespace {

TEST(ApiRouter, EveryEndpointWithItsScope) {
  struct Case {
    const char* target;
    ApiEndpoint endpoint;
    ApiScope scope;
    bool takes_parameters;
  };
  const Case cases[] = {
      {"/v1/events?cursor=5", ApiEndpoint::kEvents, kScopeExport, true},
      {"/v1/tail", ApiEndpoint::kTail, kScopeTail, true},
      {"/v1/hosts", ApiEndpoint::kHosts, kScopeAdmin, false},
      {"/metrics", ApiEndpoint::kMetrics, kScopeAdmin, false},
      {"/v1/integrity?since=1h", ApiEndpoint::kIntegrity, kScopeAdmin, true},
      {"/v1/verify?host=a", ApiEndpoint::kVerify, kScopeAdmin, true},
      {"/v1/report/auth?failed=true", ApiEndpoint::kReport, kScopeAdmin, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.target);
    const RoutedRequest r = RouteRequest("GET", c.target);
    ASSERT_TRUE(r.ok()) << r.refusal;
    EXPECT_EQ(r.route.endpoint, c.endpoint);
    EXPECT_EQ(r.route.scope, c.scope);
    EXPECT_EQ(r.route.takes_parameters, c.takes_parameters);
  }
}

TEST(ApiRouter, PathParametersAndReportName) {
  const RoutedRequest r = RouteRequest("GET", "/v1/report/ndcpp?since=7d&host=web%2A");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.route.path, "/v1/report/ndcpp");
  EXPECT_EQ(r.route.report_name, "ndcpp");
  EXPECT_EQ(r.route.params, (QueryParams{{"since", "7d"}, {"host", "web*"}}));
  // Parameters on a parameterless endpoint are routed; the session refuses
  // them after authentication.
  const RoutedRequest m = RouteRequest("GET", "/metrics?x=1");
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(m.route.takes_parameters);
  EXPECT_EQ(m.route.params.size(), 1u);
}

TEST(ApiRouter, RefusalsInOrder) {
  // The method first, whatever the target.
  RoutedRequest r = RouteRequest("PUT", "/nowhere?%zz");
  EXPECT_EQ(r.refusal_status, 405u);
  EXPECT_EQ(r.refusal, "only GET and POST are supported");
  EXPECT_EQ(RouteRequest("get", "/v1/events").refusal_status, 405u);  // methods are case-sensitive
  // Then the query string, even on an unknown path.
  r = RouteRequest("GET", "/nowhere?a=%zz");
  EXPECT_EQ(r.refusal_status, 400u);
  EXPECT_FALSE(r.refusal.empty());
  // Then the path.
  r = RouteRequest("GET", "/v1/event?cursor=1");
  EXPECT_EQ(r.refusal_status, 404u);
  EXPECT_EQ(r.refusal, "no such endpoint: /v1/event");
  EXPECT_EQ(RouteRequest("GET", "/v1/events/").refusal_status, 404u);
  EXPECT_EQ(RouteRequest("GET", "").refusal_status, 404u);
  // Then the endpoint's own method.
  r = RouteRequest("POST", "/v1/events?cursor=1");
  EXPECT_EQ(r.refusal_status, 405u);
  EXPECT_EQ(r.refusal, "/v1/events takes GET only");
  EXPECT_EQ(RouteRequest("GET", "/v1/backup").refusal_status, 405u);
  EXPECT_EQ(RouteRequest("POST", "/v1/report/auth").refusal_status, 405u);
}

TEST(ApiRouter, BackupIsAPostForAdmins) {
  const RoutedRequest r = RouteRequest("POST", "/v1/backup");
  ASSERT_TRUE(r.ok()) << r.refusal;
  EXPECT_EQ(r.route.endpoint, ApiEndpoint::kBackup);
  EXPECT_EQ(r.route.scope, kScopeAdmin);
  EXPECT_FALSE(r.route.takes_parameters);
}

}  // namespace
}  // namespace trailkeep
