// What the reports show of a classified event beyond its stored fields:
// outcome, user and origin, read from the description the rule gave it and
// from the message's usual phrasing (sshd "for USER from ADDR", PAM
// "user=USER rhost=ADDR", auditd acct=/addr=, sudo "USER : TTY="). Best
// effort: "" when the message does not say.
#pragma once

#include <string>
#include <string_view>

namespace trailkeep::v1 {
class Event;
}

namespace trailkeep {

enum class Outcome { kSuccess, kFailure, kUnknown };

Outcome OutcomeOf(const v1::Event& e);
std::string_view OutcomeName(Outcome o);
// A login attempt or the end of a login session (the logins report).
bool IsLoginEvent(const v1::Event& e);

struct EventFacts {
  std::string user;
  std::string origin;
};
EventFacts FactsOf(const v1::Event& e);

}  // namespace trailkeep
