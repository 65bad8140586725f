#include "common/audit/audit_grouper.h"

#include <utility>

namespace trailkeep::audit {

std::string AuditGrouper::KeyOf(std::string_view host, std::string_view node, uint64_t serial) {
  std::string key;
  key.reserve(host.size() + node.size() + 22);
  key.append(host).push_back('\0');
  key.append(node).push_back('\0');
  key.append(std::to_string(serial));
  return key;
}

void AuditGrouper::Add(std::string_view host, const AuditRecord& record, GroupMember member,
                       int64_t now_us, std::vector<AuditGroup>* closed) {
  std::string key = KeyOf(host, record.node, record.serial);
  auto [it, inserted] = open_.try_emplace(key);
  AuditGroup& g = it->second;
  if (inserted) {
    g.host = std::string(host);
    g.node = std::string(record.node);
    g.serial = record.serial;
    g.opened_us = now_us;
    order_.emplace_back(now_us, key);
  }
  g.records.push_back(std::move(member));
  const bool ends =
      record.type == "EOE" || (g.records.size() == 1 && IsSingleRecordType(record.type));
  if (ends) {
    Close(key, true, closed);
  } else if (open_.size() > options_.max_open) {
    // Bounded memory: the oldest open event goes out as it is.
    while (!order_.empty() && open_.count(order_.front().second) == 0) order_.pop_front();
    if (!order_.empty()) Close(order_.front().second, false, closed);
  }
}

void AuditGrouper::Expire(int64_t now_us, std::vector<AuditGroup>* closed) {
  while (!order_.empty() && order_.front().first + options_.timeout_us <= now_us) {
    const std::string key = std::move(order_.front().second);
    order_.pop_front();
    if (open_.count(key) != 0) Close(key, false, closed);
  }
}

void AuditGrouper::Flush(std::vector<AuditGroup>* closed) {
  while (!order_.empty()) {
    const std::string key = std::move(order_.front().second);
    order_.pop_front();
    if (open_.count(key) != 0) Close(key, false, closed);
  }
}

void AuditGrouper::Close(const std::string& key, bool complete, std::vector<AuditGroup>* closed) {
  auto node = open_.extract(key);
  node.mapped().complete = complete;
  closed->push_back(std::move(node.mapped()));
}

}  // namespace trailkeep::audit
