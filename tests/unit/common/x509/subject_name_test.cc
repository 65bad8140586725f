#include "common/x509/subject_name.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

namespace trailkeep {
namespace {

struct NameFree {
  void operator()(X509_NAME* n) const { X509_NAME_free(n); }
};
using NamePtr = std::unique_ptr<X509_NAME, NameFree>;

// A subject from (attribute, UTF-8 value) pairs, most general first, as
// `openssl req -subj /O=.../CN=...` builds it.
NamePtr Subject(const std::vector<std::pair<std::string, std::string>>& attrs) {
  NamePtr name(X509_NAME_new());
  for (const auto& [field, value] : attrs) {
    EXPECT_EQ(1, X509_NAME_add_entry_by_txt(name.get(), field.c_str(), MBSTRING_UTF8,
                                            reinterpret_cast<const unsigned char*>(value.data()),
                                            static_cast<int>(value.size()), -1, 0));
  }
  return name;
}

// A subject of one multi-valued RDN holding every attribute ("CN=a+O=b").
NamePtr OneRdn(const std::vector<std::pair<std::string, std::string>>& attrs) {
  NamePtr name(X509_NAME_new());
  int set = 0;  // the first opens the RDN, the others join it
  for (const auto& [field, value] : attrs) {
    EXPECT_EQ(1, X509_NAME_add_entry_by_txt(name.get(), field.c_str(), MBSTRING_UTF8,
                                            reinterpret_cast<const unsigned char*>(value.data()),
                                            static_cast<int>(value.size()), -1, set));
    set = 1;
  }
  return name;
}

// A subject whose CN is stored with ASN.1 `type` and exactly `bytes`.
NamePtr RawCn(int type, const std::string& bytes) {
  NamePtr name(X509_NAME_new());
  EXPECT_EQ(1, X509_NAME_add_entry_by_NID(name.get(), NID_commonName, type,
                                          reinterpret_cast<const unsigned char*>(bytes.data()),
                                          static_cast<int>(bytes.size()), -1, 0));
  return name;
}

std::string CnOrError(const X509_NAME* name) {
  auto cn = SubjectCommonName(name);
  return cn.ok() ? cn.value() : "error: " + cn.status().message();
}

TEST(SubjectCommonNameTest, ReadsTheCnAttribute) {
  EXPECT_EQ(CnOrError(Subject({{"O", "trailkeep dev"}, {"CN", "dev-client"}}).get()), "dev-client");
}

// The subjects that borrowed dev-client's name when the CN was found by
// searching the RFC 2253 text for "CN=" (issue 12, 1b).
TEST(SubjectCommonNameTest, CnTextInsideAnotherAttributeIsNotACn) {
  auto no_cn = SubjectCommonName(Subject({{"O", "xCN=dev-client"}}).get());
  ASSERT_FALSE(no_cn.ok());
  EXPECT_EQ(no_cn.status().code(), Status::Code::kNotFound);
  EXPECT_EQ(CnOrError(Subject({{"CN", "nobody"}, {"O", "xCN=dev-client"}}).get()), "nobody");
  EXPECT_EQ(CnOrError(Subject({{"CN", "nobody"}, {"OU", "a,CN=dev-client"}}).get()), "nobody");
  EXPECT_EQ(CnOrError(Subject({{"CN", "web-9"}, {"L", "CN=dev-client"}}).get()), "web-9");
  EXPECT_EQ(CnOrError(Subject({{"OU", "x\\,CN=dev-client"}, {"CN", "web-9"}}).get()), "web-9");
}

TEST(SubjectCommonNameTest, SeveralCnsAreRefused) {
  auto two = SubjectCommonName(Subject({{"CN", "nobody"}, {"CN", "dev-client"}}).get());
  ASSERT_FALSE(two.ok());
  EXPECT_EQ(two.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(two.status().message().find("several"), std::string::npos);
  // Also when both sit in one multi-valued RDN (CN=a+CN=b).
  EXPECT_FALSE(SubjectCommonName(OneRdn({{"CN", "nobody"}, {"CN", "dev-client"}}).get()).ok());
}

TEST(SubjectCommonNameTest, CnInAMultiValuedRdnIsRead) {
  EXPECT_EQ(CnOrError(OneRdn({{"CN", "web-1"}, {"O", "Example"}}).get()), "web-1");
}

TEST(SubjectCommonNameTest, StringTypesAreConvertedToUtf8) {
  EXPECT_EQ(CnOrError(RawCn(V_ASN1_BMPSTRING, std::string("\0d\0e\0v", 6)).get()), "dev");
  EXPECT_EQ(CnOrError(Subject({{"CN", "h\xc3\xa9te"}}).get()), "h\xc3\xa9te");
}

TEST(SubjectCommonNameTest, ControlCharactersAndBadTextAreRefused) {
  EXPECT_FALSE(
      SubjectCommonName(RawCn(V_ASN1_UTF8STRING, std::string("dev-client\0.evil", 16)).get()).ok());
  EXPECT_FALSE(SubjectCommonName(RawCn(V_ASN1_UTF8STRING, "dev-client\nx").get()).ok());
  EXPECT_FALSE(SubjectCommonName(RawCn(V_ASN1_UTF8STRING, "dev-\xff").get()).ok());
  EXPECT_FALSE(SubjectCommonName(RawCn(V_ASN1_UTF8STRING, "").get()).ok());
  EXPECT_FALSE(SubjectCommonName(nullptr).ok());
}

TEST(SubjectRfc2253Test, MostSpecificFirstWithEscapes) {
  EXPECT_EQ(SubjectRfc2253(Subject({{"O", "trailkeep dev"}, {"CN", "dev-client"}}).get()),
            "CN=dev-client,O=trailkeep dev");
  EXPECT_EQ(SubjectRfc2253(Subject({{"CN", "nobody"}, {"OU", "a,CN=dev-client"}}).get()),
            "OU=a\\,CN=dev-client,CN=nobody");
  // Non-ASCII and control bytes are escaped: the text is plain ASCII.
  EXPECT_EQ(SubjectRfc2253(Subject({{"CN", "h\xc3\xa9"}}).get()), "CN=h\\C3\\A9");
  EXPECT_EQ(SubjectRfc2253(RawCn(V_ASN1_UTF8STRING, "a\nb").get()), "CN=a\\0Ab");
  EXPECT_EQ(SubjectRfc2253(nullptr), "");
}

}  // namespace
}  // namespace trailkeep
