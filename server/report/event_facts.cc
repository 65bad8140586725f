#include "server/report/event_facts.h"

#include "server/store/event_query.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

bool HasRef(const v1::Event& e, std::string_view prefix) {
  for (const auto& r : e.ndcpp_refs()) {
    if (std::string_view(r).substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

// The token after `marker` in `msg` (up to a space, quote, comma or ';').
std::string TokenAfter(std::string_view msg, std::string_view marker) {
  const size_t at = msg.find(marker);
  if (at == std::string_view::npos) return "";
  std::string_view rest = msg.substr(at + marker.size());
  if (!rest.empty() && rest.front() == '"') rest.remove_prefix(1);
  const size_t end = rest.find_first_of(" \"',;]");
  std::string token(rest.substr(0, end));
  return token == "?" ? "" : token;
}

// First non-empty token after any of `markers`.
template <size_t N>
std::string FirstToken(std::string_view msg, const std::string_view (&markers)[N]) {
  for (std::string_view m : markers) {
    std::string t = TokenAfter(msg, m);
    if (!t.empty()) return t;
  }
  return "";
}

// sshd's "Accepted|Failed METHOD for [invalid user ]USER from ...", any METHOD.
std::string SshdUser(std::string_view msg) {
  for (std::string_view verb : {"Accepted ", "Failed "}) {
    if (msg.substr(0, verb.size()) != verb) continue;
    const size_t method_end = msg.find(' ', verb.size());
    if (method_end == std::string_view::npos) return "";
    std::string_view rest = msg.substr(method_end + 1);
    if (rest.substr(0, 4) != "for ") return "";
    rest.remove_prefix(4);
    if (rest.substr(0, 13) == "invalid user ") rest.remove_prefix(13);
    return std::string(rest.substr(0, rest.find(' ')));
  }
  return "";
}

}  // namespace

Outcome OutcomeOf(const v1::Event& e) {
  const std::string& d = e.description();
  if (d.empty()) return Outcome::kUnknown;
  static constexpr std::string_view kFailure[] = {"fail", "limit reached", "refused", "invalid",
                                                  "denied"};
  for (std::string_view w : kFailure) {
    if (ContainsIgnoreCase(d, w)) return Outcome::kFailure;
  }
  return Outcome::kSuccess;
}

std::string_view OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kSuccess:
      return "success";
    case Outcome::kFailure:
      return "failure";
    case Outcome::kUnknown:
      break;
  }
  return "-";
}

bool IsLoginEvent(const v1::Event& e) {
  if (HasRef(e, "FTA_SSL")) return true;
  return HasRef(e, "FIA_UIA_EXT.1") && ContainsIgnoreCase(e.description(), "login");
}

EventFacts FactsOf(const v1::Event& e) {
  const std::string_view msg = e.msg();
  static constexpr std::string_view kUser[] = {"Invalid user ",
                                               "authenticating user ",
                                               "invalid user ",
                                               "for user ",
                                               " user=",
                                               "acct=",
                                               "session opened for user ",
                                               "session closed for user ",
                                               "Disconnected from user ",
                                               "for illegal user ",
                                               "Authentication failure for ",
                                               "User "};
  static constexpr std::string_view kOrigin[] = {" from ", "rhost=", " addr=", "hostname="};
  EventFacts f;
  f.user = SshdUser(msg);
  if (f.user.empty()) f.user = FirstToken(msg, kUser);
  f.origin = FirstToken(msg, kOrigin);
  if (f.user.empty() && e.app_name() == "sudo") {
    const size_t colon = msg.find(" : ");
    if (colon != std::string_view::npos) f.user = std::string(msg.substr(0, colon));
  }
  return f;
}

}  // namespace trailkeep
