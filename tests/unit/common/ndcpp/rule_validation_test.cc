// The rules' value checks on their own, without a rules file around them.

#include "common/ndcpp/rule_validation.h"

#include <gtest/gtest.h>

namespace trailkeep::ndcpp {
namespace {

TEST(RuleValidationTest, Patterns) {
  EXPECT_EQ(PatternError("'msg'", "Failed (password|publickey) for"), "");
  EXPECT_EQ(PatternError("'msg'", "unclosed (").rfind("bad regular expression in 'msg': ", 0), 0u);
}

TEST(RuleValidationTest, AuditTypesAndFields) {
  EXPECT_EQ(AuditTypeError("USER_AUTH"), "");
  EXPECT_EQ(AuditTypeError("UNKNOWN[1334]"), "");
  EXPECT_NE(AuditTypeError("user_auth"), "");
  EXPECT_NE(AuditTypeError(""), "");

  EXPECT_EQ(AuditFieldNameError("audit_fields.exe", "exe"), "");
  EXPECT_EQ(AuditFieldNameError("audit_fields.a b", "a b"),
            "'audit_fields.a b' is not an audit field name");

  EXPECT_EQ(AuditFieldValueError("audit_fields.syscall", "syscall", "settimeofday"), "");
  EXPECT_NE(
      AuditFieldValueError("audit_fields.syscall", "syscall", "227").find("`ausyscall ARCH 227`"),
      std::string::npos);
  EXPECT_NE(AuditFieldValueError("audit_fields.arch", "arch", "c000003e"), "");
  EXPECT_EQ(AuditFieldValueError("audit_fields.arch", "arch", "x86_64"), "");
  EXPECT_EQ(AuditFieldValueError("audit_fields.uid", "uid", "0"), "");  // raw where no name
}

TEST(RuleValidationTest, MissingParts) {
  Rule rule;
  EXPECT_EQ(MissingParts(rule, false, false),
            (std::vector<std::string>{"rule has no 'name'", "rule '' has no 'refs'",
                                      "rule '' has no 'description'",
                                      "rule '' has no condition (app, msgid, msg, sd_id, sd, "
                                      "audit_type or audit_fields)"}));
  rule.name = "r";
  rule.audit_types = {"SYSCALL"};
  EXPECT_TRUE(MissingParts(rule, true, true).empty());
}

}  // namespace
}  // namespace trailkeep::ndcpp
