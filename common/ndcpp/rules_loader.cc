#include "common/ndcpp/rules_loader.h"

#include <algorithm>
#include <set>
#include <string>

#include "common/ndcpp/rule_pattern.h"
#include "common/ndcpp/rule_validation.h"
#include "common/ndcpp/sfr.h"

namespace trailkeep::ndcpp {
namespace {

int LineOf(const toml::node& n) { return static_cast<int>(n.source().begin.line); }

// The rules of one document: each key's shape, then its value's validity.
class RuleReader {
 public:
  explicit RuleReader(TomlReader* reader) : reader_(reader) {}

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
        ok &= Msg(v, rule);
      } else if (key == "sd_id") {
        ok &= String(v, key, &rule->sd_id);
      } else if (key == "sd") {
        ok &= Sd(v, rule);
      } else if (key == "refs") {
        has_refs = true;
        ok &= Refs(v, rule);
      } else if (key == "audit_type") {
        ok &= AuditTypes(v, rule);
      } else if (key == "audit_fields") {
        ok &= AuditFields(v, rule);
      } else if (key == "description") {
        has_description = true;
        if (String(v, key, &rule->description) && rule->description.empty()) {
          Error(v, "'description' must not be empty");
          ok = false;
        }
      } else {
        Error(v, "unknown key '" + key +
                     "' (known: name, app, msgid, msg, sd_id, sd, audit_type, audit_fields, "
                     "refs, description)");
        ok = false;
      }
    }
    for (std::string& e : MissingParts(*rule, has_refs, has_description)) {
      reader_->Error(line, std::move(e));
      ok = false;
    }
    return ok;
  }

 private:
  void Error(const toml::node& node, std::string message) {
    reader_->Error(LineOf(node), std::move(message));
  }
  // Reports `error` unless it is "" (valid); returns whether it was.
  bool Check(const toml::node& node, std::string error) {
    if (error.empty()) return true;
    Error(node, std::move(error));
    return false;
  }

  // A string, or an array of non-empty strings, into `out`.
  bool StringList(const toml::node& node, const std::string& key, std::vector<std::string>* out) {
    if (const auto* s = node.as_string()) {
      if (s->get().empty()) {
        Error(node, "'" + key + "' must not be empty");
        return false;
      }
      out->push_back(s->get());
      return true;
    }
    const auto* arr = node.as_array();
    if (arr == nullptr) {
      Error(node, "'" + key + "' must be a string or an array of strings");
      return false;
    }
    if (arr->empty()) {
      Error(node, "'" + key + "' must not be an empty array");
      return false;
    }
    bool ok = true;
    for (const toml::node& el : *arr) {
      const auto* s = el.as_string();
      if (s == nullptr || s->get().empty()) {
        Error(el, "'" + key + "' entries must be non-empty strings");
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
      Error(node, "'" + key + "' must be a string");
      return false;
    }
    *out = s->get();
    return true;
  }

  bool Msg(const toml::node& v, Rule* rule) {
    if (!String(v, "msg", &rule->msg)) return false;
    if (rule->msg.empty()) {
      Error(v, "'msg' must not be empty (leave it out to match any MSG)");
      return false;
    }
    return Check(v, PatternError("'msg'", rule->msg));
  }

  // sd = { PARAM = "pattern", ... }
  bool Sd(const toml::node& v, Rule* rule) {
    const auto* sd = v.as_table();
    if (sd == nullptr) {
      Error(v, "'sd' must be a table of SD-PARAM name = regular expression");
      return false;
    }
    bool ok = true;
    for (auto&& [pk, pv] : *sd) {
      Rule::SdCondition c;
      c.param = std::string(pk.str());
      if (!String(pv, "sd." + c.param, &c.pattern) ||
          !Check(pv, PatternError("'sd." + c.param + "'", c.pattern))) {
        ok = false;
        continue;
      }
      c.re = std::make_shared<const RE2>(c.pattern, RulePatternOptions());
      rule->sd.push_back(std::move(c));
    }
    return ok;
  }

  // refs = [SFR names or aliases]: canonical names, each once.
  bool Refs(const toml::node& v, Rule* rule) {
    std::vector<std::string> names;
    if (!StringList(v, "refs", &names)) return false;
    const auto* arr = v.as_array();
    bool ok = true;
    for (size_t i = 0; i < names.size(); ++i) {
      const toml::node& at = arr != nullptr ? (*arr)[i] : v;
      auto canonical = CanonicalSfr(names[i]);
      if (!canonical) {
        Error(at, "unknown SFR '" + names[i] + "' (see common/ndcpp/sfr.cc)");
        ok = false;
        continue;
      }
      if (std::find(rule->refs.begin(), rule->refs.end(), *canonical) == rule->refs.end()) {
        rule->refs.push_back(*canonical);
      }
    }
    return ok;
  }

  bool AuditTypes(const toml::node& v, Rule* rule) {
    if (!StringList(v, "audit_type", &rule->audit_types)) return false;
    bool ok = true;
    for (const std::string& type : rule->audit_types) ok &= Check(v, AuditTypeError(type));
    return ok;
  }

  // audit_fields = { name = "value" | ["value", ...], ... } into rule->audit_fields.
  bool AuditFields(const toml::node& node, Rule* rule) {
    const auto* t = node.as_table();
    if (t == nullptr) {
      Error(node, "'audit_fields' must be a table of field name = value or [values]");
      return false;
    }
    if (t->empty() || t->size() > kMaxAuditFields) {
      Error(node, "'audit_fields' must name 1 to " + std::to_string(kMaxAuditFields) + " fields");
      return false;
    }
    bool ok = true;
    for (auto&& [fk, fv] : *t) {
      Rule::AuditFieldCondition c;
      c.name = std::string(fk.str());
      const std::string what = "audit_fields." + c.name;
      if (!Check(fv, AuditFieldNameError(what, c.name)) || !StringList(fv, what, &c.values)) {
        ok = false;
        continue;
      }
      for (const std::string& value : c.values)
        ok &= Check(fv, AuditFieldValueError(what, c.name, value));
      rule->audit_fields.push_back(std::move(c));
    }
    return ok;
  }

  TomlReader* reader_;
};

}  // namespace

void ReadRules(const toml::table& root, TomlReader* reader, std::vector<Rule>* rules) {
  RuleReader rule_reader(reader);
  std::set<std::string, std::less<>> names;
  for (auto&& [k, v] : root) {
    const std::string key(k.str());
    if (key == "version") {
      const auto* i = v.as_integer();
      if (i == nullptr || i->get() != 1) reader->Error(LineOf(v), "'version' must be 1");
      continue;
    }
    if (key != "rule") {
      reader->Error(LineOf(v), "unknown top-level key '" + key + "' (known: version, rule)");
      continue;
    }
    const auto* arr = v.as_array();
    if (arr == nullptr) {
      reader->Error(LineOf(v), "'rule' must be an array of tables ([[rule]])");
      continue;
    }
    for (const toml::node& el : *arr) {
      const auto* t = el.as_table();
      if (t == nullptr) {
        reader->Error(LineOf(el), "'rule' entries must be tables");
        continue;
      }
      Rule rule;
      const bool ok = rule_reader.ParseRule(*t, LineOf(el), &rule);
      if (!rule.name.empty() && !names.insert(rule.name).second) {
        reader->Error(rule.line, "duplicate rule name '" + rule.name + "'");
        continue;
      }
      if (ok) rules->push_back(std::move(rule));
    }
  }
}

}  // namespace trailkeep::ndcpp
