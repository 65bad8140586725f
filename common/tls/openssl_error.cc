#include "common/tls/openssl_error.h"

#include <utility>

#include <openssl/err.h>

namespace trailkeep {

Status OpenSslError(const std::string& what) {
  std::string msg = what;
  if (const unsigned long err = ERR_get_error(); err != 0) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof buf);
    msg += std::string(": ") + buf;
  }
  ERR_clear_error();
  return Status::InvalidArgument(std::move(msg));
}

}  // namespace trailkeep
