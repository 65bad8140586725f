// The NDcPP rules file (ndcpp::RuleSet::LoadString): TOML, RE2 patterns,
// SFR names, audit conditions; a rule set that loads then classifies a few
// events (syslog and grouped auditd), as the collector does after SIGHUP.
// Input: the file's text.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/ndcpp/rules.h"
#include "tests/fuzz/fuzz_check.h"
#include "trailkeep/v1/record.pb.h"

namespace {

std::vector<trailkeep::v1::Event> Samples() {
  std::vector<trailkeep::v1::Event> events(3);
  events[0].set_app_name("sshd");
  events[0].set_msg("Failed password for root from 192.0.2.7 port 50514 ssh2");
  events[1].set_app_name("/usr/sbin/opensips");
  events[1].set_msgid("LOGIN");
  auto* sd = events[1].add_structured_data();
  sd->set_id("junos@2636.1.1.1.2.164");
  auto* param = sd->add_params();
  param->set_name("username");
  param->set_value("root");
  events[2].set_app_name("auditd");
  events[2].set_msgid("SYSCALL");
  auto* rec = events[2].mutable_audit()->add_records();
  rec->set_type("SYSCALL");
  rec->set_text(
      "type=SYSCALL msg=audit(1.1:2): arch=c000003e syscall=227 success=yes exit=0 uid=0");
  auto* field = rec->add_fields();
  field->set_name("syscall");
  field->set_raw("227");
  field->set_value("clock_settime");
  return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<trailkeep::v1::Event> samples = Samples();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> errors;
  auto rules = trailkeep::ndcpp::RuleSet::LoadString(text, "rules.toml", &errors);
  if (!rules.ok()) {
    FUZZ_CHECK(!errors.empty());
    return 0;
  }
  for (const auto& sample : samples) {
    trailkeep::v1::Event event = sample;
    (void)rules.value()->Classify(&event);
  }
  return 0;
}
