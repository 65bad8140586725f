#include "server/tunnel/key_file.h"

#include <cstdint>

#include <openssl/evp.h>

#include "common/base/private_file.h"

namespace trailkeep {
namespace {

constexpr char kOpensshBegin[] = "-----BEGIN OPENSSH PRIVATE KEY-----";
constexpr char kOpensshEnd[] = "-----END OPENSSH PRIVATE KEY-----";
constexpr char kOpensshMagic[] = "openssh-key-v1";  // followed by a NUL

const char kRsaAdvice[] =
    "libssh2 1.10 signs RSA keys with ssh-rsa (SHA-1), which OpenSSH 8.8 and later refuse; "
    "use an Ed25519 or ECDSA key (ssh-keygen -t ed25519)";

bool Acceptable(const std::string& type) {
  return type == "ssh-ed25519" || type.rfind("ecdsa-sha2-", 0) == 0;
}

// SSH wire string: uint32 big-endian length, then the bytes.
bool ReadSshString(const std::string& blob, size_t* pos, std::string* out) {
  if (blob.size() - *pos < 4) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(blob.data() + *pos);
  const uint32_t len =
      (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
  *pos += 4;
  if (blob.size() - *pos < len) return false;
  *out = blob.substr(*pos, len);
  *pos += len;
  return true;
}

std::string Base64Decode(const std::string& text) {
  std::string clean;
  for (char c : text) {
    if (c != '\n' && c != '\r' && c != ' ') clean.push_back(c);
  }
  std::string out(clean.size() / 4 * 3 + 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(clean.data()),
                                static_cast<int>(clean.size()));
  if (n < 0) return "";
  size_t len = static_cast<size_t>(n);
  // EVP_DecodeBlock counts '=' padding as zero bytes.
  for (size_t i = clean.size(); i > 0 && clean[i - 1] == '='; --i) --len;
  out.resize(len);
  return out;
}

// The public key type of an OpenSSH-format private key: the header is
// "openssh-key-v1\0", cipher, kdf, kdf options, key count, then the public
// key blob whose first string is the type (unencrypted even when the
// private part is).
Status OpensshKeyType(const std::string& pem, std::string* type) {
  const size_t b = pem.find(kOpensshBegin);
  const size_t e = pem.find(kOpensshEnd);
  if (b == std::string::npos || e == std::string::npos || e < b) {
    return Status::InvalidArgument("truncated OpenSSH private key");
  }
  const size_t start = b + sizeof(kOpensshBegin) - 1;
  const std::string blob = Base64Decode(pem.substr(start, e - start));
  if (blob.compare(0, sizeof(kOpensshMagic), std::string(kOpensshMagic, sizeof(kOpensshMagic))) !=
      0) {
    return Status::InvalidArgument("not an OpenSSH private key");
  }
  size_t pos = sizeof(kOpensshMagic);
  std::string cipher, kdf, kdf_options, pub;
  if (!ReadSshString(blob, &pos, &cipher) || !ReadSshString(blob, &pos, &kdf) ||
      !ReadSshString(blob, &pos, &kdf_options) || blob.size() - pos < 4) {
    return Status::InvalidArgument("malformed OpenSSH private key");
  }
  pos += 4;  // number of keys
  size_t pub_pos = 0;
  if (!ReadSshString(blob, &pos, &pub) || !ReadSshString(pub, &pub_pos, type)) {
    return Status::InvalidArgument("malformed OpenSSH private key");
  }
  return Status::Ok();
}

// PEM keys: the label says enough for the legacy forms; PKCS#8 hides the
// type inside, and is reported as unsupported rather than parsed here.
Status PemKeyType(const std::string& pem, std::string* type) {
  if (pem.find("-----BEGIN EC PRIVATE KEY-----") != std::string::npos) {
    *type = "ecdsa-sha2-(pem)";
  } else if (pem.find("-----BEGIN RSA PRIVATE KEY-----") != std::string::npos) {
    *type = "ssh-rsa";
  } else if (pem.find("-----BEGIN DSA PRIVATE KEY-----") != std::string::npos) {
    *type = "ssh-dss";
  } else {
    return Status::InvalidArgument(
        "unrecognised private key format (use an OpenSSH-format key from ssh-keygen, or a PEM "
        "\"EC PRIVATE KEY\")");
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> ReadTunnelKey(const std::string& path) {
  auto read = ReadPrivateFile(path);
  if (!read.ok()) return Status::InvalidArgument("private key: " + read.status().message());
  return read;
}

Status CheckTunnelKeyFile(const std::string& path) {
  auto read = ReadTunnelKey(path);
  if (!read.ok()) return read.status();
  const std::string text = std::move(read).value();
  std::string type;
  Status s = text.find(kOpensshBegin) != std::string::npos ? OpensshKeyType(text, &type)
                                                           : PemKeyType(text, &type);
  if (!s.ok()) return Status::InvalidArgument(path + ": " + s.message());
  if (Acceptable(type)) return Status::Ok();
  if (type.rfind("ssh-rsa", 0) == 0) {
    return Status::InvalidArgument(path + " is an RSA key: " + kRsaAdvice);
  }
  return Status::InvalidArgument(path + " holds a " + type +
                                 " key: only Ed25519 and ECDSA keys are supported");
}

}  // namespace trailkeep
