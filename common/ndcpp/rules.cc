#include "common/ndcpp/rules.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/config/toml_reader.h"
#include "common/ndcpp/rule_index.h"
#include "common/ndcpp/rule_match.h"
#include "common/ndcpp/rules_loader.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep::ndcpp {

std::string_view RuleAppName(std::string_view app_name) {
  const size_t slash = app_name.rfind('/');
  return slash == std::string_view::npos ? app_name : app_name.substr(slash + 1);
}

RuleSet::RuleSet() : index_(std::make_unique<RuleIndex>()) {}
RuleSet::~RuleSet() = default;

Result<std::shared_ptr<const RuleSet>> RuleSet::LoadFile(const std::string &path,
                                                         std::vector<std::string> *errors) {
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
                                                           const std::string &source,
                                                           std::vector<std::string> *errors) {
  TomlReader reader(source, "");
  std::shared_ptr<RuleSet> rs(new RuleSet());
  if (std::optional<toml::table> root = reader.Parse(text)) {
    ReadRules(*root, &reader, &rs->rules_);
  }
  if (reader.ok()) {
    rs->index_->Build(&rs->rules_,
                      [&reader](int line, std::string message) { reader.Error(line, message); });
  }
  if (!reader.ok()) {
    // In line order (toml++ visits keys sorted by name), "source:line:
    // message".
    const std::string all = reader.ErrorText();
    if (errors != nullptr) {
      std::istringstream lines(all);
      for (std::string line; std::getline(lines, line);) errors->push_back(line);
    }
    return Status::InvalidArgument(all);
  }
  return std::shared_ptr<const RuleSet>(std::move(rs));
}

void RuleSet::MatchInto(const v1::Event &event, std::vector<int> *hits) const {
  hits->clear();
  if (const RuleBucket *b = index_->ForApp(RuleAppName(event.app_name()))) {
    MatchBucket(*b, rules_, event, hits);
  }
  if (!event.msgid().empty()) {
    if (const RuleBucket *b = index_->ForMsgid(event.msgid())) MatchBucket(*b, rules_, event, hits);
  }
  MatchBucket(index_->ForAnyApp(), rules_, event, hits);
  if (event.has_audit() && index_->has_audit_rules()) {
    // Reused per thread: the no-match case allocates nothing after warm-up.
    thread_local std::vector<int> candidates;
    index_->AuditCandidates(event, &candidates);
    for (int r : candidates) {
      if (AuditRuleHolds(rules_[static_cast<size_t>(r)], event)) hits->push_back(r);
    }
  }
  if (hits->size() > 1) {
    std::sort(hits->begin(), hits->end());
    hits->erase(std::unique(hits->begin(), hits->end()), hits->end());
  }
}

void RuleSet::Match(const v1::Event &event, std::vector<int> *rule_indices) const {
  MatchInto(event, rule_indices);
}

bool RuleSet::Classify(v1::Event *event) const {
  thread_local std::vector<int> hits;
  MatchInto(*event, &hits);
  if (hits.empty()) return false;
  for (int r : hits) {
    for (const std::string &ref : rules_[static_cast<size_t>(r)].refs) {
      const auto &existing = event->ndcpp_refs();
      if (std::find(existing.begin(), existing.end(), ref) == existing.end()) {
        event->add_ndcpp_refs(ref);
      }
    }
  }
  event->set_description(rules_[static_cast<size_t>(hits.front())].description);
  return true;
}

}  // namespace trailkeep::ndcpp
