#include "common/x509/subject_name.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

namespace trailkeep {

Result<std::string> SubjectCommonName(const X509_NAME* subject) {
  if (subject == nullptr) return Status::NotFound("no subject");
  const int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (at < 0) return Status::NotFound("the subject has no CN");
  if (X509_NAME_get_index_by_NID(subject, NID_commonName, at) >= 0) {
    return Status::InvalidArgument("the subject has several CNs");
  }
  const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at));
  unsigned char* utf8 = nullptr;
  // Converts every string type (UTF8String, BMPString, ...) to UTF-8 and
  // refuses malformed input; -1 for a value that is not a string at all.
  const int len = ASN1_STRING_to_UTF8(&utf8, value);
  if (len < 0) return Status::InvalidArgument("the subject's CN is not text");
  std::string cn(reinterpret_cast<const char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  for (const char c : cn) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return Status::InvalidArgument("the subject's CN holds a control character");
    }
  }
  if (cn.empty()) return Status::InvalidArgument("the subject's CN is empty");
  return cn;
}

std::string SubjectRfc2253(const X509_NAME* subject) {
  std::string out;
  if (subject == nullptr) return out;
  if (BIO* bio = BIO_new(BIO_s_mem())) {
    // XN_FLAG_RFC2253 includes ASN1_STRFLGS_ESC_MSB: non-ASCII bytes come out
    // as \XX escapes, control characters too (ESC_CTRL).
    X509_NAME_print_ex(bio, subject, 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    if (len > 0) out.assign(data, static_cast<size_t>(len));
    BIO_free(bio);
  }
  return out;
}

}  // namespace trailkeep
