// Reading a certificate's subject name with OpenSSL's X509_NAME API.
//
// Identities come from the parsed attributes, never from searching printed
// text: in "O=xCN=dev-client" or "OU=a\,CN=dev-client" the string "CN="
// sits inside another attribute's value, and a certificate issued for
// "nobody" with such an attribute would borrow dev-client's name.
//
// SubjectCommonName: the value of the subject's commonName, as UTF-8. It is
// refused (InvalidArgument; NotFound when there is none) when the subject has
// several commonName attributes: which one names the holder would be a guess
// (the last is the most specific by X.500 order, the first is what many tools
// show), and a CA that copies requested subjects lets a requester add one. It
// is refused too when the value is not text or holds a control character
// (NUL, newline, ...), which no configured name can equal.
//
// SubjectRfc2253: the subject as RFC 2253 text, most specific attribute
// first ("CN=web1,O=Example"), for records and logs only; bytes outside
// printable ASCII are escaped (\C3\A9), so the text is always valid UTF-8.
//
// Pure functions; thread-safe.
#pragma once

#include <string>

#include "common/base/status.h"

typedef struct X509_name_st X509_NAME;

namespace trailkeep {

Result<std::string> SubjectCommonName(const X509_NAME* subject);
std::string SubjectRfc2253(const X509_NAME* subject);

}  // namespace trailkeep
