#include "common/ndcpp/rules.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <re2/re2.h>
#include <re2/set.h>
#include <unistd.h>

#include "common/audit/audit_record.h"
#include "common/config/toml_reader.h"
#include "common/ndcpp/pattern_anchor.h"
#include "common/ndcpp/sfr.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep::ndcpp {

struct RuleSet::Bucket {
  std::vector<int> always;  // rules of this bucket without a msg pattern
  // msg patterns that can match only at the start of MSG (pattern_anchor.h),
  // in a set anchored there: its scan ends where no pattern can match.
  std::unique_ptr<re2::RE2::Set> anchored;  // null when there are none
  std::vector<int> anchored_rule;           // set index -> rule index
  // The other msg patterns: this scan reads the whole MSG.
  std::unique_ptr<re2::RE2::Set> set;  // null when there are none
  std::vector<int> set_rule;           // set index -> rule index
};

namespace {

RE2::Options PatternOptions() {
  RE2::Options o;
  o.set_log_errors(false);
  return o;
}

int LineOf(const toml::node& n) { return static_cast<int>(n.source().begin.line); }

// A rule holds at most this many audit_fields (a bit each while matching).
constexpr size_t kMaxAuditFields = 64;

bool AllOf(std::string_view s, bool (*pred)(char)) {
  return !s.empty() && std::all_of(s.begin(), s.end(), pred);
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHexDigit(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
// Record types as auditd prints them: SYSCALL, USER_AUTH, UNKNOWN[1334].
bool IsRecordTypeChar(char c) {
  return (c >= 'A' && c <= 'Z') || IsDigit(c) || c == '_' || c == '[' || c == ']';
}

class Loader {
 public:
  explicit Loader(std::string source) : reader_(std::move(source), "") {}

  TomlReader& reader() { return reader_; }
  void Error(int line, const std::string& message) { reader_.Error(line, message); }
  bool ok() const { return reader_.ok(); }

  // A string, or an array of non-empty strings, into `out`.
  bool StringList(const toml::node& node, const std::string& key, std::vector<std::string>* out) {
    if (const auto* s = node.as_string()) {
      if (s->get().empty()) {
        Error(LineOf(node), "'" + key + "' must not be empty");
        return false;
      }
      out->push_back(s->get());
      return true;
    }
    const auto* arr = node.as_array();
    if (arr == nullptr) {
      Error(LineOf(node), "'" + key + "' must be a string or an array of strings");
      return false;
    }
    if (arr->empty()) {
      Error(LineOf(node), "'" + key + "' must not be an empty array");
      return false;
    }
    bool ok = true;
    for (const toml::node& el : *arr) {
      const auto* s = el.as_string();
      if (s == nullptr || s->get().empty()) {
        Error(LineOf(el), "'" + key + "' entries must be non-empty strings");
        ok = false;
        continue;
      }
      out->push_back(s->get());
    }
    return ok;
  }

  bool String(const toml::node& node, const std::string& key, std::string* out) {
    const auto* s = node.as_string();
    if (s == nullptr) {
      Error(LineOf(node), "'" + key + "' must be a string");
      return false;
    }
    *out = s->get();
    return true;
  }

  bool Pattern(const toml::node& node, const std::string& what, const std::string& pattern) {
    RE2 re(pattern, PatternOptions());
    if (!re.ok()) {
      Error(LineOf(node), "bad regular expression in " + what + ": " + re.error());
      return false;
    }
    return true;
  }

  bool ParseRule(const toml::table& t, int line, Rule* rule) {
    rule->line = line;
    bool ok = true;
    bool has_refs = false, has_description = false;
    for (auto&& [k, v] : t) {
      const std::string key(k.str());
      if (key == "name") {
        ok &= String(v, key, &rule->name);
      } else if (key == "app") {
        ok &= StringList(v, key, &rule->apps);
        for (std::string& a : rule->apps) a = std::string(RuleAppName(a));
      } else if (key == "msgid") {
        ok &= StringList(v, key, &rule->msgids);
      } else if (key == "msg") {
        if (String(v, key, &rule->msg)) {
          if (rule->msg.empty()) {
            Error(LineOf(v), "'msg' must not be empty (leave it out to match any MSG)");
            ok = false;
          } else {
            ok &= Pattern(v, "'msg'", rule->msg);
          }
        } else {
          ok = false;
        }
      } else if (key == "sd_id") {
        ok &= String(v, key, &rule->sd_id);
      } else if (key == "sd") {
        const auto* sd = v.as_table();
        if (sd == nullptr) {
          Error(LineOf(v), "'sd' must be a table of SD-PARAM name = regular expression");
          ok = false;
          continue;
        }
        for (auto&& [pk, pv] : *sd) {
          Rule::SdCondition c;
          c.param = std::string(pk.str());
          if (!String(pv, "sd." + c.param, &c.pattern) ||
              !Pattern(pv, "'sd." + c.param + "'", c.pattern)) {
            ok = false;
            continue;
          }
          c.re = std::make_shared<const RE2>(c.pattern, PatternOptions());
          rule->sd.push_back(std::move(c));
        }
      } else if (key == "refs") {
        has_refs = true;
        std::vector<std::string> names;
        if (!StringList(v, key, &names)) {
          ok = false;
          continue;
        }
        const auto* arr = v.as_array();
        for (size_t i = 0; i < names.size(); ++i) {
          const int ref_line = arr != nullptr ? LineOf((*arr)[i]) : LineOf(v);
          auto canonical = CanonicalSfr(names[i]);
          if (!canonical) {
            Error(ref_line, "unknown SFR '" + names[i] + "' (see common/ndcpp/sfr.cc)");
            ok = false;
            continue;
          }
          if (std::find(rule->refs.begin(), rule->refs.end(), *canonical) == rule->refs.end()) {
            rule->refs.push_back(*canonical);
          }
        }
      } else if (key == "audit_type") {
        if (StringList(v, key, &rule->audit_types)) {
          for (const std::string& type : rule->audit_types) {
            if (!AllOf(type, IsRecordTypeChar)) {
              Error(LineOf(v), "'audit_type' '" + type +
                                   "' is not a record type as auditd writes it (SYSCALL, "
                                   "USER_AUTH, UNKNOWN[1334], ...)");
              ok = false;
            }
          }
        } else {
          ok = false;
        }
      } else if (key == "audit_fields") {
        ok &= AuditFields(v, rule);
      } else if (key == "description") {
        has_description = true;
        if (String(v, key, &rule->description) && rule->description.empty()) {
          Error(LineOf(v), "'description' must not be empty");
          ok = false;
        }
      } else {
        Error(LineOf(v),
              "unknown key '" + key +
                  "' (known: name, app, msgid, msg, sd_id, sd, audit_type, audit_fields, "
                  "refs, description)");
        ok = false;
      }
    }
    if (rule->name.empty()) {
      Error(line, "rule has no 'name'");
      ok = false;
    }
    if (!has_refs) {
      Error(line, "rule '" + rule->name + "' has no 'refs'");
      ok = false;
    }
    if (!has_description) {
      Error(line, "rule '" + rule->name + "' has no 'description'");
      ok = false;
    }
    if (rule->apps.empty() && rule->msgids.empty() && rule->msg.empty() && rule->sd_id.empty() &&
        rule->sd.empty() && rule->audit_types.empty() && rule->audit_fields.empty()) {
      Error(line,
            "rule '" + rule->name +
                "' has no condition (app, msgid, msg, sd_id, sd, audit_type or audit_fields)");
      ok = false;
    }
    return ok;
  }

  // audit_fields = { name = "value" | ["value", ...], ... } into rule->audit_fields.
  bool AuditFields(const toml::node& node, Rule* rule) {
    const auto* t = node.as_table();
    if (t == nullptr) {
      Error(LineOf(node), "'audit_fields' must be a table of field name = value or [values]");
      return false;
    }
    if (t->empty() || t->size() > kMaxAuditFields) {
      Error(LineOf(node),
            "'audit_fields' must name 1 to " + std::to_string(kMaxAuditFields) + " fields");
      return false;
    }
    bool ok = true;
    for (auto&& [fk, fv] : *t) {
      Rule::AuditFieldCondition c;
      c.name = std::string(fk.str());
      const std::string what = "audit_fields." + c.name;
      if (c.name.empty() || c.name.find_first_of(" =\"'") != std::string::npos) {
        Error(LineOf(fv), "'" + what + "' is not an audit field name");
        ok = false;
        continue;
      }
      if (!StringList(fv, what, &c.values)) {
        ok = false;
        continue;
      }
      // The values are compared with the interpreted field: a number where
      // auditd's interpretation gives a name would never match.
      for (const std::string& value : c.values) {
        if (c.name == "syscall" && AllOf(value, IsDigit)) {
          Error(LineOf(fv), "'" + what +
                                "' takes syscall names (the record's arch decides "
                                "the number: `ausyscall ARCH " +
                                value + "`), not '" + value + "'");
          ok = false;
        } else if (c.name == "arch" && value.size() == 8 && AllOf(value, IsHexDigit)) {
          Error(LineOf(fv), "'" + what + "' takes arch names (x86_64, aarch64, i386, ...), not '" +
                                value + "'");
          ok = false;
        }
      }
      rule->audit_fields.push_back(std::move(c));
    }
    return ok;
  }

 private:
  TomlReader reader_;  // parses, and keeps the errors with their lines
};

bool Contains(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

bool HasAuditCondition(const Rule& r) { return !r.audit_types.empty() || !r.audit_fields.empty(); }

// Whether one record has every field of `conditions` with one of its values:
// the interpreted value (record.fields(), in the order of the text's fields)
// where the field has one, else the raw value from the record text.
bool RecordFieldsHold(const std::vector<Rule::AuditFieldCondition>& conditions,
                      const v1::AuditRecord& record) {
  if (conditions.empty()) return true;
  audit::AuditRecord parsed;
  if (!audit::ParseAuditRecord(record.text(), &parsed)) return false;
  struct Walk {
    const std::vector<Rule::AuditFieldCondition>& conditions;
    const v1::AuditRecord& record;
    int next_interpreted = 0;
    uint64_t held = 0;
  } walk{conditions, record};
  // One reference captured: std::function keeps it inline, no allocation.
  audit::ForEachAuditField(parsed.body, [&walk](const audit::AuditFieldView& f) {
    std::string_view value = f.value;
    if (!f.quoted && walk.next_interpreted < walk.record.fields_size()) {
      const v1::AuditField& i = walk.record.fields(walk.next_interpreted);
      if (i.name() == f.key && i.raw() == f.value) {
        value = i.value();
        ++walk.next_interpreted;
      }
    }
    for (size_t c = 0; c < walk.conditions.size(); ++c) {
      if (walk.conditions[c].name == f.key && Contains(walk.conditions[c].values, value)) {
        walk.held |= uint64_t{1} << c;
      }
    }
  });
  const uint64_t all =
      conditions.size() == kMaxAuditFields ? ~uint64_t{0} : (uint64_t{1} << conditions.size()) - 1;
  return walk.held == all;
}

}  // namespace

std::string_view RuleAppName(std::string_view app_name) {
  const size_t slash = app_name.rfind('/');
  return slash == std::string_view::npos ? app_name : app_name.substr(slash + 1);
}

RuleSet::RuleSet() = default;
RuleSet::~RuleSet() = default;

Result<std::shared_ptr<const RuleSet>> RuleSet::LoadFile(const std::string& path,
                                                         std::vector<std::string>* errors) {
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;  // what ifstream's open(2) left
    std::string e = "cannot read the rules file " + path + ": " +
                    (err != 0 ? std::strerror(err) : "cannot open it") +
                    " ([ndcpp] rules_file; \"none\" turns classification off)";
    if (errors != nullptr) errors->push_back(e);
    return Status::NotFound(e);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return LoadString(ss.str(), path, errors);
}

Result<std::shared_ptr<const RuleSet>> RuleSet::LoadString(std::string_view text,
                                                           const std::string& source,
                                                           std::vector<std::string>* errors) {
  Loader loader(source);
  std::shared_ptr<RuleSet> rs(new RuleSet());
  std::optional<toml::table> parsed = loader.reader().Parse(text);
  const toml::table root = parsed ? std::move(*parsed) : toml::table{};
  std::set<std::string, std::less<>> names;
  if (loader.ok()) {
    for (auto&& [k, v] : root) {
      const std::string key(k.str());
      if (key == "version") {
        const auto* i = v.as_integer();
        if (i == nullptr || i->get() != 1) loader.Error(LineOf(v), "'version' must be 1");
        continue;
      }
      if (key != "rule") {
        loader.Error(LineOf(v), "unknown top-level key '" + key + "' (known: version, rule)");
        continue;
      }
      const auto* arr = v.as_array();
      if (arr == nullptr) {
        loader.Error(LineOf(v), "'rule' must be an array of tables ([[rule]])");
        continue;
      }
      for (const toml::node& el : *arr) {
        const auto* t = el.as_table();
        if (t == nullptr) {
          loader.Error(LineOf(el), "'rule' entries must be tables");
          continue;
        }
        Rule rule;
        const bool ok = loader.ParseRule(*t, LineOf(el), &rule);
        if (!rule.name.empty() && !names.insert(rule.name).second) {
          loader.Error(rule.line, "duplicate rule name '" + rule.name + "'");
          continue;
        }
        if (!ok) continue;
        rs->rules_.push_back(std::move(rule));
      }
    }
  }

  // Bucket by app and build one RE2::Set per bucket.
  if (loader.ok()) {
    rs->any_app_ = std::make_unique<Bucket>();
    auto add = [&](Bucket* b, int index) {
      const Rule& r = rs->rules_[static_cast<size_t>(index)];
      if (r.msg.empty()) {
        b->always.push_back(index);
        return;
      }
      const bool at_start = MatchesOnlyAtStart(r.msg);
      auto& set = at_start ? b->anchored : b->set;
      if (!set) {
        set = std::make_unique<RE2::Set>(PatternOptions(),
                                         at_start ? RE2::ANCHOR_START : RE2::UNANCHORED);
      }
      std::string error;
      if (set->Add(r.msg, &error) < 0) {
        loader.Error(r.line, "rule '" + r.name + "': " + error);
        return;
      }
      (at_start ? b->anchored_rule : b->set_rule).push_back(index);
    };
    for (size_t i = 0; i < rs->rules_.size(); ++i) {
      Rule& r = rs->rules_[i];
      if (HasAuditCondition(r)) {
        // Only grouped auditd events reach these, through their record types.
        if (!r.msg.empty()) r.audit_msg_re = std::make_shared<const RE2>(r.msg, PatternOptions());
        if (r.audit_types.empty()) rs->audit_any_.push_back(static_cast<int>(i));
        for (const std::string& type : r.audit_types) {
          auto& list = rs->by_audit_type_[type];
          // A type listed twice in one rule indexes it once.
          if (list.empty() || list.back() != static_cast<int>(i)) {
            list.push_back(static_cast<int>(i));
          }
        }
        continue;
      }
      if (r.apps.empty() && !r.msgids.empty()) {
        // Keyed on MSGID instead (Junos): its pattern runs only on those events.
        for (const std::string& msgid : r.msgids) {
          auto& b = rs->by_msgid_[msgid];
          if (!b) b = std::make_unique<Bucket>();
          add(b.get(), static_cast<int>(i));
        }
        continue;
      }
      if (r.apps.empty()) {
        add(rs->any_app_.get(), static_cast<int>(i));
        continue;
      }
      for (const std::string& app : r.apps) {
        auto& b = rs->by_app_[app];
        if (!b) b = std::make_unique<Bucket>();
        add(b.get(), static_cast<int>(i));
      }
    }
    auto compile = [&](Bucket* b, const std::string& what) {
      for (auto* set : {b->anchored.get(), b->set.get()}) {
        if (set != nullptr && !set->Compile()) {
          loader.Error(0, "cannot compile the patterns of " + what + " (RE2 memory limit)");
        }
      }
    };
    compile(rs->any_app_.get(), "rules without 'app'");
    for (auto& [app, b] : rs->by_app_) compile(b.get(), "app '" + app + "'");
    for (auto& [msgid, b] : rs->by_msgid_) compile(b.get(), "msgid '" + msgid + "'");
  }

  if (!loader.ok()) {
    // In line order (toml++ visits keys sorted by name), "source:line: message".
    const std::string all = loader.reader().ErrorText();
    if (errors != nullptr) {
      std::istringstream lines(all);
      for (std::string line; std::getline(lines, line);) errors->push_back(line);
    }
    return Status::InvalidArgument(all);
  }
  return std::shared_ptr<const RuleSet>(std::move(rs));
}

bool RuleSet::OtherConditionsHold(const Rule& rule, const v1::Event& event) const {
  if (!rule.msgids.empty() && !Contains(rule.msgids, event.msgid())) return false;
  if (!rule.sd_id.empty()) {
    bool found = false;
    for (const auto& el : event.structured_data()) found = found || el.id() == rule.sd_id;
    if (!found) return false;
  }
  for (const Rule::SdCondition& c : rule.sd) {
    bool matched = false;
    for (const auto& el : event.structured_data()) {
      if (!rule.sd_id.empty() && el.id() != rule.sd_id) continue;
      for (const auto& p : el.params()) {
        if (p.name() == c.param && RE2::PartialMatch(p.value(), *c.re)) {
          matched = true;
          break;
        }
      }
      if (matched) break;
    }
    if (!matched) return false;
  }
  return true;
}

void RuleSet::RunBucket(const Bucket& bucket, const v1::Event& event,
                        std::vector<int>* hits) const {
  for (int r : bucket.always) {
    if (OtherConditionsHold(rules_[static_cast<size_t>(r)], event)) hits->push_back(r);
  }
  // Reused per thread: the no-match case allocates nothing after warm-up.
  thread_local std::vector<int> set_hits;
  const std::pair<const re2::RE2::Set*, const std::vector<int>*> sets[] = {
      {bucket.anchored.get(), &bucket.anchored_rule}, {bucket.set.get(), &bucket.set_rule}};
  for (const auto& [set, set_rule] : sets) {
    set_hits.clear();
    if (set == nullptr || !set->Match(event.msg(), &set_hits)) continue;
    for (int i : set_hits) {
      const int r = (*set_rule)[static_cast<size_t>(i)];
      if (OtherConditionsHold(rules_[static_cast<size_t>(r)], event)) hits->push_back(r);
    }
  }
}

bool RuleSet::AuditRuleHolds(const Rule& rule, const v1::Event& event) const {
  if (!rule.apps.empty() && !Contains(rule.apps, RuleAppName(event.app_name()))) return false;
  bool record_holds = false;
  for (const v1::AuditRecord& record : event.audit().records()) {
    if (!rule.audit_types.empty() && !Contains(rule.audit_types, record.type())) continue;
    if (RecordFieldsHold(rule.audit_fields, record)) {
      record_holds = true;
      break;
    }
  }
  if (!record_holds || !OtherConditionsHold(rule, event)) return false;
  return rule.audit_msg_re == nullptr || RE2::PartialMatch(event.msg(), *rule.audit_msg_re);
}

void RuleSet::RunAuditRules(const v1::Event& event, std::vector<int>* hits) const {
  if (!event.has_audit() || (by_audit_type_.empty() && audit_any_.empty())) return;
  // Reused per thread, as in RunBucket.
  thread_local std::vector<int> candidates;
  candidates.assign(audit_any_.begin(), audit_any_.end());
  for (const v1::AuditRecord& record : event.audit().records()) {
    if (auto it = by_audit_type_.find(record.type()); it != by_audit_type_.end()) {
      candidates.insert(candidates.end(), it->second.begin(), it->second.end());
    }
  }
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  for (int r : candidates) {
    if (AuditRuleHolds(rules_[static_cast<size_t>(r)], event)) hits->push_back(r);
  }
}

void RuleSet::MatchInto(const v1::Event& event, std::vector<int>* hits) const {
  hits->clear();
  if (auto it = by_app_.find(RuleAppName(event.app_name())); it != by_app_.end()) {
    RunBucket(*it->second, event, hits);
  }
  if (!event.msgid().empty()) {
    if (auto it = by_msgid_.find(event.msgid()); it != by_msgid_.end()) {
      RunBucket(*it->second, event, hits);
    }
  }
  RunBucket(*any_app_, event, hits);
  RunAuditRules(event, hits);
  if (hits->size() > 1) {
    std::sort(hits->begin(), hits->end());
    hits->erase(std::unique(hits->begin(), hits->end()), hits->end());
  }
}

void RuleSet::Match(const v1::Event& event, std::vector<int>* rule_indices) const {
  MatchInto(event, rule_indices);
}

bool RuleSet::Classify(v1::Event* event) const {
  thread_local std::vector<int> hits;
  MatchInto(*event, &hits);
  if (hits.empty()) return false;
  for (int r : hits) {
    for (const std::string& ref : rules_[static_cast<size_t>(r)].refs) {
      const auto& existing = event->ndcpp_refs();
      if (std::find(existing.begin(), existing.end(), ref) == existing.end()) {
        event->add_ndcpp_refs(ref);
      }
    }
  }
  event->set_description(rules_[static_cast<size_t>(hits.front())].description);
  return true;
}

std::string DefaultRulesPath() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  const std::string exe(buf, static_cast<size_t>(n));
  const size_t slash = exe.rfind('/');
  if (slash == std::string::npos) return "";
  return exe.substr(0, slash) + "/../share/trailkeep/ndcpp_rules.toml";
}

}  // namespace trailkeep::ndcpp
